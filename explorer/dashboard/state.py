"""The dashboard state: a ``param.Parameterized`` that does all the work without a browser.

``ExplorerState`` holds one catalog, the chosen model / output / reduction / bands, the current
embedding and its 2-D map, the tapped object and the selection.  Every interaction the dashboard
offers is a plain method here (``embed``, ``project``, ``select_at``, ``select_box``,
``select_lasso``, ``neighbours``, ``light_curve_frame``, ``assign_label``), so tests and
benchmarks drive it directly and the Panel view only wires widgets to it.

Results are kept in process-wide LRU caches keyed by
``(catalog hash, model, output, reduction, bands)`` (embeddings) and that key plus the UMAP
parameters (maps), so switching back to a combination already computed is instant and a second
browser session on the same server does not recompute anything.  The engine's own disk cache
covers restarts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time as _time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import param

from explorer.catalog.loaders import is_sidecar
from explorer.errors import CatalogError, ExplorerError, ModelError

from .spatial import NeighbourIndex, PointIndex

log = logging.getLogger(__name__)

USER_LABEL = "user_label"  # colour option / column holding the labels given in the dashboard
NO_LABEL = "(none)"
REDUCTIONS = ("non-overlapping-windows", "beginning", "middle", "end", "random-subsample", "beginning,middle,end")
OUTPUTS_BY_KIND = {"astromer1": ("mean", "max"), "astromer2": ("mean", "max"), "atcat": ("last", "mean")}
ALL_OUTPUTS = ("mean", "max", "last")
PERIOD_COLUMNS = ("period", "Period", "PERIOD", "period_days", "P", "per")
HOW_TO_GET_A_MODEL = (
    "No embedding model is available. Import one into the local store with:\n\n"
    "    lcexplorer models import ../shared/models/checkpoints/macho.zip --name astromer1-macho\n\n"
    "then reload this page. The catalog and its light curves can still be browsed below."
)


class ResultCache:
    """A small thread-safe LRU dictionary shared by every dashboard session of the process."""

    def __init__(self, maxsize: int = 8):
        self.maxsize = int(maxsize)
        self._data: OrderedDict = OrderedDict()
        self._pending: dict = {}
        self._lock = threading.Lock()

    def get(self, key):
        """The value stored under ``key`` (refreshed as most recent), or None."""
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key, value) -> None:
        """Store ``value``; the least recently used entry goes when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_compute(self, key, compute):
        """``(value, was_cached)``; concurrent callers with the same key wait for one computation."""
        value = self.get(key)
        if value is not None:
            return value, True
        with self._lock:
            key_lock = self._pending.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)
            if value is not None:
                return value, True
            value = compute()
            self.put(key, value)
        with self._lock:
            self._pending.pop(key, None)
        return value, False

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


EMBEDDINGS = ResultCache(maxsize=6)
MAPS = ResultCache(maxsize=12)
_CATALOGS = ResultCache(maxsize=4)


@dataclass
class MapResult:
    """A 2-D map of one embedding: coordinates aligned with catalog rows and their tap index."""

    coords: np.ndarray  # [n_objects, 2], NaN for objects without an embedding
    stage: str  # "pca" (placeholder) or "umap"
    index: PointIndex
    params: dict


def open_catalog(source, **kwargs):
    """A Catalog from a Catalog, a DataFrame or a path inside the allowed folders (memoised per path+mtime)."""
    from explorer.catalog import Catalog, load_catalog

    if isinstance(source, Catalog):
        return source
    if isinstance(source, pd.DataFrame):
        return load_catalog(source, **kwargs)
    from .sources import resolve_catalog_path

    path = resolve_catalog_path(source)
    # saving labels beside the catalog must not count as a change of the catalog (a reload and re-hash)
    if path.is_dir():  # not the folder's own mtime: it changes whenever a labels file is replaced
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in path.iterdir() if not is_sidecar(p)))
    else:
        stamp = path.stat().st_mtime_ns
    key = (str(path), stamp, json.dumps(kwargs, sort_keys=True, default=str))
    cat = _CATALOGS.get(key)
    if cat is None:
        cat = load_catalog(path, **kwargs)
        _CATALOGS.put(key, cat)
    return cat


def model_choices() -> list:
    """Every model the engine knows (``ModelInfo``), hub first; empty when the engine cannot list any."""
    from explorer.engine import list_models

    try:
        infos = list(list_models())
    except ExplorerError as exc:
        log.warning("cannot list models: %s", exc)
        return []
    order = {"hub": 0, "store": 1, "path": 2}
    return sorted(infos, key=lambda m: (order.get(m.source, 3), m.name))


def default_model(infos=None) -> str | None:
    """The Hub model when cached/reachable, else ``astromer1-macho`` from the store, else any available model."""
    infos = model_choices() if infos is None else infos
    available = [m for m in infos if m.available]
    for m in available:
        if m.source == "hub":
            return m.name
    for m in available:
        if m.name == "astromer1-macho":
            return m.name
    return available[0].name if available else None


def _fold(time: np.ndarray, period: float) -> np.ndarray:
    return np.mod(time - np.nanmin(time), period) / period


class ExplorerState(param.Parameterized):
    """Everything the dashboard shows, computable without a browser.

    Parameters that describe a view (``model``, ``output``, ``reduction``, ``color_by``,
    ``selected_id``) are synced with the page URL when served.
    """

    catalog_path = param.String(default="", doc="Path of the open catalog (empty for in-memory catalogs).")
    model = param.String(default="", doc="Model name as the engine knows it (store name, Hub alias or path).")
    output = param.Selector(default="mean", objects=list(ALL_OUTPUTS), doc="Which model output to embed with.")
    reduction = param.Selector(default="non-overlapping-windows", objects=list(REDUCTIONS),
                               doc="How long light curves are cut to the model's sequence length.")
    bands = param.List(default=[], item_type=str, doc="Bands fed to the model (empty: all).")
    n_neighbors = param.Integer(default=15, bounds=(2, 200), doc="UMAP n_neighbors.")
    min_dist = param.Number(default=0.1, bounds=(0.0, 1.0), doc="UMAP min_dist.")
    color_by = param.String(default="", doc="Column of the objects table colouring the map ('' = automatic).")
    selected_id = param.String(default="", doc="object_id of the tapped object ('' for none).")
    selection_ids = param.List(default=[], doc="object_ids selected with box / lasso / table.")
    k_neighbours = param.Integer(default=8, bounds=(1, 100), doc="How many nearest neighbours to show.")
    period = param.Number(default=None, allow_None=True, doc="Period (days) used to fold the tapped light curve.")
    fold = param.Boolean(default=False, doc="Show the tapped light curve phase-folded.")

    status = param.String(default="", doc="Last message for the user.")
    progress = param.Integer(default=0, bounds=(0, 100), doc="Progress of the running job, percent.")
    busy = param.Boolean(default=False, doc="True while embedding / projecting.")
    map_version = param.Integer(default=0, doc="Bumped whenever the map coordinates change.")
    labels_version = param.Integer(default=0, doc="Bumped whenever labels change.")

    def __init__(self, catalog=None, *, model: str | None = None, embed_cache: ResultCache | None = None,
                 map_cache: ResultCache | None = None, labels_path=None, **params):
        super().__init__(**params)
        self._embed_cache = EMBEDDINGS if embed_cache is None else embed_cache
        self._map_cache = MAPS if map_cache is None else map_cache
        self._labels_path = labels_path
        self._lock = threading.RLock()
        self.catalog = None
        self.result = None  # EmbeddingResult of the current combination
        self.matrix: np.ndarray | None = None
        self.matrix_key: tuple | None = None  # embedding key the matrix was computed for
        self.map: MapResult | None = None
        self._neighbours: NeighbourIndex | None = None
        self._label_store = None
        self._period_cache: dict[str, float] = {}  # Lomb-Scargle periods, per object id
        self._user_periods: dict[str, float] = {}  # periods typed by the user, per object id
        self.inference_runs = 0  # embed_catalog calls made by this state
        self.last_embed_cached = False
        self.last_map_cached = False
        self.model_infos = []
        if catalog is not None:
            self.load_catalog(catalog)
        if model is not None:
            self.model = str(model)

    # ------------------------------------------------------------------ catalog
    def load_catalog(self, source, **kwargs) -> None:
        """Open a catalog (Catalog, DataFrame or allowed path); selection and tapped object are kept by object_id."""
        cat = open_catalog(source, **kwargs)
        with self._lock:
            self.catalog = cat
            self.result = self.matrix = self.matrix_key = self.map = self._neighbours = None
            self._label_store = None
            self._period_cache, self._user_periods = {}, {}
        ids = set(cat.object_ids.astype(str))
        with param.parameterized.batch_call_watchers(self):
            self.catalog_path = str(source) if isinstance(source, (str, os.PathLike)) else (cat.source or "")
            self.bands = [b for b in self.bands if b in cat.bands] or list(cat.bands)
            self.selection_ids = [i for i in self.selection_ids if i in ids]
            if self.selected_id not in ids:
                self.selected_id = ""
            if self.color_by not in self.color_options:
                self.color_by = self._default_color()
            self.map_version += 1
            self.labels_version += 1
            self.status = f"Catalog {cat.name}: {len(cat)} objects, {cat.n_observations} observations."

    def _require_catalog(self):
        if self.catalog is None:
            raise CatalogError("no catalog is open")
        return self.catalog

    def row_of(self, key) -> int:
        """Catalog row of an object_id or row number (KeyError naming the id)."""
        cat = self._require_catalog()
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(cat):
                raise KeyError(f"row {key} is outside catalog {cat.name!r} (0..{len(cat) - 1})")
            return int(key)
        return int(cat.index_of(str(key)))

    # ------------------------------------------------------------------ models
    def refresh_models(self) -> list:
        """Re-list the models the engine can load; picks the default model when none is chosen."""
        self.model_infos = model_choices()
        if not self.model:
            self.model = default_model(self.model_infos) or ""
        # the kind of a model named before the listing (constructor, URL) is only known now
        self._fit_output_to_model()
        return self.model_infos

    def model_kind(self, name: str | None = None) -> str | None:
        """Kind of a model ("astromer1", "astromer2", "atcat") from the listing, None when unknown."""
        name = name or self.model
        for info in self.model_infos:
            if info.name == name:
                return info.kind
        return None

    def output_options(self) -> list[str]:
        """Outputs valid for the chosen model's kind."""
        return list(OUTPUTS_BY_KIND.get(self.model_kind() or "", ALL_OUTPUTS))

    @param.depends("model", "output", watch=True)
    def _fit_output_to_model(self):
        options = self.output_options()
        if self.output not in options:
            self.output = options[0]

    # ------------------------------------------------------------------ embedding
    def _bands_arg(self):
        cat = self._require_catalog()
        if len(cat.bands) <= 1:
            return None
        chosen = [b for b in cat.bands if b in self.bands]
        return chosen or list(cat.bands)

    def _model_stamp(self) -> tuple | None:
        """(mtime, size) of the chosen model's local file: a model replaced in the store is not served from memory."""
        paths = [info.detail for info in self.model_infos if info.name == self.model] + [self.model]
        for path in paths:
            if path and os.path.isfile(path):
                st = os.stat(path)
                return (st.st_mtime_ns, st.st_size)
        return None

    @property
    def embedding_key(self) -> tuple:
        """Cache key of the current combination: (catalog hash, model, output, reduction, bands, model file stamp)."""
        cat = self._require_catalog()
        bands = self._bands_arg()
        return (cat.content_hash(), self.model, self.output, self.reduction, tuple(bands) if bands else None,
                self._model_stamp())

    def embed(self, progress: Callable[[int, int], None] | None = None):
        """Embed the catalog with the current combination (cached); returns the EmbeddingResult."""
        from explorer.engine import embed_catalog, load_model

        cat = self._require_catalog()
        if not self.model:
            raise ModelError(HOW_TO_GET_A_MODEL)
        key = self.embedding_key
        # the UI may change model/output/... while this runs: compute exactly the combination of `key`
        _, model_name, output, reduction, bands, _ = key

        def compute():
            model = load_model(model_name)
            out = embed_catalog(cat, model, output=output, reduction=reduction, progress=progress,
                                **self._band_options(cat, model.kind, bands))
            self.inference_runs += 1
            return out

        result, self.last_embed_cached = self._embed_cache.get_or_compute(key, compute)
        matrix = np.asarray(result.matrix(), dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != len(cat):
            raise ExplorerError(f"embedding matrix has shape {matrix.shape}; expected ({len(cat)}, dim)")
        with self._lock:
            self.result, self.matrix, self.matrix_key = result, matrix, key
            self._neighbours = NeighbourIndex(matrix)
        return result

    @staticmethod
    def _band_options(cat, kind: str, bands) -> dict:
        """Astromer: one embedding per chosen band; ATCAT: the chosen bands together, as one group of channels."""
        if kind != "atcat":
            return {"bands": list(bands) if bands else None}
        if not bands or len(bands) == len(cat.bands):
            return {}
        from explorer.engine.models import default_band_groups

        # observations in the other bands stay in the catalog (for plots) but are not fed to the model
        return {"band_groups": default_band_groups(bands), "allow_extra_bands": True}

    def use_embedding(self, matrix: np.ndarray, coords: np.ndarray | None = None) -> None:
        """Show a precomputed embedding matrix [n_objects, dim] (and optionally its 2-D map) for this catalog.

        For embeddings made elsewhere, and for benchmarks of the interaction path at 1M points.
        ``coords`` defaults to the PCA preview.
        """
        from explorer.projection import pca_preview

        cat = self._require_catalog()
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != len(cat):
            raise ExplorerError(f"embedding matrix must have shape ({len(cat)}, dim), got {matrix.shape}")
        if coords is None:
            coords = np.full((len(cat), 2), np.nan)
            ok = np.isfinite(matrix).all(axis=1)
            coords[ok] = pca_preview(matrix[ok])
        coords = np.asarray(coords, dtype=np.float64)
        if coords.shape != (len(cat), 2):
            raise ExplorerError(f"map coordinates must have shape ({len(cat)}, 2), got {coords.shape}")
        with self._lock:
            self.result, self.matrix = None, matrix
            self.matrix_key = ("given", hashlib.sha1(matrix.tobytes()).hexdigest())
            self._neighbours = NeighbourIndex(matrix)
            self.map = MapResult(coords=coords, stage="given", index=PointIndex(coords), params={"method": "given"})
        self.map_version += 1

    # ------------------------------------------------------------------ projection
    def _map_key(self, embedding_key: tuple | None = None) -> tuple:
        return (embedding_key or self.embedding_key) + (int(self.n_neighbors), float(self.min_dist))

    def project(self, method: str = "umap") -> MapResult:
        """Project the current embedding to 2-D with UMAP (cached) or the instant PCA preview."""
        with self._lock:
            matrix, matrix_key = self.matrix, self.matrix_key
        if matrix is None:
            raise ExplorerError("nothing to project: embed the catalog first")
        # keyed by the embedding actually projected, not by what the widgets show now
        n_neighbors, min_dist = int(self.n_neighbors), float(self.min_dist)
        key = matrix_key + (n_neighbors, min_dist, method)
        cached, self.last_map_cached = self._map_cache.get_or_compute(
            key, lambda: self._compute_map(matrix, method, n_neighbors, min_dist))
        with self._lock:
            self.map = cached
        self.map_version += 1
        return cached

    def _compute_map(self, matrix: np.ndarray, method: str, n_neighbors: int, min_dist: float) -> MapResult:
        from explorer.projection import Projection, pca_preview

        valid = np.isfinite(matrix).all(axis=1)
        coords = np.full((len(matrix), 2), np.nan)
        n_valid = int(valid.sum())
        params = {"method": method}
        if n_valid >= 3:
            X = matrix[valid]
            if method == "pca":
                coords[valid] = pca_preview(X)
            else:
                nn = int(min(n_neighbors, n_valid - 1))
                proj = Projection(n_neighbors=nn, min_dist=min_dist, random_state=42)
                coords[valid] = proj.fit_transform(X)
                params.update(n_neighbors=nn, min_dist=min_dist, metric=proj.metric,
                              random_state=proj.random_state, pca=proj.pca, pca_components=proj.pca_components)
        elif n_valid:  # too few points for a projection: a line keeps them tappable
            coords[valid] = np.column_stack([np.arange(n_valid, dtype=float), np.zeros(n_valid)])
        return MapResult(coords=coords, stage=method, index=PointIndex(coords), params=params)

    def cached_combination(self) -> bool:
        """True when the current combination's embedding and UMAP map are both in memory."""
        try:
            return self.embedding_key in self._embed_cache and (self._map_key() + ("umap",)) in self._map_cache
        except ExplorerError:
            return False

    def run(self, progress: Callable[[float, str], None] | None = None) -> MapResult:
        """Embed, show the PCA preview, then UMAP; ``progress(fraction, message)`` reports along the way."""
        def report(frac, msg):
            self.progress = int(round(100 * min(max(frac, 0.0), 1.0)))
            self.status = msg
            if progress is not None:
                progress(frac, msg)

        def embed_progress(done, total):
            report(0.8 * done / max(total, 1), f"Embedding with {self.model}: {done}/{total} windows")

        self.busy = True
        try:
            t0 = _time.perf_counter()
            report(0.0, f"Embedding {self.catalog.name} with {self.model} ({self.output}, {self.reduction})...")
            self.embed(progress=embed_progress)
            umap_key = self._map_key(self.matrix_key) + ("umap",)
            if umap_key not in self._map_cache:
                self.project("pca")
                report(0.85, "PCA preview shown; computing UMAP...")
            self.project("umap")
            how = "from cache" if self.last_embed_cached else "computed"
            report(1.0, f"Map ready ({how}, {_time.perf_counter() - t0:.1f} s): {len(self.map.index)} objects "
                        f"embedded with {self.model} / {self.output} / {self.reduction}.")
            return self.map
        finally:
            self.busy = False

    # ------------------------------------------------------------------ selection
    def select_at(self, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Tap at map position (x, y): the nearest object becomes ``selected_id``; returns its row."""
        if self.map is None:
            return None
        row = self.map.index.nearest(x, y, max_distance)
        if row is not None:
            self.selected_id = str(self.catalog.object_ids[row])
        return row

    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Box select: objects inside the box become the selection (object_ids returned)."""
        if self.map is None:
            return []
        return self._set_selection_rows(self.map.index.in_box(x0, y0, x1, y1))

    def select_lasso(self, xs, ys) -> list[str]:
        """Lasso select: objects inside the polygon become the selection (object_ids returned)."""
        if self.map is None:
            return []
        return self._set_selection_rows(self.map.index.in_polygon(xs, ys))

    def select_ids(self, object_ids) -> list[str]:
        """Make ``object_ids`` the selection (unknown ids raise KeyError naming them)."""
        rows = [self.row_of(str(i)) for i in object_ids]
        return self._set_selection_rows(np.asarray(rows, dtype=np.int64))

    def _set_selection_rows(self, rows: np.ndarray) -> list[str]:
        ids = [str(i) for i in self._require_catalog().object_ids[np.asarray(rows, dtype=np.int64)]]
        self.selection_ids = ids
        return ids

    def clear_selection(self) -> None:
        """Empty the selection (labels are untouched)."""
        self.selection_ids = []

    @property
    def selection(self) -> pd.DataFrame:
        """The selected objects' rows of ``catalog.objects`` (selection order) plus their ``user_label``."""
        cat = self._require_catalog()
        rows = [cat.index_of(i) for i in self.selection_ids]
        frame = cat.objects.iloc[rows].reset_index(drop=True)
        labels = self.labels
        frame[USER_LABEL] = labels.reindex(frame["object_id"].astype(str)).to_numpy() if len(labels) else pd.NA
        if self.map is not None and len(rows):
            frame["x"], frame["y"] = self.map.coords[rows, 0], self.map.coords[rows, 1]
        return frame

    # ------------------------------------------------------------------ neighbours
    def neighbours(self, key=None, k: int | None = None) -> pd.DataFrame:
        """k nearest objects (cosine, full embedding space) to ``key`` (default: the tapped object)."""
        key = self.selected_id if key is None else key
        cols = ["object_id", "row", "distance"]
        if key in (None, "") or self._neighbours is None:
            return pd.DataFrame(columns=cols)
        row = self.row_of(key)
        rows, dist = self._neighbours.query(row, int(k or self.k_neighbours))
        return pd.DataFrame({"object_id": self.catalog.object_ids[rows].astype(str), "row": rows, "distance": dist})

    # ------------------------------------------------------------------ light curves
    def light_curve_frame(self, key=None) -> pd.DataFrame:
        """The object's observations (time, value, error, band) plus ``used`` (fed to the model) and ``phase``."""
        key = self.selected_id if key is None else key
        row = self.row_of(key)
        cat = self.catalog
        lc = cat.light_curve(row).reset_index(drop=True)
        used = np.zeros(len(lc), dtype=bool)
        result = self.result
        if result is not None:
            try:
                obs = np.asarray(result.observations_used(row), dtype=np.int64) - int(cat.offsets[row])
                used[obs[(obs >= 0) & (obs < len(lc))]] = True
            except (IndexError, KeyError, ValueError) as exc:  # object not embedded
                log.debug("no observations used for row %s: %s", row, exc)
        lc["used"] = used
        period = self.period_of(row)
        lc["phase"] = _fold(lc["time"].to_numpy(), period) if period else np.nan
        return lc

    def catalog_period(self, key) -> float | None:
        """The period given by the catalog's period column for this object, if any."""
        cat = self._require_catalog()
        row = self.row_of(key)
        for col in PERIOD_COLUMNS:
            if col in cat.objects.columns:
                value = pd.to_numeric(pd.Series([cat.objects[col].iloc[row]]), errors="coerce").iloc[0]
                if np.isfinite(value) and value > 0:
                    return float(value)
        return None

    def period_of(self, key) -> float | None:
        """Period used for folding: the user's value for the tapped object, else catalog, else a computed one."""
        row = self.row_of(key)
        oid = str(self.catalog.object_ids[row])
        if oid in self._user_periods:
            return self._user_periods[oid]
        return self.catalog_period(row) or self._period_cache.get(oid)

    @param.depends("period", watch=True)
    def _remember_user_period(self):
        # a typed period belongs to the object it was typed for, never to the next one tapped
        if self.selected_id:
            if self.period:
                self._user_periods[self.selected_id] = float(self.period)
            else:
                self._user_periods.pop(self.selected_id, None)

    @param.depends("selected_id", watch=True)
    def _recall_user_period(self):
        self.period = self._user_periods.get(self.selected_id)

    def lomb_scargle_period(self, key=None, *, min_period: float = 0.05, max_period: float | None = None) -> float:
        """Best Lomb-Scargle period of the object's best-sampled band (computed on demand, memoised)."""
        from astropy.timeseries import LombScargle

        key = self.selected_id if key is None else key
        row = self.row_of(key)
        oid = str(self.catalog.object_ids[row])
        if oid in self._period_cache:
            return self._period_cache[oid]
        lc = self.catalog.light_curve(row)
        if len(lc) < 5:
            raise CatalogError(f"object {oid!r} has {len(lc)} observations; too few for a period search")
        band = lc["band"].value_counts().idxmax()
        part = lc[lc["band"] == band]
        t, y = part["time"].to_numpy(), part["value"].to_numpy()
        dy = part["error"].to_numpy()
        dy = dy if np.isfinite(dy).all() and (dy > 0).all() else None
        span = float(np.ptp(t))
        if span <= 0:
            raise CatalogError(f"object {oid!r} has all observations at one time; no period can be found")
        max_period = max_period or span / 2
        ls = LombScargle(t, y, dy)
        freq, power = ls.autopower(minimum_frequency=1.0 / max_period, maximum_frequency=1.0 / min_period,
                                   samples_per_peak=5, method="fast")
        best = float(1.0 / freq[int(np.nanargmax(power))])
        self._period_cache[oid] = best
        return best

    # ------------------------------------------------------------------ labels
    @property
    def label_store(self):
        """The catalog's LabelStore (created on first use; autosaves beside the catalog)."""
        if self._label_store is None:
            from .labels import LabelStore

            self._label_store = LabelStore(self._require_catalog(), path=self._labels_path)
        return self._label_store

    @property
    def labels(self) -> pd.Series:
        """Label of every object (index object_id, <NA> when unlabelled)."""
        return self.label_store.labels

    @property
    def label_set(self) -> list[str]:
        """The label vocabulary the user picks from (extendable with ``add_label``)."""
        return self.label_store.label_set

    def add_label(self, name: str) -> None:
        """Add a label to the vocabulary (saved)."""
        self.label_store.add_label(name)
        self.labels_version += 1

    def assign_label(self, label: str, target: str = "tapped") -> list[str]:
        """Give ``label`` to the tapped object (``target="tapped"``) or the whole selection; returns the ids."""
        if target == "tapped":
            ids = [self.selected_id] if self.selected_id else []
        elif target == "selection":
            ids = list(self.selection_ids)
        else:
            raise ValueError(f"target must be 'tapped' or 'selection', got {target!r}")
        if not ids:
            raise ExplorerError(f"nothing to label: no {'tapped object' if target == 'tapped' else 'selection'}")
        self.label_store.assign(ids, label)
        self.labels_version += 1
        self.status = f"Label {label!r} given to {len(ids)} object(s)."
        return ids

    def _label_array(self) -> np.ndarray:
        """User labels aligned with catalog rows, NO_LABEL where unlabelled (object array)."""
        labels = self.labels
        ids = self.catalog.object_ids.astype(str)
        if len(labels) != len(ids) or not np.array_equal(labels.index.to_numpy(dtype=str), ids):
            labels = labels.reindex(ids)
        arr = labels.to_numpy(dtype=object, na_value=None)
        return np.where(pd.isna(arr), NO_LABEL, arr)

    # ------------------------------------------------------------------ colours and the map table
    @property
    def color_options(self) -> list[str]:
        """Colour-by choices: the user labels, then every column of the objects table but object_id."""
        if self.catalog is None:
            return [USER_LABEL]
        return [USER_LABEL] + [c for c in self.catalog.objects.columns if c != "object_id"]

    def _default_color(self) -> str:
        cols = self.catalog.objects.columns if self.catalog is not None else []
        for cand in ("label", "class", "type", "label_coarse"):
            if cand in cols:
                return cand
        return USER_LABEL

    def color_values(self, column: str | None = None) -> tuple[np.ndarray, str]:
        """Values of a colour option for every catalog row and their kind: "categorical" or "numeric"."""
        column = column or self.color_by
        cat = self._require_catalog()
        if column == USER_LABEL:
            return self._label_array(), "categorical"
        if column not in cat.objects.columns:
            raise CatalogError(f"cannot colour by {column!r}: not a column of the objects table of {cat.name!r} "
                               f"(columns: {', '.join(map(str, cat.objects.columns))})")
        series = cat.objects[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            return series.astype("string").fillna(NO_LABEL).astype(str).to_numpy(), "categorical"
        return series.to_numpy(dtype=np.float64, na_value=np.nan), "numeric"

    def points_frame(self, column: str | None = None) -> pd.DataFrame:
        """Map table of embedded objects: x, y, row, object_id, user_label and the colour column as ``color``."""
        if self.map is None:
            return pd.DataFrame(columns=["x", "y", "row", "object_id", USER_LABEL, "color"])
        rows = self.map.index.valid_rows
        cat = self.catalog
        values, _ = self.color_values(column)
        labels = self._label_array()[rows]
        return pd.DataFrame({
            "x": self.map.coords[rows, 0], "y": self.map.coords[rows, 1], "row": rows,
            "object_id": cat.object_ids[rows].astype(str), USER_LABEL: labels, "color": values[rows],
        })

    # ------------------------------------------------------------------ export support
    def provenance(self) -> dict:
        """Provenance record of the current view (model, reduction, bands, UMAP parameters, catalog hash)."""
        from .export import build_provenance

        meta = dict(getattr(self.result, "meta", {}) or {})
        umap = None
        if self.map is not None and self.map.stage == "umap":
            umap = {k: v for k, v in self.map.params.items() if k != "method"}
        return build_provenance(self.catalog, embedding_meta=meta, projection=umap, model=self.model or None,
                                output=self.output, reduction=self.reduction, bands=self._bands_arg(),
                                seed=meta.get("seed", 0))

    @property
    def url_params(self) -> dict[str, str]:
        """Parameters synced with the page URL: {param name: query key}."""
        return {"model": "model", "output": "output", "reduction": "reduction", "color_by": "color",
                "selected_id": "object"}
