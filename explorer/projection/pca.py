"""Principal components with a cost bounded by the input, whatever its shape.

A many-band catalog embedded side by side gives few objects and very many dimensions (12 objects x
40 bands x 256 = 10,240 columns): the eigen-decomposition of the d x d covariance then took minutes
and gigabytes (measured: 4,096 columns, 73 s; 10,240 did not finish in 10 minutes). The components
are therefore computed in the smaller of the two sides:

- columns the smaller side (d <= n), at most ``EXACT_MAX_SIDE``: the covariance (d x d), as before;
- rows the smaller side (n < d), at most ``EXACT_MAX_SIDE``: the Gram matrix (n x n) of the centred rows
  (exact, the same components; those beyond the rows' rank are zero rows);
- both larger: a seeded randomized SVD (``sklearn.utils.extmath.randomized_svd``), O(n d k).

Measured (``benchmarks/bench_projection.py --wide``, two runs, 2 cores, load 7-15): 12 x 4,096 took
79-122 s by the covariance and takes 2-9 ms; 5,000 x 4,096 took 68-79 s and takes 7-10 s.

Memory is the centred float64 copy of the input plus at most ``EXACT_MAX_SIDE``\\ :sup:`2` values; nothing
is sized from the shape alone. Signs are fixed so that the largest-magnitude loading of each component is
positive, which makes the result independent of the LAPACK build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.projection.prepare import _as_matrix, _finite_rows

__all__ = ["pca_preview", "EXACT_MAX_SIDE"]

# Exact eigen-decomposition up to this side (rows or columns): ~0.3 s for 1024 x 1024 on 2 cores.
EXACT_MAX_SIDE = 1024
# Randomized SVD: power iterations and extra random directions (sklearn's defaults for few components).
_POWER_ITERATIONS = 7
_OVERSAMPLES = 10


@dataclass(frozen=True)
class _PCAState:
    """A fitted linear reduction ``(X - mean) @ components.T`` (float64 for stable reuse)."""

    mean: np.ndarray  # [d]
    components: np.ndarray  # [k, d]

    def apply(self, arr: np.ndarray) -> np.ndarray:
        return ((arr.astype(np.float64) - self.mean) @ self.components.T).astype(np.float32)


def _fix_signs(comps: np.ndarray) -> np.ndarray:
    idx = np.argmax(np.abs(comps), axis=1)
    signs = np.sign(comps[np.arange(len(comps)), idx])
    signs[signs == 0] = 1.0
    return comps * signs[:, None]


def _by_covariance(xc: np.ndarray, k: int) -> np.ndarray:
    cov = xc.T @ xc / max(len(xc) - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:k]
    return evecs[:, order].T


def _by_gram(xc: np.ndarray, k: int) -> np.ndarray:
    """Components from the n x n Gram matrix: the right singular vectors ``xc.T u / sqrt(lambda)``.

    Directions beyond the rank of the rows (k > n - 1) are zero rows: they carry no variance.
    """
    evals, evecs = np.linalg.eigh(xc @ xc.T)
    order = np.argsort(evals)[::-1][:k]
    evals, evecs = evals[order], evecs[:, order]
    keep = evals > max(float(evals[0]) if len(evals) else 0.0, 0.0) * 1e-12
    comps = np.zeros((k, xc.shape[1]))
    if keep.any():
        v = xc.T @ evecs[:, keep] / np.sqrt(evals[keep])
        comps[np.flatnonzero(keep)] = (v / np.linalg.norm(v, axis=0)).T
    return comps


def _by_randomized_svd(xc: np.ndarray, k: int) -> np.ndarray:
    from sklearn.utils.extmath import randomized_svd

    _, _, vt = randomized_svd(xc, n_components=k, n_oversamples=_OVERSAMPLES, n_iter=_POWER_ITERATIONS,
                              random_state=0, flip_sign=False)
    return vt


def _fit_pca(arr: np.ndarray, n_components: int) -> _PCAState:
    """Deterministic PCA computed in the smaller side of ``arr`` (see the module docstring).

    Returns ``min(n_components, d)`` components (from the Gram matrix, those beyond the rows' rank are zero).
    """
    x = arr.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    del x
    n, d = xc.shape
    k = min(int(n_components), d)
    if d <= n and d <= EXACT_MAX_SIDE:
        comps = _by_covariance(xc, k)
    elif n < d and n <= EXACT_MAX_SIDE:
        comps = _by_gram(xc, k)
    elif d <= EXACT_MAX_SIDE:
        comps = _by_covariance(xc, k)
    else:
        comps = _by_randomized_svd(xc, k)
    return _PCAState(mean=mean, components=_fix_signs(comps))


def pca_preview(X) -> np.ndarray:
    """Instant 2-D placeholder map (first two principal components) shown while UMAP runs.

    Returns float32 ``[n, 2]``; rows that are not finite get NaN. Inputs with a single dimension or a
    single usable row are padded with zeros rather than refused, so a preview can always be drawn.
    """
    arr = _as_matrix(X)
    out = np.full((len(arr), 2), np.nan, dtype=np.float32)
    ok = _finite_rows(arr)
    if not ok.any():
        return out
    good = arr[ok]
    coords = _fit_pca(good, 2).apply(good)
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]), dtype=np.float32)])
    out[ok] = coords
    return out
