"""Representations: what turns a catalog into one vector per object before it is mapped.

- ``Features``: the standard ``light_curve`` feature set per band, bands concatenated;
- ``Embedding``: an ONNX model's embeddings, per band and concatenated for single-band models;
- ``Hybrid``: an embedding and the features, each part standardised and weighted 1/sqrt(width).

Specs used by the CLI and the dashboard: ``"features"``, a model name (``"astromer1-atlas"``), or
``"hybrid:<model>"``. Every result is a ``RepresentationResult`` whose blocks say how its columns are
weighted after standardisation (``explorer.projection.prepare_matrix``).
"""

from __future__ import annotations

from explorer.representations.base import (
    Block,
    RepresentationCache,
    RepresentationResult,
    check_concat_bands,
    representation_cache_dir,
)
from explorer.representations.embedding import Embedding
from explorer.representations.features import Features, PeriodogramGrid, feature_names
from explorer.representations.hybrid import Hybrid
from explorer.representations.periods import best_period, period_candidates, periodogram

__all__ = [
    "Block", "RepresentationResult", "RepresentationCache", "representation_cache_dir",
    "Features", "Embedding", "Hybrid", "PeriodogramGrid", "feature_names",
    "FEATURES", "HYBRID_PREFIX", "make_representation", "compute_representation", "representation_choices",
    "read_vectors", "best_period", "period_candidates", "periodogram",
]

FEATURES = "features"
HYBRID_PREFIX = "hybrid:"


def make_representation(spec: str, *, bands=None, concat_bands=True, output=None,
                        reduction="non-overlapping-windows", seed=0, batch_size=None, model_options=None,
                        feature_options=None):
    """The representation a spec names: ``"features"``, a model source, or ``"hybrid:<model>"``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a representation is 'features', a model name or 'hybrid:<model>', got {spec!r}")
    spec = spec.strip()
    if spec == FEATURES:
        return Features(bands=bands, **(feature_options or {}))
    model = spec[len(HYBRID_PREFIX):] if spec.startswith(HYBRID_PREFIX) else spec
    if not model:
        raise ValueError("'hybrid:' needs a model name after the colon, e.g. hybrid:astromer1-atlas")
    emb = Embedding(model, output=output, reduction=reduction, bands=bands, concat_bands=concat_bands, seed=seed,
                    batch_size=batch_size, model_options=model_options)
    if spec.startswith(HYBRID_PREFIX):
        return Hybrid(emb, Features(bands=bands, **(feature_options or {})))
    return emb


def compute_representation(catalog, spec: str, *, progress=None, cache=True, **options) -> RepresentationResult:
    """``make_representation(spec, **options).compute(catalog, ...)``."""
    return make_representation(spec, **options).compute(catalog, progress=progress, cache=cache)


def representation_choices(models) -> list[str]:
    """Every spec the user can pick given available model names: features, each model, each hybrid."""
    models = [str(m) for m in models]
    return [FEATURES, *models, *(HYBRID_PREFIX + m for m in models)]


def read_vectors(path):
    """Read an embeddings Parquet written by ``lcexplorer embed`` into a RepresentationResult.

    Files with one row per (object, band[, strategy]) are pivoted to one row per object, the blocks
    concatenated in file order; an object lacking a block keeps NaN there (listed in ``missing``).
    Blocks and their weights come from the file's provenance when it has them.
    """
    import json

    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from explorer.errors import CatalogError

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise CatalogError(f"cannot read embeddings file {path}: {exc}") from None
    for col in ("object_id", "embedding"):
        if col not in table.column_names:
            raise CatalogError(f"{path} has no {col!r} column (columns: {table.column_names})")
    raw = (table.schema.metadata or {}).get(b"lcexplorer")
    meta = json.loads(raw) if raw else {}
    emb = table.column("embedding").combine_chunks()
    ids = table.column("object_id").to_numpy(zero_copy_only=False).astype(str)
    flat = np.asarray(emb.flatten().to_numpy(zero_copy_only=False), np.float32)
    if len(ids) and flat.size % len(ids):
        raise CatalogError(f"{path}: embeddings of unequal length (need one fixed-size vector per row)")
    vectors = flat.reshape(len(ids), -1) if len(ids) else np.zeros((0, 0), np.float32)
    keys = [c for c in ("band", "strategy") if c in table.column_names]
    if keys:
        frame = pd.DataFrame({"object_id": ids, **{k: table.column(k).to_numpy(zero_copy_only=False).astype(str)
                                                    for k in keys}})
        block_key = frame[keys].agg(":".join, axis=1)
        block_names = list(dict.fromkeys(block_key))
        # the matrix is objects x blocks x d: a file with one band per row must not size it
        check_concat_bands(block_names, f"embeddings file {path} (one block per band/strategy)")
        obj_ids = np.asarray(list(dict.fromkeys(ids)), str)
        d = vectors.shape[1]
        matrix = np.full((len(obj_ids), len(block_names) * d), np.nan, np.float32)
        oi = pd.Index(obj_ids).get_indexer(ids)
        bi = pd.Index(block_names).get_indexer(block_key)
        m3 = matrix.reshape(len(obj_ids), len(block_names), d)
        m3[oi, bi] = vectors
        blocks = tuple(Block(n, k * d, (k + 1) * d) for k, n in enumerate(block_names))
        have = np.zeros((len(obj_ids), len(block_names)), bool)
        have[oi, bi] = True
        missing = [(obj_ids[i], block_names[k], "no row in the file") for i, k in zip(*np.nonzero(~have))]
        return RepresentationResult(matrix=matrix, object_ids=obj_ids, blocks=blocks, meta=meta,
                                    missing=pd.DataFrame(missing, columns=["object_id", "block", "reason"]))
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()[:5]
        raise CatalogError(f"{path}: object ids repeat without a band/strategy column: {list(dup)}")
    blocks = tuple(Block(**b) for b in meta.get("blocks", [])) or (Block("embedding", 0, vectors.shape[1]),)
    missing = pd.DataFrame(meta.get("missing") or [], columns=["object_id", "block", "reason"])
    names = tuple(meta["column_names"]) if meta.get("column_names") else None
    return RepresentationResult(matrix=vectors, object_ids=ids, blocks=blocks, meta=meta, missing=missing,
                                column_names=names)
