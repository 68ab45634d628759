"""Export buttons: labels, selection, embeddings, coordinates, predictions and anomaly ranks as CSV or Parquet,
with provenance."""

from __future__ import annotations

import io
from functools import partial

import panel as pn
import param

from .base import StatePane

EXPORTS = ("labels", "selection", "embeddings", "coordinates", "predictions", "anomalies")


class ExportPane(StatePane):
    """One download button per export; the state builds the bytes."""

    fmt = param.Selector(default="csv", objects=["csv", "parquet"], label="Export format")

    def __init__(self, **params):
        super().__init__(**params)
        self.export_format = pn.widgets.Select.from_param(self.param.fmt, css_classes=["lcx-export-format"],
                                                          sizing_mode="stretch_width")
        self.exports = {what: pn.widgets.FileDownload(label=f"Export {what}", callback=partial(self._export, what),
                                                      filename=f"{what}.csv", embed=False,
                                                      css_classes=[f"lcx-export-{what}"],
                                                      sizing_mode="stretch_width")
                        for what in EXPORTS}
        self.box = pn.Column(self.export_format, *self.exports.values(), css_classes=["lcx-export"],
                             name="lcx-export", sizing_mode="stretch_width")

    @param.depends("fmt", watch=True)
    def _rename(self):
        for what, button in self.exports.items():
            button.filename = f"{what}.{self.fmt}"

    def _export(self, what):
        """FileDownload callback: the export's bytes, or a short error file when it cannot be made."""
        result = self.guarded(f"export of {what}", self.state.export, what, self.fmt)
        if result is None:
            data, filename = f"{self.state.status}\n".encode(), f"{what}-error.txt"
        else:
            data, filename = result
        self.exports[what].filename = filename
        return io.BytesIO(data)

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("### Export", margin=(0, 5)), self.box, sizing_mode="stretch_width")
