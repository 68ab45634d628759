"""Distributed embedding: one task per partition, one ONNX Runtime session per worker process,
one Parquet file per partition written atomically by the worker, only summaries back on the client.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from explorer.errors import ExplorerError, ModelError
from explorer.scale.layout import MANIFEST, MAP_FILE, PART_PREFIX
from explorer.scale.sources import Partition, PartitionedSource, load_partition, open_partitioned

__all__ = ["JobSpec", "JobReport", "PartitionError", "embed_partitioned", "MANIFEST"]

# strided sample of the intervals between observations, per partition and band, for the features grid
GRID_DT_SAMPLE = 200_000


class PartitionError(ExplorerError):
    """A partition failed (after its retries) while ``on_error="raise"``; the message names it."""


@dataclass(frozen=True)
class JobSpec:
    """What every worker does to a partition (pickled to the workers once per task)."""

    representation: str                  # "model", "features" or "embedding" (bands concatenated)
    source_kind: str                      # "hats" or "parquet"
    nested_column: str | None = None
    id_column: str | None = None
    model_path: str | None = None
    model_kind: str | None = None
    model_name: str | None = None
    threads: int = 1
    providers: str | None = None
    quantize: bool = False
    fast_math: bool = False
    output: str | None = None
    reduction: str = "non-overlapping-windows"
    bands: tuple | None = None
    seed: int = 0
    batch_size: int | None = None
    model_options: dict = field(default_factory=dict)
    feature_options: dict = field(default_factory=dict)
    grids: dict | None = None             # band -> PeriodogramGrid fields (features)
    cache: bool = False


@dataclass
class JobReport:
    """What a distributed job did: per-partition rows, files, failures; written as the manifest."""

    out_dir: Path
    source: str
    partitions: list                      # dicts: partition, file, rows, objects, seconds, pid, session, status, error
    seconds: float
    n_workers: int
    spec: dict

    @property
    def failed(self) -> list:
        """The partitions that failed (status "failed"), each with its error."""
        return [p for p in self.partitions if p["status"] == "failed"]

    @property
    def rows(self) -> int:
        """Rows written over all partitions."""
        return int(sum(p.get("rows") or 0 for p in self.partitions))

    def summary(self) -> str:
        """One line: partitions, rows, failures, time."""
        text = (f"{len(self.partitions) - len(self.failed)}/{len(self.partitions)} partitions, {self.rows} rows "
                f"in {self.seconds:.1f} s on {self.n_workers} worker(s) -> {self.out_dir}")
        if self.failed:
            text += "; failed: " + "; ".join(f"{p['partition']}: {p['error']}" for p in self.failed)
        return text


# --- worker side -------------------------------------------------------------------------------------

_WORKER_MODELS: dict = {}


def _worker_model(spec: JobSpec):
    """This process's model (and so its one ONNX Runtime session), loaded on first use."""
    from explorer.engine import load_model

    key = (spec.model_path, spec.model_kind, spec.threads, spec.providers, spec.quantize, spec.fast_math)
    model = _WORKER_MODELS.get(key)
    if model is None:
        kwargs = {"fast_math": True} if spec.fast_math else {}
        model = load_model(spec.model_path, kind=spec.model_kind, threads=spec.threads, providers=spec.providers,
                           quantize=spec.quantize, **kwargs)
        model = replace(model, name=spec.model_name or model.name)
        _WORKER_MODELS[key] = model
    return model


def _features(spec: JobSpec):
    """The Features representation with the job's catalog-wide periodogram grids."""
    from explorer.representations import Features
    from explorer.representations.features import PeriodogramGrid

    grids = {band: PeriodogramGrid(**g) for band, g in (spec.grids or {}).items()}

    class CatalogGridFeatures(Features):
        """Features whose grid is the whole catalog's, not one partition's (so partitions agree)."""

        def _grid(self, band, time_, offsets):
            return grids[band] if band in grids else super()._grid(band, time_, offsets)

        def key_parts(self, catalog):
            return dict(super().key_parts(catalog), grids={b: asdict(g) for b, g in grids.items()})

    return CatalogGridFeatures(bands=list(spec.bands) if spec.bands else None, n_jobs=spec.threads,
                               **spec.feature_options)


def _table(spec: JobSpec, catalog, result, part: Partition, extra):
    """The partition's output table: object_id (+band/strategy), embedding, partitioning columns."""
    import pyarrow as pa

    if spec.representation == "model":
        emb = np.ascontiguousarray(result.embeddings, np.float32)
        rows = result.object_index
        columns = {"object_id": pa.array(result.object_ids[rows].astype(str), pa.string())}
        if len(result.block_bands) > 1:
            columns["band"] = pa.array(result.band.astype(str), pa.string())
        if len(result.block_strategies) > 1:
            columns["strategy"] = pa.array(result.strategy.astype(str), pa.string())
        shape = list(emb.shape[1:])
        meta = dict(result.meta)
    else:
        emb = np.ascontiguousarray(result.matrix, np.float32)
        rows = np.arange(len(emb))
        columns = {"object_id": pa.array(result.object_ids.astype(str), pa.string())}
        shape = [emb.shape[1]]
        meta = dict(result.meta, blocks=[b.as_dict() for b in result.blocks],
                    column_names=list(result.column_names) if result.column_names else None,
                    missing=result.missing.to_dict(orient="records"))
    width = int(np.prod(shape)) if shape else 1
    columns["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(emb.reshape(-1), pa.float32()), width)
    for name, value in part.columns.items():
        columns[name] = pa.array([value] * len(rows))
    if extra is not None:
        for name in extra.columns:
            columns[name] = pa.array(extra[name].to_numpy()[rows])
    meta.update(embedding_shape=shape, partition=part.name)
    return pa.table(columns).replace_schema_metadata({"lcexplorer": json.dumps(meta, default=str)})


def run_partition(data, spec: JobSpec, part: Partition, out_dir: str) -> dict:
    """Embed one partition and write ``part-<stem>.parquet`` atomically; return a small summary."""
    import pyarrow.parquet as pq

    from explorer.atomic import atomic_path

    t0 = time.perf_counter()
    catalog, extra = load_partition(data, kind=spec.source_kind, name=part.name, nested_column=spec.nested_column,
                                    id_column=spec.id_column)
    summary = {"partition": part.name, "file": None, "rows": 0, "objects": 0, "failed_objects": 0,
               "pid": os.getpid(), "host": socket.gethostname(), "session": None}
    if catalog is None or len(catalog) == 0:
        return dict(summary, seconds=time.perf_counter() - t0)
    if spec.representation == "features":
        result = _features(spec).compute(catalog, cache=spec.cache)
    else:
        model = _worker_model(spec)
        summary["session"] = id(model.session)
        if spec.representation == "model":
            from explorer.engine import embed_catalog

            result = embed_catalog(catalog, model, output=spec.output, reduction=spec.reduction,
                                   bands=list(spec.bands) if spec.bands else None, seed=spec.seed,
                                   batch_size=spec.batch_size, cache=spec.cache, **spec.model_options)
            summary["failed_objects"] = len(result.meta.get("failed") or [])
        else:
            from explorer.representations import Embedding

            result = Embedding(model, output=spec.output, reduction=spec.reduction,
                               bands=list(spec.bands) if spec.bands else None, seed=spec.seed,
                               batch_size=spec.batch_size, model_options=spec.model_options
                               ).compute(catalog, cache=spec.cache)
    table = _table(spec, catalog, result, part, extra)
    path = Path(out_dir) / f"{PART_PREFIX}{part.stem}.parquet"
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return dict(summary, file=path.name, rows=table.num_rows, objects=len(catalog),
                seconds=time.perf_counter() - t0, peak_rss_mb=_peak_rss_mb())


def _peak_rss_mb() -> float | None:
    """This worker process's peak resident memory so far (MB), for benchmarks; None where unknown."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def grid_statistics(data, spec: JobSpec, part: Partition) -> dict:
    """Per band: every object's time span and a strided sample of its observation intervals."""
    catalog, _ = load_partition(data, kind=spec.source_kind, name=part.name, nested_column=spec.nested_column,
                                id_column=spec.id_column)
    stats = {}
    if catalog is None:
        return stats
    for band in (spec.bands or catalog.bands):
        if band not in catalog.bands:
            continue
        sub = catalog.band_subset([band])
        off, t = sub.offsets, sub.time
        n = np.diff(off)
        has = n >= 2
        spans = t[off[1:][has] - 1] - t[off[:-1][has]]
        owner = np.repeat(np.arange(len(n)), n)
        dt = np.diff(t)
        inside = owner[1:] == owner[:-1]
        dt = dt[inside & (dt > 0)]
        if len(dt) > GRID_DT_SAMPLE:
            dt = dt[:: int(np.ceil(len(dt) / GRID_DT_SAMPLE))]
        stats[str(band)] = (spans, dt)
    return stats


def catalog_grids(stats: list, resolution: float, min_period) -> dict:
    """The catalog-wide periodogram grid per band from the partitions' statistics.

    Same rule as ``PeriodogramGrid.for_observations`` on the whole catalog: exact when no partition
    had more than ``GRID_DT_SAMPLE`` intervals in a band (else the interval median is a strided sample's).
    """
    from explorer.representations.features import PeriodogramGrid

    grids = {}
    bands = sorted({b for s in stats for b in s})
    for band in bands:
        spans = np.concatenate([s[band][0] for s in stats if band in s] or [np.zeros(0)])
        dts = np.concatenate([s[band][1] for s in stats if band in s] or [np.zeros(0)])
        # spans as two-point objects give for_observations the spans; the cadence rule needs the intervals
        pairs = np.column_stack([np.zeros_like(spans), spans]).ravel()
        offsets = np.arange(0, 2 * len(spans) + 1, 2, dtype=np.int64)
        mp = min_period
        if mp is None:
            span = float(np.percentile(spans, 95)) if len(spans) else 1.0
            span = span if np.isfinite(span) and span > 0 else 1.0
            dense = 2 * float(np.median(dts)) if len(dts) else 0.05
            mp = max(min(0.05, dense) if dense > 0 else 0.05, span * 1e-6)
        grid = PeriodogramGrid.for_observations(pairs, offsets, resolution=float(resolution), min_period=mp)
        grids[band] = asdict(grid)
    return grids


# --- client side -------------------------------------------------------------------------------------

def _prepare_out_dir(out_dir: Path) -> None:

    out_dir.mkdir(parents=True, exist_ok=True)
    foreign = [p.name for p in out_dir.iterdir()
               if not (p.name in (MANIFEST, MAP_FILE) or p.name.startswith((PART_PREFIX, f".{PART_PREFIX}")))]
    if foreign:
        raise ExplorerError(f"output folder {out_dir} holds other files ({', '.join(sorted(foreign)[:5])}); "
                            "give an empty folder or one a previous job wrote")


def _model_spec(model, *, threads, providers, quantize, fast_math) -> dict:
    """Resolve the model on the client (a path every worker can open) and check it loads."""
    from explorer.engine import OnnxModel, load_model

    if isinstance(model, OnnxModel):
        loaded = model
    else:
        kwargs = {"fast_math": True} if fast_math else {}
        loaded = load_model(model, threads=1, providers=providers, quantize=quantize, **kwargs)
    if loaded.path is None:
        raise ModelError(f"model {loaded.name} has no file: a distributed job needs a model file the workers can open")
    return {"model_path": str(loaded.path), "model_kind": loaded.kind, "model_name": loaded.name,
            "providers": providers, "quantize": bool(quantize or loaded.quantized), "fast_math": bool(fast_math)}


def embed_partitioned(path, model, out_dir, *, scheduler="local:2", representation=None, output=None,
                      reduction="non-overlapping-windows", bands=None, seed=0, batch_size=None, threads=None,
                      providers=None, quantize=False, fast_math=False, model_options=None, feature_options=None,
                      concat_bands=False, retries=1, on_error="raise", nested_column=None, id_column=None,
                      progress=None) -> JobReport:
    """Embed a partitioned catalog (HATS folder or long-format Parquet folder) on a Dask cluster.

    ``model``: a load_model source, an OnnxModel, or ``"features"``. Every partition is embedded on
    a worker with that worker's one session and written to ``out_dir/part-<partition>.parquet``
    (object_id, embedding, band/strategy when several, partitioning columns) atomically; nothing but
    per-partition summaries reaches the client. ``retries``: extra attempts per failing partition;
    ``on_error``: "raise" (PartitionError naming the partition, after every other partition finished)
    or "skip" (reported in the result and the manifest). A killed worker's partitions are rerun
    elsewhere by Dask; a rerun replaces the same file, so rows are neither lost nor duplicated.
    ``scheduler``: "local:N", "tcp://host:port" or a distributed Client.
    ``progress(done, total, partition_name)`` is called as partitions finish.
    """
    from distributed import as_completed

    from dask import delayed
    from explorer.scale.cluster import cluster_client, worker_threads

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error is 'raise' or 'skip', got {on_error!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    source: PartitionedSource = open_partitioned(path, nested_column=nested_column, id_column=id_column)
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir)
    if isinstance(model, str) and model.startswith("hybrid:"):
        raise ExplorerError("hybrid representations z-score over the whole catalog; with a scheduler, embed the "
                            "model and the features separately")
    rep = representation or ("features" if model == "features" else ("embedding" if concat_bands else "model"))
    base = {"representation": rep, "source_kind": source.kind, "nested_column": source.nested_column,
            "id_column": source.id_column, "output": output, "reduction": reduction,
            "bands": tuple(bands) if bands else None, "seed": int(seed), "batch_size": batch_size,
            "model_options": dict(model_options or {}), "feature_options": dict(feature_options or {})}
    if rep != "features":
        base.update(_model_spec(model, threads=threads, providers=providers, quantize=quantize, fast_math=fast_math))
        if base["output"] is None and rep == "model":
            base["output"] = "last" if base["model_kind"] == "atcat" else "mean"
    t0 = time.perf_counter()
    with cluster_client(scheduler) as client:
        n_workers = len(client.scheduler_info().get("workers", {}))
        spec = JobSpec(threads=int(threads or worker_threads(client)), **base)
        reads = source.read_tasks()
        if rep == "features":
            stats_tasks = [delayed(grid_statistics, pure=False)(r, spec, p) for r, p in zip(reads, source.partitions)]
            stats = client.gather(client.compute(stats_tasks, retries=retries))
            opts = spec.feature_options
            spec = replace(spec, grids=catalog_grids(stats, opts.get("resolution", 5.0), opts.get("min_period")))
            reads = source.read_tasks()
        tasks = [delayed(run_partition, pure=False)(r, spec, p, str(out_dir)) for r, p in zip(reads, source.partitions)]
        futures = client.compute(tasks, retries=retries)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        done = 0
        for future in as_completed(futures):
            i = index[future.key]
            name = source.partitions[i].name
            if future.status == "finished":
                results[i] = dict(future.result(), status="done", error=None)
            else:
                exc = future.exception()
                results[i] = {"partition": name, "file": None, "rows": 0, "status": "failed",
                              "error": f"{type(exc).__name__}: {exc} (after {retries + 1} attempt(s))"}
            done += 1
            if progress is not None:
                progress(done, len(futures), name)
            future.release()
    report = JobReport(out_dir=out_dir, source=str(source.path), partitions=results,
                       seconds=time.perf_counter() - t0, n_workers=n_workers,
                       spec={k: v for k, v in asdict(spec).items() if k != "grids"} | {"grids": spec.grids})
    _finish(report, source)
    if report.failed and on_error == "raise":
        first = report.failed[0]
        raise PartitionError(f"partition {first['partition']} of {source.path} failed: {first['error']}"
                             + (f" (and {len(report.failed) - 1} more)" if len(report.failed) > 1 else "")
                             + f"; the other partitions are in {out_dir} (on_error='skip' to go on past it)")
    return report


def _finish(report: JobReport, source: PartitionedSource) -> None:
    """Remove part files this job did not write (an earlier run's), temporary files of killed workers and
    an earlier map (it belongs to other vectors); write the manifest atomically."""
    from explorer.atomic import atomic_write_bytes

    for f in report.out_dir.glob(f".{PART_PREFIX}*.tmp"):
        f.unlink(missing_ok=True)   # every task has ended: no writer is left
    (report.out_dir / MAP_FILE).unlink(missing_ok=True)
    wanted = {f"{PART_PREFIX}{p.stem}.parquet" for p in source.partitions}
    for f in report.out_dir.glob(f"{PART_PREFIX}*.parquet"):
        if f.name not in wanted:
            f.unlink()
    failed = {p["partition"] for p in report.failed}
    for p in source.partitions:
        stale = report.out_dir / f"{PART_PREFIX}{p.stem}.parquet"
        if p.name in failed and stale.exists():
            stale.unlink()   # a failed partition must not keep an earlier run's rows
    manifest = {"source": report.source, "complete": not report.failed, "seconds": report.seconds,
                "n_workers": report.n_workers, "spec": report.spec, "partitions": report.partitions}
    atomic_write_bytes(report.out_dir / MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
