"""Classify a whole catalog from a few labels: per-class probabilities for every object, and an honest
estimate of how often the classifier is right.

The estimator is a random forest (``bench_discover.py`` measured it against the alternatives on EROS-1
and ASAS); it needs no scaling, copes with a handful of labels and with many classes. Its class
probabilities (mean of the trees' leaf frequencies) are calibrated with a sigmoid per class
(``CalibratedClassifierCV``) once every class has at least ``calibration_min`` labels; before that there
are too few labels to fit a calibration map and the forest's own frequencies are used (``calibrated_``
says which).

The accuracy estimate pools the out-of-fold predictions of a stratified, shuffled k-fold over the
labelled objects (k = 5, fewer when the largest class has fewer labels); its uncertainty is the
binomial standard error of that pooled accuracy. Labels chosen by an active-learning strategy are the
hard cases, so the estimate is then pessimistic rather than flattering.

``labels`` everywhere is one entry per row of ``X``: None, NaN or empty text = unlabelled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sklearn.base import BaseEstimator, ClassifierMixin

from explorer.errors import ExplorerError

__all__ = ["Classifier", "AccuracyEstimate", "estimate_accuracy", "labelled_mask", "make_estimator",
           "ESTIMATORS"]

ESTIMATORS = ("random-forest", "extra-trees", "logistic")


def labelled_mask(labels) -> np.ndarray:
    """True where ``labels`` holds a label (not None, NaN or empty text)."""
    values = pd.Series(np.asarray(labels, dtype=object))
    return (values.notna() & (values.astype(str).str.strip() != "")).to_numpy()


def make_estimator(name: str = "random-forest", *, seed: int = 0, n_estimators: int = 200, n_jobs: int = -1):
    """A fresh scikit-learn classifier by name (see ``ESTIMATORS``)."""
    if name == "random-forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs)
    if name == "extra-trees":
        from sklearn.ensemble import ExtraTreesClassifier

        return ExtraTreesClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs)
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=2000, C=1.0)
    raise ExplorerError(f"unknown classifier {name!r}; choose one of {', '.join(ESTIMATORS)}")


def _training_set(X, labels) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``X`` that are labelled, with their labels as text; errors say what is missing."""
    X = np.asarray(X)
    labels = np.asarray(labels, dtype=object)
    if X.ndim != 2 or len(labels) != len(X):
        raise ExplorerError(f"need one label entry per vector: {len(labels)} labels for {len(X)} vectors")
    mask = labelled_mask(labels)
    bad = mask & ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ExplorerError(f"{int(bad.sum())} labelled object(s) have no usable vector (rows "
                            f"{np.flatnonzero(bad)[:5].tolist()}); unlabel them or use another representation")
    y = np.array([str(v).strip() for v in labels[mask]], dtype=object)
    classes = np.unique(y) if len(y) else []
    if len(classes) < 2:
        raise ExplorerError(f"a classifier needs labels of at least 2 classes; got {len(y)} label(s) of "
                            f"{len(classes)} class(es){': ' + ', '.join(map(str, classes)) if len(classes) else ''}")
    return X[mask], y


@dataclass
class AccuracyEstimate:
    """Cross-validated accuracy on the labels: ``accuracy`` +- ``stderr`` over ``n_labels`` labels."""

    accuracy: float
    stderr: float
    n_labels: int
    n_folds: int
    per_class: dict = field(default_factory=dict)          # class -> number of labels
    per_class_recall: dict = field(default_factory=dict)   # class -> fraction of its labels predicted right

    def summary(self) -> str:
        """One line for people: accuracy, its uncertainty, labels per class."""
        counts = ", ".join(f"{k}: {v}" for k, v in self.per_class.items())
        return (f"estimated accuracy {self.accuracy:.3f} +- {self.stderr:.3f} ({self.n_folds}-fold cross-validation "
                f"on {self.n_labels} labels; {counts})")


def estimate_accuracy(X, labels, *, classifier=None, folds: int = 5, seed: int = 0) -> AccuracyEstimate:
    """Pooled out-of-fold accuracy of ``classifier`` (default ``Classifier()``) on the labelled rows
    (stratified shuffled k-fold, each fold's model trained and calibrated on its own training part).

    k = min(``folds``, size of the largest class); classes smaller than k are still predicted in every
    fold they appear in. Needs 2 classes and at least 2 labels per fold.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    Xl, y = _training_set(X, labels)
    classes, counts = np.unique(y, return_counts=True)
    k = int(min(folds, counts.max(), len(y) // 2))
    if k < 2:
        raise ExplorerError(f"too few labels to cross-validate ({len(y)}); label at least 4 objects")
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # a class with fewer labels than folds is expected early on; it is still predicted
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        pred = cross_val_predict(clone(classifier if classifier is not None else Classifier()), Xl, y, cv=cv)
    right = pred == y
    acc = float(right.mean())
    recall = {str(c): float(right[y == c].mean()) for c in classes}
    return AccuracyEstimate(accuracy=acc, stderr=float(np.sqrt(acc * (1 - acc) / len(y))), n_labels=len(y),
                            n_folds=k, per_class={str(c): int(n) for c, n in zip(classes, counts)},
                            per_class_recall=recall)


class Classifier(BaseEstimator, ClassifierMixin):
    """A classifier over any vector matrix, trained on the labelled rows, probabilities for every row.

    Parameters
    ----------
    estimator : str
        ``random-forest`` (default), ``extra-trees`` or ``logistic``.
    n_estimators : int
        Trees of a forest.
    calibration : str
        ``sigmoid`` (default), ``isotonic`` or ``none``; applied once every class has ``calibration_min``
        labels.
    calibration_min : int
        Labels per class needed to calibrate (3 folds of the calibration need 3).
    seed : int
    n_jobs : int
    """

    def __init__(self, estimator="random-forest", n_estimators=200, calibration="sigmoid", calibration_min=3,
                 seed=0, n_jobs=-1):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.calibration = calibration
        self.calibration_min = calibration_min
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X, labels) -> "Classifier":
        """Train on the rows of ``X`` whose label is set; sets ``classes_``, ``calibrated_``, ``n_labels_``."""
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ExplorerError(f"calibration must be sigmoid, isotonic or none, not {self.calibration!r}")
        Xl, y = _training_set(X, labels)
        base = make_estimator(self.estimator, seed=self.seed, n_estimators=self.n_estimators, n_jobs=self.n_jobs)
        counts = pd.Series(y).value_counts()
        self.calibrated_ = self.calibration != "none" and int(counts.min()) >= self.calibration_min
        if self.calibrated_:
            from sklearn.calibration import CalibratedClassifierCV

            model = CalibratedClassifierCV(base, method=self.calibration, cv=int(min(3, counts.min())))
        else:
            model = base
        self.model_ = model.fit(Xl, y)
        self.classes_ = np.asarray(self.model_.classes_, dtype=object)
        self.n_labels_ = len(y)
        self.labels_per_class_ = {str(c): int(counts[c]) for c in self.classes_}
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise ExplorerError("this Classifier is not fitted yet: call fit(X, labels) first")

    def predict_proba(self, X) -> np.ndarray:
        """float64 ``[n, n_classes]`` in ``classes_`` order; NaN rows where ``X`` has no usable vector."""
        self._check_fitted()
        X = np.asarray(X)
        ok = np.isfinite(X).all(axis=1)
        out = np.full((len(X), len(self.classes_)), np.nan)
        if ok.any():
            proba = self.model_.predict_proba(X[ok])
            out[ok] = proba / proba.sum(axis=1, keepdims=True)
        return out

    def predict(self, X) -> np.ndarray:
        """The most probable class of every row (empty text where the row has no usable vector)."""
        proba = self.predict_proba(X)
        ok = np.isfinite(proba).all(axis=1)
        best = np.argmax(np.where(ok[:, None], proba, -1), axis=1)
        return np.where(ok, self.classes_[best], "").astype(object)

    def classify(self, X, object_ids) -> pd.DataFrame:
        """``object_id, prediction, probability, p_<class>...`` for every row (empty prediction, NaN where
        the object has no vector)."""
        proba = self.predict_proba(X)
        ok = np.isfinite(proba).all(axis=1)
        best = np.argmax(np.where(ok[:, None], proba, -1), axis=1)
        prediction = np.where(ok, self.classes_[best], "").astype(str)
        frame = pd.DataFrame({"object_id": np.asarray(object_ids).astype(str), "prediction": prediction,
                              "probability": np.where(ok, proba[np.arange(len(proba)), best], np.nan)})
        for j, cls in enumerate(self.classes_):
            frame[f"p_{cls}"] = proba[:, j]
        return frame
