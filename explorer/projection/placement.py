"""Placing objects on a fitted map: the fuzzy mean of their nearest fitted neighbours (UMAP's weights)."""

from __future__ import annotations

import numpy as np


def _neighbour_index(train: np.ndarray, n_neighbors: int, metric: str):
    """The neighbour search over fitted points used to place new objects."""
    from sklearn.neighbors import NearestNeighbors

    k = min(n_neighbors, len(train))
    return NearestNeighbors(n_neighbors=k, metric=metric,
                            algorithm="brute" if metric == "cosine" else "auto").fit(train)


def _place(new: np.ndarray, train: np.ndarray, coords: np.ndarray, n_neighbors: int, metric: str, *,
           index=None, chunk: int = 20_000) -> np.ndarray:
    """Positions of ``new`` (reduced space) at the fuzzy mean of their nearest fitted points, in chunks."""
    index = index if index is not None else _neighbour_index(train, n_neighbors, metric)
    k = min(n_neighbors, len(train))
    out = np.empty((len(new), 2), np.float32)
    for a in range(0, len(new), chunk):
        dists, idx = index.kneighbors(new[a:a + chunk], n_neighbors=k)
        out[a:a + chunk] = _fuzzy_average(dists.astype(np.float32), idx, coords, k)
    return out


def _smooth_sigmas(dists: np.ndarray, k: int, n_iter: int = 64, tol: float = 1e-5) -> np.ndarray:
    """UMAP's kernel widths (``smooth_knn_dist`` with local_connectivity 0), vectorised in NumPy, per row.

    Same binary search as umap-learn (the first neighbour left out of the sum, target log2(k)); the
    floor is 1e-3 of the row's own mean distance where umap uses the batch's mean, so a row's
    placement never depends on which rows are placed with it (a partition, a chunk). NumPy rather
    than umap's numba function: no compilation in a fresh worker process.
    """
    d = dists[:, 1:].astype(np.float64)
    target = np.log2(k)
    n = len(d)
    lo, hi, mid = np.zeros(n), np.full(n, np.inf), np.ones(n)
    active = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_iter):
            if not len(active):
                break
            m = mid[active]
            psum = np.where(d[active] > 0, np.exp(-d[active] / m[:, None]), 1.0).sum(axis=1)
            done = np.abs(psum - target) < tol
            high = psum > target
            upd = active[~done & high]
            hi[upd] = mid[upd]
            mid[upd] = (lo[upd] + hi[upd]) / 2.0
            upd = active[~done & ~high]
            lo[upd] = mid[upd]
            mid[upd] = np.where(np.isinf(hi[upd]), mid[upd] * 2.0, (lo[upd] + hi[upd]) / 2.0)
            active = active[~done]
    return np.maximum(mid, 1e-3 * dists.astype(np.float64).mean(axis=1))


def _fuzzy_average(dists: np.ndarray, idx: np.ndarray, coords: np.ndarray, k: int) -> np.ndarray:
    """Weighted mean of neighbour coordinates with UMAP's membership strengths exp(-d / sigma).

    local_connectivity 0 as in UMAP's transform: the nearest neighbour is not forced to weight 1.
    """
    sigmas = _smooth_sigmas(dists, k)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        weights = np.where(sigmas[:, None] > 0, np.exp(-dists / sigmas[:, None]), 1.0).astype(np.float64)
    totals = weights.sum(axis=1, keepdims=True)
    # Underflow to all-zero weights (a point far from everything): fall back to the plain mean.
    weights = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), 1.0 / k)
    return np.einsum("nk,nkd->nd", weights, coords[idx].astype(np.float64)).astype(np.float32)



class Placer:
    """Places new objects on a map already drawn: each at the fuzzy mean of its nearest drawn objects.

    ``fitted`` are the raw vectors of the drawn objects and ``coords`` their positions; new vectors are
    standardised as the drawn ones were (same column means, scales and weights) before the neighbour
    search, so a first look can take objects in as they are embedded without recomputing it.
    """

    def __init__(self, fitted, coords, *, column_weights=None, n_neighbors: int = 10, metric: str = "euclidean"):
        from explorer.projection.prepare import _as_matrix, _check_weights, _Preparation

        arr = _as_matrix(fitted, "fitted")
        self._prep = _Preparation.fit(arr, True, _check_weights(column_weights, arr.shape[1]))
        train, ok = self._prep.apply(arr)
        coords = np.asarray(coords, np.float64)
        ok &= np.isfinite(coords).all(axis=1)
        if not ok.any():
            raise ValueError("no drawn object with a position and a vector to place new objects beside")
        self._train, self._coords = train[ok], coords[ok]
        self.n_neighbors, self.metric = int(n_neighbors), metric
        self._index = _neighbour_index(self._train, self.n_neighbors, metric)

    def place(self, new) -> np.ndarray:
        """Positions [n, 2] of the new vectors (NaN for a row without any finite value)."""
        from explorer.projection.prepare import _as_matrix

        prepared, ok = self._prep.apply(_as_matrix(new, "new"))
        out = np.full((len(prepared), 2), np.nan)
        if ok.any():
            out[ok] = _place(prepared[ok], self._train, self._coords, self.n_neighbors, self.metric,
                             index=self._index)
        return out
