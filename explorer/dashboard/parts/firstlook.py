"""A first look at a large catalog: a seeded sample embedded and mapped before the whole catalog.

When a catalog's vectors are not in memory and it has more than ``first_look_above()`` objects, the
pipeline embeds a seeded sample first and shows its map at once (``MapView.stage == "sample"``, its
note saying "n of N"), then embeds the whole catalog exactly as without a first look (same seed, same
settings, same caches) and replaces the sample's map with the final one.  The sample's vectors are
cached by their own content, so a later first look of the same catalog is read from disk.

While the whole catalog is embedded, :class:`Growth` takes the objects the engine has finished (their
final vectors) and places them beside their nearest sample objects on the first look, which grows on
screen at growing intervals; taps, light curves and neighbours work on every point already there.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace

import numpy as np

from ..spatial import NeighbourIndex, PointIndex
from .common import SEED
from .vectors import Embedding, MapSettings, MapView, compute_map

log = logging.getLogger(__name__)

FIRST_LOOK_ABOVE = 1000  # objects; $LCEXPLORER_FIRST_LOOK_ABOVE (0: never)
FIRST_LOOK_SAMPLE = 300  # objects in the sample (at most a fifth of the catalog)
GROW_FIRST_S = 2.0  # the first look takes in finished objects after this many seconds of embedding
# ($LCEXPLORER_FIRST_LOOK_GROW_S; 0: after every batch of the model)...
GROW_FACTOR = 1.5  # ...then after intervals this much longer each time (a few page updates, not hundreds)


def first_look_above() -> int:
    """Catalogs with more objects than this get a first look ($LCEXPLORER_FIRST_LOOK_ABOVE, 0 = never)."""
    try:
        return int(os.environ.get("LCEXPLORER_FIRST_LOOK_ABOVE", FIRST_LOOK_ABOVE))
    except ValueError:
        return FIRST_LOOK_ABOVE


def grow_first_s() -> float:
    """Seconds of embedding before the first look first takes in finished objects."""
    try:
        return max(0.0, float(os.environ.get("LCEXPLORER_FIRST_LOOK_GROW_S", GROW_FIRST_S)))
    except ValueError:
        return GROW_FIRST_S


def sample_rows(n: int) -> np.ndarray:
    """The seeded sample of a catalog of ``n`` objects (sorted rows)."""
    size = int(min(FIRST_LOOK_SAMPLE, max(20, n // 5)))
    return np.sort(np.random.default_rng(SEED).choice(n, size=min(size, n), replace=False))


def wanted(pipeline, cat, key: tuple) -> bool:
    """True when ``cat`` deserves a first look: large, and its vectors not in memory."""
    above = first_look_above()
    return bool(above) and len(cat) > above and key not in pipeline.embed_cache


def first_look(pipeline, cat, spec, key: tuple, progress) -> MapView | None:
    """Embed and map the seeded sample of ``cat``; the view is published and returned (None when the
    sample has too few vectors to map)."""
    from explorer.projection import prepare_matrix

    rows = sample_rows(len(cat))
    rep = pipeline.compute_vectors(cat.take(rows, name=f"{cat.name} (first look)"), spec, progress)
    sample = np.asarray(rep.matrix, dtype=np.float32)
    matrix = np.full((len(cat), sample.shape[1]), np.nan, np.float32)
    matrix[rows] = sample
    weights = rep.column_weights()
    weights = None if np.all(weights == 1.0) else weights
    prepared, valid = prepare_matrix(matrix, column_weights=weights)
    if int(valid.sum()) < 3:
        return None
    emb = Embedding(cat, spec, ("first-look",) + key, matrix, None, NeighbourIndex(prepared, metric=pipeline.metric),
                    weights=weights, representation=None)
    # the PCA of the sample: instant, and no UMAP compile in a fresh process stands between the user and it
    settings = MapSettings(pipeline.n_neighbors, pipeline.min_dist, pipeline.metric, method="pca")
    view = replace(compute_map(emb, settings, pipeline.jobs.check), stage="sample")
    if cat is pipeline.session.catalog:
        pipeline._out(map=view)
    return view


class Growth:
    """The first look taking in the objects the engine finishes, placed beside their nearest sample objects.

    Called by the engine after each batch with ``peek`` (``peek()`` -> catalog rows and their final
    vectors); it looks only at growing intervals, places the objects not yet on the map and publishes a
    new first-look view (the sample's PCA positions unchanged).  The final map replaces it as before.
    """

    def __init__(self, pipeline, look: MapView, key: tuple):
        from explorer.projection import Placer

        self.pipeline, self.look, self.key = pipeline, look, key
        emb = look.embedding
        drawn = np.flatnonzero(np.isfinite(look.coords).all(axis=1))
        self.placer = Placer(emb.matrix[drawn], look.coords[drawn], column_weights=emb.weights,
                             metric=pipeline.metric)
        self.matrix = emb.matrix.copy()
        self.coords = look.coords.copy()
        self.on_map = np.zeros(len(self.coords), bool)
        self.on_map[drawn] = True
        self.sample = len(drawn)
        self.wait = grow_first_s()
        self.since = time.perf_counter()
        self.views = 0  # first-look views published with placed objects

    def __call__(self, peek) -> None:
        if self.wait is None or time.perf_counter() - self.since < self.wait:
            return
        try:
            self._grow(peek)
        except Exception:  # noqa: BLE001  a preview never costs the embedding it previews
            log.exception("the first look stops growing; the final map follows as usual")
            self.wait = None

    def _grow(self, peek) -> None:
        rows, vectors = peek()
        new = ~self.on_map[rows]
        rows, vectors = rows[new], vectors[new]
        if len(rows):
            xy = self.placer.place(vectors)
            ok = np.isfinite(xy).all(axis=1)
            rows = rows[ok]
            self.matrix[rows], self.coords[rows], self.on_map[rows] = vectors[ok], xy[ok], True
            self.publish()
        self.wait *= GROW_FACTOR
        self.since = time.perf_counter()

    def publish(self) -> MapView:
        """The first look with every object placed so far (published when its catalog is still open)."""
        from explorer.projection import prepare_matrix

        pipeline, look = self.pipeline, self.look
        emb = look.embedding
        prepared, _ = prepare_matrix(self.matrix, column_weights=emb.weights)
        grown = replace(emb, key=("first-look", int(self.on_map.sum())) + self.key, matrix=self.matrix.copy(),
                        neighbours=NeighbourIndex(prepared, metric=pipeline.metric))
        coords = self.coords.copy()
        view = replace(look, embedding=grown, coords=coords, index=PointIndex(coords),
                       params={**look.params, "placed": int(self.on_map.sum()) - self.sample})
        self.views += 1
        if grown.catalog is pipeline.session.catalog:
            pipeline._out(map=view)
        return view
