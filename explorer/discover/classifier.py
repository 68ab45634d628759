"""Classify a whole catalog from a few labels: per-class probabilities for every object, and an honest
estimate of how often the classifier is right.

The estimator is an extremely randomised forest (``extra-trees``: ``bench_discover.py`` measured it
against a random forest and a logistic regression on EROS-1); it needs no scaling, copes with a
handful of labels and with many classes. Its class probabilities (mean of the trees' leaf frequencies)
are calibrated by a temperature (one exponent fitted on out-of-fold probabilities of the labels) once
there are ``calibration_min`` (30) labels; before that the forest's own frequencies are used
(``calibrated_`` says which). Measured on EROS-1 with random labels, the expected calibration error of
the top class falls from 0.07 to 0.03 at 64 labels; scikit-learn's sigmoid made it worse (0.11).

The accuracy estimate pools the out-of-fold predictions of a stratified, shuffled k-fold over the
labelled objects (k = 5, fewer when the largest class has fewer labels; each fold's classifier trained and
calibrated on its training part only); its uncertainty is the binomial standard error of that pooled
accuracy. Labels chosen by an active-learning strategy are the hard cases, so the estimate is then
pessimistic (EROS-1, 64 labels chosen by cluster-margin: estimate 0.56 +- 0.06, accuracy on the other
objects 0.86).

``labels`` everywhere is one entry per row of ``X``: None, NaN or empty text = unlabelled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sklearn.base import BaseEstimator, ClassifierMixin

from explorer.discover.vectors import labelled_mask
from explorer.errors import ExplorerError

__all__ = ["Classifier", "AccuracyEstimate", "estimate_accuracy", "labelled_mask", "make_estimator",
           "ESTIMATORS"]

ESTIMATORS = ("extra-trees", "random-forest", "logistic")
CALIBRATIONS = ("temperature", "sigmoid", "isotonic", "none")


def make_estimator(name: str = "extra-trees", *, seed: int = 0, n_estimators: int = 200, n_jobs: int = -1):
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


def _training_set(X, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labelled rows of ``X`` with a vector, their labels as text, labelled rows left out for want of a
    vector); errors say what is missing."""
    X = np.asarray(X)
    labels = np.asarray(labels, dtype=object)
    if X.ndim != 2 or len(labels) != len(X):
        raise ExplorerError(f"need one label entry per vector: {len(labels)} labels for {len(X)} vectors")
    mask = labelled_mask(labels)
    bad = mask & ~np.isfinite(X).all(axis=1)
    mask = mask & ~bad
    y = np.array([str(v).strip() for v in labels[mask]], dtype=object)
    classes = np.unique(y) if len(y) else []
    if len(classes) < 2:
        raise ExplorerError(f"a classifier needs labels of at least 2 classes; got {len(y)} label(s) of "
                            f"{len(classes)} class(es){': ' + ', '.join(map(str, classes)) if len(classes) else ''}")
    return X[mask], y, np.flatnonzero(bad)


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

    Xl, y, _ = _training_set(X, labels)
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
        ``extra-trees`` (default), ``random-forest`` or ``logistic``.
    n_estimators : int
        Trees of a forest.
    calibration : str
        ``temperature`` (default): one exponent 1/T applied to the forest's probabilities (then normalised),
        T chosen to maximise the likelihood of the labels' out-of-fold probabilities (a k-fold over the
        labels); one parameter, so it holds with few labels. ``sigmoid`` / ``isotonic``: scikit-learn's
        ``CalibratedClassifierCV`` (3 folds; needs 3 labels in every class). ``none``: the forest's own
        frequencies.
    calibration_min : int
        Labels needed before any calibration: with fewer, out-of-fold estimates are too noisy to calibrate
        on (measured: 16 labels made the calibration error worse, 64 halved it) and the forest's
        frequencies are used.
    seed : int
    n_jobs : int
    """

    def __init__(self, estimator="extra-trees", n_estimators=200, calibration="temperature", calibration_min=30,
                 seed=0, n_jobs=-1):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.calibration = calibration
        self.calibration_min = calibration_min
        self.seed = seed
        self.n_jobs = n_jobs

    def _base(self):
        return make_estimator(self.estimator, seed=self.seed, n_estimators=self.n_estimators, n_jobs=self.n_jobs)

    def fit(self, X, labels) -> "Classifier":
        """Train on the rows of ``X`` whose label is set; sets ``classes_``, ``calibrated_`` (the method
        applied, or ``none``), ``temperature_``, ``n_labels_``, ``labels_per_class_`` and
        ``unusable_labels_`` (labelled rows without any vector value, left out)."""
        if self.calibration not in CALIBRATIONS:
            raise ExplorerError(f"calibration must be one of {', '.join(CALIBRATIONS)}, not {self.calibration!r}")
        Xl, y, self.unusable_labels_ = _training_set(X, labels)
        counts = pd.Series(y).value_counts()
        self.temperature_ = 1.0
        self.calibrated_ = "none"
        model = self._base()
        enough = len(y) >= self.calibration_min
        if self.calibration in ("sigmoid", "isotonic") and enough and int(counts.min()) >= 3:
            from sklearn.calibration import CalibratedClassifierCV

            model = CalibratedClassifierCV(model, method=self.calibration, cv=int(min(3, counts.min())))
            self.calibrated_ = self.calibration
        elif self.calibration == "temperature" and enough:
            self.temperature_ = self._fit_temperature(Xl, y, int(min(5, counts.max(), len(y) // 2)))
            self.calibrated_ = "temperature"
        self.model_ = model.fit(Xl, y)
        self.classes_ = np.asarray(self.model_.classes_, dtype=object)
        self.n_labels_ = len(y)
        self.labels_per_class_ = {str(c): int(counts[c]) for c in self.classes_}
        return self

    def _floor(self) -> float:
        # half a tree's vote: a class no tree chose keeps a little probability, and its logarithm is finite
        return 0.5 / max(int(self.n_estimators), 1)

    def _fit_temperature(self, Xl, y, folds: int) -> float:
        """T maximising the likelihood of the out-of-fold probabilities of the true labels."""
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # classes absent from a fold are expected early on
            oof = cross_val_predict(self._base(), Xl, y, method="predict_proba",
                                    cv=StratifiedKFold(folds, shuffle=True, random_state=self.seed))
        classes = np.unique(y)
        logp = np.log(oof + self._floor())
        truth = np.searchsorted(classes, y)
        best, best_nll = 1.0, np.inf
        for t in np.geomspace(0.2, 5.0, 57):
            z = logp / t
            z -= z.max(axis=1, keepdims=True)
            nll = -np.mean(z[np.arange(len(y)), truth] - np.log(np.exp(z).sum(axis=1)))
            if nll < best_nll - 1e-12:
                best, best_nll = float(t), nll
        return best

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
            if self.calibrated_ == "temperature":
                z = np.log(proba + self._floor()) / self.temperature_
                proba = np.exp(z - z.max(axis=1, keepdims=True))
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
