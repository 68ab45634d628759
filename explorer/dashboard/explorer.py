"""The ``Explorer`` page: composition of the panes over one :class:`ExplorerState`, URL and notifications.

The same object is served by ``panel serve app.py`` and displayed in a notebook
(``Explorer(catalog)``); ``.selection`` and ``.labels`` give the user's work back as pandas.
All behaviour lives in the state (``explorer.state``); the panes in ``panes/`` only show it.

Stable names for UI tests (CSS classes):

    lcx-catalog-select     Select of the catalogs (allowed folders, plus the open upload)
    lcx-catalog-path       TextInput for a path inside the allowed folders   (+ lcx-catalog-open button)
    lcx-catalog-upload     chunked Parquet/CSV upload (size-limited in the browser and the server: uploads.py)
    lcx-model-select       Select of every model the engine lists ("- unavailable" ones are refused with a reason)
    lcx-output-select      Select of the model output;  lcx-reduction-select: the reduction
    lcx-bands-select       MultiChoice of the bands fed to the model
    lcx-umap-neighbors     IntSlider, UMAP n_neighbors;  lcx-umap-min-dist: FloatSlider, UMAP min_dist
    lcx-embed-button       Button "Embed" ("Working..." and disabled while a job runs)
    lcx-cancel-button      Button "Cancel": stops this session's running job at its next progress step
    lcx-progress           Progress bar of the running job
    lcx-status             Plain-text status / error message
    lcx-no-model           Alert shown instead of the map when no model is available
    lcx-color-select       Select of the colour-by column ("user_label" = the labels given here)
    lcx-map                HoloViews pane of the projection (tap / box / lasso);  lcx-map-note: what it shows
    lcx-lightcurve         Bokeh pane of the tapped object's light curve
    lcx-fold               Checkbox "phase-fold";  lcx-period: FloatInput;  lcx-period-search: Button
    lcx-tapped             Plain text naming the tapped object
    lcx-neighbours         FlexBox of nearest-neighbour cards; each card's button: lcx-neighbour-button
    lcx-selection-table    Tabulator of the selected objects;  lcx-selection-multiples: their light curves
    lcx-objects-table      Tabulator of all objects (click a row to show its light curve)
    lcx-label-select       Select of the label set;  lcx-label-input: TextInput for a new label
    lcx-label-add          Button adding the typed label to the set
    lcx-label-apply        Button "Label tapped object";  lcx-label-apply-selection: "Label selection"
    lcx-representation-select  Select: model embedding / light_curve features / hybrid;  lcx-concat-bands: Checkbox
    lcx-metric-select      Select of the distance (map and neighbours, standardised vectors)
    lcx-quality-column     Select of the label column the map is rated by;  lcx-quality: the figures (text)
    lcx-guided             Checkbox "Label-guided map";  lcx-target-weight: FloatSlider of the label weight
    lcx-suggest            Button "Suggest labels";  lcx-min-confidence: FloatSlider;  lcx-accept-shown: Button
    lcx-suggestions        FlexBox of suggestion cards (lcx-suggestion-card; lcx-accept-suggestion, lcx-suggestion-tap)
    lcx-finetune           Button "Fine-tune on this catalog";  lcx-finetune-name / -epochs / -lr: its settings;
                           lcx-finetune-note: losses per epoch (text);  lcx-finetune-plot: the loss plot
    lcx-export             Column of FileDownload buttons: lcx-export-labels, lcx-export-selection,
                           lcx-export-embeddings, lcx-export-coordinates;  lcx-export-format: Select
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qsl, urlencode

import pandas as pd
import panel as pn
import param

from .panes import (ClassifyPane, ComparePane, ControlsPane, ExportPane, FindPane, FineTunePane, HoverPane, LabelsPane,
                    LightCurvePane, MapPane, NeighboursPane, ObjectsPane, OddOnesPane, QualityPane, SelectionPane,
                    SkyPane, SuggestionsPane, SummariesPane)
from .state import ExplorerState

log = logging.getLogger(__name__)
RIGHT_COLUMN = 400  # px of the light curve and neighbours beside the map


def _session_user() -> str | None:
    """The signed-in user of this served session (Panel OAuth / basic auth), None when anonymous."""
    curdoc = pn.state.curdoc
    if curdoc is None or curdoc.session_context is None:
        return None
    try:
        return pn.state.user or None
    except Exception:  # no request behind the session (e.g. a test document): anonymous
        return None


def _session_location():
    """This session's ``pn.state.location``.  Panel turns numeric query values into numbers when it makes
    the location and fails on a value of thousands of digits; the page must still build, so it then gets a
    location that leaves such values alone (the state reads the query raw and refuses them by name)."""
    try:
        return pn.state.location
    except ValueError as exc:
        from panel.io.location import Location

        class TolerantLocation(Location):
            """A location whose query Panel's own parsing may fail on: nothing is synced from it then."""

            def _update_synced(self, event=None) -> None:
                try:
                    super()._update_synced(event)
                except ValueError:
                    log.info("the page's query could not be parsed by Panel; the state reads it raw")

        log.info("the page's query could not be parsed by Panel (%s); reading it raw", str(exc)[:80])
        loc = TolerantLocation()
        pn.state._locations[pn.state.curdoc] = loc
        return loc


def _raw_query() -> dict[str, str]:
    """The query this served session was requested with, as text (the last value of each key)."""
    try:
        args = pn.state.session_args or {}
    except Exception:  # no request behind the session (a test document)
        return {}
    return {k: (v[-1].decode("utf-8", "replace") if isinstance(v[-1], bytes) else str(v[-1]))
            for k, v in args.items() if v}


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
        compute the map at once (in the background) so that it appears without user action.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="The browser-free state behind the view.")

    def __init__(self, catalog=None, model: str | None = None, *, autorun: bool = True, state=None, **params):
        if state is None:
            if catalog is None:
                from .sources import default_catalog

                catalog = default_catalog()
            state = ExplorerState(catalog, model=model, labels_user=_session_user())
        super().__init__(state=state, **params)
        state.refresh_models()
        self.controls = ControlsPane(state=state)
        self.map = MapPane(state=state)
        self.lightcurve = LightCurvePane(state=state)
        self.neighbours = NeighboursPane(state=state)
        self.selection_pane = SelectionPane(state=state)
        self.objects = ObjectsPane(state=state)
        self.labels_pane = LabelsPane(state=state)
        self.export = ExportPane(state=state)
        self.quality = QualityPane(state=state)
        self.suggestions = SuggestionsPane(state=state)
        self.finetune = FineTunePane(state=state)
        self.find = FindPane(state=state)
        self.hover = HoverPane(state=state)
        self.summaries = SummariesPane(state=state)
        self.compare_pane = ComparePane(state=state)
        self.sky = SkyPane(state=state)
        self.classify = ClassifyPane(state=state)
        self.odd_ones = OddOnesPane(state=state)
        curdoc = pn.state.curdoc
        self._served = curdoc is not None and curdoc.session_context is not None
        # this session's location and notifications, kept: callbacks on the event loop may run without a curdoc
        self._location = _session_location() if self._served else None
        self._notifications = pn.state.notifications if self._served else None
        state.messages.param.watch(self._notify, "alert")
        if self._served:
            query = self._read_url()
            pn.state.onload(lambda: self._first_load(query, autorun))
        elif autorun and state.catalog is not None and state.can_compute():
            state.start()
        elif state.model and not state.model_available() and state.model_infos:
            state.fail("choosing the model", state.model_info(state.model).detail
                       if state.model_info(state.model) else f"{state.model!r} is not listed")

    # ------------------------------------------------------------------ public API
    @property
    def selection(self) -> pd.DataFrame:
        """The selected objects (rows of the objects table, with their labels)."""
        return self.state.selection

    @property
    def labels(self) -> pd.Series:
        """Labels of every object (index object_id; <NA> = unlabelled)."""
        return self.state.labels

    def select(self, object_ids) -> list[str]:
        """Make ``object_ids`` the selection, as a box on the map would (unknown ids raise KeyError)."""
        return self.state.select_ids(object_ids)

    def filter(self, query: str = "") -> int:
        """Keep the objects matching ``query`` (others greyed on the map, left out of the table and charts);
        returns how many pass. ``filter("")`` clears the query."""
        self.state.filter(query)
        mask = self.state.filter_mask
        return int(mask.sum()) if mask is not None else len(self.state.catalog or ())

    def find_object(self, text: str) -> list[str]:
        """Tap the object whose id is (or contains) ``text``; returns the matching ids."""
        return self.state.find(text)

    def compare(self, representation: str | None = None, model: str | None = None):
        """Show a second, linked map of another representation (default: features vs the embedding);
        returns the second state (``.wait()`` for its map)."""
        twin = self.compare_pane.ensure_twin()
        if representation is not None:
            twin.state.representation = representation
        if model is not None:
            twin.state.model = model
        twin.start()
        return twin.state

    def open_embeddings(self, out_dir) -> list[str]:
        """Show what ``lcexplorer embed ... --scheduler ... -o out_dir`` wrote (embeddings, map) without
        recomputing; returns the ids of catalog objects the folder lacks."""
        return self.state.open_embeddings(out_dir)

    def start(self) -> bool:
        """Compute the map of the current combination in the background (queued while a job runs)."""
        return self.state.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until background work is finished; handy in notebooks and scripts."""
        return self.state.wait(timeout)

    # ------------------------------------------------------------------ layout
    @property
    def sidebar(self) -> pn.Column:
        """The controls, labels and export (the template sidebar in app.py)."""
        if not hasattr(self, "_sidebar"):
            self._sidebar = pn.Column(self.controls, self.quality, self.labels_pane, self.export,
                                      sizing_mode="stretch_width")
        return self._sidebar

    @property
    def main(self) -> pn.Column:
        """The map and light curve side by side, the linked tabs below."""
        if not hasattr(self, "_main"):
            tabs = pn.Tabs(("Charts", self.summaries), ("Selection", self.selection_pane),
                           ("Objects", self.objects), ("Compare", self.compare_pane), ("Sky", self.sky),
                           ("Suggestions", self.suggestions), ("Classify", self.classify),
                           ("Odd ones", self.odd_ones), ("Fine-tune", self.finetune), dynamic=True,
                           sizing_mode="stretch_width")
            # the map is the product: it takes the width left over by a fixed light-curve column, and the
            # most height, so it is the largest thing on the page at 1366 px and grows with the window
            left = pn.Column(self.find, self.map, self.hover, sizing_mode="stretch_width", min_width=420)
            # the neighbours right under the light curve: seen without opening a tab
            right = pn.Column(self.lightcurve, pn.pane.Markdown("**Nearest neighbours** (full space; lines on the map)",
                                                                margin=(0, 5)),
                              self.neighbours, width=RIGHT_COLUMN)
            top = pn.Row(left, right, sizing_mode="stretch_width")
            self._main = pn.Column(top, tabs, sizing_mode="stretch_width")
        return self._main

    @property
    def layout(self):
        """Sidebar and main area side by side (what a notebook displays)."""
        if not hasattr(self, "_layout"):
            side = pn.Column(self.sidebar, width=320)
            self._layout = pn.Row(side, self.main, sizing_mode="stretch_width")
        return self._layout

    def __panel__(self):
        return self.layout

    # ------------------------------------------------------------------ served page: URL and notifications
    def _read_url(self) -> dict:
        # raw strings: Panel's own query parsing turns "530_3267" into the number 5303267
        search = self._location.search if self._location is not None else ""
        if not search:  # a location Panel could not make from the request: the request's own arguments
            return {k: v for k, v in _raw_query().items() if v}
        return dict(parse_qsl(search.lstrip("?"), keep_blank_values=False))

    def _first_load(self, query: dict, autorun: bool) -> None:
        s = self.state
        relevant = {k: v for k, v in query.items() if k in s.URL_KEYS}
        if relevant:
            s.jobs.submit("Restoring the shared view", s.restore, relevant)

            def written(event):  # the link then shows what was restored (refused values dropped)
                if not event.new:
                    s.jobs.param.unwatch(watcher)
                    self.map.ui(self._write_url)

            watcher = s.jobs.param.watch(written, "busy")
        elif autorun and s.catalog is not None and s.can_compute():
            s.start()
        elif s.model and s.model_infos and not s.model_available():
            s.models.say_model_state()
        self.map.watch(self._write_url, ["catalog_label", "model", "output", "reduction", "bands", "color_by",
                                         "n_neighbors", "min_dist", "selected_id", "representation", "concat_bands",
                                         "metric", "guided", "target_weight", "quality_column"])
        if not relevant:
            self._write_url()

    def _write_url(self) -> None:
        if self._location is None:
            return
        from .parts.urlstate import url_query

        query, notes = url_query(self.state)
        search = "?" + urlencode(query)
        if notes and notes != getattr(self, "_url_notes", None):
            self.state.say("Shared link: " + "; ".join(notes) + ".")
        self._url_notes = notes
        if self._location.search != search:
            self._location.search = search

    def _notify(self, event) -> None:
        text = event.new[1]
        if not self._served or not text:
            return

        def show():
            notes = self._notifications
            if notes is not None:
                notes.error(html.escape(text), duration=10_000)

        self.map.ui(show)
