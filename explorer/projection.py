"""2-D maps of embedding matrices: an instant PCA preview and a cached, reproducible UMAP projection.

``Projection`` is estimator-like (``fit`` / ``fit_transform`` / ``transform`` / ``embedding_``).
Columns are standardised (z-score, each block of a representation then weighted) before PCA/UMAP by
default; ``prepare_matrix`` is that step on its own, shared with the neighbours and quality figures so
every view measures the same space. Rows without any finite value (objects that were not embedded)
get NaN coordinates instead of an error; standardised rows missing only some values (an object lacking
one band's block) are placed on the values they have (the rest set to the column mean).
A label column can guide the map (supervised UMAP, unlabelled objects = -1).
Results are cached by the content of the matrix and every parameter that changes the map, in memory
(per process) and on disk (``<store root>/projections/`` unless ``cache_dir`` says otherwise).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_path

__all__ = [
    "Projection", "prepare_matrix", "encode_labels", "pca_preview", "warm_up", "projection_cache_dir", "clear_memory_cache", "MEMORY_CACHE_SIZE",
]

log = logging.getLogger(__name__)

# Bump when the cached content or the way it is computed changes, so stale files are never reused.
_CACHE_FORMAT = 1
METRICS = ("euclidean", "cosine")
INITS = ("pca", "spectral", "random")
MEMORY_CACHE_SIZE = 8
# Up to this many objects the neighbour graph is computed exactly (brute force, BLAS) and handed to
# UMAP: a few seconds at 50k, and it spares a fresh process the ~30 s numba compilation of UMAP's
# NN-descent (measured: cold 4500-point fit 44 s -> 11 s). UMAP itself is exact below 4096 points.
EXACT_NEIGHBOURS_MAX = 50_000
_UMAP_EXACT_BELOW = 4096
NEIGHBOURS = ("auto", "exact", "approximate")
# Maps above this many objects are fitted on a seeded sample of this size and the other objects are
# placed with ``transform``. 50k, not 100k: measured with benchmarks/bench_projection.py --choices 100000
# (2-core machine, load 2-3) a 100k map took 78.5 s in a fresh process (first call: import + numba
# compilation of NN-descent) fitted whole, 45.3 s fitted on 50k + transform; the 50k sample also stays on
# the exact-neighbour path (<= EXACT_NEIGHBOURS_MAX), which needs no NN-descent compilation. Quality:
# trustworthiness@10 0.979 either way on the synthetic 100k; on EROS-1 half the catalog was the best
# sampled fraction (0.900 vs 0.935 whole; 35 %: 0.874). See benchmarks/README.md, "Maps at scale".
DEFAULT_SAMPLE = 50_000


def projection_cache_dir() -> Path:
    """Default on-disk cache folder: ``store_root()/projections`` (``$LCEXPLORER_HOME`` or the user cache)."""
    from explorer.store import store_root

    return store_root() / "projections"


# ----------------------------------------------------------------------------------------------
# input handling and PCA


def _as_matrix(X, name: str = "X") -> np.ndarray:
    """Float32 C-contiguous 2-D copy-if-needed of ``X``; ValueError naming ``name`` when not 2-D numeric."""
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric 2-D array (objects x dimensions): {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (objects x dimensions), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    return np.ascontiguousarray(arr)


def _finite_rows(arr: np.ndarray) -> np.ndarray:
    """Rows usable for a map: every value finite (a NaN anywhere means the object was not embedded)."""
    return np.isfinite(arr).all(axis=1)


@dataclass(frozen=True)
class _Scaler:
    """Per-column z-score (over the finite values of the fitted rows) followed by column weights."""

    mean: np.ndarray  # float64 [d]
    scale: np.ndarray  # float64 [d]: std / weight (constant and empty columns: 1 / weight)

    @classmethod
    def fit(cls, arr: np.ndarray, weights: np.ndarray | None) -> "_Scaler":
        x = arr.astype(np.float64)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
            mean = np.nanmean(x, axis=0)
            std = np.nanstd(x, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        w = np.ones(arr.shape[1]) if weights is None else weights
        return cls(mean=mean, scale=std / w)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        """Standardised, weighted float32; missing values become 0 (the column mean)."""
        with np.errstate(all="ignore"):
            out = (arr.astype(np.float64) - self.mean) / self.scale
        out[~np.isfinite(out)] = 0.0
        return out.astype(np.float32)


def _check_weights(column_weights, n_dims: int) -> np.ndarray | None:
    if column_weights is None:
        return None
    w = np.asarray(column_weights, dtype=np.float64).ravel()
    if w.shape != (n_dims,) or not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"column_weights must be {n_dims} positive finite numbers (one per column), got shape {w.shape}")
    return w


def prepare_matrix(X, *, standardize: bool = True, column_weights=None) -> tuple[np.ndarray, np.ndarray]:
    """The space maps, neighbours and quality figures are computed in: ``(prepared float32, usable rows)``.

    With ``standardize`` each column is z-scored over the usable rows and multiplied by its weight
    (``RepresentationResult.column_weights()``: 1, or 1/sqrt(width) per part of a hybrid); a row is
    usable when it has at least one finite value, its missing values taking the column mean. Without,
    only fully finite rows are usable and values are weighted as they are. Unusable rows are NaN.
    """
    arr = _as_matrix(X)
    return _Preparation.fit(arr, bool(standardize), _check_weights(column_weights, arr.shape[1])).apply(arr)


@dataclass(frozen=True)
class _Preparation:
    """A fitted ``prepare_matrix``: which rows are usable, and how their values are scaled and weighted."""

    standardize: bool
    scaler: _Scaler | None  # None without standardisation, or when no row was usable
    weights: np.ndarray | None

    @staticmethod
    def usable(arr: np.ndarray, standardize: bool) -> np.ndarray:
        """Standardised: rows with any finite value (the rest is imputed); else fully finite rows."""
        return np.isfinite(arr).any(axis=1) if standardize else _finite_rows(arr)

    @classmethod
    def fit(cls, arr: np.ndarray, standardize: bool, weights: np.ndarray | None) -> "_Preparation":
        ok = cls.usable(arr, standardize)
        scaler = _Scaler.fit(arr[ok], weights) if standardize and ok.any() else None
        return cls(standardize=standardize, scaler=scaler, weights=weights)

    def apply(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(prepared float32, usable rows)``; unusable rows are NaN."""
        ok = self.usable(arr, self.standardize)
        out = np.full(arr.shape, np.nan, np.float32)
        if self.standardize:
            if self.scaler is not None and ok.any():
                out[ok] = self.scaler.apply(arr[ok])
        else:
            out[ok] = arr[ok] if self.weights is None else (arr[ok] * self.weights).astype(np.float32)
        return out, ok


def encode_labels(y, n: int) -> np.ndarray:
    """int64 codes of a label column for supervised UMAP: -1 where unlabelled (None, NaN, empty text)."""
    import pandas as pd

    if y is None:
        return np.full(n, -1, np.int64)
    values = pd.Series(list(y) if not isinstance(y, (pd.Series, np.ndarray)) else y).reset_index(drop=True)
    if len(values) != n:
        raise ValueError(f"y has {len(values)} labels but X has {n} rows")
    text = values.astype("string")
    unlabelled = values.isna().to_numpy() | (text.str.strip().fillna("") == "").to_numpy()
    codes = np.full(n, -1, np.int64)
    if (~unlabelled).any():
        uniq = np.unique(text[~unlabelled].to_numpy(dtype=str))
        codes[~unlabelled] = np.searchsorted(uniq, text[~unlabelled].to_numpy(dtype=str))
    return codes


@dataclass(frozen=True)
class _PCAState:
    """A fitted linear reduction ``(X - mean) @ components.T`` (float64 for stable reuse)."""

    mean: np.ndarray  # [d]
    components: np.ndarray  # [k, d]

    def apply(self, arr: np.ndarray) -> np.ndarray:
        return ((arr.astype(np.float64) - self.mean) @ self.components.T).astype(np.float32)


def _fit_pca(arr: np.ndarray, n_components: int) -> _PCAState:
    """Exact, deterministic PCA via the eigen-decomposition of the covariance (fast when n >> d).

    Signs are fixed so that the largest-magnitude loading of each component is positive, which makes the
    result independent of the LAPACK build.
    """
    x = arr.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(len(x) - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n_components]
    comps = evecs[:, order].T
    idx = np.argmax(np.abs(comps), axis=1)
    signs = np.sign(comps[np.arange(len(comps)), idx])
    signs[signs == 0] = 1.0
    return _PCAState(mean=mean, components=comps * signs[:, None])


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
    k = min(2, good.shape[1])
    coords = _fit_pca(good, k).apply(good)
    if k < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - k), dtype=np.float32)])
    out[ok] = coords
    return out


# ----------------------------------------------------------------------------------------------
# cache


@dataclass(frozen=True)
class _Fitted:
    """What a fit produces and the cache keeps: the map of the usable rows and the PCA used before UMAP."""

    coords: np.ndarray  # float32 [n_valid, 2]
    pca: _PCAState | None


class _MemoryCache:
    """A small thread-safe LRU of fitted maps shared by every ``Projection`` in the process."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, _Fitted] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> _Fitted | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, item: _Fitted) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_MEMORY = _MemoryCache(MEMORY_CACHE_SIZE)


def clear_memory_cache() -> None:
    """Forget every map kept in memory (the disk cache is untouched)."""
    _MEMORY.clear()


def _read_disk(path: Path) -> _Fitted | None:
    """Load a cached map; a missing or unreadable file is a miss (it is rewritten by the next fit)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            coords = np.array(data["coords"], dtype=np.float32)
            pca = None
            if "pca_components" in data.files:
                pca = _PCAState(mean=np.array(data["pca_mean"]), components=np.array(data["pca_components"]))
    except Exception as exc:  # corrupt or truncated file from elsewhere: recompute, don't fail
        log.warning("ignoring unreadable projection cache file %s: %s", path, exc)
        return None
    from explorer.diskcache import touch

    touch(path)  # recently used: the size cap evicts least recently used files first
    return _Fitted(coords=coords, pca=pca)


def _write_disk(path: Path, fitted: _Fitted) -> None:
    """Write atomically (temporary file in the same folder, then rename) so readers never see half a file."""
    arrays = {"coords": fitted.coords}
    if fitted.pca is not None:
        arrays["pca_mean"] = fitted.pca.mean
        arrays["pca_components"] = fitted.pca.components
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    from explorer.diskcache import after_write

    after_write()


# ----------------------------------------------------------------------------------------------
# the estimator


class Projection:
    """UMAP map of an embedding matrix, reproducible from a seed and cached by content and parameters.

    Parameters
    ----------
    n_neighbors : int >= 2
        UMAP neighbourhood size (local vs global structure).
    min_dist : float in [0, 1]
        How tightly UMAP packs points together.
    metric : "euclidean" or "cosine"
        Distance between embeddings.
    random_state : int >= 0 or None
        Seed; the same seed and input give identical coordinates. ``None`` lets UMAP run in parallel but
        the map changes from run to run (and is then not cached).
    pca : "auto", True or False
        Reduce to ``pca_components`` dimensions with PCA before UMAP. ``"auto"`` does so above
        ``pca_components`` dimensions (50 by default); ``True`` does so whenever it reduces the dimension.
    pca_components : int >= 2
    cache_dir : path or None
        On-disk cache folder; ``None`` means ``projection_cache_dir()``.
    n_epochs : int >= 1 or None
        UMAP optimisation epochs (``None``: UMAP's default, 200 above 10 000 objects, 500 below).
    init : "pca", "spectral" or "random"
        UMAP initial layout. ``"pca"`` (default) is reproducible and fast. ``"spectral"`` is NOT
        reproducible within a process when the neighbour graph has more than 4 connected components
        (well separated classes): umap-learn lays the components out with an ARPACK call whose internal
        seed carries over between calls.
    low_memory : bool
        Passed to UMAP's nearest-neighbour descent.
    sample : int >= 10 or None
        Above this many usable objects the map is fitted on a seeded sample of that many (seed
        ``random_state``) and every other object is placed with ``transform`` (the sampled objects keep
        their fitted positions); ``None`` fits every object. Default ``DEFAULT_SAMPLE`` (50 000): a
        100 000-object map then takes ~45 s including the first call in a fresh process on 2 cores
        (fitted whole: ~79 s), at a small cost in neighbourhood fidelity (benchmarks/README.md).
    neighbours : "auto", "exact" or "approximate"
        The neighbour graph: exact (brute force, BLAS) or UMAP's NN-descent; ``"auto"`` is exact from
        4096 up to ``EXACT_NEIGHBOURS_MAX`` objects (UMAP is exact by itself below 4096).
    cache : bool
        Use (and fill) the memory and disk caches.
    standardize : bool
        z-score every column before PCA/UMAP (default; see ``prepare_matrix``). Embeddings and
        features have columns of very different scales; measured on EROS-1 the standardised map
        keeps neighbourhoods better (trustworthiness 0.926 -> 0.964).
    column_weights : array of float or None
        Weight of each column after standardisation (``RepresentationResult.column_weights()``).
    target_weight : float in [0, 1]
        With labels (``fit(X, y)``): how much they pull the map (UMAP's ``target_weight``; 0 = labels
        only break ties, 1 = labels dominate). Unlabelled objects are free.

    Attributes after ``fit``: ``embedding_`` (float32 ``[n, 2]``, NaN for rows without a position), ``valid_``
    (bool mask of rows that were mapped), ``imputed_`` (mapped rows that lacked some values),
    ``supervised_`` (labels guided the map), ``cache_hit_`` (``None``, ``"memory"`` or ``"disk"``),
    ``cache_key_``, ``fit_seconds_``, ``pca_used_``.
    """

    def __init__(
        self,
        n_neighbors=15,
        min_dist=0.1,
        metric="euclidean",
        random_state=42,
        pca="auto",
        pca_components=50,
        cache_dir=None,
        *,
        n_epochs=None,
        init="pca",
        low_memory=True,
        cache=True,
        sample=DEFAULT_SAMPLE,
        neighbours="auto",
        standardize=True,
        column_weights=None,
        target_weight=0.5,
    ):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state
        self.pca = pca
        self.pca_components = pca_components
        self.cache_dir = cache_dir
        self.n_epochs = n_epochs
        self.init = init
        self.low_memory = low_memory
        self.cache = cache
        self.sample = sample
        self.neighbours = neighbours
        self.standardize = standardize
        self.column_weights = column_weights
        self.target_weight = target_weight
        self._validate()

    # -- parameters ----------------------------------------------------------------------------

    def get_params(self) -> dict:
        """The constructor parameters, as a dict (sklearn style)."""
        return {
            "n_neighbors": self.n_neighbors,
            "min_dist": self.min_dist,
            "metric": self.metric,
            "random_state": self.random_state,
            "pca": self.pca,
            "pca_components": self.pca_components,
            "cache_dir": self.cache_dir,
            "n_epochs": self.n_epochs,
            "init": self.init,
            "low_memory": self.low_memory,
            "cache": self.cache,
            "sample": self.sample,
            "neighbours": self.neighbours,
            "standardize": self.standardize,
            "column_weights": self.column_weights,
            "target_weight": self.target_weight,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"Projection({args})"

    @staticmethod
    def _is_int(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))

    def _validate(self) -> None:
        """Check every parameter; ValueError naming the parameter and the accepted values."""
        if not self._is_int(self.n_neighbors) or self.n_neighbors < 2:
            raise ValueError(f"n_neighbors must be an integer >= 2, got {self.n_neighbors!r}")
        if (
            isinstance(self.min_dist, (bool, np.bool_))
            or not isinstance(self.min_dist, (int, float, np.integer, np.floating))
            or not (0.0 <= float(self.min_dist) <= 1.0)
        ):
            raise ValueError(f"min_dist must be a number between 0 and 1, got {self.min_dist!r}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.random_state is not None and (not self._is_int(self.random_state) or self.random_state < 0):
            raise ValueError(f"random_state must be a non-negative integer or None, got {self.random_state!r}")
        if not (self.pca == "auto" or self.pca is True or self.pca is False):
            raise ValueError(f"pca must be 'auto', True or False, got {self.pca!r}")
        if not self._is_int(self.pca_components) or self.pca_components < 2:
            raise ValueError(f"pca_components must be an integer >= 2, got {self.pca_components!r}")
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise ValueError(f"cache_dir must be a path or None, got {self.cache_dir!r}")
        if self.n_epochs is not None and (not self._is_int(self.n_epochs) or self.n_epochs < 1):
            raise ValueError(f"n_epochs must be a positive integer or None, got {self.n_epochs!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if not isinstance(self.low_memory, (bool, np.bool_)):
            raise ValueError(f"low_memory must be True or False, got {self.low_memory!r}")
        if not isinstance(self.cache, (bool, np.bool_)):
            raise ValueError(f"cache must be True or False, got {self.cache!r}")
        if self.sample is not None and (not self._is_int(self.sample) or self.sample < 10):
            raise ValueError(f"sample must be an integer >= 10 or None, got {self.sample!r}")
        if self.neighbours not in NEIGHBOURS:
            raise ValueError(f"neighbours must be one of {NEIGHBOURS}, got {self.neighbours!r}")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False, got {self.standardize!r}")
        if (
            isinstance(self.target_weight, (bool, np.bool_))
            or not isinstance(self.target_weight, (int, float, np.integer, np.floating))
            or not (0.0 <= float(self.target_weight) <= 1.0)
        ):
            raise ValueError(f"target_weight must be a number between 0 and 1, got {self.target_weight!r}")

    def _use_pca(self, n_dims: int) -> bool:
        if self.pca is False:
            return False
        # PCA "to" at least as many dimensions as the input would be a pointless rotation.
        return n_dims > self.pca_components

    def _exact_neighbours(self, n: int) -> bool:
        """Whether our brute-force neighbour graph is handed to UMAP for ``n`` fitted points."""
        if n <= _UMAP_EXACT_BELOW or self.neighbours == "approximate":
            return False
        return self.neighbours == "exact" or n <= EXACT_NEIGHBOURS_MAX

    def _sample_rows(self, n_usable: int) -> np.ndarray | None:
        """Positions (among the usable rows, sorted) of the seeded fitting sample; None: fit them all."""
        if self.sample is None or n_usable <= int(self.sample):
            return None
        rng = np.random.default_rng(0 if self.random_state is None else int(self.random_state))
        return np.sort(rng.choice(n_usable, int(self.sample), replace=False))

    def _cache_key(self, arr: np.ndarray, ok: np.ndarray, codes: np.ndarray | None) -> str:
        import umap

        h = hashlib.sha256()
        params = {
            "format": _CACHE_FORMAT,
            "umap": umap.__version__,
            "shape": list(arr.shape),
            "n_neighbors": int(self.n_neighbors),
            "min_dist": float(self.min_dist),
            "metric": self.metric,
            "random_state": int(self.random_state),
            "pca": bool(self._use_pca(arr.shape[1])),
            "pca_components": int(self.pca_components),
            "n_epochs": None if self.n_epochs is None else int(self.n_epochs),
            "init": self.init,
            "low_memory": bool(self.low_memory),
            "exact_neighbours": self._exact_neighbours(min(int(ok.sum()), int(self.sample or ok.sum()))),
            "standardize": bool(self.standardize),
            "supervised": codes is not None,
            "target_weight": float(self.target_weight) if codes is not None else None,
        }
        if self._sample_rows(int(ok.sum())) is not None:
            params["sample"] = int(self.sample)   # only then: keys of unsampled maps stay as they were
        h.update(json.dumps(params, sort_keys=True).encode())
        h.update(np.packbits(ok).tobytes())
        # the prepared matrix already holds the standardisation and the column weights
        h.update(arr[ok].tobytes())
        if codes is not None:
            h.update(codes[ok].tobytes())
        return h.hexdigest()

    def _disk_path(self, key: str) -> Path:
        folder = Path(self.cache_dir) if self.cache_dir is not None else projection_cache_dir()
        return folder / f"umap-{key[:40]}.npz"

    # -- fitting -------------------------------------------------------------------------------

    def _run_umap(self, reduced: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
        import umap

        n = len(reduced)
        n_neighbors = min(int(self.n_neighbors), n - 1)
        init = self.init
        # Spectral init needs a few more points than neighbours; tiny inputs fall back to a random start.
        if init == "spectral" and n <= n_neighbors + 2:
            init = "random"
        precomputed = None
        if self._exact_neighbours(n):
            from sklearn.neighbors import NearestNeighbors

            search = NearestNeighbors(n_neighbors=n_neighbors, metric=self.metric, algorithm="brute").fit(reduced)
            dists, idx = search.kneighbors(reduced)
            # no search index: transform() has its own neighbour search, UMAP's is not needed
            precomputed = (idx, dists.astype(np.float32), None)
        model = umap.UMAP(
            n_neighbors=n_neighbors,
            min_dist=float(self.min_dist),
            metric=self.metric,
            random_state=None if self.random_state is None else int(self.random_state),
            n_epochs=self.n_epochs,
            init=init,
            low_memory=bool(self.low_memory),
            # A seed forces UMAP to one thread anyway; say so explicitly to avoid its warning.
            n_jobs=1 if self.random_state is not None else -1,
            precomputed_knn=precomputed or (None, None, None),
            target_metric="categorical",
            target_weight=float(self.target_weight),
            verbose=False,
        )
        with warnings.catch_warnings():
            # umap warns about spectral-init fallbacks on disconnected graphs and about the missing
            # search index of precomputed neighbours; the map is valid in both cases.
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            coords = model.fit_transform(reduced, y=codes)
        return np.asarray(coords, dtype=np.float32)

    def _compute(self, good: np.ndarray, codes: np.ndarray | None = None) -> _Fitted:
        chosen = self._sample_rows(len(good))
        fit_rows = good if chosen is None else good[chosen]
        pca = _fit_pca(fit_rows, int(self.pca_components)) if self._use_pca(good.shape[1]) else None
        reduced = pca.apply(fit_rows) if pca is not None else fit_rows
        if len(fit_rows) < 4:
            # UMAP cannot build a neighbour graph from fewer than 4 points; their PCA plane is the honest map.
            coords = pca_preview(reduced)
        else:
            coords = self._run_umap(reduced, None if codes is None else (codes if chosen is None else codes[chosen]))
        if chosen is None:
            return _Fitted(coords=coords, pca=pca)
        rest = np.ones(len(good), bool)
        rest[chosen] = False
        full = np.empty((len(good), 2), np.float32)
        full[chosen] = coords
        full[rest] = _place(pca.apply(good[rest]) if pca is not None else good[rest], reduced, coords,
                            int(self.n_neighbors), self.metric)
        return _Fitted(coords=full, pca=pca)

    def prepare(self, X) -> np.ndarray:
        """``X`` in the space the map was fitted in (standardised and weighted as in ``fit``); NaN rows unusable."""
        if not hasattr(self, "_preparation"):
            raise ValueError("this Projection is not fitted yet: call fit(X) before prepare(X)")
        return self._preparation.apply(_as_matrix(X))[0]

    def fit(self, X, y=None) -> "Projection":
        """Compute (or fetch from the cache) the map of ``X`` (``[n_objects, n_dims]``).

        ``y``: optional labels, one per row (text or numbers; None/NaN/empty = unlabelled), for a
        label-guided map weighted by ``target_weight``.
        """
        self._validate()
        t0 = time.perf_counter()
        raw = _as_matrix(X)
        self._preparation = _Preparation.fit(raw, bool(self.standardize),
                                             _check_weights(self.column_weights, raw.shape[1]))
        arr, ok = self._preparation.apply(raw)
        if not ok.any():
            raise ValueError(f"X has no finite row to project (shape {raw.shape}): every object lacks an embedding")
        codes = None
        if y is not None:
            codes = encode_labels(y, len(raw))
            if not (codes[ok] >= 0).any():
                codes = None  # no label among the mapped objects: an ordinary map
        good = arr[ok]
        chosen = self._sample_rows(len(good))
        use_cache = bool(self.cache) and self.random_state is not None
        key = self._cache_key(arr, ok, codes) if use_cache else None
        hit = None
        fitted = None
        if use_cache:
            fitted = _MEMORY.get(key)
            if fitted is not None:
                hit = "memory"
            else:
                fitted = _read_disk(self._disk_path(key))
                if fitted is not None and len(fitted.coords) == len(good):
                    hit = "disk"
                    _MEMORY.put(key, fitted)
                else:
                    fitted = None
        if fitted is None:
            fitted = self._compute(good, None if codes is None else codes[ok])
            if use_cache:
                _MEMORY.put(key, fitted)
                try:
                    _write_disk(self._disk_path(key), fitted)
                except OSError as exc:  # a read-only cache folder must not break the map itself
                    log.warning("could not write projection cache %s: %s", self._disk_path(key), exc)
        embedding = np.full((len(arr), 2), np.nan, dtype=np.float32)
        embedding[ok] = fitted.coords
        self.embedding_ = embedding
        self.valid_ = ok
        self.imputed_ = ok & ~_finite_rows(raw)
        self.supervised_ = codes is not None
        self.n_features_in_ = arr.shape[1]
        self.pca_used_ = fitted.pca is not None
        self.cache_key_ = key
        self.cache_hit_ = hit
        self._pca_state = fitted.pca
        # transform() places new objects among the fitted (sampled) objects only
        train = good if chosen is None else good[chosen]
        self._train_reduced = fitted.pca.apply(train) if fitted.pca is not None else train
        self._train_coords = fitted.coords if chosen is None else fitted.coords[chosen]
        self.sampled_ = None if chosen is None else np.flatnonzero(ok)[chosen]
        self._neighbors = None
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X, y)`` and return ``embedding_`` (float32 ``[n, 2]``)."""
        return self.fit(X, y).embedding_

    # -- placing new objects -------------------------------------------------------------------

    def transform(self, X_new) -> np.ndarray:
        """Place objects added later on the existing map without moving it.

        Each new object lands at the membership-weighted mean of its ``n_neighbors`` nearest fitted
        objects (UMAP's fuzzy weights; the same placement UMAP's own ``transform`` starts from), so the
        result depends only on the fitted data and is identical whether the map came from the cache or
        not. Non-finite rows get NaN.
        """
        if not hasattr(self, "embedding_"):
            raise ValueError("this Projection is not fitted yet: call fit(X) before transform(X_new)")
        arr = _as_matrix(X_new, "X_new")
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X_new has {arr.shape[1]} dimensions but the projection was fitted on {self.n_features_in_}"
            )
        out = np.full((len(arr), 2), np.nan, dtype=np.float32)
        arr = self.prepare(arr)
        ok = _finite_rows(arr)
        if not ok.any():
            return out
        new = self._pca_state.apply(arr[ok]) if self._pca_state is not None else arr[ok]
        if self._neighbors is None:
            self._neighbors = _neighbour_index(self._train_reduced, int(self.n_neighbors), self.metric)
        out[ok] = _place(new, self._train_reduced, self._train_coords, int(self.n_neighbors), self.metric,
                         index=self._neighbors)
        return out


def warm_up(metric: str = "euclidean") -> float:
    """Compile UMAP's numba code paths once (tens of seconds on a cold process); returns the seconds spent.

    Uses 4500 points, the path of catalogs from 4096 up to ``EXACT_NEIGHBOURS_MAX`` objects (our exact
    neighbours + UMAP's layout); larger catalogs also compile NN-descent on first use. Meant to be
    started in a background thread when an app starts.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4500, 8)).astype(np.float32)
    Projection(metric=metric, n_epochs=5, cache=False).fit(X)
    return time.perf_counter() - t0


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
