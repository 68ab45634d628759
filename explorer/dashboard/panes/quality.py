"""Map quality beside the map: kNN5 in the full space and in 2-D, trustworthiness, for a chosen label column."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css


class QualityPane(StatePane):
    """How well the current map separates a label column, and the label-guided map option."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.column_select = with_css(w.Select.from_param(self.p("quality_column"), sizing_mode="stretch_width"),
                                      "lcx-quality-column")
        self.guided = with_css(w.Checkbox.from_param(self.p("guided")), "lcx-guided")
        self.target_weight = with_css(w.FloatSlider.from_param(self.p("target_weight"), step=0.05,
                                                               sizing_mode="stretch_width"), "lcx-target-weight")
        self.figures = text_pane("lcx-quality", "")
        self.watch(self.refresh, ["map", "quality_column"])
        self.watch(self._enable, ["guided"])
        self.refresh()
        self._enable()

    def _enable(self) -> None:
        self.target_weight.disabled = not self.state.guided

    def refresh(self) -> None:
        """Show the figures of the current map (plain text: labels and columns are data)."""
        s = self.state
        q = s.quality
        if s.quality_column is None:
            self.figures.object = "No label column: label some objects (or open a labelled catalog) to rate the map."
        elif q is None:
            self.figures.object = f"Map quality for '{s.quality_column}': computed with the map."
        else:
            self.figures.object = s.quality_text()

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("### Map quality", margin=(0, 5)), self.column_select, self.figures,
                         self.guided, self.target_weight, sizing_mode="stretch_width")
