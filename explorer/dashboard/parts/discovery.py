"""Classify the whole catalog from a few labels and find its odd objects, in the space of the map on
screen (``explorer.discover`` does the work; this part holds the user's choices and the results).

Outputs are replaced whole and tied to the catalog: ``next_batch`` (ids to label next), ``predictions``
(``object_id, prediction, probability, p_<class>``), ``accuracy`` (cross-validated on the manual labels),
``curve`` (estimated accuracy per number of labels, as the user goes), ``anomalies`` (``object_id,
score, rank``) and ``feedback`` (the user's anomaly answers, saved beside the labels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from explorer.discover.active import DEFAULT_STRATEGY, STRATEGIES
from explorer.errors import ExplorerError

from ..jobs import JobRunner
from .catalogs import CatalogSession
from .common import NO_LABEL, Messages, Part
from .display import Display
from .labelling import Labelling

PREDICTED = "predicted"  # origin of labels accepted from the classifier


class Discovery(Part):
    """"Label these next", "Classify the catalog" and "Find the odd ones"."""

    strategy = param.Selector(default=DEFAULT_STRATEGY, objects=list(STRATEGIES), label="Strategy",
                              doc="How the objects to label next are chosen (cluster-margin: measured best).")
    n_next = param.Integer(default=8, bounds=(1, 48), label="How many to label next")
    accept_at = param.Number(default=0.9, bounds=(0.5, 1.0), step=0.01, label="Accept at probability >=",
                             doc="Predictions at or above this probability are saved as labels (origin predicted).")
    n_odd = param.Integer(default=12, bounds=(1, 48), label="Odd ones shown")

    next_batch = param.List(default=[], constant=True, doc="Object ids to label next.")
    predictions = param.DataFrame(default=None, allow_None=True, constant=True,
                                  doc="object_id, prediction, probability, p_<class> for every object.")
    accuracy = param.Parameter(default=None, constant=True, doc="AccuracyEstimate of the last classification.")
    curve = param.List(default=[], constant=True, doc="(labels, accuracy, stderr) of each classification.")
    anomalies = param.DataFrame(default=None, allow_None=True, constant=True, doc="object_id, score, rank.")
    feedback = param.Parameter(default=None, constant=True, doc="Series object_id -> 1 (anomaly) / 0 (not).")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    labelling = param.ClassSelector(class_=Labelling, constant=True)
    display = param.ClassSelector(class_=Display, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)
    jobs = param.ClassSelector(class_=JobRunner, constant=True)

    catalog_bound = ("next_batch", "predictions", "accuracy", "curve", "anomalies", "feedback")

    def __init__(self, **params):
        super().__init__(**params)
        self._space = None  # (embedding, X, usable): the prepared vectors of the map's embedding
        self.display.add_column("prediction", lambda: self.predictions is not None, self._prediction_values)
        self.display.add_column("probability", lambda: self.predictions is not None, self._probability_values)
        self.display.add_column("anomaly_score", lambda: self.anomalies is not None, self._score_values)

    def revalidate(self, catalog) -> None:
        """A new catalog: no results, its own feedback file."""
        self._space = None
        self.display.refresh_colour_options()

    # ------------------------------------------------------------------ inputs
    def space(self, view) -> tuple[np.ndarray, np.ndarray]:
        """``(X, usable)``: the map's vectors prepared as the map's (standardised, block-weighted)."""
        from explorer.projection import prepare_matrix

        if view is None or view.catalog is not self.session.catalog or view.embedding.matrix.shape[1] == 0:
            raise ExplorerError("no map of vectors yet: compute the map first (the classifier works in its space)")
        emb = view.embedding
        if self._space is None or self._space[0] is not emb:
            X, usable = prepare_matrix(emb.matrix, column_weights=emb.weights)
            self._space = (emb, np.asarray(X, np.float32), usable)
        return self._space[1], self._space[2]

    def manual_labels(self, cat) -> np.ndarray:
        """The user's own labels (origin manual) per catalog row, None elsewhere."""
        labels = self.labelling.user_labels(cat)
        origins = self.labelling.label_store.origins.reindex(cat.object_ids.astype(str)).to_numpy(
            dtype=object, na_value=None)
        return np.where(origins == "manual", labels, None).astype(object)

    # ------------------------------------------------------------------ label these next
    def label_next(self, view) -> list[str]:
        """The ``n_next`` objects to label next (``strategy``), as ``next_batch``."""
        from explorer.discover.active import suggest_next

        cat = self.session.require()
        X, usable = self.space(view)
        labels = self.manual_labels(cat)
        rows = np.flatnonzero(usable)
        picked = suggest_next(X[rows], labels[rows], int(self.n_next), strategy=self.strategy, seed=0)
        ids = [str(i) for i in cat.object_ids[rows[np.asarray(picked, np.int64)]]]
        self._out(next_batch=ids)
        self.messages.say(f"Label these next ({self.strategy}): {len(ids)} objects in the Classify tab.")
        return ids

    # ------------------------------------------------------------------ classify the catalog
    def classify(self, view) -> pd.DataFrame:
        """Train on the manual labels, predict every object, estimate the accuracy; the curve grows."""
        from explorer.discover.classifier import Classifier, estimate_accuracy

        cat = self.session.require()
        X, usable = self.space(view)
        labels = self.manual_labels(cat)
        classes = {str(v) for v in labels if v is not None}
        if len(classes) < 2:
            raise ExplorerError("classifying needs manual labels of at least two classes (labelled so far: "
                                f"{', '.join(sorted(classes)) or 'none'})")
        X = np.where(usable[:, None], X, np.nan)
        model = Classifier(seed=0).fit(X, labels)
        table = model.classify(X, cat.object_ids)
        estimate = estimate_accuracy(X, labels, seed=0)
        curve = [c for c in self.curve if c[0] != estimate.n_labels] + [
            (estimate.n_labels, estimate.accuracy, estimate.stderr)]
        self._out(predictions=table, accuracy=estimate, curve=sorted(curve))
        self._made = {"classifier": {k: v for k, v in model.get_params().items() if not callable(v)},
                      "labels_used": {"origin": "manual", "n": estimate.n_labels, "per_class": estimate.per_class},
                      "accuracy": {"estimate": estimate.accuracy, "stderr": estimate.stderr,
                                   "folds": estimate.n_folds},
                      "strategy": self.strategy, "seed": 0}
        self.display.refresh_colour_options()
        confident = int((table["probability"] >= self.accept_at).sum())
        self.messages.say(f"Classified {int((table['prediction'] != '').sum())} objects: {estimate.summary()}; "
                          f"{confident} at probability >= {self.accept_at:.2f}.")
        return table

    def provenance(self, what: str) -> dict:
        """How the predictions (``what="predictions"``) or the anomaly ranking was made, for exports."""
        if what == "predictions":
            if self.predictions is None:
                raise ExplorerError("no predictions yet: classify the catalog first (Classify tab)")
            return dict(getattr(self, "_made", {}))
        if self.anomalies is None:
            raise ExplorerError("no anomaly ranking yet: find the odd ones first (Odd ones tab)")
        answers = self.feedback if self.feedback is not None else []
        return {"anomaly_ranker": {"method": "aad" if len(answers) else "isolation forest", "seed": 0},
                "feedback": {"file": self.feedback_path().name, "answers": int(len(answers))}}

    def accept_predictions(self) -> list[str]:
        """Save predictions at or above ``accept_at`` as labels with origin ``predicted``; a manual or
        suggested label is never overwritten."""
        table = self.predictions
        if table is None:
            raise ExplorerError("no predictions yet: classify the catalog first")
        store = self.labelling.label_store
        origins = store.origins.reindex(table["object_id"]).to_numpy(dtype=object, na_value=None)
        keep = (table["probability"].to_numpy() >= self.accept_at) & (table["prediction"] != "").to_numpy() & \
            np.array([o in (None, PREDICTED) for o in origins])
        chosen = table[keep]
        for label, group in chosen.groupby("prediction"):
            store.assign(list(group["object_id"]), str(label), origin=PREDICTED)
        self.labelling.changed()
        self.messages.say(f"Accepted {len(chosen)} prediction(s) at probability >= {self.accept_at:.2f} "
                          "(saved with origin 'predicted'; manual and suggested labels kept).")
        return list(chosen["object_id"])

    # ------------------------------------------------------------------ find the odd ones
    def feedback_path(self):
        """The anomaly-feedback file beside the labels file."""
        from explorer.discover.feedback import feedback_path

        return feedback_path(self.labelling.label_store.path)

    def find_anomalies(self, view) -> pd.DataFrame:
        """Anomaly scores of every object, re-ranked by the saved feedback."""
        from explorer.discover.anomaly import feedback_vector, rank_anomalies
        from explorer.discover.feedback import read_feedback

        cat = self.session.require()
        X, usable = self.space(view)
        path = self.feedback_path()
        answers = read_feedback(path) if path.exists() else pd.Series(dtype=float)
        rows = np.flatnonzero(usable)
        ids = cat.object_ids.astype(str)
        ranked = rank_anomalies(X[rows], ids[rows], feedback=feedback_vector(ids[rows], answers), seed=0)
        table = pd.DataFrame({"object_id": ids}).merge(ranked, on="object_id", how="left")
        self._out(anomalies=table, feedback=answers)
        self.display.refresh_colour_options()
        n_fb = int(answers.notna().sum()) if len(answers) else 0
        self.messages.say(f"Ranked {len(rows)} objects by how odd they are"
                          + (f", re-ranked with your {n_fb} answer(s)." if n_fb else ".")
                          + (f" {len(cat) - len(rows)} without a vector are not ranked."
                             if len(rows) < len(cat) else ""))
        return table

    def answer(self, object_id: str, anomaly: bool | None) -> pd.Series:
        """Save the user's answer for one object (True: anomaly, False: not interesting, None: withdraw)."""
        from explorer.discover.feedback import save_feedback

        if not self.labelling.label_store.writable:
            raise ExplorerError(f"answers cannot be saved: {self.labelling.label_store.read_only_reason}")
        self.session.row_of(str(object_id))
        answers = save_feedback(self.feedback_path(), {str(object_id): None if anomaly is None else int(anomaly)})
        self._out(feedback=answers)
        return answers

    def odd_gallery(self) -> pd.DataFrame:
        """The ``n_odd`` most anomalous objects (rank order) with the user's answer, if any."""
        table = self.anomalies
        if table is None:
            return pd.DataFrame(columns=["object_id", "score", "rank", "answer"])
        top = table.dropna(subset=["score"]).sort_values("rank").head(int(self.n_odd)).copy()
        answers = self.feedback if self.feedback is not None else pd.Series(dtype=float)
        top["answer"] = answers.reindex(top["object_id"]).to_numpy() if len(answers) else np.nan
        return top.reset_index(drop=True)

    # ------------------------------------------------------------------ colour columns
    def _aligned(self, table, column, cat):
        return table.set_index("object_id")[column].reindex(cat.object_ids.astype(str)).to_numpy()

    def _prediction_values(self, cat):
        values = self._aligned(self.predictions, "prediction", cat).astype(object)
        return np.where(pd.isna(values) | (values == ""), NO_LABEL, values).astype(str), "categorical"

    def _probability_values(self, cat):
        return self._aligned(self.predictions, "probability", cat).astype(np.float64), "numeric"

    def _score_values(self, cat):
        return self._aligned(self.anomalies, "score", cat).astype(np.float64), "numeric"
