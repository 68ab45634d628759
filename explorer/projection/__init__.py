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

One module per job: ``prepare`` (standardisation, label codes), ``pca`` (principal components in the
smaller side of the matrix: bounded cost for few objects with very many dimensions), ``cache`` (memory
LRU and disk files), ``placement`` (new objects on a fitted map), ``estimator`` (``Projection``).
"""

from explorer.projection.cache import MEMORY_CACHE_SIZE, clear_memory_cache, projection_cache_dir
from explorer.projection.estimator import (
    DEFAULT_SAMPLE,
    EXACT_NEIGHBOURS_MAX,
    INITS,
    METRICS,
    NEIGHBOURS,
    Projection,
    warm_up,
)
from explorer.projection.pca import EXACT_MAX_SIDE, pca_preview
from explorer.projection.placement import Placer
from explorer.projection.prepare import encode_labels, prepare_matrix

__all__ = [
    "Projection", "Placer", "prepare_matrix", "encode_labels", "pca_preview", "warm_up", "projection_cache_dir",
    "clear_memory_cache", "MEMORY_CACHE_SIZE", "DEFAULT_SAMPLE", "EXACT_NEIGHBOURS_MAX", "EXACT_MAX_SIDE",
    "METRICS", "INITS", "NEIGHBOURS",
]
