"""Find the odd ones: an anomaly score per object from ``coniferest``'s isolation forests.

Without feedback the score is an ``IsolationForest``'s; with the user's feedback (1 = anomaly, 0 = not
interesting) the forest is re-fitted as an ``AADForest`` (default: tree leaves re-weighted to rank the
known anomalies above a quantile and the normal ones below) or a ``PineForest`` (of ``n_trees +
n_spare_trees`` trees it keeps those that score the known anomalies high and the known normal objects low).
Measured on EROS-1 (``bench_discover.py``): after answers on the top 20, AADForest puts 44 Miras among the
next 50 unseen objects, PineForest 23, the plain ranking 23 (3.2 at random).
Scores are ``-score_samples`` (coniferest's convention is lower = more anomalous), so here higher =
more anomalous; rank 1 is the most anomalous object. Objects without a vector get a NaN score and the
last ranks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError

__all__ = ["AnomalyRanker", "rank_anomalies", "feedback_vector", "METHODS"]

METHODS = ("aad", "pine")


def feedback_vector(object_ids, feedback) -> np.ndarray:
    """Feedback aligned to ``object_ids``: float (1 anomaly, 0 not interesting, NaN none). ``feedback`` is a
    Series ``object_id -> 0/1`` (``read_feedback``); ids not among the objects are ignored."""
    out = np.full(len(object_ids), np.nan)
    if feedback is None or not len(feedback):
        return out
    pos = pd.Index(np.asarray(object_ids).astype(str)).get_indexer(pd.Index(feedback.index.astype(str)))
    out[pos[pos >= 0]] = np.asarray(feedback, float)[pos >= 0]
    return out


class AnomalyRanker:
    """Anomaly scores (higher = more anomalous) with optional feedback.

    Parameters
    ----------
    method : str
        ``aad`` (AADForest, default) or ``pine`` (PineForest): how feedback re-ranks.
    n_trees : int
    n_subsamples : int
        Objects per tree.
    n_spare_trees : int
        PineForest: extra trees grown and filtered by the feedback.
    fit_sample : int or None
        Objects the forest is fitted on (a seeded sample, plus every object with feedback; None = all);
        every object is scored. Keeps a re-rank of a large catalog interactive.
    seed : int
    n_jobs : int
    """

    def __init__(self, method="aad", n_trees=100, n_subsamples=256, n_spare_trees=400, fit_sample=20000, seed=0,
                 n_jobs=-1):
        self.method = method
        self.fit_sample = fit_sample
        self.n_trees = n_trees
        self.n_subsamples = n_subsamples
        self.n_spare_trees = n_spare_trees
        self.seed = seed
        self.n_jobs = n_jobs

    def _forest(self, with_feedback: bool, sub: int):
        if not with_feedback:
            from coniferest.isoforest import IsolationForest

            return IsolationForest(n_trees=self.n_trees, n_subsamples=sub, n_jobs=self.n_jobs,
                                   random_seed=self.seed)
        if self.method == "pine":
            from coniferest.pineforest import PineForest

            return PineForest(n_trees=self.n_trees, n_subsamples=sub, n_spare_trees=self.n_spare_trees,
                              n_jobs=self.n_jobs, random_seed=self.seed)
        from coniferest.aadforest import AADForest

        return AADForest(n_trees=self.n_trees, n_subsamples=sub, n_jobs=self.n_jobs,
                         random_seed=self.seed)

    def fit(self, X, feedback=None) -> "AnomalyRanker":
        """Grow the forest on the usable rows of ``X``; ``feedback`` is one entry per row (1 anomaly,
        0 not interesting, NaN/None none). Sets ``n_feedback_``."""
        if self.method not in METHODS:
            raise ExplorerError(f"anomaly method must be one of {', '.join(METHODS)}, not {self.method!r}")
        X = np.asarray(X, np.float64)
        ok = np.isfinite(X).all(axis=1)
        if ok.sum() < 2:
            raise ExplorerError(f"anomaly scores need at least 2 objects with a vector; {int(ok.sum())} have one")
        fb = np.full(len(X), np.nan) if feedback is None else np.asarray(pd.to_numeric(
            pd.Series(np.asarray(feedback, dtype=object)), errors="coerce"), float)
        if len(fb) != len(X):
            raise ExplorerError(f"need one feedback entry per vector: {len(fb)} for {len(X)} vectors")
        bad = np.isfinite(fb) & ~np.isin(fb, (0.0, 1.0))
        if bad.any():
            raise ExplorerError(f"feedback is 1 (anomaly) or 0 (not interesting); rows "
                                f"{np.flatnonzero(bad)[:5].tolist()} have {fb[bad][:5].tolist()}")
        known = np.isfinite(fb) & ok
        self.n_feedback_ = int(known.sum())
        self.usable_ = ok
        # The trees only ever see n_subsamples objects each; beyond fit_sample objects a seeded sample (plus
        # every object with feedback) stands for the catalog while fitting, and every object is scored.
        rows = np.flatnonzero(ok)
        if self.fit_sample is not None and len(rows) > self.fit_sample:
            sample = np.random.default_rng(self.seed).choice(rows, int(self.fit_sample), replace=False)
            rows = np.union1d(sample, np.flatnonzero(known))
        # a catalog smaller than the subsample size uses all its objects
        forest = self._forest(self.n_feedback_ > 0, min(int(self.n_subsamples), len(rows)))
        if self.n_feedback_:
            # coniferest's labels: -1 anomaly, 1 regular, 0 unknown
            lab = np.where(known, np.where(fb == 1.0, -1, 1), 0)[rows].astype(np.int64)
            forest.fit(X[rows], lab)
        else:
            forest.fit(X[rows])
        self.forest_ = forest
        return self

    def score(self, X) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous); NaN where the row has no usable vector."""
        if not hasattr(self, "forest_"):
            raise ExplorerError("this AnomalyRanker is not fitted yet: call fit(X) first")
        X = np.asarray(X, np.float64)
        ok = np.isfinite(X).all(axis=1)
        out = np.full(len(X), np.nan)
        if ok.any():
            out[ok] = -self.forest_.score_samples(X[ok])
        return out


def rank_anomalies(X, object_ids, feedback=None, **params) -> pd.DataFrame:
    """``object_id, score, rank`` for every row (rank 1 = most anomalous; rows without a vector last, NaN
    score). ``feedback``: one entry per row (see ``AnomalyRanker.fit``); ``params`` go to ``AnomalyRanker``."""
    score = AnomalyRanker(**params).fit(X, feedback).score(X)
    order = np.argsort(-np.where(np.isfinite(score), score, -np.inf), kind="stable")
    rank = np.empty(len(score), np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    return pd.DataFrame({"object_id": np.asarray(object_ids).astype(str), "score": score, "rank": rank})
