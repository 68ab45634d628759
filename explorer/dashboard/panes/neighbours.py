"""Nearest neighbours of the tapped object in the full embedding space, as small light-curve cards."""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn

from .. import plots
from .base import StatePane, text_pane

log = logging.getLogger(__name__)
_EMPTY = pd.DataFrame({"time": [], "value": [], "error": [], "band": [], "phase": []})  # "cannot plot" cards


def thumbnail(state, key, *, title: str) -> pn.pane.HTML:
    """A small static light curve (SVG with escaped text; folded when a period is known)."""
    try:
        lc = state.light_curve_frame(key)
        period = state.period_of(state.row_of(key))
        svg = plots.light_curve_svg(lc, value_kind=state.catalog.value_kind, title=title,
                                    folded=period is not None, period=period)
    except Exception as exc:  # noqa: BLE001  one bad light curve never kills the session
        log.warning("cannot plot %s: %s", key, exc)
        svg = plots.light_curve_svg(_EMPTY, title=f"cannot plot {key}: {type(exc).__name__}")
    return pn.pane.HTML(svg, width=232, height=142, margin=2)


class NeighboursPane(StatePane):
    """Cards of the k nearest objects (cosine); a card's button taps that object."""

    def __init__(self, **params):
        super().__init__(**params)
        self.cards = pn.FlexBox(css_classes=["lcx-neighbours"], name="lcx-neighbours", sizing_mode="stretch_width")
        self.watch(self.refresh, ["selected_id", "embedding", "k_neighbours", "catalog"])
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the cards for the tapped object."""
        s = self.state
        if not s.selected_id:
            self.cards.objects = [text_pane("lcx-neighbours-note", "Tap an object to see its nearest neighbours.")]
            return
        if s.embedding is None:
            self.cards.objects = [text_pane("lcx-neighbours-note", "Neighbours appear once the map is computed.")]
            return
        try:
            nb = s.neighbours()
        except KeyError as exc:
            self.cards.objects = [text_pane("lcx-neighbours-note", f"Neighbours unavailable: {exc}")]
            return
        if nb.empty:
            self.cards.objects = [text_pane("lcx-neighbours-note", "This object has no embedding: no neighbours.")]
            return
        cards = []
        for oid, dist in zip(nb["object_id"], nb["distance"]):
            button = pn.widgets.Button(label=f"{oid} ({dist:.2e})", css_classes=["lcx-neighbour-button"], width=230)
            button.on_click(self.action(f"showing neighbour {oid}", setattr, s, "selected_id", oid))
            cards.append(pn.Column(thumbnail(s, oid, title=f"{oid}  cos. dist {dist:.2e}"), button,
                                   css_classes=["lcx-neighbour-card"]))
        self.cards.objects = cards

    def __panel__(self):
        return self.cards
