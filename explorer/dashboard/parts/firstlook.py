"""A first look at a large catalog: a seeded sample embedded and mapped before the whole catalog.

When a catalog's vectors are not in memory and it has more than ``first_look_above()`` objects, the
pipeline embeds a seeded sample first and shows its map at once (``MapView.stage == "sample"``, its
note saying "n of N"), then embeds the whole catalog exactly as without a first look (same seed, same
settings, same caches) and replaces the sample's map with the final one.  The sample's vectors are
cached by their own content, so a later first look of the same catalog is read from disk.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..spatial import NeighbourIndex
from .common import SEED
from .vectors import Embedding, MapSettings, MapView, compute_map

FIRST_LOOK_ABOVE = 1000  # objects; $LCEXPLORER_FIRST_LOOK_ABOVE (0: never)
FIRST_LOOK_SAMPLE = 300  # objects in the sample (at most a fifth of the catalog)


def first_look_above() -> int:
    """Catalogs with more objects than this get a first look ($LCEXPLORER_FIRST_LOOK_ABOVE, 0 = never)."""
    try:
        return int(os.environ.get("LCEXPLORER_FIRST_LOOK_ABOVE", FIRST_LOOK_ABOVE))
    except ValueError:
        return FIRST_LOOK_ABOVE


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
