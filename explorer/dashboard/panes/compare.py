"""Two maps side by side: the main map and a second representation of the same catalog, linked."""

from __future__ import annotations

import panel as pn

from ..state import REPRESENTATIONS
from .base import StatePane, text_pane, with_css
from .map import MapPane


class ComparePane(StatePane):
    """The main map beside a *twin* map (another representation or model); tap, selection, filters,
    colours and labels are the same parts in both, each map has its quality figures.  The choosers of
    the second map are there from the start: the user picks, then computes."""

    def __init__(self, **params):
        super().__init__(**params)
        from ..compare import Twin

        self.twin = Twin(self.state)
        t = self.twin.state
        w = pn.widgets
        self.representation = with_css(w.Select.from_param(t.pipeline.param.representation, width=200,
                                                           options={v: k for k, v in REPRESENTATIONS.items()}),
                                       "lcx-compare-representation")
        self.model = with_css(w.Select.from_param(t.models.param.model, width=240), "lcx-compare-model")
        self.start_button = w.Button(label="Compute the second map", button_type="primary",
                                     css_classes=["lcx-compare-start"], width=220)
        self.start_button.on_click(self.action("computing the second map", self.start))
        self.intro = text_pane("lcx-compare-intro", "Compare two representations of this catalog: choose the "
                                                    "second one, compute it, then tap or select in either map.")
        self.main_map = self.twin_map = None
        self.main_quality = text_pane("lcx-compare-quality-main")
        self.twin_quality = text_pane("lcx-compare-quality-twin")
        self.twin_status = text_pane("lcx-compare-status")
        self.holder = pn.Column(self.intro, pn.Row(self.representation, self.model, self.start_button),
                                self.twin_status, sizing_mode="stretch_width")
        self.watch(self.refresh, ["map"])
        t.pipeline.param.watch(lambda *_: self.ui(self.guarded, "updating the comparison", self.refresh), ["map"])
        t.messages.param.watch(lambda *_: self.ui(self.guarded, "updating the comparison", self.refresh), ["status"])
        t.pipeline.param.watch(lambda *_: self.ui(self.guarded, "updating the comparison", self._enable),
                               ["representation"])
        self._enable()
        self.refresh()

    def ensure_twin(self):
        """The linked second state's holder (made with the pane)."""
        return self.twin

    def _enable(self) -> None:
        self.model.disabled = self.twin.state.pipeline.representation == "features"

    def _show_maps(self) -> None:
        # the maps are made once the second one exists: a map pane created empty and filled moments
        # later stayed blank in Chromium until the window was resized
        if self.main_map is not None or self.twin.state.map is None:
            return
        self.main_map = MapPane(state=self.state)
        self.twin_map = MapPane(state=self.twin.state)
        maps = pn.Row(pn.Column(self.main_map, self.main_quality, sizing_mode="stretch_width",
                                css_classes=["lcx-compare-main"]),
                      pn.Column(self.twin_map, self.twin_quality, sizing_mode="stretch_width",
                                css_classes=["lcx-compare-twin"]),
                      sizing_mode="stretch_width")
        self.holder.objects = list(self.holder.objects) + [maps]

    def start(self) -> None:
        """Compute the chosen second map."""
        self.twin.start()

    def refresh(self) -> None:
        """Quality figures of both maps and the second map's status (plain text)."""
        t = self.twin.state
        self._show_maps()
        self.main_quality.object = "Main map: " + (self.state.quality_text() if self.state.quality else "not rated yet")
        self.twin_quality.object = "Second map: " + (t.quality_text() if t.quality else "not rated yet")
        self.twin_status.object = t.status

    def __panel__(self):
        return self.holder
