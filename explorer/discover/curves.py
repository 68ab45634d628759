"""Learning curves: how well a strategy classifies a catalog with known classes as labels accumulate.

The protocol of issue 22 and ``bench_discover.py``: the user's first ``start`` labels are random; then
the strategy asks for ``batch`` objects at a time, which get their true labels, and the classifier is
retrained; at each budget the accuracy is measured on every object not yet labelled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.discover.active import make_strategy
from explorer.discover.classifier import Classifier

__all__ = ["learning_curve"]


def _predict(X, labels, classifier) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions for every row and the probabilities (None while fewer than 2 classes are labelled)."""
    known = labels[labels != None]  # noqa: E711 (object array)
    classes = np.unique(known.astype(str))
    if len(classes) < 2:
        return np.full(len(X), classes[0] if len(classes) else "", object), None
    proba = classifier.fit(X, labels).predict_proba(X)
    return classifier.classes_[np.argmax(proba, axis=1)], proba


def learning_curve(X, truth, strategy="cluster-margin", *, budgets=(8, 16, 32, 64, 128), start=4, batch=4,
                   seed=0, classifier=None) -> pd.DataFrame:
    """``labels, accuracy`` at each budget: accuracy of the classifier on the objects not yet labelled.

    ``truth``: the true class of every row of ``X`` (every row must have a usable vector). ``classifier``
    defaults to ``Classifier(calibration="none", seed=seed)``, as in ``suggest_next``.
    """
    X = np.asarray(X)
    truth = np.asarray(truth, dtype=object)
    strat = make_strategy(strategy) if isinstance(strategy, str) else strategy
    model = classifier if classifier is not None else Classifier(calibration="none", seed=seed)
    labels = np.full(len(X), None, object)
    first = np.random.default_rng(seed).choice(len(X), size=min(start, len(X)), replace=False)
    labels[first] = truth[first]
    rows, n_labels, round_ = [], len(first), 0
    pred, proba = _predict(X, labels, model)
    for budget in sorted(budgets):
        while n_labels < budget:
            ask = strat.select(X, labels, min(batch, budget - n_labels), proba=proba, seed=seed + round_)
            if not len(ask):
                break
            labels[ask] = truth[ask]
            n_labels += len(ask)
            round_ += 1
            pred, proba = _predict(X, labels, model)
        rest = labels == None  # noqa: E711
        rows.append({"labels": n_labels, "accuracy": float(np.mean(pred[rest] == truth[rest])) if rest.any() else 1.0})
    return pd.DataFrame(rows)
