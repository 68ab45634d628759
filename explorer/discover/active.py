"""'Label these next': strategies that choose which unlabelled objects a person should label.

Every strategy is a small object with one method, ``select(X, labels, n, proba=None, seed=0)``, returning
``n`` row indices of unlabelled objects that have a vector (fewer when fewer are left), most useful first.
``proba`` is the current classifier's ``predict_proba(X)``; strategies that need it fall back to
``random`` when no classifier can be trained yet (labels of a single class), and say so in ``notes``.

- ``random``: the baseline.
- ``margin``: the smallest gap between the two most probable classes first.
- ``entropy``: the most uncertain class distribution first.
- ``diverse-margin``: the ``pool`` x n smallest margins, grouped in n k-means clusters, the smallest
  margin of each: a batch of uncertain objects that are not all the same kind of uncertain.
- ``cluster-margin``: cluster representatives first (k-means with ``n_clusters`` clusters of the
  prepared vectors; the largest cluster without any label first; its object nearest the centre), then
  ``margin`` once every cluster has a label. The default: on EROS-1 the best at every budget (0.83 with
  16 labels where random gives 0.71; ``bench_discover.py``); on ASAS (485 objects) margin is ahead at
  16-32 labels, and they tie from 64.

Ties are broken by a permutation seeded with ``seed``, so a seed changes the choice among equals only.
"""

from __future__ import annotations

import hashlib

import numpy as np

from explorer.discover.vectors import labelled_mask
from explorer.errors import ExplorerError

__all__ = ["STRATEGIES", "DEFAULT_STRATEGY", "make_strategy", "suggest_next", "RandomChoice", "Margin",
           "Entropy", "DiverseMargin", "ClusterMargin", "margins", "entropies"]

DEFAULT_STRATEGY = "cluster-margin"


def margins(proba: np.ndarray) -> np.ndarray:
    """Gap between the two most probable classes per row (0 = undecided); NaN rows give NaN."""
    part = np.sort(proba, axis=1)
    return part[:, -1] - part[:, -2] if proba.shape[1] > 1 else np.ones(len(proba))


def entropies(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row's class distribution (nats); NaN rows give NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.sum(np.where(proba > 0, proba * np.log(proba), 0.0), axis=1)
    return np.where(np.isnan(proba).any(axis=1), np.nan, out)


def _candidates(X, labels) -> np.ndarray:
    """Rows that may be proposed: unlabelled, with a usable vector."""
    X = np.asarray(X)
    if len(labels) != len(X):
        raise ExplorerError(f"need one label entry per vector: {len(labels)} labels for {len(X)} vectors")
    return np.flatnonzero(~labelled_mask(labels) & np.isfinite(X).all(axis=1))


def _ranked(rows: np.ndarray, key: np.ndarray, seed: int) -> np.ndarray:
    """``rows`` by increasing ``key``, ties in a seeded random order."""
    order = np.random.default_rng(seed).permutation(len(rows))
    return rows[order[np.argsort(key[order], kind="stable")]]


class RandomChoice:
    """Unlabelled objects in a seeded random order (the baseline)."""

    name = "random"
    needs_proba = False

    def select(self, X, labels, n, proba=None, seed=0) -> np.ndarray:
        """``n`` random unlabelled rows."""
        self.notes = []
        rows = _candidates(X, labels)
        return np.random.default_rng(seed).permutation(rows)[:max(int(n), 0)]


class _Uncertainty:
    """Base of the strategies that rank by the classifier's uncertainty (lower key = asked first)."""

    name = "?"
    needs_proba = True

    def _key(self, proba):
        raise NotImplementedError

    def _fallback(self, X, labels, n, seed):
        self.notes = [f"{self.name}: no classifier yet (labels of fewer than 2 classes); random choice instead"]
        return RandomChoice().select(X, labels, n, seed=seed)

    def select(self, X, labels, n, proba=None, seed=0) -> np.ndarray:
        """The ``n`` unlabelled rows the classifier is least sure of."""
        self.notes = []
        if proba is None:
            return self._fallback(X, labels, n, seed)
        rows = _candidates(X, labels)
        return _ranked(rows, self._key(np.asarray(proba)[rows]), seed)[:max(int(n), 0)]


class Margin(_Uncertainty):
    """Smallest margin between the two most probable classes first."""

    name = "margin"

    def _key(self, proba):
        return margins(proba)


class Entropy(_Uncertainty):
    """Highest entropy of the class probabilities first."""

    name = "entropy"

    def _key(self, proba):
        return -entropies(proba)


class DiverseMargin(_Uncertainty):
    """The ``pool`` x n smallest margins, k-means into n groups, the smallest margin of each group.

    Parameters
    ----------
    pool : int
        Candidates per requested object.
    """

    name = "diverse-margin"

    def __init__(self, pool=10):
        self.pool = pool

    def _key(self, proba):
        return margins(proba)

    def select(self, X, labels, n, proba=None, seed=0) -> np.ndarray:
        """``n`` uncertain rows from different parts of the space."""
        from sklearn.cluster import KMeans

        ranked = super().select(X, labels, max(int(n), 0) * int(self.pool), proba=proba, seed=seed)
        if proba is None or len(ranked) <= n or n <= 1:
            return ranked[:max(int(n), 0)]
        groups = KMeans(n_clusters=int(n), n_init=1, random_state=seed).fit_predict(np.asarray(X)[ranked])
        # ranked is in increasing margin: the first row of each group is its least certain
        _, first = np.unique(groups, return_index=True)
        return ranked[np.sort(first)]


class ClusterMargin(Margin):
    """Cluster representatives first (largest unlabelled cluster first), then margin.

    Parameters
    ----------
    n_clusters : int
        k of the k-means over the prepared vectors.
    cluster_seed : int
        Seed of the k-means: fixed, so that the clusters stay the same from one batch to the next.
    """

    name = "cluster-margin"
    FIT_SAMPLE = 5000

    def __init__(self, n_clusters=16, cluster_seed=0):
        self.n_clusters = n_clusters
        self.cluster_seed = cluster_seed

    def clusters(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(cluster of every usable row or -1, distance to its centre); memoised on the content of X."""
        from sklearn.cluster import KMeans

        X = np.ascontiguousarray(X, np.float32)
        key = (hashlib.sha1(X.tobytes()).hexdigest(), int(self.n_clusters), int(self.cluster_seed))
        if getattr(self, "_memo", (None,))[0] == key:
            return self._memo[1]
        ok = np.flatnonzero(np.isfinite(X).all(axis=1))
        k = int(min(self.n_clusters, len(ok)))
        # 10 starts were steadier than 3 on EROS-1; beyond FIT_SAMPLE objects the centres come from a seeded
        # sample (a 100k catalog's first round stays interactive) and every object joins its nearest centre
        fit_rows = ok if len(ok) <= self.FIT_SAMPLE else np.sort(
            np.random.default_rng(self.cluster_seed).choice(ok, self.FIT_SAMPLE, replace=False))
        km = KMeans(n_clusters=k, n_init=10, random_state=self.cluster_seed).fit(X[fit_rows])
        assigned = km.predict(X[ok])
        cluster = np.full(len(X), -1)
        cluster[ok] = assigned
        dist = np.full(len(X), np.inf)
        dist[ok] = np.linalg.norm(X[ok] - km.cluster_centers_[assigned], axis=1)
        self._memo = (key, (cluster, dist))
        return cluster, dist

    def select(self, X, labels, n, proba=None, seed=0) -> np.ndarray:
        """Representatives of the largest clusters without a label, then the smallest margins."""
        n = max(int(n), 0)
        cluster, dist = self.clusters(X)
        rows = _candidates(X, labels)
        covered = set(cluster[labelled_mask(labels)].tolist())
        sizes = np.bincount(cluster[cluster >= 0], minlength=int(cluster.max()) + 1)
        open_clusters = [c for c in np.argsort(-sizes, kind="stable") if c not in covered and sizes[c]]
        picked = []
        for c in open_clusters[:n]:
            members = rows[cluster[rows] == c]
            if len(members):
                picked.append(members[np.argmin(dist[members])])
        if len(picked) == n:
            self.notes = []
            return np.asarray(picked, int)
        taken = np.zeros(len(X), bool)
        taken[picked] = True
        rest = np.array(labels, dtype=object)
        rest[taken] = "(asked)"   # masks the representatives from the margin ranking
        more = super().select(X, rest, n - len(picked), proba=proba, seed=seed)
        return np.concatenate([np.asarray(picked, int), more]).astype(int)


STRATEGIES = {"cluster-margin": ClusterMargin, "margin": Margin, "entropy": Entropy,
              "diverse-margin": DiverseMargin, "random": RandomChoice}


def make_strategy(name: str = DEFAULT_STRATEGY, **params):
    """A strategy object by name (see ``STRATEGIES``)."""
    if name not in STRATEGIES:
        raise ExplorerError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name](**params)


def suggest_next(X, labels, n, *, strategy=DEFAULT_STRATEGY, seed=0, classifier=None, max_pool=20000) -> np.ndarray:
    """Row indices of the ``n`` objects to label next: trains ``classifier`` on the labels when the strategy
    needs probabilities and two classes are labelled, then asks the strategy.

    The default classifier is ``Classifier(calibration="none")``: ranking by the forest's own frequencies
    chose better labels than the sigmoid-calibrated ones (``bench_discover.py``), at a third of the cost.
    Probabilities are computed for at most ``max_pool`` unlabelled objects (a seeded random pool; None =
    all): one round stays interactive on a large catalog, and the least certain of 20000 random objects
    is about as informative as the least certain of all.
    """
    strat = make_strategy(strategy) if isinstance(strategy, str) else strategy
    labels = np.asarray(labels, dtype=object)
    proba = None
    if strat.needs_proba and len(set(str(v).strip() for v in labels[labelled_mask(labels)])) >= 2:
        from explorer.discover.classifier import Classifier

        model = classifier if classifier is not None else Classifier(calibration="none", seed=seed)
        model.fit(X, labels)
        rows = _candidates(X, labels)
        if max_pool is not None and len(rows) > max_pool:
            rows = np.sort(np.random.default_rng(seed).choice(rows, int(max_pool), replace=False))
        proba = np.full((len(labels), len(model.classes_)), np.nan)   # NaN rows are ranked last
        proba[rows] = model.predict_proba(np.asarray(X)[rows])
    return strat.select(X, labels, n, proba=proba, seed=seed)
