"""The map: colour chooser, the projection (tap / box / lasso), and a plain-text note saying what it shows."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from .. import plots
from ..state import HOW_TO_GET_A_MODEL
from .base import StatePane, bokeh_edit, text_pane, with_css

MAP_HEIGHT = 640  # the map is the product: the tallest thing on the page


class MapPane(StatePane):
    """The projection of the current embedding; taps and selections go to the state."""

    css = param.String(default="lcx-map", doc="CSS class of the plot (tests and styles find the map by it).")

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        # the main map's widgets keep the names the tests and styles know; other maps (sky) get their own
        prefix = "lcx" if self.css == "lcx-map" else self.css
        self.color_select = with_css(pn.widgets.Select.from_param(self.p("color_by"), width=260),
                                     f"{prefix}-color-select")
        self.no_model = pn.pane.Alert(HOW_TO_GET_A_MODEL, alert_type="warning", visible=False,
                                      css_classes=["lcx-no-model"], sizing_mode="stretch_width")
        self.map_pane = self._new_map_pane(None)
        # a new HoloViews pane per map, swapped into this holder: a pane created empty and given its map
        # moments later was left blank by Chromium until the window was resized
        self.holder = pn.Column(self.map_pane, sizing_mode="stretch_width", min_height=MAP_HEIGHT, margin=0,
                                css_classes=[self.css])
        self.legend = pn.pane.HTML("", sizing_mode="stretch_width", visible=False, css_classes=[f"{prefix}-legend-pane"])
        self.note = text_pane(f"{self.css}-note")
        self._streams = ()
        self._drawn = None  # (colour, labels version, log, columns version) now on screen
        # and the map snapshot itself (held: a new one may reuse a freed one's id); its catalog and stage are
        # those of the points on screen
        self._drawn_map = None
        # (log scale, colour kind, raster) of the figure on screen: a map with the same look is written into
        # it (its points, colour scale and colour column's name), any other gets a new figure
        self._look = None
        self._points: plots.MapPoints | None = None
        self._filters = None  # the stream that recolours the points on screen when the filters change
        self._figs: list = []  # the Bokeh figures now showing this map (ranges set when the points move)
        self._marks: list = []  # (neighbour lines, selection, tapped) sources of each figure showing this map
        self.watch(self.refresh, ["map", "color_by", "labels_version", "model_infos", "model", "log_columns",
                                  "columns_version"])
        self.watch(self.refilter, ["filter_version"])
        self.watch(self.update_marks, ["selected_id", "selection_ids"])
        self.watch(self.update_lines, ["map", "k_neighbours"])
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
        self.holder.visible = not no_model
        self.map_pane.visible = not no_model
        if m is None or m.catalog is not s.catalog:
            # the figure on screen is emptied and kept for the next map (no model added to the page)
            if self.map_pane.object is not None and not (self._drawn is None or self._points.clear()):
                self.map_pane = self._new_map_pane(None)
                self.holder.objects = [self.map_pane]
                self._look, self._points = None, None
            self._drawn = self._drawn_map = None
            self.legend.visible = False
            self._show_placeholder()
            return
        log = s.color_by in s.log_columns
        derived = s.color_by in s.display.derived_columns()
        key = (s.color_by, s.labels_version if s.color_by == "user_label" else None, log,
               s.columns_version if derived else None)
        if m is self._drawn_map and key == self._drawn:
            return
        frame = s.points_frame()
        # the scale from every catalog object: a first look that grows keeps its colours and its figure
        domain, kind = s.display.color_values(cat=m.catalog)
        look = (log, kind, len(frame) > plots.DATASHADE_ABOVE)
        before = self._drawn_map
        same_catalog = before is not None and before.catalog is m.catalog
        # another colour column always gets its own scale, even when its values would fit the one on screen
        same_colour = self._drawn is not None and self._drawn[0] == s.color_by
        # written in place also when nothing drew the map yet (the sky's tab never opened): a new HoloViews
        # pane for a hidden map held the event loop 0.4-0.9 s at each catalog switch under load
        if self._points is not None and look == self._look and (
                (same_catalog and same_colour and self._points.update(frame))
                or self._points.retarget(frame, domain, label=s.color_by)):
            growing = same_catalog and m.stage == "sample" and before.stage == "sample"
            if m is not before and not growing:  # a growing first look and a new colouring keep the zoom
                self._fit_axes(frame)
            self.update_marks()
        else:
            import holoviews as hv

            # filters recolour the points through this stream (the plot itself is not rebuilt); it is
            # triggered from a guarded watcher on the UI side, so a failing redraw never reaches the state
            self._filters = hv.streams.Stream.define("Filters", filter_version=0)(filter_version=s.filter_version)
            element, source, self._points = plots.map_element(
                frame, kind, s.color_by, height=MAP_HEIGHT, responsive=True, log=log,
                passes=s.passes, streams=[self._filters], domain=domain)
            self._attach_streams(source)
            self._marks, self._figs = [], []
            self.map_pane = self._new_map_pane(element.opts(hooks=[self._add_marks]))
            self.holder.objects = [self.map_pane]
        self._drawn, self._drawn_map, self._look = key, m, look
        note = f"{m.note()} Tap: one object; box/lasso: a selection."
        if len(frame) > plots.DATASHADE_ABOVE:
            note += " Large catalog: the map is rasterised on the server, taps and selections resolved there."
        self._legend = (frame["color"].to_numpy(), frame["row"].to_numpy(), s.color_by, self._points.cmap) \
            if kind == "categorical" else None
        self.legend.visible = kind == "categorical"
        self._note = note
        # on a turn of its own when served: the note and the legend's counts go out after the points, and
        # the server answers its tabs in between
        self.own_turn(self.refresh_note)

    def _fit_axes(self, frame) -> None:
        """Fit the axes to the points on screen (the reset tool goes back to these extents)."""
        (x0, x1), (y0, y1) = plots.padded_range(frame["x"]), plots.padded_range(frame["y"])
        with bokeh_edit():
            for fig in self._figs:
                fig.x_range.update(start=x0, end=x1)
                fig.y_range.update(start=y0, end=y1)
                for r in (fig.x_range, fig.y_range):
                    if hasattr(r, "reset_start"):
                        r.update(reset_start=r.start, reset_end=r.end)

    def refilter(self) -> None:
        """Recolour the points on screen for the state's filters (grey: filtered out) and say how many pass."""
        s = self.state
        # only points of the open catalog: a catalog switch resets the filters before the map on screen is
        # emptied, and redrawing the previous catalog's points for them held the event loop ~1 s under load
        shown = self._drawn_map is not None and self._drawn_map.catalog is s.catalog
        if self._filters is not None and shown and self._filters.filter_version != s.filter_version:
            self._filters.event(filter_version=s.filter_version)
        self.refresh_note()

    def refresh_note(self) -> None:
        """What the map shows, and how many objects pass the filters (plain text)."""
        s, m = self.state, self.state.map
        if m is None or m.catalog is not s.catalog or not getattr(self, "_note", ""):
            return
        note = self._note
        if s.filter_mask is not None:
            note += f" {int(s.passes(m.index.valid_rows).sum())} pass the filters (the others are grey)."
        self.note.object = note
        legend = getattr(self, "_legend", None)
        if legend is not None:  # counts follow the filters: "EB (306 of 500)"
            values, rows, column, cmap = legend
            self.legend.object = plots.legend_html(values, column,
                                                   s.passes(rows) if s.filter_mask is not None else None, cmap=cmap)

    def _new_map_pane(self, element) -> pn.pane.HoloViews:
        # linked_axes off: Panel links the x/y ranges of every HoloViews pane of a page by dimension name,
        # and a second map (another representation, the sky) has coordinates of its own
        return pn.pane.HoloViews(element, css_classes=[self.css], name=self.css, sizing_mode="stretch_width",
                                 min_height=MAP_HEIGHT, min_width=360, linked_axes=False)

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
        """HoloViews hook: give the map's Bokeh figure its own neighbour / selection / tapped layers (once).

        The marks are plain Bokeh sources updated in place: as part of a HoloViews overlay every tap
        re-evaluated the whole map (the raster of 1M points included) and sent it again.  The layers
        start with the current marks: the hook runs while the figure is built, when sending changes
        to the browser would describe models it does not know yet (the plot then stayed blank).
        """
        fig = plot.state
        if any(r.name == "lcx-tapped-marks" for r in fig.renderers):
            return
        # a map in a tab is drawn again each time its tab is opened (dynamic tabs): forget the figures of
        # earlier openings, which left the page
        kept = [i for i, f in enumerate(self._figs) if f.document is not None]
        self._figs, self._marks = [self._figs[i] for i in kept], [self._marks[i] for i in kept]
        if self._points is not None:
            self._points.forget_detached()
        self._figs.append(fig)
        sources = []
        for kind, data in zip(("neighbours", "selection", "tapped"), self._mark_data(lines=True)):
            src, renderer = plots.mark_layer(fig, kind=kind, data=data)
            renderer.name = f"lcx-{kind}-marks"
            sources.append(src)
        self._marks.append(tuple(sources))
        if self._points is not None:
            self._points.attach(getattr(plot, "handles", {}))  # a WebGL map: new points written straight in

    def _mark_data(self, *, lines: bool) -> tuple[dict | None, dict, dict]:
        """Data of the three layers: neighbour lines (None unless ``lines``), selection, tapped object."""
        s, m = self.state, self.state.map
        rows = tapped = np.empty(0, np.int64)
        if m is not None and m.catalog is s.catalog:  # a stale map (catalog switched meanwhile) gets no marks
            rows = m.catalog.indices_of(list(s.selection_ids)[:5000], skip_missing=True)
            tapped = m.catalog.indices_of([s.selected_id] if s.selected_id else [], skip_missing=True)
        points = []
        for picked in (rows, tapped):
            xy = m.coords[picked] if len(picked) else np.empty((0, 2))
            points.append(dict(x=xy[:, 0], y=xy[:, 1]))
        return (self._line_data() if lines else None), points[0], points[1]

    def _line_data(self) -> dict:
        s, m = self.state, self.state.map
        if m is None or m.catalog is not s.catalog or not s.selected_id:
            return dict(x0=[], y0=[], x1=[], y1=[])
        try:
            nb = s.neighbours()
            row = s.row_of(s.selected_id)
        except KeyError:
            return dict(x0=[], y0=[], x1=[], y1=[])
        ends = m.coords[nb["row"].to_numpy(dtype=np.int64)] if len(nb) else np.empty((0, 2))
        ok = np.isfinite(ends).all(axis=1)
        start = np.repeat(m.coords[[row]], int(ok.sum()), axis=0)
        return dict(x0=start[:, 0], y0=start[:, 1], x1=ends[ok, 0], y1=ends[ok, 1])

    def update_marks(self) -> None:
        """Move the selection and tapped marks to the state's current selection and tapped object."""
        _, selection, tapped = self._mark_data(lines=False)
        with bokeh_edit():
            for marks in self._marks:
                # unchanged marks are not sent again (each step of a growing first look re-sent them)
                for source, data in ((marks[1], selection), (marks[2], tapped)):
                    if not plots.same_columns(source.data, data):
                        source.data = data
        # the neighbour search can take a while on big catalogs: the tapped ring goes out first
        self.later("drawing the neighbour lines", self.update_lines)

    def update_lines(self) -> None:
        """Lines from the tapped object to its k nearest neighbours in the full space."""
        if not self._marks:
            return
        lines = self._line_data()
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
        return pn.Column(self.color_select, self.legend, self.no_model, self.holder, self.note,
                         sizing_mode="stretch_width", min_width=380)
