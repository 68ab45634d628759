"""The dashboard state: a browser-free ``param.Parameterized`` that owns every behaviour of the app.

``ExplorerState`` holds one catalog, the chosen model / output / reduction / bands / UMAP parameters,
the current embedding and its 2-D map, the tapped object, the selection and the labels.  Every
interaction the dashboard offers is a plain method here (``open_catalog``, ``embed``, ``project``,
``run``, ``select_at``, ``select_box``, ``select_lasso``, ``neighbours``, ``light_curve_frame``,
``add_label``, ``assign_label``, ``export``, ``url_query`` / ``apply_url_query``), so tests,
notebooks and benchmarks drive it directly and the Panel panes only show it.

Contract with the view (see docs/ARCHITECTURE.md):

* *inputs* are plain parameters the view edits through widgets made with ``from_param``
  (``catalog_choice``, ``model``, ``output``, ``reduction``, ``bands``, ``n_neighbors``, ``min_dist``,
  ``color_by``, ``selected_id``, ``selection_ids``, ``fold``, ``period``, ``label_choice``,
  ``new_label``); the state keeps their ``objects`` in step (model kind -> outputs, catalog -> bands and
  colour columns, labels file -> label set);
* *outputs* are constant parameters only the state sets (``catalog``, ``embedding``, ``map``,
  ``status``, ``alert``, ``model_infos``, ``labels_version``); each is replaced as a whole, so a pane
  that reads one gets a consistent snapshot even while a job replaces it;
* long work (``run``, opening catalogs, restoring a URL) goes through ``jobs``, one ``JobRunner``.

Caches are keyed by content: embeddings by (catalog content hash, model file sha256, output,
reduction, bands, seed) in a small process-wide LRU in front of the engine's disk cache; maps by that
key plus the projection parameters in front of the projection's own memory/disk cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time as _time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import param

from explorer import offload
from explorer.catalog import Catalog
from explorer.catalog.loaders import is_sidecar
from explorer.engine.families import default_output, outputs_for
from explorer.errors import CatalogError, ExplorerError, ModelError
from explorer.quality import MapQuality

from .explore import ExploreMixin
from .jobs import JobRunner
from .spatial import NeighbourIndex, PointIndex

log = logging.getLogger(__name__)

USER_LABEL = "user_label"  # colour option / column holding the labels given in the dashboard
NO_LABEL = "(none)"
INTERNAL_COLUMNS = ("object_id", "empty")  # never offered as colours nor exported as metadata
REDUCTIONS = ("non-overlapping-windows", "beginning", "middle", "end", "random-subsample", "beginning,middle,end")
ALL_OUTPUTS = outputs_for(None)  # every output giving one vector per object, of every model family
PERIOD_COLUMNS = ("period", "Period", "PERIOD", "period_days", "P", "per")
SEED = 0
SUGGESTION = "suggestion"  # colour option holding the label suggestions, once computed
# what the vectors of the map are: the model's embedding, the light_curve features, or both balanced
REPRESENTATIONS = {"embedding": "model embedding", "features": "light_curve features",
                   "hybrid": "hybrid: embedding + features"}
METRICS = ("euclidean", "cosine")
MAX_LABEL_CLASSES = 60  # a column with more distinct values is not offered as a label column to rate by
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


@dataclass(frozen=True)
class EmbeddingSpec:
    """Everything an embedding depends on besides the catalog, taken from the state in one go."""

    model: str
    output: str
    reduction: str
    bands: tuple | None  # None: all bands (single-band catalogs)
    representation: str = "embedding"  # "embedding", "features" or "hybrid"
    concat: bool = True  # single-band models on several bands: per-band vectors side by side

    @property
    def needs_model(self) -> bool:
        """False for the features alone (no model is run)."""
        return self.representation != "features"

    @property
    def name(self) -> str:
        """The representation spec: ``features``, the model name, or ``hybrid:<model>``."""
        if self.representation == "features":
            return "features"
        return f"hybrid:{self.model}" if self.representation == "hybrid" else self.model

    def describe(self) -> str:
        """``model / output / reduction`` (or ``light_curve features``) for messages."""
        if self.representation == "features":
            return "light_curve features"
        text = f"{self.model} / {self.output} / {self.reduction}"
        return f"{text} + features" if self.representation == "hybrid" else text


@dataclass
class Embedding:
    """One embedding of one catalog: the matrix rows aligned with catalog rows, and where it came from."""

    catalog: Catalog
    spec: EmbeddingSpec | None  # None for matrices given with ``use_embedding``
    key: tuple
    matrix: np.ndarray  # float32 [n_objects, dim], NaN rows for objects not embedded
    result: object | None = None  # EmbeddingResult (observations fed to the model), None when given
    neighbours: NeighbourIndex | None = None
    cached: bool = False
    weights: np.ndarray | None = None  # column weights after standardisation (hybrid blocks), None = all 1
    representation: object | None = None  # the RepresentationResult (blocks, objects lacking a block)

    @property
    def meta(self) -> dict:
        """The engine's metadata (model, sha256, seed, versions), {} for given matrices."""
        return dict(getattr(self.result, "meta", {}) or {})


@dataclass
class MapResult:
    """A 2-D map of one embedding: coordinates aligned with catalog rows and their tap index."""

    coords: np.ndarray  # [n_objects, 2], NaN for objects without an embedding
    stage: str  # "pca" (placeholder), "umap" or "given"
    index: PointIndex
    params: dict
    catalog: Catalog | None = None
    spec: EmbeddingSpec | None = None
    cached: bool = field(default=False, compare=False)


def open_catalog(source, **kwargs):
    """A Catalog from a Catalog, a DataFrame or a path inside the allowed folders (memoised per path+mtime)."""
    from explorer.catalog import load_catalog

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
        from explorer.catalog import CatalogLimits

        from .sources import allowed_roots

        # the served app's limits, and every file actually opened (links followed) inside the allowed folders
        cat = load_catalog(path, limits=CatalogLimits.served(), allowed_roots=allowed_roots(), **kwargs)
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


def model_label(info) -> str:
    """How a model is named in the chooser: name, source, and why it cannot be used when it cannot."""
    label = f"{info.name} [{info.source}]"
    return label if info.available else f"{label} - unavailable"


def umap_coords(matrix, weights, n_neighbors: int, min_dist: float, metric: str, guide: tuple | None):
    """UMAP coordinates of an embedding matrix, the fitted settings and whether the disk cache had them.

    Module-level and given plain arrays, so that the served app can run it in a worker process.
    """
    from explorer.projection import Projection

    proj = Projection(n_neighbors=n_neighbors, min_dist=min_dist, metric=metric, random_state=42,
                      column_weights=weights, target_weight=guide[0] if guide else 0.5)
    coords = proj.fit_transform(matrix, None if guide is None else guide[1]).astype(np.float64)
    fitted = dict(n_neighbors=n_neighbors, min_dist=min_dist, metric=proj.metric, standardize=True,
                  random_state=proj.random_state, pca=proj.pca, pca_components=proj.pca_components,
                  label_guided=proj.supervised_,
                  target_weight=float(proj.target_weight) if proj.supervised_ else None,
                  objects_lacking_a_block=int(proj.imputed_.sum()))
    return coords, fitted, proj.cache_hit_ is not None


def _fold(time: np.ndarray, period: float) -> np.ndarray:
    return np.mod(time - np.nanmin(time), period) / period


class ExplorerState(ExploreMixin):
    """Everything the dashboard shows and does, computable without a browser."""

    # ---- inputs: the view edits these through widgets made with from_param
    catalog_choice = param.Selector(default=None, objects=[], allow_None=True, label="Catalog",
                                    doc="Name of the catalog to show (one of the allowed catalogs, or the open one).")
    model = param.Selector(default=None, objects=[], allow_None=True, label="Model",
                           doc="Model name as the engine lists it; unavailable ones are marked and refused.")
    output = param.Selector(default="mean", objects=list(ALL_OUTPUTS), label="Output",
                            doc="Which model output to embed with.")
    reduction = param.Selector(default="non-overlapping-windows", objects=list(REDUCTIONS), label="Reduction",
                               doc="How long light curves are cut to the model's sequence length.")
    bands = param.ListSelector(default=[], objects=[], label="Bands", doc="Bands fed to the model.")
    representation = param.Selector(default="embedding", objects=list(REPRESENTATIONS), label="Representation",
                                    doc="What the map is made of: the model's embedding, the light_curve "
                                        "features, or both (each part balanced).")
    concat_bands = param.Boolean(default=True, label="Bands side by side (R‖B)",
                                 doc="Single-band models on several bands: embed each band alone and concatenate "
                                     "(much better maps); off feeds the bands as one light curve.")
    metric = param.Selector(default="euclidean", objects=list(METRICS), label="Distance",
                            doc="Distance of the map and of the neighbours (on standardised vectors).")
    quality_column = param.Selector(default=None, objects=[], allow_None=True, label="Rate the map by",
                                    doc="Label column the map quality figures are computed for.")
    guided = param.Boolean(default=False, label="Label-guided map (your labels)",
                           doc="Let your labels pull the map (supervised UMAP); unlabelled objects are free.")
    target_weight = param.Number(default=0.5, bounds=(0.0, 1.0), label="Label weight",
                                 doc="How strongly labels pull a label-guided map.")
    min_confidence = param.Number(default=0.8, bounds=(0.0, 1.0), label="Min. confidence",
                                  doc="Suggestions shown and accepted at or above this confidence.")
    finetune_name = param.String(default="", label="Name of the fine-tuned model",
                                 doc="Store name the fine-tuned model is installed under.")
    finetune_epochs = param.Integer(default=2, bounds=(1, 50), label="Epochs", doc="Training epochs (early stopping).")
    finetune_lr = param.Number(default=1e-4, bounds=(1e-6, 1e-2), label="Learning rate", doc="Adam learning rate.")
    n_neighbors = param.Integer(default=15, bounds=(2, 100), label="UMAP n_neighbors", doc="UMAP n_neighbors.")
    min_dist = param.Number(default=0.1, bounds=(0.0, 0.99), step=0.01, label="UMAP min_dist", doc="UMAP min_dist.")
    color_by = param.Selector(default=USER_LABEL, objects=[USER_LABEL], label="Colour by",
                              doc="Column colouring the map (user_label = the labels given here).")
    selected_id = param.String(default="", doc="object_id of the tapped object ('' for none).")
    selection_ids = param.List(default=[], doc="object_ids selected with box / lasso / table.")
    k_neighbours = param.Integer(default=8, bounds=(1, 100), doc="How many nearest neighbours to show.")
    fold = param.Boolean(default=False, label="phase-fold", doc="Show the tapped light curve phase-folded.")
    period = param.Number(default=None, allow_None=True, bounds=(0, None), label="Period (d)",
                          doc="Period (days) used to fold the tapped light curve.")
    label_choice = param.Selector(default=None, objects=[], allow_None=True, label="Label",
                                  doc="The label the label buttons give.")
    new_label = param.String(default="", label="New label", doc="A label to add to the label set.")

    # ---- outputs: only the state sets these
    catalog = param.ClassSelector(class_=Catalog, default=None, allow_None=True, constant=True,
                                  doc="The open catalog.")
    catalog_label = param.String(default="", constant=True, doc="Name of the open catalog in catalog_choice.")
    embedding = param.ClassSelector(class_=Embedding, default=None, allow_None=True, constant=True,
                                    doc="The embedding of the open catalog shown now.")
    map = param.ClassSelector(class_=MapResult, default=None, allow_None=True, constant=True,
                              doc="The 2-D map shown now.")
    model_infos = param.List(default=[], constant=True, doc="ModelInfo of every model the engine lists.")
    status = param.String(default="", constant=True, doc="Last message for the user (plain text).")
    alert = param.Tuple(default=(0, ""), length=2, constant=True,
                        doc="(count, text) of the last failure; a new tuple per failure, for notifications.")
    labels_version = param.Integer(default=0, constant=True, doc="Bumped whenever labels change.")
    quality = param.ClassSelector(class_=MapQuality, default=None, allow_None=True, constant=True,
                                  doc="Quality figures of the map shown, for quality_column.")
    suggestions = param.DataFrame(default=None, allow_None=True, constant=True,
                                  doc="Label suggestions (row, object_id, suggestion, confidence, support).")
    finetune_history = param.Parameter(default=None, constant=True,
                                       doc="FitHistory of the last fine-tuning (losses per epoch), None before.")
    jobs = param.ClassSelector(class_=JobRunner, constant=True, doc="The runner of background work.")

    def __init__(self, catalog=None, *, model: str | None = None, embed_cache: ResultCache | None = None,
                 map_cache: ResultCache | None = None, labels_path=None, labels_user: str | None = None, **params):
        super().__init__(jobs=JobRunner(on_error=self.fail, on_cancel=self.say), **params)
        self._embed_cache = EMBEDDINGS if embed_cache is None else embed_cache
        self._map_cache = MAPS if map_cache is None else map_cache
        self._labels_path = labels_path
        self.labels_user = labels_user  # signed-in user of a served session ($LCEXPLORER_LABELS=per-user)
        self._lock = threading.RLock()
        self._sources: dict[str, object] = {}  # catalog_choice name -> path / Catalog / DataFrame
        self._label_store = None
        self._period_cache: dict[str, float] = {}  # Lomb-Scargle periods, per object id
        self._user_periods: dict[str, float] = {}  # periods typed by the user, per object id
        self._neighbours_memo = None  # (embedding, row, k, frame) of the last neighbour query
        self._opening = False
        self._scores: dict = {}  # catalog hash -> {(representation, column): 2-D kNN}, to name the best
        self.inference_runs = 0  # embed_catalog calls made by this state
        self.last_embed_cached = False
        self.last_map_cached = False
        self.param.watch(self._refilter_on_labels, "labels_version")
        self.refresh_catalog_list()
        if catalog is not None:
            self.open_catalog(catalog)
        if model is not None:
            self._set_model_objects(extra=str(model))
            self.model = str(model)

    # ------------------------------------------------------------------ small helpers
    def _out(self, **values) -> None:
        """Set output (constant) parameters in one batch."""
        with param.edit_constant(self):
            self.param.update(**values)

    def say(self, message: str) -> None:
        """Set the status line (plain text; the view never renders it as HTML)."""
        self._out(status=str(message))

    def fail(self, what: str, exc: BaseException | str) -> str:
        """Report a failure: status and a new ``alert`` naming what failed; returns the message."""
        detail = exc if isinstance(exc, str) else (str(exc) if isinstance(exc, ExplorerError)
                                                    else f"{type(exc).__name__}: {exc}")
        message = f"Error: {what} failed: {detail}"
        self._out(status=message, alert=(self.alert[0] + 1, message))
        return message

    def _report(self, fraction: float, message: str) -> None:
        self.jobs.report(fraction, message)
        self.say(message)

    @property
    def busy(self) -> bool:
        """True while a background job runs or waits."""
        return self.jobs.running

    # ------------------------------------------------------------------ catalogs
    def refresh_catalog_list(self) -> None:
        """List the catalogs of the allowed folders as ``catalog_choice`` options (the open one kept)."""
        from .sources import list_catalogs

        found = dict(list_catalogs())
        for name, src in self._sources.items():
            if not isinstance(src, str) or name == self.catalog_label:
                found.setdefault(name, src)
        self._sources = found
        names = list(found)
        if self.catalog_label and self.catalog_label not in names:
            names.append(self.catalog_label)
        self.param.catalog_choice.objects = names

    def _name_for(self, source, cat: Catalog) -> str:
        if isinstance(source, (str, os.PathLike)):
            try:
                from .sources import resolve_catalog_path

                resolved = resolve_catalog_path(source)
            except CatalogError:
                resolved = None
            for name, src in self._sources.items():
                if isinstance(src, str) and resolved is not None and Path(src).resolve() == resolved:
                    return name
            return str(source)
        return f"(in memory) {cat.name}"

    def open_catalog(self, source, *, label: str | None = None, what: str | None = None, **kwargs) -> Catalog:
        """Open a catalog (Catalog, DataFrame, allowed path or a ``catalog_choice`` name) and show it.

        The embedding and map of the previous catalog go; the selection and tapped object are kept
        by object_id when they exist in the new catalog.  ``what`` names the source in errors.
        """
        if isinstance(source, str) and source in self._sources:
            label, source = source, self._sources[source]
        try:
            cat = open_catalog(source, **kwargs)
        except CatalogError as exc:
            if what is None:
                raise
            raise CatalogError(f"{what}: {exc}") from exc
        name = label or self._name_for(source, cat)
        self._sources[name] = source if isinstance(source, (str, Catalog)) else cat
        ids = set(cat.object_ids.astype(str))
        with self._lock:
            self._label_store = None
            self._period_cache, self._user_periods = {}, {}
        bands = list(cat.bands)
        colours = self._color_options_of(cat)
        first = self.catalog is None
        self._opening = True
        try:
            with param.parameterized.batch_call_watchers(self):
                self._out(catalog=cat, catalog_label=name, embedding=None, map=None, quality=None, suggestions=None)
                if name not in self.param.catalog_choice.objects:
                    self.param.catalog_choice.objects = list(self.param.catalog_choice.objects) + [name]
                self.catalog_choice = name
                self.param.bands.objects = bands
                self.bands = [b for b in self.bands if b in bands] or bands
                self.param.color_by.objects = colours
                if self.color_by not in colours or first:  # the first catalog: its class column, if any
                    self.color_by = self._default_color(cat)
                rating = self._label_columns_of(cat)
                self.param.quality_column.objects = rating
                if self.quality_column not in rating:
                    default = self._default_color(cat)
                    self.quality_column = default if default in rating else USER_LABEL
                self.selection_ids = [i for i in self.selection_ids if i in ids]
                if self.selected_id not in ids:
                    self.selected_id = ""
                self._refresh_label_choices()
                self._reset_explore(cat)
                notice = self._label_store.notice if self._label_store is not None else None
                self.say(f"Catalog {cat.name}: {len(cat)} objects, {cat.n_observations} observations."
                         + (f" {notice}" if notice else ""))
        finally:
            self._opening = False
        return cat

    def open_upload(self, filename: str, data: bytes) -> Catalog:
        """Open an uploaded Parquet/CSV file through the same reader as a path or the CLI (ids as written),
        with the served limits checked before parsing; errors name the file."""
        from explorer.catalog import CatalogLimits, load_catalog_bytes

        if data is None or len(data) == 0:
            raise CatalogError(f"uploaded file {filename!r} is empty")
        cat = load_catalog_bytes(bytes(data), filename, limits=CatalogLimits.served(), name=Path(filename).stem)
        return self.open_catalog(cat, label=f"upload: {Path(filename).name}", what=f"uploaded file {filename!r}")

    @param.depends("catalog_choice", watch=True)
    def _on_catalog_choice(self):
        choice = self.catalog_choice
        if self._opening or not choice or choice == self.catalog_label:
            return  # the state itself moved the chooser, or nothing changed
        self.jobs.submit(f"Opening catalog {choice}", self._open_and_run, choice)

    def _open_and_run(self, source, **kwargs) -> None:
        self.say("Opening catalog...")
        self.open_catalog(source, **kwargs)
        if self.can_compute():
            self.run()

    def _require_catalog(self) -> Catalog:
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
    def _set_model_objects(self, extra: str | None = None) -> None:
        names = {model_label(info): info.name for info in self.model_infos}
        for name in (extra, self.model):
            if name and name not in names.values():
                names[f"{name} - unavailable (not listed)"] = name
        self.param.model.objects = names

    def refresh_models(self) -> list:
        """Re-list the models the engine can load; picks the default model when none is chosen."""
        self._out(model_infos=model_choices())
        self._set_model_objects()
        if not self.model:
            self.model = default_model(self.model_infos)
        self._fit_output_to_model()
        return self.model_infos

    def model_info(self, name: str | None = None):
        """The engine's ModelInfo of a model (default: the chosen one), None when it is not listed."""
        name = name or self.model
        for info in self.model_infos:
            if info.name == name:
                return info
        return None

    def model_kind(self, name: str | None = None) -> str | None:
        """Kind of a model ("astromer1", "astromer2", "atcat") from the listing, None when unknown."""
        info = self.model_info(name)
        return info.kind if info is not None else None

    def model_available(self, name: str | None = None) -> bool:
        """True when the model is listed and usable without network."""
        info = self.model_info(name)
        return bool(info is not None and info.available)

    def can_compute(self) -> bool:
        """True when the chosen representation can be computed now (features need no model)."""
        return self.representation == "features" or self.model_available()

    def check_model(self, name: str | None = None) -> str:
        """The model name when it can be used; ModelError saying why not otherwise."""
        name = name or self.model
        if not name:
            raise ModelError(HOW_TO_GET_A_MODEL)
        info = self.model_info(name)
        if info is None:
            known = ", ".join(i.name for i in self.model_infos if i.available) or "none"
            raise ModelError(f"model {name!r} is not one of the listed models (available: {known})")
        if not info.available:
            known = ", ".join(i.name for i in self.model_infos if i.available) or "none"
            raise ModelError(f"model {name!r} is unavailable: {info.detail}. Choose an available model "
                             f"(available: {known}).")
        return name

    def output_options(self) -> list[str]:
        """Outputs valid for the chosen model's kind."""
        return list(outputs_for(self.model_kind()))

    @param.depends("model", watch=True)
    def _fit_output_to_model(self):
        options = self.output_options()
        self.param.output.objects = options
        if self.output not in options:
            preferred = default_output(self.model_kind())
            self.output = preferred if preferred in options else options[0]

    @param.depends("model", watch=True)
    def _say_model_state(self):
        if self.model and self.model_infos and not self.model_available():
            try:
                self.check_model()
            except ModelError as exc:
                self.fail(f"choosing model {self.model!r}", exc)

    @param.depends("model", "output", "reduction", "bands", "n_neighbors", "min_dist", "representation",
                   "concat_bands", "metric", "guided", "target_weight", watch=True)
    def _combination_changed(self):
        if self._opening or self.catalog is None or not self.can_compute():
            return
        if self.cached_combination():
            # switching back to a combination already computed is instant: no Embed press needed
            self.start()
        elif self.map is not None:
            self.say(f"Press Embed to compute {self.embedding_spec().describe()} "
                     f"(the map shows {self.map.spec.describe() if self.map.spec else 'a given embedding'}).")

    # ------------------------------------------------------------------ embedding
    def _bands_arg(self, cat: Catalog | None = None):
        cat = cat or self._require_catalog()
        if len(cat.bands) <= 1:
            return None
        chosen = [b for b in cat.bands if b in self.bands]
        return tuple(chosen or cat.bands)

    def embedding_spec(self) -> EmbeddingSpec:
        """The chosen combination, read once (the widgets may change while a job runs)."""
        return EmbeddingSpec(model=self.model or "", output=self.output, reduction=self.reduction,
                             bands=self._bands_arg(), representation=self.representation,
                             concat=bool(self.concat_bands))

    def embedding_key(self, spec: EmbeddingSpec | None = None, cat: Catalog | None = None) -> tuple:
        """Content key of the vectors: (catalog hash, model file sha256, output, reduction, bands, seed,
        representation, concatenation); the model part is empty for the features alone."""
        from explorer.engine import load_model

        cat = cat or self._require_catalog()
        spec = spec or self.embedding_spec()
        if not spec.needs_model:  # the metric is part of the key: the neighbour index is built for it
            return (cat.content_hash(), "", "", "", spec.bands, SEED, spec.representation, True, self.metric)
        model = load_model(self.check_model(spec.model))
        return (cat.content_hash(), model.sha256, spec.output, spec.reduction, spec.bands, SEED,
                spec.representation, spec.concat, self.metric)

    def compute_vectors(self, cat: Catalog, spec: EmbeddingSpec, progress: Callable[[float, str], None] | None = None):
        """The vectors the map is made of, as a ``RepresentationResult`` (``.embedding``: the EmbeddingResult
        telling which observations were fed to the model, None for the features alone).

        The one place that turns a catalog into vectors: the embedding of the chosen model (bands side
        by side for single-band models), the light_curve features, or the balanced hybrid.
        """
        from explorer.representations import Embedding as EmbeddingRep
        from explorer.representations import Features, Hybrid

        bands = list(spec.bands) if spec.bands else None
        if not spec.needs_model:
            return Features(bands=bands).compute(cat, progress=progress)
        from explorer.engine import load_model

        model = load_model(self.check_model(spec.model))
        rep = EmbeddingRep(model, output=spec.output, reduction=spec.reduction, bands=bands, seed=SEED,
                           concat_bands=spec.concat)
        if spec.representation == "hybrid":
            rep = Hybrid(rep, Features(bands=bands))
        return rep.compute(cat, progress=progress)

    def embed(self, progress: Callable[[float, str], None] | None = None) -> object:
        """Compute the chosen representation (cached by content); returns the EmbeddingResult (None for
        the features alone). ``progress(fraction, message)``."""
        cat = self._require_catalog()
        spec = self.embedding_spec()
        key = self.embedding_key(spec, cat)

        def compute():
            from explorer.projection import prepare_matrix

            rep = self.compute_vectors(cat, spec, progress)
            matrix = np.asarray(rep.matrix, dtype=np.float32)
            if matrix.ndim != 2 or len(matrix) != len(cat):
                raise ExplorerError(f"embedding matrix has shape {matrix.shape}; expected ({len(cat)}, dim)")
            result = rep.embedding
            from_disk = bool(rep.meta.get("from_cache"))
            if not from_disk and spec.needs_model:
                self.inference_runs += 1
            weights = rep.column_weights()
            weights = None if np.all(weights == 1.0) else weights
            # neighbours live in the space the map is drawn from (standardised, block-weighted)
            prepared, _ = prepare_matrix(matrix, column_weights=weights)
            return Embedding(cat, spec, key, matrix, result, NeighbourIndex(prepared, metric=self.metric),
                             cached=from_disk, weights=weights, representation=rep)

        emb, in_memory = self._embed_cache.get_or_compute(key, compute)
        if emb.catalog is not cat:  # same content, another Catalog object (another session, a re-upload)
            emb = replace(emb, catalog=cat)
        self.last_embed_cached = bool(in_memory or emb.cached)
        if cat is self.catalog:  # the catalog may have been switched while this ran
            self._out(embedding=emb)
        return emb.result

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
        key = ("given", hashlib.sha256(matrix.tobytes()).hexdigest())
        from explorer.projection import prepare_matrix

        emb = Embedding(cat, None, key, matrix, None, NeighbourIndex(prepare_matrix(matrix)[0], metric=self.metric))
        m = MapResult(coords=coords, stage="given", index=PointIndex(coords), params={"method": "given"},
                      catalog=cat, spec=None)
        self._out(embedding=emb, map=m)

    def open_embeddings(self, out_dir) -> list[str]:
        """Show the embeddings (and map, when the job made one) that a scale-out job wrote to ``out_dir``
        for the open catalog, without recomputing; returns the ids of catalog objects the folder lacks
        (they get no position, and the status names them)."""
        from explorer.scale import read_embeddings

        cat = self._require_catalog()
        res = read_embeddings(out_dir)
        if len(np.unique(res.object_ids)) != len(res.object_ids):
            raise ExplorerError(f"{out_dir} holds several rows per object (one per band or strategy): open a job "
                                "run with concatenated bands")
        ids = cat.object_ids.astype(str)
        pos = pd.Index(res.object_ids).get_indexer(ids)
        have = pos >= 0
        if not have.any():
            raise ExplorerError(f"no object of catalog {cat.name!r} is in {out_dir}")
        matrix = np.full((len(cat), res.matrix.shape[1]), np.nan, np.float32)
        matrix[have] = res.matrix[pos[have]]
        coords = None
        if res.coords is not None:
            coords = np.full((len(cat), 2), np.nan)
            coords[have] = res.coords[pos[have]]
        self.use_embedding(matrix, coords)
        lacking = [str(i) for i in ids[~have]]
        text = f"Opened {int(have.sum())} embeddings from {out_dir}" + (" with their map" if coords is not None else "")
        if lacking:
            text += (f"; {len(lacking)} objects of {cat.name} are not in it (no position): "
                     + ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else ""))
        self.say(text + ".")
        return lacking

    # convenience views of the current embedding (tests, notebooks)
    @property
    def result(self):
        """The EmbeddingResult shown now (None before an embedding or for given matrices)."""
        return self.embedding.result if self.embedding is not None else None

    @property
    def matrix(self) -> np.ndarray | None:
        """The embedding matrix shown now."""
        return self.embedding.matrix if self.embedding is not None else None

    # ------------------------------------------------------------------ projection
    def _map_settings(self, method: str) -> tuple:
        """The map parameters read once: (n_neighbors, min_dist, metric, guide) with guide = (weight,
        label codes) for a label-guided UMAP, else None."""
        guide = None
        if self.guided and method == "umap" and self.catalog is not None:
            from explorer.projection import encode_labels

            labels = self._user_labels(self.catalog)
            codes = encode_labels(labels, len(labels))
            if (codes >= 0).any():
                guide = (float(self.target_weight), codes)
        return int(self.n_neighbors), float(self.min_dist), self.metric, guide

    @staticmethod
    def _settings_key(settings: tuple, method: str) -> tuple:
        n_neighbors, min_dist, metric, guide = settings
        labels = None
        if guide is not None:
            labels = (guide[0], hashlib.sha256(guide[1].tobytes()).hexdigest())
        return (n_neighbors, min_dist, method, metric, labels)

    def project(self, method: str = "umap") -> MapResult:
        """Project the current vectors to 2-D with UMAP (cached by content) or the instant PCA preview."""
        emb = self.embedding
        if emb is None:
            raise ExplorerError("nothing to project: embed the catalog first")
        settings = self._map_settings(method)
        # keyed by the embedding actually projected, not by what the widgets show now
        key = emb.key + self._settings_key(settings, method)
        m, in_memory = self._map_cache.get_or_compute(key, lambda: self._compute_map(emb, method, *settings))
        if m.catalog is not emb.catalog or m.spec != emb.spec:
            m = replace(m, catalog=emb.catalog, spec=emb.spec)
        self.last_map_cached = bool(in_memory or m.cached)
        if emb.catalog is self.catalog:
            self._out(map=m)
        return m

    def map_key(self, method: str = "umap") -> tuple:
        """Cache key of the map of the chosen combination."""
        return self.embedding_key() + self._settings_key(self._map_settings(method), method)

    def _compute_map(self, emb: Embedding, method: str, n_neighbors: int, min_dist: float,
                     metric: str = "euclidean", guide: tuple | None = None) -> MapResult:
        from explorer.projection import pca_preview, prepare_matrix

        prepared, valid = prepare_matrix(emb.matrix, column_weights=emb.weights)
        coords = np.full((len(prepared), 2), np.nan)
        n_valid = int(valid.sum())
        params = {"method": method}
        cached = False
        if n_valid >= 3:
            if method == "pca":
                coords[valid] = pca_preview(prepared[valid])
            else:
                # in a worker process when the app runs one: UMAP's numba code holds the GIL for seconds
                coords, fitted, cached = offload.call(
                    umap_coords, emb.matrix, emb.weights, int(min(n_neighbors, n_valid - 1)), min_dist, metric,
                    guide, check=self.jobs.check)
                params.update(fitted)
        elif n_valid:  # too few points for a projection: a line keeps them tappable
            coords[valid] = np.column_stack([np.arange(n_valid, dtype=float), np.zeros(n_valid)])
        return MapResult(coords=coords, stage=method, index=PointIndex(coords), params=params,
                         catalog=emb.catalog, spec=emb.spec, cached=cached)

    def cached_combination(self) -> bool:
        """True when the chosen combination's embedding and UMAP map are both in memory."""
        try:
            return self.embedding_key() in self._embed_cache and self.map_key() in self._map_cache
        except (ExplorerError, KeyError):
            return False

    def run(self) -> MapResult:
        """Compute the vectors, show the PCA preview, then UMAP and its quality; progress goes to ``jobs``
        and ``status``, which names every object left without a position."""
        cat = self._require_catalog()
        spec = self.embedding_spec()
        if spec.needs_model:
            self.check_model(spec.model)
        t0 = _time.perf_counter()

        def embed_progress(fraction, message):
            self._report(0.8 * fraction, f"{cat.name}: {message}")

        self._report(0.0, f"Computing {spec.describe()} for {cat.name}...")
        self.embed(progress=embed_progress)
        if self.map_key() not in self._map_cache:
            self._report(0.82, "Computing the PCA preview...")
            self.project("pca")
            self._report(0.85, "PCA preview shown; computing UMAP...")
        m = self.project("umap")
        self._report(0.95, "Rating the map...")
        self.update_quality()
        how = "from cache" if self.last_embed_cached else "computed"
        self._report(1.0, f"Map ready ({how}, {_time.perf_counter() - t0:.1f} s): {len(m.index)} of {len(cat)} "
                          f"objects mapped with {spec.describe()}.{self.missing_text()}")
        return m

    def missing_text(self) -> str:
        """What the map lacks, in words: objects without a position (named) and objects lacking a block."""
        emb = self.embedding
        rep = getattr(emb, "representation", None) if emb is not None else None
        if rep is None:
            return ""
        text = ""
        unmapped = rep.unmapped()
        if len(unmapped):
            names = ", ".join(f"{o} ({r})" for o, r in zip(unmapped["object_id"].head(5), unmapped["reason"].head(5)))
            text += f" {len(unmapped)} without a position: {names}{', ...' if len(unmapped) > 5 else ''}."
        partial = rep.partial()
        if len(partial):
            n = partial["object_id"].nunique()
            blocks = ", ".join(partial["block"].value_counts().head(3).index)
            text += f" {n} lack a block ({blocks}) and are placed on the blocks they have."
        return text

    def start(self) -> bool:
        """Compute the map of the chosen combination in the background (queued while a job runs)."""
        try:
            self._require_catalog()
            if self.representation != "features":
                self.check_model()
        except ExplorerError as exc:
            self.fail("computing the map", exc)
            return False
        return self.jobs.submit("Computing the map", self.run)

    # ------------------------------------------------------------------ map quality and label suggestions
    def _label_columns_of(self, cat: Catalog | None) -> list[str]:
        """Columns a map can be rated by: the user labels and the catalog's categorical columns."""
        if cat is None:
            return [USER_LABEL]
        cols = []
        for c in cat.objects.columns:
            if c in INTERNAL_COLUMNS or c == "n_obs":
                continue
            series = cat.objects[c]
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                continue
            if 2 <= series.nunique(dropna=True) <= MAX_LABEL_CLASSES:
                cols.append(str(c))
        return cols + [USER_LABEL]

    def quality_labels(self, column: str | None = None) -> np.ndarray:
        """Labels of a rating column for every catalog row (None where unlabelled)."""
        column = column or self.quality_column
        cat = self._require_catalog()
        if column == USER_LABEL:
            return self._user_labels(cat)
        if column not in cat.objects.columns:
            raise CatalogError(f"cannot rate the map by {column!r}: not a column of the objects table")
        return cat.objects[column].astype("string").to_numpy(dtype=object, na_value=None)

    def update_quality(self) -> MapQuality | None:
        """Recompute the quality figures of the map shown for ``quality_column`` (None when not possible)."""
        from explorer.quality import map_quality

        emb, m, column = self.embedding, self.map, self.quality_column
        q = None
        if column and emb is not None and m is not None and m.stage == "umap" and m.catalog is self.catalog:
            labels = self.quality_labels(column)
            q = map_quality(labels, emb.matrix, m.coords, column_weights=emb.weights, column=column)
            self._scores.setdefault(self.catalog.content_hash(), {})[(emb.spec.name if emb.spec else "given",
                                                                     column)] = q.knn_2d
        self._out(quality=q)
        return q

    @param.depends("quality_column", watch=True)
    def _rate_again(self):
        if self.map is not None and not self._opening:
            self.jobs.submit("Rating the map", self.update_quality)

    def quality_text(self) -> str:
        """The quality figures in words, with the best representation rated so far for this column."""
        q = self.quality
        if q is None:
            return ""
        text = q.summary()
        scores = {rep: v for (rep, col), v in self._scores.get(self.catalog.content_hash(), {}).items()
                  if col == q.column and v is not None}
        if len(scores) > 1:
            best = max(scores, key=scores.get)
            text += f"\nBest 2-D kNN so far for '{q.column}': {best} ({scores[best]:.3f})."
        return text

    def suggest(self, k: int = 10) -> pd.DataFrame:
        """Propose labels for unlabelled objects from their labelled neighbours in the full space."""
        from explorer.suggest import suggest_labels

        emb = self.embedding
        if emb is None or emb.catalog is not self.catalog:
            raise ExplorerError("no map yet: compute the map before asking for suggestions")
        labels = self._user_labels(emb.catalog)
        classes = {str(v) for v in labels if v is not None}
        if len(classes) < 2:
            # with one class every suggestion would be that class at full confidence: meaningless
            raise ExplorerError("suggestions need labelled objects of at least two classes: label a few objects "
                                f"of each class first (labelled so far: {', '.join(sorted(classes)) or 'none'})")
        table = suggest_labels(emb.matrix, labels, k=k, column_weights=emb.weights, metric=self.metric,
                               object_ids=emb.catalog.object_ids)
        self._out(suggestions=table)
        self._refresh_colour_options()
        self.say(f"{len(table)} label suggestions; {int((table['confidence'] >= self.min_confidence).sum())} at "
                 f"confidence >= {self.min_confidence:.2f}. Review them in the Suggestions tab.")
        return table

    def suggestion_gallery(self, n: int) -> pd.DataFrame:
        """The ``n`` most confident suggestions at or above ``min_confidence``."""
        table = self.suggestions
        if table is None:
            return pd.DataFrame(columns=["row", "object_id", "suggestion", "confidence", "support"])
        return table[table["confidence"] >= self.min_confidence].head(int(n))

    def accept_suggestions(self, object_ids) -> list[str]:
        """Save the suggested labels of these objects as labels with origin ``suggested``."""
        table = self.suggestions
        if table is None:
            raise ExplorerError("no suggestions to accept")
        chosen = table[table["object_id"].isin([str(o) for o in object_ids])]
        if chosen.empty:
            raise ExplorerError("none of these objects has a suggestion")
        for label, group in chosen.groupby("suggestion"):
            self.label_store.assign(list(group["object_id"]), str(label), origin="suggested")
        self._out(suggestions=table.drop(chosen.index).reset_index(drop=True),
                  labels_version=self.labels_version + 1)
        self._refresh_label_choices()
        self.say(f"Accepted {len(chosen)} suggested label(s) (saved with origin 'suggested').")
        return list(chosen["object_id"])

    # ------------------------------------------------------------------ fine-tuning
    def fine_tune(self, name: str | None = None, *, epochs: int | None = None, lr: float | None = None,
                  batch_size: int = 64, max_objects: int | None = None):
        """Fine-tune the chosen Astromer model on the open catalog (masked-magnitude reconstruction) and
        install it in the store as ``name``; the new model becomes the chosen one. Returns the FitHistory.

        Long work: run it through ``jobs`` (the dashboard does). Needs the ``train`` extra (PyTorch).
        """
        from explorer.astromer.training import finetune

        cat = self._require_catalog()
        base = self.check_model()
        name = (self.finetune_name if name is None else name).strip()
        if not name:
            raise ExplorerError("type a name for the fine-tuned model first")
        if self.model_kind(base) not in ("astromer1",):
            raise ModelError(f"fine-tuning needs an Astromer 1 model; {base!r} is {self.model_kind(base)}")
        epochs = int(self.finetune_epochs if epochs is None else epochs)
        lr = float(self.finetune_lr if lr is None else lr)
        bands = list(self._bands_arg(cat) or []) or None
        data = cat if max_objects is None or len(cat) <= max_objects else cat.take(np.arange(max_objects))

        def progress(epoch, batch, n_batches):
            done = (epoch - 1 + batch / max(n_batches or batch, 1)) / epochs
            self._report(min(done, 0.99), f"Fine-tuning {base} on {cat.name}: epoch {epoch}/{epochs}, "
                                          f"batch {batch}/{n_batches or '?'}")

        self._report(0.0, f"Fine-tuning {base} on {cat.name} ({len(data)} objects, {epochs} epochs)...")
        result = finetune(data, base, name, bands=bands, epochs=epochs, lr=lr, batch_size=batch_size,
                          progress=progress)
        self._out(finetune_history=result.history)
        self.refresh_models()
        h = result.history
        losses = ", ".join(f"{v:.4f}" for v in h.val_loss)
        self.say(f"Fine-tuned {base} -> {name}: validation loss {h.initial_val_loss:.4f} -> {losses} "
                 f"(best epoch {h.best_epoch}). {name} is in the model list; choose it and press Embed to compare.")
        return h

    def _refresh_colour_options(self) -> None:
        options = self._color_options_of(self.catalog)
        if self.suggestions is not None and self.catalog is not None:
            options = options + [SUGGESTION]
        self.param.color_by.objects = options

    def wait(self, timeout: float | None = None) -> bool:
        """Block until background work is done; False on timeout."""
        return self.jobs.wait(timeout)

    # ------------------------------------------------------------------ selection
    def select_at(self, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Tap at map position (x, y): the nearest object becomes ``selected_id``; returns its row."""
        m = self.map
        if m is None or m.catalog is not self.catalog:
            return None
        row = m.index.nearest(x, y, max_distance)
        if row is not None:
            self.selected_id = str(m.catalog.object_ids[row])
        return row

    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Box select: objects inside the box become the selection (object_ids returned)."""
        m = self.map
        if m is None or m.catalog is not self.catalog:
            return []
        return self._set_selection_rows(self._passing(m.index.in_box(x0, y0, x1, y1)))

    def select_lasso(self, xs, ys) -> list[str]:
        """Lasso select: objects inside the polygon become the selection (object_ids returned)."""
        m = self.map
        if m is None or m.catalog is not self.catalog:
            return []
        return self._set_selection_rows(self._passing(m.index.in_polygon(xs, ys)))

    def _passing(self, rows) -> np.ndarray:
        # greyed (filtered-out) points are seen but not picked by a box or lasso
        rows = np.asarray(rows, dtype=np.int64)
        return rows[self.passes(rows)] if self.filter_mask is not None else rows

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
        rows = cat.indices_of(self.selection_ids)
        frame = cat.objects.iloc[rows].drop(columns=[c for c in INTERNAL_COLUMNS[1:] if c in cat.objects.columns])
        frame = frame.reset_index(drop=True)
        labels = self.labels
        frame[USER_LABEL] = labels.reindex(frame["object_id"].astype(str)).to_numpy() if len(labels) else pd.NA
        m = self.map
        if m is not None and m.catalog is cat and len(rows):
            frame["x"], frame["y"] = m.coords[rows, 0], m.coords[rows, 1]
        return frame

    # ------------------------------------------------------------------ neighbours
    def neighbours(self, key=None, k: int | None = None) -> pd.DataFrame:
        """k nearest objects to ``key`` (default: the tapped object) in the full vector space, standardised
        and block-weighted as the map, with the map's distance (``metric``)."""
        key = self.selected_id if key is None else key
        cols = ["object_id", "row", "distance"]
        emb = self.embedding
        if key in (None, "") or emb is None or emb.neighbours is None or emb.catalog is not self.catalog:
            return pd.DataFrame(columns=cols)
        row = self.row_of(key)
        k = int(k or self.k_neighbours)
        last = self._neighbours_memo  # the cards and the lines on the map ask for the same neighbours
        if last is not None and last[0] is emb and last[1:3] == (row, k):
            return last[3].copy()
        rows, dist = emb.neighbours.query(row, k)
        frame = pd.DataFrame({"object_id": emb.catalog.object_ids[rows].astype(str), "row": rows, "distance": dist})
        self._neighbours_memo = (emb, row, k, frame)
        return frame.copy()

    # ------------------------------------------------------------------ light curves
    def light_curve_frame(self, key=None) -> pd.DataFrame:
        """The object's observations (time, value, error, band) plus ``used`` (fed to the model) and ``phase``."""
        key = self.selected_id if key is None else key
        row = self.row_of(key)
        cat = self.catalog
        lc = cat.light_curve(row).reset_index(drop=True)
        used = np.zeros(len(lc), dtype=bool)
        emb = self.embedding
        if emb is not None and emb.result is not None and emb.catalog is cat:
            try:
                obs = np.asarray(emb.result.observations_used(row), dtype=np.int64) - int(cat.offsets[row])
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
        """Period used for folding: the user's value for the object, else catalog, else a computed one."""
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
        """Best Lomb-Scargle period of the object's best-sampled band (memoised), on a bounded grid
        (tens of MB whatever the time span); the dashboard runs it in the session's job runner."""
        from explorer.representations.features import best_period

        key = self.selected_id if key is None else key
        if key in (None, ""):
            raise ExplorerError("no object is tapped: tap one before searching its period")
        row = self.row_of(key)
        oid = str(self.catalog.object_ids[row])
        if oid in self._period_cache:
            return self._period_cache[oid]
        lc = self.catalog.light_curve(row)
        if len(lc) < 5:
            raise CatalogError(f"object {oid!r} has {len(lc)} observations; too few for a period search")
        band = lc["band"].value_counts().idxmax()
        part = lc[lc["band"] == band]
        try:
            # in a worker process when the app runs one: FFT planning and the periodogram hold the GIL
            best = offload.call(best_period, part["time"].to_numpy(), part["value"].to_numpy(),
                                min_period=min_period, max_period=max_period, check=self.jobs.check)
        except CatalogError as exc:
            raise CatalogError(f"object {oid!r}, band {band}: {exc}") from None
        self._period_cache[oid] = best
        return best

    def search_period(self) -> float:
        """Lomb-Scargle period of the tapped object, set as its period and folded."""
        period = self.lomb_scargle_period()
        self.period = round(period, 6)
        self.fold = True
        self.say(f"Lomb-Scargle period of {self.selected_id}: {period:.6g} d")
        return period

    # ------------------------------------------------------------------ labels
    @property
    def label_store(self):
        """The catalog's LabelStore (created on first use; autosaves beside the catalog)."""
        if self._label_store is None:
            from .labels import LabelStore

            self._label_store = LabelStore(self._require_catalog(), path=self._labels_path, user=self.labels_user)
        return self._label_store

    @property
    def labels(self) -> pd.Series:
        """Label of every object (index object_id, <NA> when unlabelled)."""
        return self.label_store.labels

    @property
    def label_set(self) -> list[str]:
        """The label vocabulary the user picks from (extendable with ``add_label``)."""
        return self.label_store.label_set

    def _refresh_label_choices(self) -> None:
        try:
            names = list(self.label_set)
        except ExplorerError as exc:
            self.fail("reading the labels file", exc)
            names = []
        self.param.label_choice.objects = names
        if self.label_choice not in names:
            # never keep a label the chooser does not show: the buttons would apply an invisible value
            self.label_choice = names[0] if names else None

    def add_label(self, name: str | None = None) -> str:
        """Add a label (default: ``new_label``) to the vocabulary (saved) and choose it."""
        name = (self.new_label if name is None else name) or ""
        name = str(name).strip()
        if not name:
            raise ExplorerError("no label typed: type the new label first")
        self.label_store.add_label(name)
        self._refresh_label_choices()
        self.label_choice = name
        self.new_label = ""
        self._out(labels_version=self.labels_version + 1)
        return name

    def assign_label(self, label: str | None = None, target: str = "tapped") -> list[str]:
        """Give ``label`` (default: ``label_choice``) to the tapped object or the selection; returns the ids."""
        label = self.label_choice if label is None else label
        if label is None or not str(label).strip():
            raise ExplorerError("no label chosen: choose or add a label first")
        if target == "tapped":
            ids = [self.selected_id] if self.selected_id else []
        elif target == "selection":
            ids = list(self.selection_ids)
        else:
            raise ValueError(f"target must be 'tapped' or 'selection', got {target!r}")
        if not ids:
            raise ExplorerError(f"nothing to label: no {'tapped object' if target == 'tapped' else 'selection'}")
        self.label_store.assign(ids, str(label))
        self._refresh_label_choices()
        self._out(labels_version=self.labels_version + 1)
        self.say(f"Label {label!r} given to {len(ids)} object(s).")
        return ids

    def _user_labels(self, cat: Catalog) -> np.ndarray:
        """User labels aligned with catalog rows, None where unlabelled (object array)."""
        labels = self._label_array(cat)
        return np.where(labels == NO_LABEL, None, labels).astype(object)

    def _label_array(self, cat: Catalog | None = None) -> np.ndarray:
        """User labels aligned with catalog rows, NO_LABEL where unlabelled (object array)."""
        labels = self.labels
        ids = (cat or self.catalog).object_ids.astype(str)
        if len(labels) != len(ids) or not np.array_equal(labels.index.to_numpy(dtype=str), ids):
            labels = labels.reindex(ids)
        arr = labels.to_numpy(dtype=object, na_value=None)
        return np.where(pd.isna(arr), NO_LABEL, arr)

    # ------------------------------------------------------------------ colours and the map table
    @staticmethod
    def _color_options_of(cat: Catalog | None) -> list[str]:
        if cat is None:
            return [USER_LABEL]
        return [USER_LABEL] + [str(c) for c in cat.objects.columns if c not in INTERNAL_COLUMNS]

    @property
    def color_options(self) -> list[str]:
        """Colour-by choices: the user labels, then every metadata column of the objects table."""
        return self._color_options_of(self.catalog)

    @staticmethod
    def _default_color(cat: Catalog | None) -> str:
        cols = cat.objects.columns if cat is not None else []
        for cand in ("label", "class", "type", "label_coarse"):
            if cand in cols:
                return cand
        return USER_LABEL

    def color_values(self, column: str | None = None) -> tuple[np.ndarray, str]:
        """Values of a colour option for every catalog row and their kind: "categorical" or "numeric"."""
        column = column or self.color_by
        cat = self._require_catalog()
        if column == USER_LABEL:
            return self._label_array(cat), "categorical"
        if column == SUGGESTION and self.suggestions is not None:
            values = np.full(len(cat), NO_LABEL, dtype=object)
            values[self.suggestions["row"].to_numpy()] = self.suggestions["suggestion"].to_numpy()
            return values, "categorical"
        if column not in cat.objects.columns or column in INTERNAL_COLUMNS:
            raise CatalogError(f"cannot colour by {column!r}: not a metadata column of the objects table of "
                               f"{cat.name!r} (columns: {', '.join(self.color_options[1:])})")
        series = cat.objects[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            return series.astype("string").fillna(NO_LABEL).astype(str).to_numpy(), "categorical"
        return series.to_numpy(dtype=np.float64, na_value=np.nan), "numeric"

    def points_frame(self, column: str | None = None) -> pd.DataFrame:
        """Map table of embedded objects: x, y, row, object_id, user_label, the colour column as ``color``
        and ``passes`` (False: filtered out, drawn grey)."""
        m = self.map
        if m is None or m.catalog is not self.catalog:
            return pd.DataFrame(columns=["x", "y", "row", "object_id", USER_LABEL, "color", "passes"])
        rows = m.index.valid_rows
        cat = m.catalog
        values, _ = self.color_values(column)
        labels = self._label_array(cat)[rows]
        return pd.DataFrame({
            "x": m.coords[rows, 0], "y": m.coords[rows, 1], "row": rows,
            "object_id": cat.object_ids[rows].astype(str), USER_LABEL: labels, "color": values[rows],
            "passes": self.passes(rows),
        })

    # ------------------------------------------------------------------ export
    def provenance(self) -> dict:
        """Provenance record of the view shown (the embedding's own model/output/reduction, UMAP parameters)."""
        from .export import build_provenance

        emb, m = self.embedding, self.map
        meta = emb.meta if emb is not None else {}
        spec = emb.spec if emb is not None and emb.spec is not None else None
        umap = None
        if m is not None and m.stage == "umap":
            umap = {k: v for k, v in m.params.items() if k != "method"}
        return build_provenance(
            self.catalog, embedding_meta=meta, projection=umap,
            model=(spec.model if spec else self.model) or None,
            output=spec.output if spec else self.output, reduction=spec.reduction if spec else self.reduction,
            bands=list(spec.bands) if spec and spec.bands else self._bands_arg(), seed=meta.get("seed", SEED))

    def export(self, what: str, fmt: str = "csv") -> tuple[bytes, str]:
        """``(bytes, filename)`` of an export: ``labels``, ``selection``, ``embeddings`` or ``coordinates``."""
        from . import export as ex

        prov = self.provenance()
        if what == "labels":
            return ex.export_labels(self.labels, prov, fmt)
        if what == "selection":
            return ex.export_selection(self.selection, prov, fmt)
        emb, m = self.embedding, self.map
        if m is None or emb is None or m.catalog is not self.catalog or emb.catalog is not self.catalog:
            raise ExplorerError("nothing to export yet: the map is not computed")
        rows = m.index.valid_rows
        ids = self.catalog.object_ids[rows]
        if what == "embeddings":
            return ex.export_embeddings(ids, emb.matrix[rows], prov, fmt, xy=m.coords[rows])
        if what == "coordinates":
            return ex.export_coordinates(ids, m.coords[rows], prov, fmt, labels=self.labels)
        raise ExplorerError(f"unknown export {what!r} (labels, selection, embeddings, coordinates)")

    # ------------------------------------------------------------------ URL
    URL_KEYS = ("catalog", "model", "output", "reduction", "bands", "color", "n_neighbors", "min_dist", "object",
                "rep", "concat", "metric", "guided", "tw", "rate")

    def url_query(self) -> dict[str, str]:
        """The view as URL query values (all strings); uploads and in-memory catalogs have no ``catalog``."""
        query = {}
        src = self._sources.get(self.catalog_label)
        if self.catalog is not None and isinstance(src, str):
            query["catalog"] = self.catalog_label
        if self.model:
            query["model"] = self.model
        query.update(output=self.output, reduction=self.reduction, color=self.color_by,
                     n_neighbors=str(int(self.n_neighbors)), min_dist=f"{float(self.min_dist):g}")
        if self.catalog is not None and len(self.catalog.bands) > 1:
            query["bands"] = ",".join(self.bands)
            query["concat"] = "1" if self.concat_bands else "0"
        query.update(rep=self.representation, metric=self.metric)
        if self.guided:
            query.update(guided="1", tw=f"{float(self.target_weight):g}")
        if self.quality_column:
            query["rate"] = self.quality_column
        if self.selected_id:
            query["object"] = self.selected_id
        return query

    def apply_url_query(self, query: dict) -> list[str]:
        """Restore a view from URL query values (strings, never parsed as numbers); returns the problems.

        The catalog must be one of the listed catalogs or a path inside the allowed folders; the model
        one of the listed models (never a path).  Values that cannot be applied are named in the result
        and left as they were.
        """
        problems = []
        q = {k: str(v) for k, v in query.items() if k in self.URL_KEYS and v is not None}
        self._opening = True  # one restore, one computation: no auto-start per restored value
        try:
            self._apply_query(q, problems)
        finally:
            self._opening = False
        return problems

    def _apply_query(self, q: dict, problems: list) -> None:

        def attempt(what, fn):
            try:
                fn()
            except (ExplorerError, ValueError, KeyError, TypeError) as exc:
                problems.append(f"{what}: {exc}")

        if "catalog" in q and q["catalog"] != self.catalog_label:
            attempt(f"catalog {q['catalog']!r}", lambda: self.open_catalog(q["catalog"]))
            self._opening = True  # open_catalog resets it
        if "model" in q:
            if self.model_info(q["model"]) is None:
                problems.append(f"model {q['model']!r}: not one of the listed models")
            else:
                self.model = q["model"]
        with param.parameterized.batch_call_watchers(self):
            for key, name in (("output", "output"), ("reduction", "reduction"), ("color", "color_by"),
                              ("rep", "representation"), ("metric", "metric"), ("rate", "quality_column")):
                if key in q:
                    if q[key] in self.param[name].objects:
                        setattr(self, name, q[key])
                    else:
                        problems.append(f"{key} {q[key]!r}: not one of {', '.join(map(str, self.param[name].objects))}")
            if "bands" in q and self.catalog is not None:
                wanted = [b for b in q["bands"].split(",") if b]
                unknown = [b for b in wanted if b not in self.catalog.bands]
                if unknown:
                    problems.append(f"bands {', '.join(unknown)}: not in catalog {self.catalog.name!r}")
                chosen = [b for b in wanted if b in self.catalog.bands]
                if chosen:
                    self.bands = chosen
            for key, name in (("concat", "concat_bands"), ("guided", "guided")):
                if key in q:
                    if q[key] in ("0", "1"):
                        setattr(self, name, q[key] == "1")
                    else:
                        problems.append(f"{key} {q[key]!r}: not 0 or 1")
            if "tw" in q:
                attempt("tw", lambda: setattr(self, "target_weight", float(q["tw"])))
            if "n_neighbors" in q:
                attempt("n_neighbors", lambda: setattr(self, "n_neighbors", int(q["n_neighbors"])))
            if "min_dist" in q:
                attempt("min_dist", lambda: setattr(self, "min_dist", float(q["min_dist"])))
        if "object" in q:
            oid = q["object"]
            if self.catalog is not None and oid in set(self.catalog.object_ids.astype(str)):
                self.selected_id = oid
            else:
                problems.append(f"object {oid!r}: not in the open catalog")

    def restore(self, query: dict) -> list[str]:
        """Apply a URL query, report what could not be applied, then compute the map when a model is usable."""
        problems = self.apply_url_query(query)
        if problems:
            self.fail("restoring the shared view", "; ".join(problems))
        if self.catalog is not None and self.can_compute():
            self.run()
        elif self.catalog is not None and self.model:
            self.check_model()  # says why the chosen model cannot be used
        return problems
