"""Server-side geometry for the map: nearest point, box and lasso hits, cosine neighbours.

These run on every tap/box/lasso, so each index is built once per projection
(or embedding) and answers queries without touching the other rows.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from explorer.errors import ExplorerError


class PointIndex:
    """2-D map coordinates of the catalog rows, with a KD-tree for taps.

    ``coords`` is ``[n_objects, 2]``; rows with NaN (objects without an
    embedding) are never returned by any query.
    """

    def __init__(self, coords: np.ndarray):
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise ExplorerError(f"map coordinates must have shape (n, 2), got {coords.shape}")
        self.coords = coords
        self.valid_rows = np.flatnonzero(np.isfinite(coords).all(axis=1))
        self._xy = coords[self.valid_rows]
        self._tree = cKDTree(self._xy) if len(self._xy) else None

    def __len__(self) -> int:
        return len(self.valid_rows)

    def nearest(self, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Catalog row of the point nearest to (x, y); None when empty or farther than max_distance."""
        if self._tree is None or x is None or y is None:
            return None
        dist, pos = self._tree.query((float(x), float(y)))
        if max_distance is not None and dist > max_distance:
            return None
        return int(self.valid_rows[pos])

    def in_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Catalog rows whose point lies inside the axis-aligned box (corners in any order)."""
        xlo, xhi = sorted((float(x0), float(x1)))
        ylo, yhi = sorted((float(y0), float(y1)))
        x, y = self._xy[:, 0], self._xy[:, 1]
        inside = (x >= xlo) & (x <= xhi) & (y >= ylo) & (y <= yhi)
        return self.valid_rows[inside]

    def in_polygon(self, xs, ys) -> np.ndarray:
        """Catalog rows whose point lies inside the polygon (even-odd rule, vectorised ray casting)."""
        px = np.asarray(xs, dtype=np.float64).ravel()
        py = np.asarray(ys, dtype=np.float64).ravel()
        if px.shape != py.shape:
            raise ExplorerError(f"lasso x and y have different lengths ({len(px)} vs {len(py)})")
        if len(px) < 3:
            return np.empty(0, dtype=np.int64)
        # bounding-box prefilter keeps the per-edge loop on the few candidate points only
        cand = np.flatnonzero(
            (self._xy[:, 0] >= px.min()) & (self._xy[:, 0] <= px.max())
            & (self._xy[:, 1] >= py.min()) & (self._xy[:, 1] <= py.max())
        )
        x, y = self._xy[cand, 0], self._xy[cand, 1]
        inside = np.zeros(len(cand), dtype=bool)
        x_prev, y_prev = px[-1], py[-1]
        for x_cur, y_cur in zip(px, py):
            crosses = (y_cur > y) != (y_prev > y)
            if crosses.any():
                with np.errstate(divide="ignore", invalid="ignore"):
                    x_at = (x_prev - x_cur) * (y - y_cur) / (y_prev - y_cur) + x_cur
                inside ^= crosses & (x < x_at)
            x_prev, y_prev = x_cur, y_cur
        return self.valid_rows[cand[inside]]


class NeighbourIndex:
    """Nearest neighbours in the full vector space, euclidean or cosine.

    Rows are prepared once (unit rows for cosine, squared norms for euclidean); a query is one
    matrix-vector product plus an ``argpartition``, so it stays linear in the number of objects.
    """

    def __init__(self, matrix: np.ndarray, metric: str = "cosine"):
        m = np.asarray(matrix, dtype=np.float32)
        if m.ndim != 2:
            raise ExplorerError(f"embedding matrix must be 2-D, got shape {m.shape}")
        if metric not in ("cosine", "euclidean"):
            raise ExplorerError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
        self.metric = metric
        valid = np.isfinite(m).all(axis=1)
        clean = np.where(valid[:, None], m, 0.0).astype(np.float32)
        norms = np.linalg.norm(clean, axis=1)
        if metric == "cosine":
            valid &= norms > 0
            self._rows = np.zeros_like(m)
            self._rows[valid] = clean[valid] / norms[valid, None]
        else:
            self._rows = clean
            self._sq = (norms.astype(np.float64) ** 2)
        self.valid = valid

    def query(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k rows nearest to ``row`` (itself excluded): (rows, distances), nearest first."""
        if not self.valid[row]:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        dots = (self._rows @ self._rows[row]).astype(np.float64)
        if self.metric == "cosine":
            dist = 1.0 - dots
        else:
            dist = np.sqrt(np.maximum(self._sq + self._sq[row] - 2.0 * dots, 0.0))
        dist[~self.valid] = np.inf
        dist[row] = np.inf
        k = int(min(k, int(self.valid.sum()) - 1))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        part = np.argpartition(dist, k - 1)[:k]
        order = part[np.argsort(dist[part], kind="stable")]
        return order.astype(np.int64), dist[order].astype(np.float32)
