"""Maps of millions of objects: UMAP fitted on a seeded sample, every object placed with ``transform``
in parallel (one task per part file of a job folder), coordinates written beside the embeddings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.errors import CatalogError
from explorer.projection import DEFAULT_SAMPLE

__all__ = ["MapReport", "map_partitioned"]


@dataclass
class MapReport:
    """What ``map_partitioned`` did: the map file, objects, sample size and seconds per stage."""

    path: Path
    n_objects: int
    n_sample: int
    seconds: dict = field(default_factory=dict)   # read_sample, fit, transform, write


def _embedding_rows(table) -> np.ndarray:
    emb = table.column("embedding").combine_chunks()
    return emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, emb.type.list_size)


def _transform_file(path: str, skip: np.ndarray, projection) -> tuple:
    """Worker task: the map positions of one part file's objects (ids, float32 [n, 2]); rows ``skip``
    (the sampled objects, which keep their fitted positions) are left NaN."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["object_id", "embedding"])
    X = _embedding_rows(table)
    xy = np.full((len(X), 2), np.nan, np.float32)
    rest = np.ones(len(X), bool)
    rest[skip] = False
    if rest.any():
        xy[rest] = projection.transform(X[rest])
    return np.asarray(table.column("object_id").to_pylist(), dtype=str), xy


def map_partitioned(out_dir, *, scheduler=None, sample: int = DEFAULT_SAMPLE, random_state: int = 42,
                    **projection_options) -> MapReport:
    """Write ``out_dir/_lcexplorer_map.parquet`` (object_id, x, y, sampled) for a job folder's embeddings.

    A seeded sample of ``sample`` objects (all of them when fewer) is read and mapped with
    ``Projection(random_state=random_state, **projection_options)``; every other object is placed
    with ``Projection.transform`` (the map does not move), one task per part file on ``scheduler``
    ("local:N", an address, a Client) or in this process when None. The sampled objects keep their
    fitted positions. ``read_embeddings(out_dir).coords`` then holds the map, nothing recomputed.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.atomic import atomic_path
    from explorer.projection import Projection
    from explorer.scale.layout import MAP_FILE, PART_PREFIX

    out_dir = Path(out_dir)
    files = sorted(out_dir.glob(f"{PART_PREFIX}*.parquet"))
    if not files:
        raise CatalogError(f"{out_dir} holds no {PART_PREFIX}*.parquet files (no job output to map)")
    for f in files:
        names = pq.read_schema(f).names
        if "band" in names or "strategy" in names:
            raise CatalogError(f"{f.name} has several rows per object (band/strategy): a map needs one vector "
                               "per object; embed with --concat-bands (or one band)")
    seconds = {}
    t0 = time.perf_counter()
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    total = int(sum(counts))
    rng = np.random.default_rng(random_state)
    picked = np.sort(rng.choice(total, min(sample, total), replace=False))
    starts = np.r_[0, np.cumsum(counts)]
    ids, rows, skips = [], [], []
    for f, a, b in zip(files, starts[:-1], starts[1:]):
        local = picked[(picked >= a) & (picked < b)] - a
        skips.append(local)
        if len(local):
            table = pq.read_table(f, columns=["object_id", "embedding"]).take(pa.array(local))
            ids.append(np.asarray(table.column("object_id").to_pylist(), dtype=str))
            rows.append(_embedding_rows(table))
    sample_ids, X = np.concatenate(ids), np.concatenate(rows)
    seconds["read_sample"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    proj = Projection(random_state=random_state, sample=None, **projection_options).fit(X)
    seconds["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    proj.transform(X[:1])   # build the neighbour index once, here, so the workers receive it ready
    if scheduler is None:
        parts = [_transform_file(str(f), skip, proj) for f, skip in zip(files, skips)]
    else:
        from explorer.scale.cluster import cluster_client

        with cluster_client(scheduler) as client:
            shared = client.scatter(proj, broadcast=True)
            parts = client.gather(client.map(_transform_file, [str(f) for f in files], skips, projection=shared,
                                             pure=False))
    seconds["transform"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    frame = pd.DataFrame({"object_id": np.concatenate([p[0] for p in parts]),
                          "x": np.concatenate([p[1][:, 0] for p in parts]),
                          "y": np.concatenate([p[1][:, 1] for p in parts])})
    frame["sampled"] = False
    fitted = pd.DataFrame({"x": proj.embedding_[:, 0], "y": proj.embedding_[:, 1]}, index=sample_ids)
    pos = pd.Index(frame["object_id"]).get_indexer(sample_ids)
    frame.loc[pos, ["x", "y"]] = fitted[["x", "y"]].to_numpy()
    frame.loc[pos, "sampled"] = True
    path = out_dir / MAP_FILE
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    seconds["write"] = time.perf_counter() - t0
    return MapReport(path=path, n_objects=len(frame), n_sample=len(sample_ids), seconds=seconds)
