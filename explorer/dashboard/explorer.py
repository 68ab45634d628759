"""The ``Explorer`` component: a Panel viewer over :class:`ExplorerState`.

The same object is served by ``panel serve app.py`` and displayed in a notebook
(``Explorer(catalog)``); ``.selection`` and ``.labels`` give the user's work back as pandas.

Stable names for UI tests: every widget/pane below carries this CSS class (panes and buttons also
have it as ``name``; widgets with a visible title have a human ``name`` such as "Model"):

    lcx-catalog-select     Select of the catalogs in the allowed folders
    lcx-catalog-path       TextInput for a path inside the allowed folders   (+ lcx-catalog-open button)
    lcx-catalog-upload     FileInput for a Parquet/CSV upload (size-limited)
    lcx-model-select       Select of every model the engine knows ("(not cached)" = disabled)
    lcx-output-select      Select of the model output
    lcx-reduction-select   Select of the reduction
    lcx-bands-select       MultiChoice of the bands fed to the model
    lcx-umap-neighbors     IntSlider, UMAP n_neighbors;  lcx-umap-min-dist: FloatSlider, UMAP min_dist
    lcx-embed-button       Button "Embed"
    lcx-progress           Progress bar of the running job
    lcx-status             Markdown with the last status / error message
    lcx-no-model           Alert shown instead of the map when no model is available
    lcx-color-select       Select of the colour-by column ("user_label" = the labels given here)
    lcx-map                HoloViews pane of the projection (tap / box / lasso)
    lcx-lightcurve         Bokeh pane of the tapped object's light curve
    lcx-fold               Checkbox "phase-fold";  lcx-period: FloatInput;  lcx-period-search: Button
    lcx-tapped             Markdown naming the tapped object
    lcx-neighbours         FlexBox gallery of nearest neighbours; each card's button: lcx-neighbour-button
    lcx-selection-table    Tabulator of the selected objects
    lcx-selection-multiples FlexBox of small light curves of the selection
    lcx-objects-table      Tabulator of all objects (click a row to show its light curve)
    lcx-label-select       Select of the label set;  lcx-label-input: TextInput for a new label
    lcx-label-add          Button adding the typed label to the set
    lcx-label-apply        Button "Label tapped object";  lcx-label-apply-selection: "Label selection"
    lcx-export             Column of FileDownload buttons: lcx-export-labels, lcx-export-selection,
                           lcx-export-embeddings, lcx-export-coordinates;  lcx-export-format: Select
"""

from __future__ import annotations

import logging
import threading
import traceback
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param

from explorer.errors import CatalogError, ExplorerError

from . import plots
from .sources import MAX_UPLOAD_BYTES, list_catalogs, read_upload
from .state import HOW_TO_GET_A_MODEL, REDUCTIONS, USER_LABEL, ExplorerState

log = logging.getLogger(__name__)

N_MULTIPLES = 12
TABLE_COLUMNS_MAX = 12


def _w(cls, css: str, *objects, **kwargs):
    """A widget/pane with the stable CSS class ``css`` (also its name unless a visible label is given)."""
    if "label" not in kwargs:  # buttons show their label; name would only trigger a deprecation warning
        kwargs.setdefault("name", css)
    return cls(*objects, css_classes=[css], **kwargs)


class Explorer(pn.viewable.Viewer):
    """Interactive map of a light-curve catalog's embeddings, linked to light curves and labels.

    Parameters
    ----------
    catalog:
        a Catalog, a DataFrame or a path inside the allowed folders (``sample_catalogs/``,
        ``../shared/data``, ``LCEXPLORER_DATA_DIRS``); None opens the default catalog.
    model:
        model name for the engine; None picks the default (Hub when cached, else
        ``astromer1-macho`` from the store, else any available model).
    autorun:
        compute the map at once (in a background thread) so that it appears without user action.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="The browser-free state behind the view.")

    def __init__(self, catalog=None, model: str | None = None, *, autorun: bool = True, state=None, **params):
        if state is None:
            if catalog is None:
                from .sources import default_catalog

                catalog = default_catalog()
            state = ExplorerState(catalog, model=model)
        super().__init__(state=state, **params)
        self._job_lock = threading.Lock()
        self._job: threading.Thread | None = None
        self._doc = pn.state.curdoc if pn.state.curdoc is not None and pn.state.curdoc.session_context else None
        self._closed = False
        if self._doc is not None:
            pn.state.on_session_destroyed(self._on_session_destroyed)
        self.state.refresh_models()
        self._build_widgets()
        self._wire()
        if self._doc is not None:
            self._sync_url()
        self._refresh_all()
        if autorun and self.state.catalog is not None and self.state.model:
            if self._doc is not None:
                pn.state.onload(self.start)
            else:
                self.start()

    # ------------------------------------------------------------------ public API
    @property
    def selection(self) -> pd.DataFrame:
        """The selected objects (rows of the objects table, with their labels)."""
        return self.state.selection

    @property
    def labels(self) -> pd.Series:
        """Labels of every object (index object_id; <NA> = unlabelled)."""
        return self.state.labels

    def start(self) -> threading.Thread | None:
        """Compute the map of the current combination in a background thread (no-op while one runs)."""
        return self._launch(self.state.run)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job (if any) is finished; handy in notebooks and scripts."""
        job = self._job
        if job is not None:
            job.join(timeout)

    def __panel__(self):
        return self.layout

    # ------------------------------------------------------------------ threads and UI updates
    def _ui(self, fn, *args, **kwargs):
        """Run a UI update on the session's event loop when served, directly otherwise."""
        call = partial(fn, *args, **kwargs)
        if self._doc is None or threading.current_thread() is threading.main_thread():
            call()
        elif not self._closed:
            try:
                self._doc.add_next_tick_callback(call)
            except Exception:  # the browser tab was closed while a job ran: nothing left to update
                self._closed = True

    def _on_session_destroyed(self, session_context):
        if session_context.id == getattr(self._doc.session_context, "id", None):
            self._closed = True

    def _launch(self, work, *args) -> threading.Thread | None:
        with self._job_lock:
            if self._job is not None and self._job.is_alive():
                self.state.status = "Busy: wait for the running job to finish."
                return None
            self._job = threading.Thread(target=self._guarded, args=(work, *args), daemon=True,
                                         name="lcx-explorer-job")
            self._job.start()
            return self._job

    def _guarded(self, work, *args):
        try:
            work(*args)
        except ExplorerError as exc:
            self.state.status = f"**Error:** {exc}"
        except Exception as exc:  # a failing job must not kill the session
            log.error("dashboard job failed:\n%s", traceback.format_exc())
            self.state.status = f"**Error:** {type(exc).__name__}: {exc}"
        finally:
            self.state.busy = False

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self):
        s = self.state
        self.catalog_select = _w(pn.widgets.Select, "lcx-catalog-select", name="Catalog", options=self._catalog_options(),
                                 value=self._catalog_value())
        self.catalog_path = _w(pn.widgets.TextInput, "lcx-catalog-path", name="Catalog path", placeholder="path inside allowed folders",
                               width=200)
        self.catalog_open = _w(pn.widgets.Button, "lcx-catalog-open", label="Open path", button_type="default",
                               width=90, align="end")
        self.catalog_upload = _w(pn.widgets.FileInput, "lcx-catalog-upload", name="Upload Parquet/CSV", accept=".parquet,.csv", multiple=False)
        self.model_select = _w(pn.widgets.Select, "lcx-model-select", name="Model")
        self.output_select = _w(pn.widgets.Select, "lcx-output-select", name="Output", options=s.output_options(), value=s.output)
        self.reduction_select = _w(pn.widgets.Select, "lcx-reduction-select", name="Reduction", options=list(REDUCTIONS),
                                   value=s.reduction)
        self.bands_select = _w(pn.widgets.MultiChoice, "lcx-bands-select", name="Bands")
        self.nn_slider = _w(pn.widgets.IntSlider, "lcx-umap-neighbors", name="UMAP n_neighbors", start=2, end=100, value=s.n_neighbors)
        self.md_slider = _w(pn.widgets.FloatSlider, "lcx-umap-min-dist", name="UMAP min_dist", start=0.0, end=0.99, step=0.01,
                            value=s.min_dist)
        self.embed_button = _w(pn.widgets.Button, "lcx-embed-button", label="Embed", button_type="primary")
        self.progress = _w(pn.indicators.Progress, "lcx-progress", value=0, max=100, active=False,
                           sizing_mode="stretch_width", height=12)
        self.status = _w(pn.pane.Markdown, "lcx-status", object=s.status, sizing_mode="stretch_width")
        self.color_select = _w(pn.widgets.Select, "lcx-color-select", name="Colour by", options=s.color_options, value=s.color_by)

        self.no_model = _w(pn.pane.Alert, "lcx-no-model", object=HOW_TO_GET_A_MODEL.replace("\n    ", "\n    "),
                           alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.map_pane = _w(pn.pane.HoloViews, "lcx-map", object=None, width=670, height=500)
        self.map_note = pn.pane.Markdown("", width=650)

        self.tapped = _w(pn.pane.Markdown, "lcx-tapped", object="*Tap a point (or a table row) to see its light curve.*",
                         width=520)
        self.lc_pane = _w(pn.pane.Bokeh, "lcx-lightcurve", object=plots.message_figure("no object selected"))
        self.fold = _w(pn.widgets.Checkbox, "lcx-fold", name="phase-fold", value=s.fold)
        self.period_input = _w(pn.widgets.FloatInput, "lcx-period", name="Period (d)", value=None, start=0.0, step=0.01,
                               placeholder="period (days)", width=120)
        self.period_search = _w(pn.widgets.Button, "lcx-period-search", label="Lomb-Scargle period", width=150,
                                align="end")

        self.neighbours = _w(pn.FlexBox, "lcx-neighbours", sizing_mode="stretch_width")
        self.selection_table = _w(pn.widgets.Tabulator, "lcx-selection-table", value=pd.DataFrame(),
                                  pagination="local", page_size=10, disabled=True, show_index=False,
                                  sizing_mode="stretch_width", height=330)
        self.multiples = _w(pn.FlexBox, "lcx-selection-multiples", sizing_mode="stretch_width")
        self.objects_table = _w(pn.widgets.Tabulator, "lcx-objects-table", value=pd.DataFrame(),
                                pagination="remote", page_size=15, disabled=True, show_index=False,
                                selectable=1, sizing_mode="stretch_width", height=450)

        self.label_select = _w(pn.widgets.Select, "lcx-label-select", name="Label", options=[])
        self.label_input = _w(pn.widgets.TextInput, "lcx-label-input", name="New label", placeholder="new label",
                              width=200)
        self.label_add = _w(pn.widgets.Button, "lcx-label-add", label="Add label", width=90, align="end")
        self.label_apply = _w(pn.widgets.Button, "lcx-label-apply", label="Label tapped object",
                              button_type="success")
        self.label_apply_sel = _w(pn.widgets.Button, "lcx-label-apply-selection", label="Label selection",
                                  button_type="success")

        self.export_format = _w(pn.widgets.Select, "lcx-export-format", name="Export format", options=["csv", "parquet"], value="csv")
        self.exports = {}
        for what in ("labels", "selection", "embeddings", "coordinates"):
            self.exports[what] = _w(pn.widgets.FileDownload, f"lcx-export-{what}", label=f"Export {what}",
                                    callback=partial(self._export, what), filename=f"{what}.csv",
                                    button_type="default", embed=False)
        self.export_box = _w(pn.Column, "lcx-export", self.export_format, *self.exports.values())

        self._refresh_models_widget()
        self._refresh_bands_widget()

    def _catalog_options(self) -> dict:
        options = dict(list_catalogs())
        current = self.state.catalog_path
        if current and current not in options.values():
            options[Path(current).name or current] = current
        if self.state.catalog is not None and not current:
            options[f"(in memory) {self.state.catalog.name}"] = ""
        return options

    def _catalog_value(self):
        options = self._catalog_options()
        cur = self.state.catalog_path
        for value in options.values():
            if value == cur or (cur and Path(value).resolve() == Path(cur).resolve()):
                return value
        return next(iter(options.values()), None)

    def _refresh_models_widget(self):
        s = self.state
        options, disabled = {}, []
        if not s.model:
            options["(no model available: see the message)"] = ""
        for info in s.model_infos:
            label = f"{info.name} [{info.source}]"
            if not info.available:
                label += " (not cached)"
                disabled.append(info.name)
            options[label] = info.name
        if s.model and s.model not in options.values():
            options[s.model] = s.model
        self.model_select.options = options
        self.model_select.disabled_options = disabled
        self.model_select.value = s.model

    def _refresh_bands_widget(self):
        cat = self.state.catalog
        bands = list(cat.bands) if cat is not None else []
        self.bands_select.options = bands
        self.bands_select.value = [b for b in self.state.bands if b in bands]
        self.bands_select.disabled = len(bands) <= 1

    # ------------------------------------------------------------------ layout
    def _sidebar(self):
        return pn.Column(
            pn.pane.Markdown("### Catalog"), self.catalog_select,
            pn.Row(self.catalog_path, self.catalog_open), self.catalog_upload,
            pn.pane.Markdown("### Model"), self.model_select, self.output_select, self.reduction_select,
            self.bands_select,
            pn.pane.Markdown("### UMAP"), self.nn_slider, self.md_slider,
            self.embed_button, self.progress, self.status,
            pn.pane.Markdown("### Labels"), self.label_select, pn.Row(self.label_input, self.label_add),
            pn.Row(self.label_apply, self.label_apply_sel),
            pn.pane.Markdown("### Export"), self.export_box,
            width=340,
        )

    @property
    def sidebar(self) -> pn.Column:
        """The controls (used as the template sidebar by app.py)."""
        if not hasattr(self, "_sidebar_col"):
            self._sidebar_col = self._sidebar()
        return self._sidebar_col

    @property
    def main(self) -> pn.Column:
        """The map, light curve and the linked tabs."""
        if not hasattr(self, "_main_col"):
            lc_col = pn.Column(self.tapped, pn.Row(self.fold, self.period_input, self.period_search), self.lc_pane,
                               width=540)
            map_col = pn.Column(self.color_select, self.no_model, self.map_pane, self.map_note, width=690)
            tabs = pn.Tabs(
                ("Neighbours", self.neighbours),
                ("Selection", pn.Column(self.selection_table, self.multiples, sizing_mode="stretch_width")),
                ("Objects", self.objects_table),
                dynamic=False, sizing_mode="stretch_width",
            )
            self._main_col = pn.Column(pn.Row(map_col, lc_col), tabs, sizing_mode="stretch_width")
        return self._main_col

    @property
    def layout(self):
        """Sidebar and main area side by side (what a notebook displays)."""
        if not hasattr(self, "_layout"):
            self._layout = pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")
        return self._layout

    # ------------------------------------------------------------------ wiring
    def _wire(self):
        s = self.state
        self.catalog_select.param.watch(self._on_catalog_select, "value")
        self.catalog_open.on_click(self._on_catalog_open)
        self.catalog_upload.param.watch(self._on_upload, "value")
        self.model_select.param.watch(partial(self._on_combo, "model"), "value")
        self.output_select.param.watch(partial(self._on_combo, "output"), "value")
        self.reduction_select.param.watch(partial(self._on_combo, "reduction"), "value")
        self.bands_select.param.watch(partial(self._on_combo, "bands"), "value")
        self.nn_slider.param.watch(partial(self._on_combo, "n_neighbors"), "value")
        self.md_slider.param.watch(partial(self._on_combo, "min_dist"), "value")
        self.embed_button.on_click(lambda _: self.start())
        self.color_select.param.watch(lambda e: setattr(s, "color_by", e.new), "value")
        self.fold.param.watch(lambda e: setattr(s, "fold", e.new), "value")
        self.period_input.param.watch(self._on_period_input, "value")
        self.period_search.on_click(self._on_period_search)
        self.objects_table.param.watch(self._on_objects_row, "selection")
        self.label_add.on_click(self._on_label_add)
        self.label_apply.on_click(partial(self._on_label_apply, "tapped"))
        self.label_apply_sel.on_click(partial(self._on_label_apply, "selection"))
        self.export_format.param.watch(self._on_export_format, "value")

        # *events: param hands a watcher one event per parameter changed in the same batch
        s.param.watch(lambda *events: self._ui(self._show_status), ["status", "progress", "busy"])
        s.param.watch(lambda *events: self._ui(self._refresh_map), ["map_version", "color_by"])
        s.param.watch(lambda *events: self._ui(self._on_labels_changed), ["labels_version"])
        s.param.watch(lambda *events: self._ui(self._refresh_tapped), ["selected_id", "fold", "period", "k_neighbours"])
        s.param.watch(lambda *events: self._ui(self._refresh_selection), ["selection_ids"])
        s.param.watch(lambda *events: self._ui(self._sync_widgets), ["model", "output", "reduction", "color_by"])

    def _sync_url(self):
        try:
            pn.state.location.sync(self.state, self.state.url_params)
        except Exception as exc:  # the URL is a convenience; never fail the page for it
            log.warning("cannot sync the URL: %s", exc)

    def _sync_widgets(self):
        s = self.state
        if self.model_select.value != s.model and s.model in self.model_select.options.values():
            self.model_select.value = s.model
        self.output_select.options = s.output_options()
        if self.output_select.value != s.output:
            self.output_select.value = s.output
        if self.reduction_select.value != s.reduction:
            self.reduction_select.value = s.reduction
        if self.color_select.value != s.color_by and s.color_by in s.color_options:
            self.color_select.value = s.color_by

    # ------------------------------------------------------------------ handlers
    def _on_catalog_select(self, event):
        if event.new and event.new != self.state.catalog_path:  # not when the widget merely follows the state
            self._open_catalog(event.new)

    def _on_catalog_open(self, _):
        path = (self.catalog_path.value or "").strip()
        if path:
            self._open_catalog(path)

    def _on_upload(self, event):
        data, filename = event.new, self.catalog_upload.filename or "upload"
        try:
            frame = read_upload(filename, data, max_bytes=MAX_UPLOAD_BYTES)
        except ExplorerError as exc:
            self.state.status = f"**Error:** {exc}"
            return
        self._open_catalog(frame, name=Path(filename).stem, what=f"uploaded file {filename!r}")

    def _open_catalog(self, source, *, what: str | None = None, **kwargs):
        def work():
            self.state.status = "Opening catalog..."
            try:
                self.state.load_catalog(source, **kwargs)
            except CatalogError as exc:
                if what is None:
                    raise
                raise CatalogError(f"{what}: {exc}") from exc
            self._ui(self._after_catalog)
            if self.state.model:
                self.state.run()
        self._launch(work)

    def _after_catalog(self):
        self.catalog_select.options = self._catalog_options()
        self.catalog_select.value = self._catalog_value()
        self._refresh_bands_widget()
        self.color_select.options = self.state.color_options
        self.color_select.value = self.state.color_by
        self._refresh_all()

    def _on_combo(self, name, event):
        s = self.state
        value = event.new
        if name == "bands":
            value = list(value)
        if name == "model" and not value:
            return
        try:
            setattr(s, name, value)
        except ValueError as exc:
            s.status = f"**Error:** {exc}"
            return
        if name == "model":
            self.output_select.options = s.output_options()
            self.output_select.value = s.output
        if s.catalog is None or not s.model:
            return
        if s.cached_combination():
            # switching back to a combination already embedded is instant: no Embed press needed
            self.start()
        else:
            s.status = "Press **Embed** to compute this combination."

    def _on_period_input(self, event):
        value = event.new
        self.state.period = float(value) if value not in (None, 0) else None

    def _on_period_search(self, _):
        s = self.state
        if not s.selected_id:
            s.status = "Tap an object first."
            return
        try:
            period = s.lomb_scargle_period()
        except ExplorerError as exc:
            s.status = f"**Error:** {exc}"
            return
        s.period = period
        self.period_input.value = round(period, 6)
        self.fold.value = True
        s.status = f"Lomb-Scargle period of {s.selected_id}: {period:.6g} d"

    def _on_objects_row(self, event):
        if not event.new:
            return
        try:  # Tabulator selection indices are positions in .value, whatever the page or sort
            oid = str(self.objects_table.value.iloc[event.new[0]]["object_id"])
        except (IndexError, KeyError):
            return
        self.state.selected_id = oid

    def _on_label_add(self, _):
        name = (self.label_input.value or "").strip()
        if not name:
            return
        try:
            self.state.add_label(name)
        except (ExplorerError, ValueError) as exc:
            self.state.status = f"**Error:** {exc}"
            return
        self.label_select.options = self.state.label_set
        self.label_select.value = name
        self.label_input.value = ""

    def _on_label_apply(self, target, _):
        label = self.label_select.value
        if not label:
            self.state.status = "Choose or add a label first."
            return
        try:
            self.state.assign_label(label, target)
        except (ExplorerError, ValueError) as exc:
            self.state.status = f"**Error:** {exc}"

    def _on_export_format(self, event):
        for what, button in self.exports.items():
            button.filename = f"{what}.{event.new}"

    def _export(self, what):
        """FileDownload callback: build the export with explorer.dashboard.export and name the file."""
        import io

        from . import export as ex

        s = self.state
        fmt = self.export_format.value
        try:
            prov = s.provenance()
            if what == "labels":
                data, filename = ex.export_labels(s.labels, prov, fmt)
            elif what == "selection":
                data, filename = ex.export_selection(s.selection, prov, fmt)
            elif s.map is None or s.matrix is None:
                raise ExplorerError("nothing to export yet: the map is not computed")
            elif what == "embeddings":
                rows = s.map.index.valid_rows
                data, filename = ex.export_embeddings(s.catalog.object_ids[rows], s.matrix[rows], prov, fmt,
                                                      xy=s.map.coords[rows])
            else:
                rows = s.map.index.valid_rows
                data, filename = ex.export_coordinates(s.catalog.object_ids[rows], s.map.coords[rows], prov, fmt,
                                                       labels=s.labels)
        except (ExplorerError, ValueError) as exc:
            s.status = f"**Error:** export of {what} failed: {exc}"
            data, filename = f"export failed: {exc}\n".encode(), f"{what}-error.txt"
        self.exports[what].filename = filename
        return io.BytesIO(data)

    # ------------------------------------------------------------------ refreshers
    def _refresh_all(self):
        self._show_status()
        self._refresh_map()
        self._refresh_objects_table()
        self._on_labels_changed(map_too=False)
        self._refresh_tapped()
        self._refresh_selection()

    def _show_status(self):
        s = self.state
        self.status.object = s.status
        self.progress.value = s.progress
        self.progress.active = bool(s.busy) and s.progress == 0
        self.embed_button.disabled = bool(s.busy)

    def _refresh_objects_table(self):
        cat = self.state.catalog
        if cat is None:
            return
        cols = list(cat.objects.columns[:TABLE_COLUMNS_MAX])
        self.objects_table.value = cat.objects[cols]

    def _on_labels_changed(self, map_too: bool = True):
        s = self.state
        if s.catalog is None:
            return
        try:
            self.label_select.options = s.label_set
        except ExplorerError as exc:
            s.status = f"**Error:** labels unavailable: {exc}"
            return
        if map_too:
            self._refresh_map()
            self._refresh_selection()
            # the header shows the tapped object's label: keep it in step with the labels file
            if s.selected_id:
                try:
                    self._refresh_tapped_header(s.selected_id, s.row_of(s.selected_id))
                except KeyError:
                    pass

    def _refresh_map(self):
        s = self.state
        if not s.model and s.catalog is not None:
            self.no_model.visible = True
            self.map_pane.visible = False
            return
        self.no_model.visible = False
        self.map_pane.visible = True
        if s.map is None:
            self.map_pane.object = None
            self.map_note.object = "*Computing the map...*" if s.busy else "*Press **Embed** to compute the map.*"
            return
        import holoviews as hv

        try:
            frame = s.points_frame()
            _, kind = s.color_values()
            element, source = plots.map_element(frame, kind, s.color_by, width=500)
        except ExplorerError as exc:
            self.map_note.object = f"**Cannot draw the map:** {exc}"
            return
        tap = hv.streams.Tap(source=source, x=None, y=None)
        tap.add_subscriber(self._on_tap)
        box = hv.streams.BoundsXY(source=source, bounds=None)
        box.add_subscriber(self._on_box)
        lasso = hv.streams.Lasso(source=source, geometry=None)
        lasso.add_subscriber(self._on_lasso)
        marks = hv.DynamicMap(self._marks, streams=[hv.streams.Params(s, ["selected_id", "selection_ids"])])
        self._streams = (tap, box, lasso)
        self.map_pane.object = element * marks
        stage = {"pca": "PCA preview (UMAP running...)", "umap": "UMAP", "given": "Map"}.get(s.map.stage, "Map")
        legend = ""
        if len(frame) > plots.DATASHADE_ABOVE:
            legend = plots.legend_html(frame["color"], s.color_by) if kind == "categorical" else ""
            legend += "<p>Large catalog: the map is rasterised with datashader; taps and selections are resolved on the server.</p>"
        self.map_note.object = (f"{stage} of {len(frame)} objects; model {s.model}, output {s.output}, "
                                f"reduction {s.reduction}. Tap: one object; box/lasso: a selection.{legend}")

    def _marks(self, selected_id="", selection_ids=()):
        s = self.state
        if s.map is None or s.catalog is None:
            return plots.marker_element([], [], kind="selection") * plots.marker_element([], [])
        rows = [s.catalog.index_of(i) for i in selection_ids[:5000]]
        sel = s.map.coords[rows] if rows else np.empty((0, 2))
        tapped = s.map.coords[[s.catalog.index_of(selected_id)]] if selected_id else np.empty((0, 2))
        return (plots.marker_element(sel[:, 0], sel[:, 1], kind="selection")
                * plots.marker_element(tapped[:, 0], tapped[:, 1], kind="tapped"))

    def _on_tap(self, x=None, y=None):
        if x is not None and y is not None:
            self.state.select_at(x, y)

    def _on_box(self, bounds=None):
        if bounds is not None:
            x0, y0, x1, y1 = bounds
            self.state.select_box(x0, y0, x1, y1)

    def _on_lasso(self, geometry=None):
        if geometry is not None and len(geometry) >= 3:
            geometry = np.asarray(geometry, dtype=float)
            self.state.select_lasso(geometry[:, 0], geometry[:, 1])

    def _lc_figure(self, key, *, title: str):
        """The main light-curve figure; a bad light curve becomes a message, never an exception."""
        s = self.state
        try:
            lc = s.light_curve_frame(key)
            if len(lc) == 0:
                return plots.message_figure(f"{key}: no valid observation")
            period = s.period_of(s.row_of(key))
            return plots.light_curve_figure(lc, value_kind=s.catalog.value_kind, title=title,
                                            folded=s.fold and period is not None, period=period)
        except Exception as exc:  # one bad light curve never kills the session
            log.warning("cannot plot %s: %s", key, exc)
            return plots.message_figure(f"cannot plot {key}: {type(exc).__name__}: {exc}"[:120])

    def _thumbnail(self, key, *, title: str) -> pn.pane.HTML:
        """A small static light curve (folded when a period is known); errors become a message."""
        s = self.state
        try:
            lc = s.light_curve_frame(key)
            period = s.period_of(s.row_of(key))
            svg = plots.light_curve_svg(lc, value_kind=s.catalog.value_kind, title=title,
                                        folded=period is not None, period=period)
        except Exception as exc:  # one bad light curve never kills the session
            log.warning("cannot plot %s: %s", key, exc)
            svg = f"<div style='width:230px'>cannot plot {key}: {type(exc).__name__}: {exc}</div>"
        return pn.pane.HTML(svg, width=232, height=142, margin=2)

    def _refresh_tapped(self):
        s = self.state
        oid = s.selected_id
        if not oid or s.catalog is None:
            self.tapped.object = "*Tap a point (or a table row) to see its light curve.*"
            self.lc_pane.object = plots.message_figure("no object selected")
            self.neighbours.objects = []
            return
        try:
            row = s.row_of(oid)
        except KeyError:
            self.tapped.object = f"**Unknown object** `{oid}` in this catalog."
            return
        period = self._refresh_tapped_header(oid, row)
        if self.period_input.value != (round(period, 6) if period else None):
            self.period_input.value = round(period, 6) if period else None
        self.lc_pane.object = self._lc_figure(oid, title=str(oid))
        self._refresh_neighbours()

    def _refresh_tapped_header(self, oid, row):
        """Write the tapped object's id, label and metadata line; returns its period (or None)."""
        s = self.state
        meta = s.catalog.objects.iloc[row]
        label = s.labels.get(oid, pd.NA)
        extra = ", ".join(f"{c}: {meta[c]}" for c in s.catalog.objects.columns[1:6] if c not in ("empty",))
        period = s.period_of(row)
        self.tapped.object = (f"**{oid}** — your label: {'—' if pd.isna(label) else label}; {extra}"
                              + (f"; period {period:.6g} d" if period else ""))
        return period

    def _refresh_neighbours(self):
        s = self.state
        try:
            nb = s.neighbours()
        except (ExplorerError, KeyError) as exc:
            self.neighbours.objects = [pn.pane.Markdown(f"Neighbours unavailable: {exc}")]
            return
        if nb.empty:
            self.neighbours.objects = [pn.pane.Markdown("*No embedding yet: neighbours appear after Embed.*")]
            return
        cards = []
        for oid, dist in zip(nb["object_id"], nb["distance"]):
            fig = self._thumbnail(oid, title=f"{oid}  cos. dist {dist:.2e}")
            button = pn.widgets.Button(label=f"{oid} ({dist:.2e})",
                                       css_classes=["lcx-neighbour-button"], width=230)
            button.on_click(lambda _, oid=oid: setattr(s, "selected_id", oid))
            cards.append(pn.Column(fig, button, css_classes=["lcx-neighbour-card"]))
        self.neighbours.objects = cards

    def _refresh_selection(self):
        s = self.state
        if s.catalog is None:
            return
        try:
            frame = s.selection
        except (ExplorerError, KeyError) as exc:
            self.selection_table.value = pd.DataFrame({"error": [str(exc)]})
            return
        self.selection_table.value = frame
        figs = [self._thumbnail(oid, title=str(oid))
                for oid in frame["object_id"].astype(str).head(N_MULTIPLES)]
        more = len(frame) - N_MULTIPLES
        if more > 0:
            figs.append(pn.pane.Markdown(f"... and {more} more (see the table)."))
        self.multiples.objects = figs
