"""Reading what a distributed job wrote: embeddings (and map coordinates) without recomputing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import CatalogError
from explorer.scale.layout import MANIFEST, MAP_FILE, PART_PREFIX

__all__ = ["ScaleEmbeddings", "read_embeddings", "MAP_FILE"]



@dataclass
class ScaleEmbeddings:
    """Embeddings of a job's output folder: one row per object (or per object and band/strategy)."""

    object_ids: np.ndarray        # str [n]
    matrix: np.ndarray            # float32 [n, dim]
    columns: "object"             # pandas DataFrame of the other columns (band, partition columns, ...)
    coords: np.ndarray | None     # float32 [n, 2] from the map file, NaN for objects it lacks; None if no map
    manifest: dict | None
    meta: dict

    @property
    def complete(self) -> bool:
        """True when the manifest says every partition was written."""
        return bool(self.manifest and self.manifest.get("complete"))


def read_manifest(out_dir) -> dict | None:
    """The job manifest of ``out_dir`` (None when there is none, e.g. a job that is still running)."""
    path = Path(out_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def read_embeddings(out_dir, *, with_coords: bool = True) -> ScaleEmbeddings:
    """Read every ``part-*.parquet`` of a job folder into ids + matrix (+ map coordinates when present).

    An object id in two partitions (a catalog not partitioned by object) is a CatalogError naming
    the id and both partitions. The folder may come from a cluster: nothing is recomputed here.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq


    out_dir = Path(out_dir)
    files = sorted(out_dir.glob(f"{PART_PREFIX}*.parquet"))
    if not files:
        raise CatalogError(f"{out_dir} holds no {PART_PREFIX}*.parquet files (no job output here)")
    table = ds.dataset([str(f) for f in files], format="parquet").to_table()
    meta = {}
    file_meta = pq.read_schema(files[0]).metadata
    if file_meta and b"lcexplorer" in file_meta:
        meta = json.loads(file_meta[b"lcexplorer"])
    emb = table.column("embedding").combine_chunks()
    width = emb.type.list_size
    matrix = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, width)
    ids = np.asarray(table.column("object_id").to_pylist(), dtype=str)
    others = table.drop(["object_id", "embedding"]).to_pandas()
    key_cols = [c for c in ("band", "strategy") if c in others.columns]
    keys = others[key_cols].astype(str).agg("|".join, axis=1).to_numpy() if key_cols else None
    full = np.char.add(np.char.add(ids, "|"), keys.astype(str)) if keys is not None else ids
    uniq, counts = np.unique(full, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0].split("|")[0]
        where = others.get("partition", others.get("Npix"))
        parts = sorted({str(v) for v in where[ids == dup]}) if where is not None else []
        raise CatalogError(f"object {dup!r} appears in several partitions of {out_dir} ({', '.join(parts)}): "
                           "the catalog must hold all observations of an object in one partition")
    coords = None
    map_path = out_dir / MAP_FILE
    if with_coords and map_path.is_file():
        import pandas as pd

        m = pd.read_parquet(map_path)
        xy = pd.DataFrame({"x": m["x"].to_numpy(), "y": m["y"].to_numpy()}, index=m["object_id"].astype(str))
        xy = xy[~xy.index.duplicated()]
        coords = xy.reindex(ids).to_numpy(np.float32)
    return ScaleEmbeddings(object_ids=ids, matrix=matrix, columns=others, coords=coords,
                           manifest=read_manifest(out_dir), meta=meta)
