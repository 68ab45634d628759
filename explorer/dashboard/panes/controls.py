"""Controls: catalog (list, path, upload), representation / model / output / reduction / bands, UMAP, Embed,
progress, status."""

from __future__ import annotations

import panel as pn

from ..state import REPRESENTATIONS
from ..uploads import CatalogDropper, ReceivedUpload
from .base import StatePane, TextMultiChoice, text_pane, with_css


class ControlsPane(StatePane):
    """The sidebar controls; every widget is made from a state parameter except upload and path."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.catalog_select = with_css(w.Select.from_param(self.p("catalog_choice"), sizing_mode="stretch_width"),
                                       "lcx-catalog-select")
        self.catalog_path = w.TextInput(label="Catalog path", placeholder="path inside the allowed folders",
                                        css_classes=["lcx-catalog-path"], sizing_mode="stretch_width")
        self.catalog_open = w.Button(label="Open path", css_classes=["lcx-catalog-open"], align="end", width=90)
        # chunked, size-checked in the browser and again per chunk on the server (uploads.py)
        self.catalog_upload = CatalogDropper(name="Upload Parquet/CSV", css_classes=["lcx-catalog-upload"],
                                             sizing_mode="stretch_width")
        self.representation_select = with_css(
            w.Select.from_param(self.p("representation"), options={v: k for k, v in REPRESENTATIONS.items()},
                                sizing_mode="stretch_width"), "lcx-representation-select")
        self.concat_box = with_css(w.Checkbox.from_param(self.p("concat_bands")), "lcx-concat-bands")
        self.metric_select = with_css(w.Select.from_param(self.p("metric"), sizing_mode="stretch_width"),
                                      "lcx-metric-select")
        self.model_select = with_css(w.Select.from_param(self.p("model"), sizing_mode="stretch_width"),
                                     "lcx-model-select")
        self.output_select = with_css(w.Select.from_param(self.p("output"), sizing_mode="stretch_width"),
                                      "lcx-output-select")
        self.reduction_select = with_css(w.Select.from_param(self.p("reduction"), sizing_mode="stretch_width"),
                                         "lcx-reduction-select")
        self.bands_select = with_css(TextMultiChoice.from_param(self.p("bands"), sizing_mode="stretch_width"),
                                     "lcx-bands-select")
        self.nn_slider = with_css(w.IntSlider.from_param(self.p("n_neighbors"), sizing_mode="stretch_width"),
                                  "lcx-umap-neighbors")
        self.md_slider = with_css(w.FloatSlider.from_param(self.p("min_dist"), step=0.01, sizing_mode="stretch_width"),
                                  "lcx-umap-min-dist")
        self.embed_button = w.Button(label="Embed", color="primary", css_classes=["lcx-embed-button"],
                                     sizing_mode="stretch_width")
        self.cancel_button = w.Button(label="Cancel", css_classes=["lcx-cancel-button"], width=80, disabled=True)
        self.progress = pn.indicators.Progress(value=0, max=100, active=False, css_classes=["lcx-progress"],
                                               sizing_mode="stretch_width", height=12)
        self.status = text_pane("lcx-status", s.status)

        self.catalog_open.on_click(self.action("opening the catalog path", self._open_path))
        self.catalog_upload.param.watch(lambda e: self.guarded("opening the uploaded file", self._upload, e.new),
                                        "received")
        self.catalog_upload.param.watch(lambda e: self.guarded("opening the uploaded file", self._refused, e.new),
                                        "refused")
        self.embed_button.on_click(self.action("computing the map", s.start))
        self.cancel_button.on_click(self.action("cancelling", s.jobs.cancel))
        self.watch(self._show_job, ["busy", "progress", "message"], obj=s.jobs)
        self.watch(self._show_status, ["status"])
        self.watch(self._show_bands, ["catalog", "representation", "bands"])
        self._show_job()
        self._show_bands()

    def _open_path(self) -> None:
        path = (self.catalog_path.value or "").strip()
        if not path:
            raise ValueError("type a path inside the allowed folders first")
        self.state.jobs.submit(f"Opening {path}", self.state._open_and_run, path)

    def _upload(self, upload: ReceivedUpload | None) -> None:
        if upload is None:
            return
        try:
            self.state.jobs.submit(f"Opening uploaded file {upload.filename}", self._open_upload, upload)
        except BaseException:
            self.catalog_upload.release(upload)
            raise

    @staticmethod
    def _refused(exc) -> None:
        if exc is not None:
            raise exc

    def _open_upload(self, upload: ReceivedUpload) -> None:
        self.state.say("Opening catalog...")
        try:
            data = upload.read()
        finally:
            self.catalog_upload.release(upload)  # the bytes are in memory now (or the read failed): the file goes
        self.state.open_upload(upload.filename, data)
        del data  # the catalog holds its own arrays; don't keep the file's bytes through the map job
        if self.state.can_compute():
            self.state.run()

    def _show_job(self) -> None:
        jobs = self.state.jobs
        self.progress.value = jobs.progress if jobs.busy else 0
        self.progress.active = bool(jobs.busy) and jobs.progress == 0
        self.embed_button.disabled = bool(jobs.busy)
        self.embed_button.label = "Working..." if jobs.busy else "Embed"
        self.cancel_button.disabled = not jobs.busy

    def _show_status(self) -> None:
        self.status.object = self.state.status

    def _show_bands(self) -> None:
        s = self.state
        cat = s.catalog
        self.bands_select.disabled = cat is None or len(cat.bands) <= 1
        # side by side only means something for a single-band model on several bands
        self.concat_box.disabled = (cat is None or len(cat.bands) <= 1 or s.representation == "features"
                                    or s.model_kind() == "atcat")
        model_free = s.representation == "features"
        for widget in (self.model_select, self.output_select, self.reduction_select):
            widget.disabled = model_free

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("### Catalog", margin=(0, 5)), self.catalog_select,
            pn.Row(self.catalog_path, self.catalog_open, sizing_mode="stretch_width"), self.catalog_upload,
            pn.pane.Markdown("### Representation", margin=(0, 5)), self.representation_select,
            self.model_select, self.output_select, self.reduction_select, self.bands_select, self.concat_box,
            pn.pane.Markdown("### UMAP", margin=(0, 5)), self.metric_select, self.nn_slider, self.md_slider,
            pn.Row(self.embed_button, self.cancel_button, sizing_mode="stretch_width"), self.progress, self.status,
            sizing_mode="stretch_width",
        )
