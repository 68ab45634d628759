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

