"""Classify the catalog and find its odd ones: two tabs over the state's ``discovery`` part.

"Label these next" shows a light-curve gallery of the objects the strategy picks, one button per label
under each; when every card of the batch has its label the catalog is classified again and the learning
curve grows.  "Find the odd ones" shows the most anomalous objects with "Anomaly" / "Not interesting";
each answer is saved at once beside the labels and the ranking is redone.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from .base import StatePane, text_pane, with_css
from .neighbours import thumbnail


class ClassifyPane(StatePane):
    """Label these next, classify the catalog, accept the confident predictions, the learning curve."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.strategy = with_css(w.Select.from_param(self.p("strategy"), width=200), "lcx-next-strategy")
        self.n_next = with_css(w.IntInput.from_param(self.p("n_next"), width=120), "lcx-next-n")
        self.next_button = w.Button(label="Label these next", button_type="primary", css_classes=["lcx-label-next"],
                                    width=170)
        self.classify_button = w.Button(label="Classify the catalog", css_classes=["lcx-classify"], width=170)
        self.accept_at = with_css(w.FloatSlider.from_param(self.p("accept_at"), step=0.01, width=260),
                                  "lcx-accept-at")
        self.accept_button = w.Button(label="Accept predictions", css_classes=["lcx-accept-predictions"], width=170)
        self.note = text_pane("lcx-classify-note", "Label a few objects of each class (or press 'Label these "
                                                   "next'), then classify the whole catalog.")
        self.gallery = pn.FlexBox(css_classes=["lcx-next-gallery"], sizing_mode="stretch_width")
        self.curve = pn.pane.Bokeh(None, css_classes=["lcx-learning-curve"], height=220, width=420)
        self._given: dict[str, str] = {}  # object id of the batch -> label given from its card
        self._buttons: dict[str, list] = {}  # object id of the batch -> its label buttons
        self.next_button.on_click(self.action("choosing what to label next", s.jobs.submit,
                                              "Choosing what to label next", s.label_next))
        self.classify_button.on_click(self.action("classifying the catalog", s.jobs.submit,
                                                  "Classifying the catalog", s.classify))
        self.accept_button.on_click(self.action("accepting predictions", s.jobs.submit, "Accepting predictions",
                                                s.accept_predictions))
        self.watch(self.refresh_gallery, ["next_batch", "label_choice"])
        self.watch(self.refresh_results, ["predictions", "accuracy", "curve", "accept_at"])
        self.refresh_results()

    def refresh_gallery(self) -> None:
        """One card per object to label next: its light curve and one button per label of the set."""
        s = self.state
        labels = list(s.labelling.param.label_choice.objects or [])
        self._given, self._buttons = {}, {}
        cards = []
        if s.next_batch and not labels:
            cards.append(text_pane("lcx-next-hint", "Add the labels you use (sidebar, 'New label') to label these."))
        for oid in s.next_batch:
            buttons = []
            for label in labels:
                b = pn.widgets.Button(label=str(label), css_classes=["lcx-next-label"], width=110)
                b.on_click(self.action(f"labelling {oid}", self._give, oid, str(label)))
                buttons.append(b)
            self._buttons[oid] = buttons
            cards.append(pn.Column(thumbnail(s, oid, title=oid), pn.FlexBox(*buttons, width=236),
                                   css_classes=["lcx-next-card"], width=240))
        self.gallery.objects = cards

    def _give(self, oid: str, label: str) -> None:
        s = self.state
        s.labelling.assign([oid], label, what="object")
        self._given[oid] = label
        for b in self._buttons.get(oid, []):  # the card shows the label it got
            b.button_type = "success" if b.label == label else "default"
        if s.next_batch and set(s.next_batch) <= set(self._given):
            # the batch is labelled: retrain, and the learning curve gets its next point
            s.jobs.submit("Classifying the catalog", s.classify)

    def refresh_results(self) -> None:
        """Accuracy, confident predictions and the learning curve (plain text and a plot)."""
        from bokeh.plotting import figure

        s = self.state
        table, estimate = s.predictions, s.accuracy
        if table is None or estimate is None:
            self.accept_button.disabled = True
            self.curve.object = None
            return
        confident = int((table["probability"] >= s.accept_at).sum())
        self.accept_button.disabled = False
        self.note.object = (f"{estimate.summary()}.\n{confident} of {len(table)} objects predicted at probability >= "
                            f"{s.accept_at:.2f}. Colour the map by 'prediction' or 'probability'.")
        points = pd.DataFrame(s.curve, columns=["labels", "accuracy", "stderr"])
        fig = figure(height=220, width=420, title="Estimated accuracy as you label", toolbar_location=None,
                     x_axis_label="manual labels", y_axis_label="accuracy (cross-validated)", y_range=(0, 1.05))
        fig.line(points["labels"], points["accuracy"], color="#1f77b4")
        fig.scatter(points["labels"], points["accuracy"], color="#1f77b4", size=7)
        fig.segment(points["labels"], points["accuracy"] - points["stderr"], points["labels"],
                    points["accuracy"] + points["stderr"], color="#1f77b4")
        self.curve.object = fig

    def __panel__(self):
        return pn.Column(pn.Row(self.strategy, self.n_next, self.next_button), self.gallery,
                         pn.Row(self.classify_button, self.accept_at, self.accept_button), self.note, self.curve,
                         sizing_mode="stretch_width")


class OddOnesPane(StatePane):
    """The most anomalous objects as a gallery; each answer is saved and the ranking redone."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.find_button = w.Button(label="Find the odd ones", button_type="primary", css_classes=["lcx-find-odd"],
                                    width=170)
        self.n_odd = with_css(w.IntInput.from_param(self.p("n_odd"), width=120), "lcx-odd-n")
        self.note = text_pane("lcx-odd-note", "Ranks every object by how unusual it is in the map's space "
                                              "(coniferest isolation forest); your answers re-rank it.")
        self.gallery = pn.FlexBox(css_classes=["lcx-odd-gallery"], sizing_mode="stretch_width")
        self.find_button.on_click(self.action("finding the odd ones", s.jobs.submit, "Finding the odd ones",
                                              s.find_anomalies))
        self.watch(self.refresh, ["anomalies", "n_odd"])

    def _answer(self, oid: str, anomaly: bool) -> None:
        s = self.state
        s.discovery.answer(oid, anomaly)
        s.say(f"Saved: {oid} is {'an anomaly' if anomaly else 'not interesting'}; re-ranking...")
        s.jobs.submit("Re-ranking the odd ones", s.find_anomalies)

    def refresh(self) -> None:
        """The gallery of the most anomalous objects, with the answers given so far."""
        s = self.state
        top = s.discovery.odd_gallery()
        cards = []
        for oid, rank, score, answer in zip(top["object_id"], top["rank"], top["score"], top["answer"]):
            said = "" if pd.isna(answer) else (
                "your answer: anomaly" if answer == 1 else "your answer: not interesting")
            yes = pn.widgets.Button(label="Anomaly", css_classes=["lcx-odd-yes"], width=110,
                                    button_type="danger" if answer == 1 else "default")
            no = pn.widgets.Button(label="Not interesting", css_classes=["lcx-odd-no"], width=120,
                                   button_type="success" if answer == 0 else "default")
            yes.on_click(self.action(f"answering for {oid}", self._answer, str(oid), True))
            no.on_click(self.action(f"answering for {oid}", self._answer, str(oid), False))
            cards.append(pn.Column(thumbnail(s, oid, title=f"#{int(rank)} {oid}"),
                                   text_pane("lcx-odd-answer", f"score {score:.3f}" + (f"; {said}" if said else ""),
                                             width=236, sizing_mode="fixed"),
                                   pn.Row(yes, no), css_classes=["lcx-odd-card"], width=240))
        self.gallery.objects = cards

    def __panel__(self):
        return pn.Column(pn.Row(self.find_button, self.n_odd), self.note, self.gallery, sizing_mode="stretch_width")
