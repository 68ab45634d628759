"""The map: colour chooser, the projection (tap / box / lasso), and a plain-text note saying what it shows."""

from __future__ import annotations

import numpy as np
import panel as pn

from .. import plots
from ..state import HOW_TO_GET_A_MODEL
from .base import StatePane, bokeh_edit, text_pane, with_css

MAP_HEIGHT = 520


class MapPane(StatePane):
    """The projection of the current embedding; taps and selections go to the state."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.color_select = with_css(pn.widgets.Select.from_param(s.param.color_by, width=260), "lcx-color-select")
        self.no_model = pn.pane.Alert(HOW_TO_GET_A_MODEL, alert_type="warning", visible=False,
                                      css_classes=["lcx-no-model"], sizing_mode="stretch_width")
        self.map_pane = pn.pane.HoloViews(None, css_classes=["lcx-map"], name="lcx-map", sizing_mode="stretch_width",
                                          min_height=MAP_HEIGHT, min_width=360)
        self.legend = pn.pane.HTML("", sizing_mode="stretch_width", visible=False)
        self.note = text_pane("lcx-map-note")
        self._streams = ()
        self._drawn = None  # (map, colour, labels version) now on screen
        self._marks: list = []  # (selection source, tapped source) of each figure now showing this map
        self.watch(self.refresh, ["map", "color_by", "labels_version", "model_infos", "model", "filter_mask",
                                  "log_columns"])
        self.watch(self.update_marks, ["selected_id", "selection_ids"])
        self.watch(self.update_lines, ["embedding", "k_neighbours"])
        self.watch(self._show_placeholder, ["busy", "message"], obj=s.jobs)
        self.refresh()

    # ---------------------------------------------------------------- drawing
    def refresh(self) -> None:
        """Redraw the map from the state's current map snapshot (or say why there is none)."""
        s = self.state
        m = s.map
        # a map made without a model (given embedding, features) is shown even when no model exists
        no_model = (s.catalog is not None and not any(i.available for i in s.model_infos)
                    and (m is None or m.catalog is not s.catalog))
        self.no_model.visible = no_model
        self.map_pane.visible = not no_model
        if m is None or m.catalog is not s.catalog:
            self._drawn = None
            self.map_pane.object = None
            self.legend.visible = False
            self._show_placeholder()
            return
        log = s.color_by in s.log_columns
        key = (id(m), s.color_by, s.labels_version if s.color_by == "user_label" else None, id(s.filter_mask), log)
        if key == self._drawn:
            return
        frame = s.points_frame()
        _, kind = s.color_values()
        element, source = plots.map_element(frame, kind, s.color_by, height=MAP_HEIGHT, responsive=True, log=log)
        self._attach_streams(source)
        self._marks = []
        self.map_pane.object = element.opts(hooks=[self._add_marks])
        self._drawn = key
        stage = {"pca": "PCA preview (UMAP running...)", "umap": "UMAP", "given": "Map"}.get(m.stage, "Map")
        what = m.spec.describe() if m.spec is not None else "a given embedding"
        note = f"{stage} of {len(frame)} objects; {what}. Tap: one object; box/lasso: a selection."
        if s.filter_mask is not None:
            note += f" {int(frame['passes'].sum())} pass the filters (the others are grey)."
        if len(frame) > plots.DATASHADE_ABOVE:
            note += " Large catalog: the map is rasterised on the server, taps and selections resolved there."
            self.legend.object = plots.legend_html(frame["color"], s.color_by) if kind == "categorical" else ""
            self.legend.visible = kind == "categorical"
        else:
            self.legend.visible = False
        self.note.object = note

    def _show_placeholder(self) -> None:
        s = self.state
        if s.map is not None and s.map.catalog is s.catalog:
            return
        if s.jobs.busy:
            self.note.object = f"Computing the map: {s.jobs.message}"
        elif s.catalog is not None and s.can_compute():
            self.note.object = "No map yet: press Embed to compute it."
        elif s.model and s.model_infos and not s.model_available():
            self.note.object = f"No map: model {s.model} is unavailable. Choose an available model."
        elif s.catalog is not None and s.model_available():
            self.note.object = "No map yet: press Embed to compute it."
        else:
            self.note.object = "No map: no model is available."

    def _attach_streams(self, source) -> None:
        import holoviews as hv

        tap = hv.streams.Tap(source=source, x=None, y=None)
        tap.add_subscriber(self._on_tap)
        box = hv.streams.BoundsXY(source=source, bounds=None)
        box.add_subscriber(self._on_box)
        lasso = hv.streams.Lasso(source=source, geometry=None)
        lasso.add_subscriber(self._on_lasso)
        hover = hv.streams.PointerXY(source=source, x=None, y=None)
        hover.add_subscriber(self._on_hover)
        self._streams = (tap, box, lasso, hover)

    def _add_marks(self, plot, element) -> None:
        """HoloViews hook: give the map's Bokeh figure its own selection / tapped mark layers (once).

        The marks are plain Bokeh sources updated in place: as part of a HoloViews overlay every tap
        re-evaluated the whole map (the raster of 1M points included) and sent it again.
        """
        fig = plot.state
        if any(r.name == "lcx-tapped-marks" for r in fig.renderers):
            return
        sources = []
        for kind in ("neighbours", "selection", "tapped"):
            src, renderer = plots.mark_layer(fig, kind=kind)
            renderer.name = f"lcx-{kind}-marks"
            sources.append(src)
        self._marks.append(tuple(sources))
        self.update_marks()

    def update_marks(self) -> None:
        """Move the selection and tapped marks to the state's current selection and tapped object."""
        s, m = self.state, self.state.map
        rows, tapped = [], []
        if m is not None and m.catalog is s.catalog:  # a stale map (catalog switched meanwhile) gets no marks
            for oid in list(s.selection_ids)[:5000]:
                try:
                    rows.append(m.catalog.index_of(oid))
                except KeyError:
                    pass
            try:
                tapped = [m.catalog.index_of(s.selected_id)] if s.selected_id else []
            except KeyError:
                tapped = []
        with bokeh_edit():
            for i, picked in enumerate((rows, tapped), start=1):
                xy = m.coords[picked] if picked else np.empty((0, 2))
                for marks in self._marks:
                    marks[i].data = dict(x=xy[:, 0], y=xy[:, 1])
        # the neighbour search can take a while on big catalogs: the tapped ring goes out first
        if self._doc is None:
            self.update_lines()
        else:
            self._doc.add_next_tick_callback(lambda: self.guarded("drawing the neighbour lines", self.update_lines))

    def update_lines(self) -> None:
        """Lines from the tapped object to its k nearest neighbours in the full space."""
        s, m = self.state, self.state.map
        lines = dict(x0=[], y0=[], x1=[], y1=[])
        if m is not None and m.catalog is s.catalog and s.selected_id and self._marks:
            try:
                nb = s.neighbours()
                row = s.row_of(s.selected_id)
            except KeyError:
                nb = None
            if nb is not None and len(nb):
                ends = m.coords[nb["row"].to_numpy(dtype=np.int64)]
                ok = np.isfinite(ends).all(axis=1)
                start = np.repeat(m.coords[[row]], int(ok.sum()), axis=0)
                lines = dict(x0=start[:, 0], y0=start[:, 1], x1=ends[ok, 0], y1=ends[ok, 1])
        with bokeh_edit():
            for marks in self._marks:
                marks[0].data = lines

    # ---------------------------------------------------------------- streams -> state
    def _on_tap(self, x=None, y=None):
        if x is not None and y is not None:
            self.guarded("tapping the map", self.state.select_at, x, y)

    def _on_hover(self, x=None, y=None):
        if x is not None and y is not None:
            self.guarded("previewing the object under the pointer", self.state.hover_at, x, y)

    def _on_box(self, bounds=None):
        if bounds is not None:
            self.guarded("box selection", self.state.select_box, *bounds)

    def _on_lasso(self, geometry=None):
        if geometry is not None and len(geometry) >= 3:
            geometry = np.asarray(geometry, dtype=float)
            self.guarded("lasso selection", self.state.select_lasso, geometry[:, 0], geometry[:, 1])

    def __panel__(self):
        return pn.Column(self.color_select, self.no_model, self.map_pane, self.legend, self.note,
                         sizing_mode="stretch_width", min_width=380)
