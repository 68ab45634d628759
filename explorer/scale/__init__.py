"""Scale-out: catalogs on Dask (HATS/LSDB or partitioned long-format Parquet), maps of millions of objects.

Public API::

    embed_partitioned(path, model, out_dir, *, scheduler="local:2", ...) -> JobReport
    read_embeddings(out_dir) -> ScaleEmbeddings      # ids + matrix (+ map coordinates), no recomputation
    map_partitioned(out_dir, *, scheduler=None, sample=DEFAULT_SAMPLE (50 000), ...) -> MapReport  # sample-fit + transform
    open_partitioned(path) / write_hats(catalog, out) / write_parquet_partitions(catalog, out, n_files)
    cluster_client(scheduler) / parse_scheduler(text)
"""

from explorer.scale.cluster import cluster_client, parse_scheduler
from explorer.scale.job import MANIFEST, JobReport, JobSpec, PartitionError, embed_partitioned
from explorer.scale.mapping import MapReport, map_partitioned
from explorer.scale.results import MAP_FILE, ScaleEmbeddings, read_embeddings, read_manifest
from explorer.scale.sources import (
    Partition,
    PartitionedSource,
    is_hats,
    open_partitioned,
    write_hats,
    write_parquet_partitions,
)

__all__ = [
    "cluster_client", "parse_scheduler",
    "MANIFEST", "JobReport", "JobSpec", "PartitionError", "embed_partitioned", "MapReport", "map_partitioned",
    "MAP_FILE", "ScaleEmbeddings", "read_embeddings", "read_manifest",
    "Partition", "PartitionedSource", "is_hats", "open_partitioned", "write_hats", "write_parquet_partitions",
]
