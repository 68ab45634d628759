"""Label suggestions: the most confident proposals as a light-curve gallery, accepted in one click."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css
from .neighbours import thumbnail

GALLERY = 12  # cards shown at once: enough to judge a class at a glance, cheap to draw


class SuggestionsPane(StatePane):
    """Suggest labels for unlabelled objects from their labelled neighbours; review and accept them."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.suggest_button = w.Button(label="Suggest labels", css_classes=["lcx-suggest"], width=150)
        self.min_confidence = with_css(w.FloatSlider.from_param(self.p("min_confidence"), step=0.05,
                                                                sizing_mode="stretch_width"), "lcx-min-confidence")
        self.accept_all = w.Button(label="Accept shown", css_classes=["lcx-accept-shown"], width=150, disabled=True)
        self.note = text_pane("lcx-suggestions-note", "")
        self.cards = pn.FlexBox(css_classes=["lcx-suggestions"], name="lcx-suggestions", sizing_mode="stretch_width")
        # on the event loop, not in the job runner: it changes the colour options the widgets show, and a
        # neighbour search among the labelled objects takes well under a second
        self.suggest_button.on_click(self.action("suggesting labels", s.suggest))
        self.accept_all.on_click(self.action("accepting suggestions", self._accept_shown))
        self.watch(self.refresh, ["suggestions", "min_confidence", "labels_version"])
        self.refresh()

    def _shown(self):
        return self.state.suggestion_gallery(GALLERY)

    def _accept_shown(self) -> None:
        ids = list(self._shown()["object_id"])
        if not ids:
            raise ValueError("no suggestion to accept at this confidence")
        self.state.accept_suggestions(ids)

    def refresh(self) -> None:
        """Rebuild the gallery of the most confident suggestions."""
        s = self.state
        table = s.suggestions
        if table is None:
            self.note.object = ("Label a few objects per class, then 'Suggest labels' proposes labels for the "
                                "others from their nearest labelled neighbours.")
            self.cards.objects, self.accept_all.disabled = [], True
            return
        shown = self._shown()
        total = int((table["confidence"] >= s.min_confidence).sum())
        self.note.object = (f"{len(table)} unlabelled objects have a suggestion; {total} at confidence >= "
                            f"{s.min_confidence:.2f}; the {len(shown)} most confident are shown. "
                            "Colour the map by 'suggestion' to see them all.")
        cards = []
        for oid, lab, conf in zip(shown["object_id"], shown["suggestion"], shown["confidence"]):
            button = pn.widgets.Button(label=f"Accept '{lab}'", css_classes=["lcx-accept-suggestion"], width=230)
            button.on_click(self.action(f"accepting the suggestion for {oid}", s.accept_suggestions, [oid]))
            tap = pn.widgets.Button(label=f"{oid} ({conf:.2f})", css_classes=["lcx-suggestion-tap"], width=230)
            tap.on_click(self.action(f"showing {oid}", setattr, s, "selected_id", oid))
            cards.append(pn.Column(thumbnail(s, oid, title=f"{oid} -> {lab} ({conf:.2f})"), tap, button,
                                   css_classes=["lcx-suggestion-card"]))
        self.cards.objects = cards
        self.accept_all.disabled = not cards

    def __panel__(self):
        return pn.Column(pn.Row(self.suggest_button, self.accept_all), self.min_confidence, self.note, self.cards,
                         sizing_mode="stretch_width")
