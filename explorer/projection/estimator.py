"""``Projection``: the UMAP map of a matrix, estimator-like, reproducible from a seed and cached.

Columns are standardised (``explorer.projection.prepare``), reduced with PCA above ``pca_components``
dimensions (``explorer.projection.pca``: cost bounded whatever the shape), mapped with UMAP (optionally
label-guided), cached by content and parameters (``explorer.projection.cache``); objects added later
and objects outside a fitting sample are placed with ``explorer.projection.placement``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np

from explorer.projection.cache import _MEMORY, _Fitted, _read_disk, _write_disk, projection_cache_dir
from explorer.projection.pca import _fit_pca, pca_preview
from explorer.projection.placement import _neighbour_index, _place
from explorer.projection.prepare import _as_matrix, _check_weights, _finite_rows, _Preparation, encode_labels

__all__ = ["Projection", "warm_up", "DEFAULT_SAMPLE", "EXACT_NEIGHBOURS_MAX", "METRICS", "INITS", "NEIGHBOURS"]

log = logging.getLogger(__name__)

# Bump when the cached content or the way it is computed changes, so stale files are never reused.
_CACHE_FORMAT = 1
METRICS = ("euclidean", "cosine")
INITS = ("pca", "spectral", "random")
# Up to this many objects the neighbour graph is computed exactly (brute force, BLAS) and handed to
# UMAP: a few seconds at 50k, and it spares a fresh process the ~30 s numba compilation of UMAP's
# NN-descent (measured: cold 4500-point fit 44 s -> 11 s); below 4096 points it replaces UMAP's own exact
# path (all pairwise distances through a Python callable: 28 s at 3,000 points).
EXACT_NEIGHBOURS_MAX = 50_000
NEIGHBOURS = ("auto", "exact", "approximate")
# Maps above this many objects are fitted on a seeded sample of this size and the other objects are
# placed with ``transform``. 50k, not 100k: measured with benchmarks/bench_projection.py --choices 100000
# (2-core machine, load 2-3) a 100k map took 78.5 s in a fresh process (first call: import + numba
# compilation of NN-descent) fitted whole, 45.3 s fitted on 50k + transform; the 50k sample also stays on
# the exact-neighbour path (<= EXACT_NEIGHBOURS_MAX), which needs no NN-descent compilation. Quality:
# trustworthiness@10 0.979 either way on the synthetic 100k; on EROS-1 half the catalog was the best
# sampled fraction (0.900 vs 0.935 whole; 35 %: 0.874). See benchmarks/README.md, "Maps at scale".
DEFAULT_SAMPLE = 50_000


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
        The neighbour graph: exact (brute force, BLAS) or UMAP's NN-descent; ``"auto"`` is exact up to
        ``EXACT_NEIGHBOURS_MAX`` objects.
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
        """Whether our brute-force neighbour graph is handed to UMAP for ``n`` fitted points.

        Below 4096 points too: there UMAP's own exact path asks scikit-learn for all pairwise distances
        through a Python callable (one call per pair: 28 s of a 33 s fit at 3,000 points), where one
        BLAS neighbour search takes well under a second.
        """
        if self.neighbours == "approximate":
            return False
        return self.neighbours == "exact" or n <= EXACT_NEIGHBOURS_MAX

    def _sample_rows(self, n_usable: int) -> np.ndarray | None:
        """Positions (among the usable rows, sorted) of the seeded fitting sample; None: fit them all."""
        if self.sample is None or n_usable <= int(self.sample):
            return None
        rng = np.random.default_rng(0 if self.random_state is None else int(self.random_state))
        return np.sort(rng.choice(n_usable, int(self.sample), replace=False))

    def _cache_key(self, arr: np.ndarray, ok: np.ndarray, codes: np.ndarray | None) -> str:
        from importlib.metadata import version

        h = hashlib.sha256()
        params = {
            "format": _CACHE_FORMAT,
            # umap-learn's own __version__ (read from its metadata, as umap does): importing umap only
            # to name it cost a cached map 2.5 s in a fresh server process (numba's modules load)
            "umap": version("umap-learn"),
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
            # below 4096 points UMAP ignores given neighbours unless told to use its general path
            force_approximation_algorithm=precomputed is not None,
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

    Uses 4500 points, the path of every catalog up to ``EXACT_NEIGHBOURS_MAX`` objects (our exact
    neighbours + UMAP's layout); larger catalogs also compile NN-descent on first use. Meant to be
    started in a background thread when an app starts.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4500, 8)).astype(np.float32)
    Projection(metric=metric, n_epochs=5, cache=False).fit(X)
    return time.perf_counter() - t0
