"""The map pipeline: representation and projection settings -> vectors -> map view (with its quality).

Inputs are the representation settings and the UMAP parameters; outputs are ``embedding`` (the vectors
last computed) and ``map`` (a :class:`~.vectors.MapView`, the map on screen, replaced whole).  A run
shows the PCA preview, then the UMAP map rated for the display's quality column.  A cancelled run puts
back the last complete map (its own embedding, neighbours and quality), or leaves the preview marked
unfinished when there was none, and says which.
"""

from __future__ import annotations

import time as _time
from dataclasses import replace
from typing import Callable

import numpy as np
import param

from explorer.errors import ExplorerError

from ..jobs import JobCancelled, JobRunner
from ..spatial import NeighbourIndex
from . import firstlook
from .catalogs import CatalogSession
from .common import EMBEDDINGS, MAPS, SEED, Messages, Part, ResultCache
from .display import Display
from .labelling import Labelling
from .models import ModelChoice
from .vectors import (METRICS, REPRESENTATIONS, Embedding, EmbeddingSpec, MapSettings, MapView, compute_map,
                      given_embedding, given_view, with_catalog)


def _with_eta(progress):
    """A progress callback whose messages end with the time left, estimated from the pace so far."""
    t0 = _time.perf_counter()

    def report(fraction, message):
        elapsed = _time.perf_counter() - t0
        if 0.05 <= fraction < 1 and elapsed > 2:
            message = f"{message} (about {elapsed * (1 - fraction) / fraction:.0f} s left)"
        progress(fraction, message)

    return report


class Pipeline(Part):
    """Vectors and map of the open catalog for the chosen representation and settings."""

    representation = param.Selector(default="embedding", objects=list(REPRESENTATIONS), label="Representation",
                                    doc="What the map is made of: the model's embedding, the light_curve "
                                        "features, or both (each part balanced).")
    bands = param.ListSelector(default=[], objects=[], label="Bands", doc="Bands fed to the model.")
    concat_bands = param.Boolean(default=True, label="Bands side by side (R‖B)",
                                 doc="Single-band models on several bands: embed each band alone and concatenate "
                                     "(much better maps); off feeds the bands as one light curve.")
    metric = param.Selector(default="euclidean", objects=list(METRICS), label="Distance",
                            doc="Distance of the map and of the neighbours (on standardised vectors).")
    n_neighbors = param.Integer(default=15, bounds=(2, 100), label="UMAP n_neighbors", doc="UMAP n_neighbors.")
    min_dist = param.Number(default=0.1, bounds=(0.0, 0.99), step=0.01, label="UMAP min_dist", doc="UMAP min_dist.")
    guided = param.Boolean(default=False, label="Label-guided map (your labels)",
                           doc="Let your labels pull the map (supervised UMAP); unlabelled objects are free.")
    target_weight = param.Number(default=0.5, bounds=(0.0, 1.0), label="Label weight",
                                 doc="How strongly labels pull a label-guided map.")

    embedding = param.ClassSelector(class_=Embedding, default=None, allow_None=True, constant=True,
                                    doc="The vectors last computed for the open catalog.")
    map = param.ClassSelector(class_=MapView, default=None, allow_None=True, constant=True,
                              doc="The map on screen, with everything derived from it.")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    models = param.ClassSelector(class_=ModelChoice, constant=True)
    labelling = param.ClassSelector(class_=Labelling, constant=True)
    display = param.ClassSelector(class_=Display, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)
    jobs = param.ClassSelector(class_=JobRunner, constant=True)

    catalog_bound = ("embedding", "map")
    WATCHED = ("representation", "bands", "concat_bands", "metric", "n_neighbors", "min_dist", "guided",
               "target_weight")

    def __init__(self, embed_cache: ResultCache | None = None, map_cache: ResultCache | None = None, **params):
        super().__init__(**params)
        self.embed_cache = EMBEDDINGS if embed_cache is None else embed_cache
        self.map_cache = MAPS if map_cache is None else map_cache
        self.fixed = False  # True: the map is given from outside (the sky view); nothing is computed here
        self.autostart = True  # a combination already in memory is shown at once (False: only on request)
        self.inference_runs = 0  # embed_catalog calls made by this pipeline
        self.last_embed_cached = False
        self.last_map_cached = False
        self.param.watch(self._combination_changed, list(self.WATCHED))
        self.models.param.watch(self._combination_changed, ["model", "output", "reduction"])
        self.display.param.watch(lambda *_: self._rate_again(), ["quality_column"])

    # ------------------------------------------------------------------ catalog switch
    def revalidate(self, catalog) -> None:
        """The bands follow the new catalog (the chosen ones kept when it has them)."""
        if self.fixed:
            return
        bands = list(catalog.bands)
        self.param.bands.objects = bands
        self.bands = [b for b in self.bands if b in bands] or bands

    @property
    def quality(self):
        """Quality figures of the map on screen (None before it is rated)."""
        return self.map.quality if self.map is not None else None

    def can_compute(self) -> bool:
        """True when the chosen representation can be computed now (features need no model)."""
        return self.representation == "features" or self.models.model_available()

    def _combination_changed(self, *_):
        if self.fixed or self.session.opening or self.session.catalog is None or not self.can_compute():
            return
        settings = self.map_settings()
        if self.guided and settings.guide is None:
            self.messages.say("Label-guided map: label a few objects first (your labels pull the map); "
                              "until then the map is not guided.")
        elif self.autostart and self.cached_combination():
            self.start()  # switching back to a combination already computed is instant: no Embed press needed
        elif self.map is not None:
            wanted = f"{self.embedding_spec().describe()} ({settings.describe()})"
            shown = self.map.embedding.describe()
            if self.map.settings is not None:
                shown += f" ({self.map.settings.describe()})"
            self.messages.say(f"Press Embed to compute {wanted}; the map shows {shown}." if wanted != shown
                              else f"The map shows {shown}.")

    # ------------------------------------------------------------------ vectors
    def bands_arg(self, cat=None):
        """The chosen bands as a tuple (None for single-band catalogs)."""
        cat = cat or self.session.require()
        if len(cat.bands) <= 1:
            return None
        chosen = [b for b in cat.bands if b in self.bands]
        return tuple(chosen or cat.bands)

    def embedding_spec(self) -> EmbeddingSpec:
        """The chosen combination, read once (the widgets may change while a job runs)."""
        m = self.models
        return EmbeddingSpec(model=m.model or "", output=m.output, reduction=m.reduction, bands=self.bands_arg(),
                             representation=self.representation, concat=bool(self.concat_bands))

    def embedding_key(self, spec: EmbeddingSpec | None = None, cat=None) -> tuple:
        """Content key of the vectors: (catalog hash, model file sha256, output, reduction, bands, seed,
        representation, concatenation, metric); the model part is empty for the features alone."""
        from explorer.engine import load_model

        cat = cat or self.session.require()
        spec = spec or self.embedding_spec()
        if not spec.needs_model:  # the metric is part of the key: the neighbour index is built for it
            return (cat.content_hash(), "", "", "", spec.bands, SEED, spec.representation, True, self.metric)
        model = load_model(self.models.check_model(spec.model))
        return (cat.content_hash(), model.sha256, spec.output, spec.reduction, spec.bands, SEED,
                spec.representation, spec.concat, self.metric)

    def compute_vectors(self, cat, spec: EmbeddingSpec, progress: Callable[[float, str], None] | None = None,
                        partial=None):
        """The vectors of ``spec`` as a ``RepresentationResult``: the one place a catalog becomes vectors.

        ``partial(peek)`` sees the objects finished so far (the model embedding only: the features and
        the hybrid come whole)."""
        from explorer.representations import Embedding as EmbeddingRep
        from explorer.representations import Features, Hybrid

        bands = list(spec.bands) if spec.bands else None
        if not spec.needs_model:
            return Features(bands=bands).compute(cat, progress=progress)
        from explorer.engine import load_model

        model = load_model(self.models.check_model(spec.model))
        rep = EmbeddingRep(model, output=spec.output, reduction=spec.reduction, bands=bands, seed=SEED,
                           concat_bands=spec.concat)
        if spec.representation == "hybrid":
            return Hybrid(rep, Features(bands=bands)).compute(cat, progress=progress)
        return rep.compute(cat, progress=progress, partial=partial)

    def embed(self, progress: Callable[[float, str], None] | None = None, partial=None) -> Embedding:
        """Compute the chosen representation (cached by content) and make it ``embedding`` (``partial``:
        see ``compute_vectors``)."""
        from explorer.projection import prepare_matrix

        cat = self.session.require()
        spec = self.embedding_spec()
        key = self.embedding_key(spec, cat)
        metric = self.metric

        def compute():
            # whoever waits for these vectors (this run, a session behind the server's warm-up) sees them grow
            rep = self.compute_vectors(cat, spec, progress, lambda peek: self.embed_cache.tell(key, peek))
            matrix = np.asarray(rep.matrix, dtype=np.float32)
            if matrix.ndim != 2 or len(matrix) != len(cat):
                raise ExplorerError(f"embedding matrix has shape {matrix.shape}; expected ({len(cat)}, dim)")
            from_disk = bool(rep.meta.get("from_cache"))
            if not from_disk and spec.needs_model:
                self.inference_runs += 1
            weights = rep.column_weights()
            weights = None if np.all(weights == 1.0) else weights
            # neighbours live in the space the map is drawn from (standardised, block-weighted)
            prepared, _ = prepare_matrix(matrix, column_weights=weights)
            return Embedding(cat, spec, key, matrix, rep.embedding, NeighbourIndex(prepared, metric=metric),
                             cached=from_disk, weights=weights, representation=rep)

        with self.embed_cache.listening(key, partial):
            emb, in_memory = self.embed_cache.get_or_compute(key, compute)
        emb = with_catalog(emb, cat)
        self.last_embed_cached = bool(in_memory or emb.cached)
        if cat is self.session.catalog:  # the catalog may have been switched while this ran
            self._out(embedding=emb)
        return emb

    def use_embedding(self, matrix: np.ndarray, coords: np.ndarray | None = None) -> MapView:
        """Show a precomputed embedding matrix [n_objects, dim] (and optionally its 2-D map; default: the
        PCA preview) for the open catalog."""
        emb = given_embedding(self.session.require(), matrix, self.metric)
        view = given_view(emb, coords)
        self._out(embedding=emb, map=view)
        return view

    # ------------------------------------------------------------------ projection
    def map_settings(self, method: str = "umap") -> MapSettings:
        """The projection settings read once, with the label guide when the map is label-guided."""
        guide = None
        if self.guided and method == "umap" and self.session.catalog is not None:
            from explorer.projection import encode_labels

            labels = self.labelling.user_labels(self.session.catalog)
            codes = encode_labels(labels, len(labels))
            if (codes >= 0).any():
                guide = (float(self.target_weight), codes)
        return MapSettings(int(self.n_neighbors), float(self.min_dist), self.metric, guide, method)

    def project(self, method: str = "umap") -> MapView:
        """Project the current vectors with UMAP (cached by content) or the instant PCA preview; the new
        view replaces the one on screen (rated when it is a UMAP map)."""
        emb = self.embedding
        if emb is None:
            raise ExplorerError("nothing to project: embed the catalog first")
        settings = self.map_settings(method)
        # keyed by the embedding actually projected, not by what the widgets show now
        key = emb.key + settings.key()
        view, in_memory = self.map_cache.get_or_compute(key, lambda: compute_map(emb, settings, self.jobs.check))
        if view.embedding is not emb:  # cached for another object of the same content: shown with this one
            view = replace(view, embedding=emb)
        self.last_map_cached = bool(in_memory or view.cached)
        if view.stage == "umap":
            view = self.rated(view)
        if emb.catalog is self.session.catalog:
            self._out(map=view)
        return view

    def map_key(self, method: str = "umap") -> tuple:
        """Cache key of the map of the chosen combination."""
        return self.embedding_key() + self.map_settings(method).key()

    def cached_combination(self) -> bool:
        """True when the chosen combination's embedding and UMAP map are both in memory."""
        try:
            return self.embedding_key() in self.embed_cache and self.map_key() in self.map_cache
        except (ExplorerError, KeyError):
            return False

    # ------------------------------------------------------------------ quality
    def rated(self, view: MapView) -> MapView:
        """``view`` with its quality figures for the display's quality column (None when not possible)."""
        from explorer.quality import map_quality

        column = self.display.quality_column
        if not column or view.stage != "umap":
            return replace(view, quality=None)
        labels = self.display.rating_labels(column, view.catalog)
        q = map_quality(labels, view.embedding.matrix, view.coords, column_weights=view.embedding.weights,
                        column=column)
        self.display.record_score(view.catalog, view.spec.name if view.spec else "given", column, q.knn_2d)
        return replace(view, quality=q)

    def update_quality(self):
        """Rate the map on screen again (a new column, new labels); returns its figures."""
        view = self.map
        if view is None or view.catalog is not self.session.catalog:
            return None
        view = self.rated(view)
        self._out(map=view)
        return view.quality

    def _rate_again(self):
        if self.map is not None and not self.session.opening and not self.fixed:
            self.jobs.submit("Rating the map", self.update_quality)

    # ------------------------------------------------------------------ the whole run
    def run(self) -> MapView:
        """Compute the vectors, show the PCA preview, then UMAP and its quality; progress goes to ``jobs``
        and the status, which names every object left without a position."""
        cat = self.session.require()
        spec = self.embedding_spec()
        if spec.needs_model:
            self.models.check_model(spec.model)
        before = self.map if self.map is not None and self.map.final and self.map.catalog is cat else None
        t0 = _time.perf_counter()

        def report(fraction, message):
            self.jobs.report(fraction, message)
            self.messages.say(message)

        try:
            report(0.0, f"Computing {spec.describe()} for {cat.name}...")
            start, key, growth = 0.0, self.embedding_key(spec, cat), None
            if firstlook.wanted(self, cat, key):
                look = firstlook.first_look(self, cat, spec, key, lambda f, m: report(
                    0.1 * f, f"{cat.name}, first look at a sample: {m}"))
                start = 0.1
                if look is not None:
                    growth = firstlook.Growth(self, look, key)
                    report(start, f"First look: {len(look.index)} of {len(cat)} objects mapped; embedding the rest...")
            emb = self.embed(progress=_with_eta(lambda f, m: report(start + (0.8 - start) * f, f"{cat.name}: {m}")),
                             partial=growth)
            if self.map_key() not in self.map_cache:
                report(0.82, "Computing the PCA preview...")
                self.project("pca")
                report(0.85, "PCA preview shown; computing UMAP...")
            view = self.project("umap")
        except JobCancelled as exc:
            raise JobCancelled(self._cancelled(before, cat)) from exc
        how = "from cache" if self.last_embed_cached else "computed"
        self.jobs.finish("Map ready")
        self.messages.say(f"Map ready ({how}, {_time.perf_counter() - t0:.1f} s): {len(view.index)} of {len(cat)} "
                          f"objects mapped with {spec.describe()}.{emb.missing_text()}")
        return view

    def _cancelled(self, before: MapView | None, cat) -> str:
        """Put back the last complete map, or mark the preview on screen as unfinished; says which."""
        if cat is not self.session.catalog:
            return ""
        now = self.map
        if before is not None:
            self._out(embedding=before.embedding, map=before)
            return f"the previous complete map is shown ({before.embedding.describe()})."
        if now is not None and now.stage == "sample":
            self._out(map=replace(now, unfinished="embedding cancelled"))
            return (f"the first look stays on screen, unfinished ({len(now.index)} of {len(cat)} objects; "
                    "embedding cancelled).")
        if now is not None and not now.final:
            self._out(map=replace(now, unfinished="UMAP cancelled"))
            return "the PCA preview stays on screen, unfinished (UMAP cancelled)."
        return "no map was ready yet."

    def start(self) -> bool:
        """Compute the map of the chosen combination in the background (queued while a job runs)."""
        if self.fixed:
            return False
        try:
            self.session.require()
            if self.representation != "features":
                self.models.check_model()
        except ExplorerError as exc:
            self.messages.fail("computing the map", exc)
            return False
        return self.jobs.submit("Computing the map", self.run)
