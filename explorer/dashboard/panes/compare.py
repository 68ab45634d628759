"""Two maps side by side: the main map and a second representation of the same catalog, linked."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css
from .map import MapPane


class ComparePane(StatePane):
    """The main map beside a *twin* map (another representation or model); tap, selection, filters,
    colours and labels are shared, each map has its quality figures."""

    def __init__(self, **params):
        super().__init__(**params)
        self.twin = None
        self.start_button = pn.widgets.Button(label="Compute the second map", button_type="primary",
                                              css_classes=["lcx-compare-start"], width=220)
        self.start_button.on_click(self.action("computing the second map", self.start))
        self.intro = text_pane("lcx-compare-intro", "Compare two representations of this catalog: choose the "
                                                    "second one, compute it, then tap or select in either map.")
        self.holder = pn.Column(self.intro, self.start_button, sizing_mode="stretch_width")
        self.watch(self.refresh_quality, ["quality", "map"])

    def ensure_twin(self):
        """The linked second state (made on first use, with its controls and map)."""
        if self.twin is None:
            from ..compare import Twin

            self.twin = Twin(self.state)
            t = self.twin.state
            w = pn.widgets
            self.representation = with_css(w.Select.from_param(t.param.representation, width=200),
                                           "lcx-compare-representation")
            self.model = with_css(w.Select.from_param(t.param.model, width=240), "lcx-compare-model")
            self.main_map = self.twin_map = None
            self.main_quality = text_pane("lcx-compare-quality-main")
            self.twin_quality = text_pane("lcx-compare-quality-twin")
            self.twin_status = text_pane("lcx-compare-status")
            t.param.watch(lambda *_: self.ui(self.guarded, "updating the comparison", self.refresh_quality),
                          ["quality", "map", "status"])
            self.holder.objects = [self.intro, pn.Row(self.representation, self.model, self.start_button),
                                   self.twin_status]
            self.refresh_quality()
        return self.twin

    def _show_maps(self) -> None:
        # the maps are made once the second one exists: a map pane created empty and filled moments
        # later stayed blank in Chromium until the window was resized
        if self.main_map is not None or self.twin is None or self.twin.state.map is None:
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
        """Make the twin if needed and compute its map."""
        self.ensure_twin().start()

    def refresh_quality(self) -> None:
        """Quality figures of both maps (plain text)."""
        if self.twin is None:
            return
        t = self.twin.state
        self._show_maps()
        self.main_quality.object = "Main map: " + (self.state.quality_text() if self.state.quality else "not rated yet")
        self.twin_quality.object = "Second map: " + (t.quality_text() if t.quality else "not rated yet")
        self.twin_status.object = t.status

    def __panel__(self):
        return self.holder
