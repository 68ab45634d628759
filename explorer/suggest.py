"""Label suggestions for visual classification: unlabelled objects get the label of their labelled
neighbours in the full representation space, with a confidence.

Distances are taken in the prepared space the map is drawn from (standardised, block-weighted). For
each class, the distance of an object to the class is the mean distance to its ``m`` nearest labelled
members (m = 3, fewer for smaller classes: one mislabelled object does not decide alone). The
suggestion is the nearest class; the confidence is a softmax over the classes of ``-distance / s``.
The temperature ``s`` is calibrated on the labelled objects themselves (leave-one-out: each labelled
object against the others, ``s`` chosen to maximise the likelihood of their true labels), so a
confidence of 0.9 means about 9 in 10 right on the user's own labels, whatever the dimension. (A plain
inverse-distance vote stays near 1/number of classes in high dimensions, where all distances look
alike.) Classes with a single labelled object compete but cannot be left out; with fewer than two
objects to calibrate on, the scale falls back to the median distance of the unlabelled objects to
their nearest class. ``support`` counts the ``k`` nearest labelled objects
that carry the suggested label. Suggestions are proposals: the user accepts them, and accepted ones are
stored as labels with origin ``suggested``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["suggest_labels"]


def suggest_labels(X, labels, *, k: int = 10, column_weights=None, standardize: bool = True,
                   metric: str = "euclidean", object_ids=None) -> pd.DataFrame:
    """One row per unlabelled object with a vector: ``row, object_id, suggestion, confidence, support``.

    ``labels``: one per row of ``X``; None / NaN / empty text = unlabelled. ``support`` = how many of
    the k neighbours carry the suggested label. Sorted by confidence, most confident first. Empty
    when no object is labelled or none is left to suggest for.
    """
    from sklearn.neighbors import NearestNeighbors

    from explorer.projection import prepare_matrix

    prepared, usable = prepare_matrix(X, standardize=standardize, column_weights=column_weights)
    lab = pd.Series(list(labels) if not isinstance(labels, (pd.Series, np.ndarray)) else labels).reset_index(drop=True)
    if len(lab) != len(prepared):
        raise ValueError(f"{len(lab)} labels for {len(prepared)} rows")
    text = lab.astype("string").str.strip()
    has = (~lab.isna() & text.fillna("").ne("")).to_numpy()
    ids = np.asarray(object_ids if object_ids is not None else np.arange(len(prepared))).astype(str)
    columns = ["row", "object_id", "suggestion", "confidence", "support"]
    train = np.flatnonzero(has & usable)
    query = np.flatnonzero(~has & usable)
    if len(train) == 0 or len(query) == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(columns, ("int64", str, str, "float64", "int64"))})
    classes, codes = np.unique(text[train].to_numpy(dtype=str), return_inverse=True)
    dist_to, loo = _class_distances(prepared[train], codes, len(classes), prepared[query], metric)
    best = dist_to.argmin(axis=1)
    scale = _calibrated_scale(*loo) if loo is not None else None
    if scale is None:
        scale = float(np.median(dist_to[np.arange(len(query)), best]))
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    confidence = _softmax_best(dist_to, best, scale)
    kk = min(int(k), len(train))
    _, idx = NearestNeighbors(n_neighbors=kk, metric=metric, algorithm="brute").fit(prepared[train]).kneighbors(
        prepared[query])
    support = (codes[idx] == best[:, None]).sum(axis=1)
    out = pd.DataFrame({"row": query.astype(np.int64), "object_id": ids[query], "suggestion": classes[best],
                        "confidence": confidence, "support": support.astype(np.int64)})
    return out.sort_values(["confidence", "support"], ascending=False, kind="stable").reset_index(drop=True)


def _class_distances(train, codes, n_classes, query, metric):
    """Mean distance of each query (and, leave-one-out, of each labelled object) to each class's
    ``m`` nearest labelled members: ``(query [q, C], (loo [r, C], loo codes [r]) or None)``.

    Leave-one-out rows are the labelled objects of classes with at least two members (a class of
    one has no other member to measure its own distance by); every class still competes in them.
    """
    from sklearn.neighbors import NearestNeighbors

    dist_to = np.empty((len(query), n_classes))
    loo = np.full((len(train), n_classes), np.nan)
    for c in range(n_classes):
        members = train[codes == c]
        m = min(3, len(members))
        nn = NearestNeighbors(n_neighbors=m, metric=metric, algorithm="brute").fit(members)
        dist_to[:, c] = nn.kneighbors(query)[0].mean(axis=1)
        others = ~(codes == c)
        if others.any():
            loo[others, c] = nn.kneighbors(train[others])[0].mean(axis=1)
        if len(members) >= 2:
            mm = min(3, len(members) - 1)  # own class: the object itself left out
            d_own = NearestNeighbors(n_neighbors=mm + 1, metric=metric, algorithm="brute").fit(members).kneighbors(
                members)[0][:, 1:]
            loo[codes == c, c] = d_own.mean(axis=1)
    rows = np.isfinite(loo).all(axis=1)
    if rows.sum() < 2:
        return dist_to, None
    return dist_to, (loo[rows], codes[rows])


def _softmax_best(dist: np.ndarray, best: np.ndarray, scale: float) -> np.ndarray:
    """Softmax probability of the nearest class with temperature ``scale``."""
    logits = -(dist - dist.min(axis=1, keepdims=True)) / scale
    probs = np.exp(logits)
    return probs[np.arange(len(dist)), best] / probs.sum(axis=1)


def _calibrated_scale(loo: np.ndarray, codes: np.ndarray) -> float | None:
    """The temperature maximising the leave-one-out likelihood of the labelled objects' own labels."""
    ref = float(np.median(loo.min(axis=1)))
    if not np.isfinite(ref) or ref <= 0:
        return None
    rows = np.arange(len(loo))
    best_scale, best_ll = None, -np.inf
    for factor in np.geomspace(0.02, 5.0, 40):
        scale = ref * factor
        logits = -(loo - loo.min(axis=1, keepdims=True)) / scale
        log_norm = np.log(np.exp(logits).sum(axis=1))
        ll = float((logits[rows, codes] - log_norm).mean())
        if ll > best_ll:
            best_scale, best_ll = scale, ll
    return best_scale
