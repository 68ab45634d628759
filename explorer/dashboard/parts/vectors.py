"""Values of the map pipeline, each immutable: what an embedding depends on (``EmbeddingSpec``), the
vectors (``Embedding``), the projection settings (``MapSettings``) and the map on screen (``MapView``),
plus the pure functions computing them.

A ``MapView`` carries everything derived from it: its embedding (hence its neighbour index and the
observations the model saw), the settings that made it, its stage (PCA preview, UMAP, given), its
quality figures and, for a preview left on screen, why it is unfinished.  Views are replaced whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from explorer import offload
from explorer.catalog import Catalog
from explorer.errors import ExplorerError
from explorer.quality import MapQuality

from ..spatial import NeighbourIndex, PointIndex
from .common import SEED

# what the vectors of the map are: the model's embedding, the light_curve features, or both balanced
REPRESENTATIONS = {"embedding": "model embedding", "features": "light_curve features",
                   "hybrid": "hybrid: embedding + features"}
METRICS = ("euclidean", "cosine")
STAGES = {"sample": "First look", "pca": "PCA preview", "umap": "UMAP", "given": "Map", "sky": "Sky"}


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


@dataclass(frozen=True)
class MapSettings:
    """The projection settings read once: UMAP parameters, distance, and the label guide if any."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "euclidean"
    guide: tuple | None = None  # (weight, label codes per row) for a label-guided UMAP
    method: str = "umap"

    def key(self) -> tuple:
        """Content key of these settings (the labels by their hash)."""
        labels = None
        if self.guide is not None:
            labels = (self.guide[0], hashlib.sha256(self.guide[1].tobytes()).hexdigest())
        return (self.n_neighbors, self.min_dist, self.method, self.metric, labels)

    def describe(self) -> str:
        """The settings in words, for notes and messages."""
        text = f"{self.metric} distance, n_neighbors {self.n_neighbors}, min_dist {self.min_dist:g}"
        if self.guide is not None:
            text += f", guided by your labels (weight {self.guide[0]:g})"
        return text


@dataclass(frozen=True)
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

    def describe(self) -> str:
        """What the vectors are, in words."""
        return self.spec.describe() if self.spec is not None else "a given embedding"

    def observations_used(self, row: int, n_obs: int) -> np.ndarray:
        """Bool per observation of catalog row ``row``: fed to the model (all False when unknown)."""
        used = np.zeros(n_obs, dtype=bool)
        if self.result is None:
            return used
        try:
            obs = np.asarray(self.result.observations_used(row), dtype=np.int64) - int(self.catalog.offsets[row])
        except (IndexError, KeyError, ValueError):  # object not embedded
            return used
        used[obs[(obs >= 0) & (obs < n_obs)]] = True
        return used

    def missing_text(self) -> str:
        """What a map of these vectors lacks, in words: objects without a position (named) and objects
        lacking a block."""
        rep = self.representation
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


@dataclass(frozen=True)
class MapView:
    """A 2-D map of one embedding and everything derived from it (see the module docstring)."""

    embedding: Embedding
    coords: np.ndarray  # [n_objects, 2], NaN for objects without an embedding
    stage: str  # "sample" (first look at a seeded sample), "pca" (preview), "umap", "given" or "sky"
    index: PointIndex
    params: dict
    settings: MapSettings | None = None
    quality: MapQuality | None = None
    unfinished: str = ""  # why a preview stays on screen ("" when the map is complete or still computing)
    cached: bool = field(default=False, compare=False)

    @property
    def catalog(self) -> Catalog:
        """The catalog the map is of."""
        return self.embedding.catalog

    @property
    def spec(self) -> EmbeddingSpec | None:
        """What the vectors are (None for a given embedding)."""
        return self.embedding.spec

    @property
    def final(self) -> bool:
        """True for a complete map (UMAP or given), False for a first look or the PCA preview."""
        return self.stage not in ("sample", "pca")

    def neighbours(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, distances)`` of the k nearest objects to ``row`` in this map's own vector space."""
        if self.embedding.neighbours is None:
            return np.empty(0, np.int64), np.empty(0)
        return self.embedding.neighbours.query(row, k)

    def note(self) -> str:
        """What this map shows, in words (plain text)."""
        stage = STAGES.get(self.stage, "Map")
        if self.stage == "sample":
            n, total = len(self.index), len(self.catalog)
            state = f"unfinished: {self.unfinished}" if self.unfinished else "the rest is being embedded"
            placed = int(self.params.get("placed", 0))
            how = (f"a seeded sample of {n - placed} mapped with PCA, {placed} placed beside their nearest "
                   "sample objects as they were embedded" if placed else "a seeded sample, PCA")
            return f"{stage}: {n} of {total} objects embedded ({how}; {state}); {self.embedding.describe()}."
        if self.stage == "sky":
            return (f"Sky of {len(self.index)} of {len(self.catalog)} objects (Aitoff projection of "
                    f"{self.params.get('ra')}/{self.params.get('dec')}, RA growing to the left).")
        if self.stage == "pca":
            stage += f" (unfinished: {self.unfinished})" if self.unfinished else " (UMAP running...)"
        how = f"; {self.settings.describe()}" if self.settings is not None and self.stage == "umap" else ""
        return f"{stage} of {len(self.index)} objects; {self.embedding.describe()}{how}."


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


def compute_map(emb: Embedding, settings: MapSettings, check: Callable[[], None] | None = None) -> MapView:
    """Project ``emb`` with ``settings`` (the PCA preview or UMAP, in a worker process when the app runs one)."""
    from explorer.projection import pca_preview, prepare_matrix

    prepared, valid = prepare_matrix(emb.matrix, column_weights=emb.weights)
    coords = np.full((len(prepared), 2), np.nan)
    n_valid = int(valid.sum())
    params = {"method": settings.method}
    cached = False
    if n_valid >= 3:
        if settings.method == "pca":
            coords[valid] = pca_preview(prepared[valid])
        else:
            # UMAP's numba code holds the GIL for seconds: a worker process keeps the server answering
            coords, fitted, cached = offload.call(
                umap_coords, emb.matrix, emb.weights, int(min(settings.n_neighbors, n_valid - 1)), settings.min_dist,
                settings.metric, settings.guide, check=check)
            params.update(fitted)
    elif n_valid:  # too few points for a projection: a line keeps them tappable
        coords[valid] = np.column_stack([np.arange(n_valid, dtype=float), np.zeros(n_valid)])
    return MapView(embedding=emb, coords=coords, stage=settings.method, index=PointIndex(coords), params=params,
                   settings=settings, cached=cached)


def given_view(emb: Embedding, coords: np.ndarray | None) -> MapView:
    """The map of a given embedding: ``coords`` as given, or the PCA preview of the matrix."""
    from explorer.projection import pca_preview

    n = len(emb.catalog)
    if coords is None:
        coords = np.full((n, 2), np.nan)
        ok = np.isfinite(emb.matrix).all(axis=1)
        coords[ok] = pca_preview(emb.matrix[ok])
    coords = np.asarray(coords, dtype=np.float64)
    if coords.shape != (n, 2):
        raise ExplorerError(f"map coordinates must have shape ({n}, 2), got {coords.shape}")
    return MapView(embedding=emb, coords=coords, stage="given", index=PointIndex(coords), params={"method": "given"})


def given_embedding(cat: Catalog, matrix: np.ndarray, metric: str) -> Embedding:
    """An Embedding of a matrix made elsewhere (keyed by its bytes)."""
    from explorer.projection import prepare_matrix

    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or len(matrix) != len(cat):
        raise ExplorerError(f"embedding matrix must have shape ({len(cat)}, dim), got {matrix.shape}")
    key = ("given", hashlib.sha256(matrix.tobytes()).hexdigest())
    prepared, _ = prepare_matrix(matrix)
    return Embedding(cat, None, key, matrix, None, NeighbourIndex(prepared, metric=metric))


def with_catalog(emb: Embedding, cat: Catalog) -> Embedding:
    """A cached Embedding made for another Catalog object of the same content, re-pointed at ``cat``."""
    return emb if emb.catalog is cat else replace(emb, catalog=cat)


__all__ = ["REPRESENTATIONS", "METRICS", "SEED", "EmbeddingSpec", "MapSettings", "Embedding", "MapView",
           "umap_coords", "compute_map", "given_view", "given_embedding", "with_catalog"]
