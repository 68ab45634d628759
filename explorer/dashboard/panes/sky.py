"""The sky: the open catalog's objects at their RA/Dec, linked to the map (tap, selection, filters,
colours and labels are the same parts in both)."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane
from .map import MapPane


class SkyPane(StatePane):
    """A map pane over a linked state whose map is the sky view (``parts/sky.py``)."""

    def __init__(self, **params):
        super().__init__(**params)
        from ..parts.sky import SkyFollower
        from ..state import ExplorerState

        self.sky = ExplorerState.linked(self.state, fixed=True)
        SkyFollower(self.sky)
        self.map = MapPane(state=self.sky, css="lcx-sky-map")
        self.none = text_pane("lcx-sky-none", "This catalog has no RA/Dec columns (ra/dec, RAJ2000/DEJ2000...): "
                                              "nothing to show on the sky.")
        self.sky.pipeline.param.watch(lambda *_: self.ui(self.guarded, "updating the sky", self.refresh), ["map"])
        self.refresh()

    def refresh(self) -> None:
        """The sky map, or why there is none."""
        self.none.visible = self.sky.map is None

    def __panel__(self):
        return pn.Column(self.none, self.map, sizing_mode="stretch_width")
