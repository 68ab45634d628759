"""Label suggestions for visual classification: unlabelled objects get the label of their labelled
neighbours in the full representation space, with a confidence.

Suggestion = the distance-weighted majority label among the ``k`` nearest labelled objects (in the
prepared space the map is drawn from: standardised, block-weighted); confidence = that label's share
of the weights (1.0 when all neighbours agree). Suggestions are proposals: the user accepts them, and
accepted ones are stored as labels with origin ``suggested``.
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
    kk = min(int(k), len(train))
    nn = NearestNeighbors(n_neighbors=kk, metric=metric, algorithm="brute").fit(prepared[train])
    dist, idx = nn.kneighbors(prepared[query])
    classes, codes = np.unique(text[train].to_numpy(dtype=str), return_inverse=True)
    neigh = codes[idx]                                   # [q, k] class codes
    w = 1.0 / (dist + 1e-9)
    votes = np.zeros((len(query), len(classes)))
    np.add.at(votes, (np.repeat(np.arange(len(query)), kk), neigh.ravel()), w.ravel())
    best = votes.argmax(axis=1)
    confidence = votes[np.arange(len(query)), best] / votes.sum(axis=1)
    support = (neigh == best[:, None]).sum(axis=1)
    out = pd.DataFrame({"row": query.astype(np.int64), "object_id": ids[query], "suggestion": classes[best],
                        "confidence": confidence, "support": support.astype(np.int64)})
    return out.sort_values(["confidence", "support"], ascending=False, kind="stable").reset_index(drop=True)
