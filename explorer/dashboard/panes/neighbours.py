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
    """A small static light curve (SVG with escaped text; folded when a period is known) in a pane."""
    return pn.pane.HTML(thumbnail_svg(state, key, title=title), width=232, height=142, margin=2)


def thumbnail_svg(state, key, *, title: str) -> str:
    """The SVG of :func:`thumbnail`; a light curve that cannot be drawn gives a "cannot plot" card."""
    try:
        lc = state.light_curve_frame(key)
        period = state.period_of(state.row_of(key))
        svg = plots.light_curve_svg(lc, value_kind=state.catalog.value_kind, title=title,
                                    folded=period is not None, period=period)
    except Exception as exc:  # noqa: BLE001  one bad light curve never kills the session
        log.warning("cannot plot %s: %s", key, exc)
        svg = plots.light_curve_svg(_EMPTY, title=f"cannot plot {key}: {type(exc).__name__}")
    return svg


class NeighboursPane(StatePane):
    """Cards of the k nearest objects; a card's button taps that object.

    The cards are made once per count and refilled on each tap (new Bokeh models per tap cost ~100 ms
    at every tap); they are refilled on the tick after the tap, so the light curve reaches the browser first.
    """

    def __init__(self, **params):
        super().__init__(**params)
        self.cards = pn.FlexBox(css_classes=["lcx-neighbours"], name="lcx-neighbours", sizing_mode="stretch_width")
        self.note = text_pane("lcx-neighbours-note")
        self._pool: list[tuple[pn.pane.HTML, pn.widgets.Button, pn.Column]] = []
        self._targets: list[str] = []
        self.watch(self.refresh_later, ["selected_id"])
        self.watch(self.refresh, ["map", "k_neighbours", "catalog"])
        self.refresh()

    def refresh_later(self) -> None:
        """Refill the cards on the session's next tick (at once when not served)."""
        self.later("updating the neighbours", self.refresh)

    def _say(self, text: str) -> None:
        self.note.object = text
        self.cards.objects = [self.note]

    def refresh(self) -> None:
        """Fill the cards for the tapped object."""
        s = self.state
        if not s.selected_id:
            return self._say("Tap an object to see its nearest neighbours.")
        if s.map is None or s.map.embedding.neighbours is None:
            return self._say("Neighbours appear once the map is computed.")
        metric = s.map.embedding.neighbours.metric  # the space of the map on screen, not of the widgets
        try:
            nb = s.neighbours()
        except KeyError as exc:
            return self._say(f"Neighbours unavailable: {exc}")
        if nb.empty:
            return self._say("This object has no embedding: no neighbours.")
        if len(self._pool) != len(nb):
            self._pool = [self._card(i) for i in range(len(nb))]
        self._targets = [str(oid) for oid in nb["object_id"]]
        for (html, button, _), oid, dist in zip(self._pool, self._targets, nb["distance"]):
            html.object = thumbnail_svg(s, oid, title=f"{oid}  {metric[:3]}. dist {dist:.2e}")
            button.label = f"{oid} ({dist:.2e})"
        if self.cards.objects != [card for *_, card in self._pool]:
            self.cards.objects = [card for *_, card in self._pool]

    def _card(self, i: int):
        html = pn.pane.HTML("", width=232, height=142, margin=2)
        button = pn.widgets.Button(label="", css_classes=["lcx-neighbour-button"], width=230)
        button.on_click(lambda *_: self.guarded(f"showing neighbour {i + 1}", self._show, i))
        return html, button, pn.Column(html, button, css_classes=["lcx-neighbour-card"])

    def _show(self, i: int) -> None:
        self.state.selected_id = self._targets[i]

    def __panel__(self):
        return self.cards
