"""Benchmark of the scale-out pipeline (not a test): simulate -> embed on Dask -> sample-fit + transform -> map.

    python benchmarks/bench_scale.py                         # 1,000,000 objects, 2 workers (hours here)
    python benchmarks/bench_scale.py --objects 20000 --scaling-objects 4000
    python benchmarks/bench_scale.py --map-only 1000000      # stage 4 alone on synthetic 256-d vectors

Stages, each timed:
  1. simulate: the MACHO-like simulator of ``lcexplorer simulate`` (``explorer.simulate.simulate_macho_like``)
     run chunk by chunk (``--chunk`` objects, own seed per chunk), each chunk written as one long-format
     Parquet file (a catalog partitioned by object; memory stays bounded at any size);
  2. scaling: the first ``--scaling-objects`` objects embedded with 1 and with 2 workers (objects/s, speed-up);
  3. embed: every object with ``--workers`` workers (``explorer.scale.embed_partitioned``,
     the code of ``lcexplorer embed PATH --scheduler local:N -o OUT``): objects/s, windows/s, peak
     resident memory per worker process;
  4. map: ``explorer.scale.map_partitioned``: UMAP on a seeded sample (``--sample``, default 100k) and
     every object placed by ``transform`` on the same workers; seconds for read / fit / transform / write.
Model: ``--model`` (a store name or .onnx), else an Astromer-1-sized stand-in (2 blocks, d=256, 4 heads,
FFN 128: the FLOPs of the real model, random weights). The machine load is printed with each stage.
``--map-only N``: stage 4 alone on N synthetic 256-d vectors (20 Gaussian clusters) written as a job
folder's part files, for the map of a million objects without embedding them first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchlib import ROOT, load_avg

sys.path.insert(0, str(ROOT / "tests"))


def simulate_partitions(out: Path, n_objects: int, chunk: int, seed: int) -> dict:
    """Write ``ceil(n_objects / chunk)`` long-format Parquet files of simulated MACHO-like objects."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.simulate import simulate_macho_like

    out.mkdir(parents=True, exist_ok=True)
    n_obs = 0
    for k, start in enumerate(range(0, n_objects, chunk)):
        n = min(chunk, n_objects - start)
        sim = simulate_macho_like(n, seed=seed + k)
        ids = np.char.add(f"c{k:05d}-", sim.object_id.astype(str))   # unique across chunks
        pq.write_table(pa.table({"object_id": ids, "time": sim.time, "band": sim.band.astype(str),
                                 "mag": sim.value, "mag_err": sim.error}), out / f"chunk-{k:05d}.parquet")
        n_obs += len(ids)
    return {"objects": n_objects, "observations": n_obs, "files": k + 1}


def synthetic_job_folder(out: Path, n: int, dim: int = 256, chunk: int = 20_000) -> Path:
    """Part files like an embedding job's (object_id + fixed-size list embedding), clustered vectors."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    centres = np.random.default_rng(0).normal(scale=3.0, size=(20, dim))
    for k, start in enumerate(range(0, n, chunk)):
        m = min(chunk, n - start)
        rng = np.random.default_rng([1, k])
        X = (centres[rng.integers(0, 20, m)] + rng.normal(size=(m, dim))).astype(np.float32)
        ids = np.char.add("s", np.arange(start, start + m).astype(str))
        emb = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel(), pa.float32()), dim)
        pq.write_table(pa.table({"object_id": ids, "embedding": emb}), out / f"part-{k:05d}.parquet")
    return out


def map_stage(out: Path, workers: int, sample: int) -> dict:
    """Stage 4: sample-fit + transform on ``workers`` local workers; seconds per step."""
    from explorer.scale import map_partitioned

    t0 = time.perf_counter()
    report = map_partitioned(out, scheduler=f"local:{workers}", sample=sample)
    result = {"seconds": time.perf_counter() - t0, "stages": report.seconds, "objects": report.n_objects,
              "sample": report.n_sample, "load": load_avg()}
    print(f"map: {report.n_objects} objects (UMAP on {report.n_sample}) in {result['seconds']:.1f} s: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()) + f" ({load_avg()})", flush=True)
    return result


def _model(args) -> str:
    if args.model:
        return args.model
    from standin_models import build_astromer_standin

    return str(build_astromer_standin(Path(tempfile.mkdtemp()) / "astromer1-sized.onnx", width=256, n_blocks=2,
                                      n_heads=4, ffn=128))


def _embed(src: Path, model: str, out: Path, workers: int, batch_size) -> dict:
    from explorer.scale import embed_partitioned

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    report = embed_partitioned(src, model, out, scheduler=f"local:{workers}", batch_size=batch_size)
    seconds = time.perf_counter() - t0
    objects = sum(p.get("objects") or 0 for p in report.partitions)
    peaks: dict = {}
    for p in report.partitions:
        if p.get("peak_rss_mb") is not None:
            peaks[p["pid"]] = max(peaks.get(p["pid"], 0.0), p["peak_rss_mb"])
    return {"workers": workers, "seconds": seconds, "objects": objects, "objects_per_s": objects / seconds,
            "task_seconds": sum(p.get("seconds") or 0 for p in report.partitions),
            "peak_rss_mb_per_worker": sorted(peaks.values()), "failed": len(report.failed), "load": load_avg()}


def main(argv=None) -> int:
    """Run the stages and print one line each (and --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=2_000, help="objects per partition file")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scaling-objects", type=int, default=10_000, help="objects for the 1 vs 2 workers run (0: skip)")
    ap.add_argument("--sample", type=int, default=100_000, help="objects the UMAP is fitted on")
    ap.add_argument("--model", default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--map-only", type=int, default=None, metavar="N", help="only stage 4, on N synthetic vectors")
    args = ap.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    if args.map_only:
        t0 = time.perf_counter()
        synthetic_job_folder(work / "embeddings", args.map_only)
        print(f"wrote {args.map_only} synthetic vectors in {time.perf_counter() - t0:.1f} s; {load_avg()}", flush=True)
        results["map"] = map_stage(work / "embeddings", args.workers, args.sample)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    model = _model(args)
    print(f"model {model}; {load_avg()}", flush=True)

    t0 = time.perf_counter()
    sim = simulate_partitions(work / "catalog", args.objects, args.chunk, args.seed)
    results["simulate"] = dict(sim, seconds=time.perf_counter() - t0, load=load_avg())
    print(f"simulate: {sim['objects']} objects, {sim['observations']} observations in {sim['files']} files, "
          f"{results['simulate']['seconds']:.1f} s ({load_avg()})", flush=True)

    if args.scaling_objects:
        n_files = max(1, -(-args.scaling_objects // args.chunk))
        subset = work / "subset"
        subset.mkdir(exist_ok=True)
        for f in sorted((work / "catalog").glob("*.parquet"))[:n_files]:
            shutil.copy(f, subset / f.name)
        # a first, discarded run pays the one-off costs (imports from a cold disk, file cache)
        first = sorted(subset.glob("*.parquet"))[0]
        (work / "warm").mkdir(exist_ok=True)
        shutil.copy(first, work / "warm" / first.name)
        _embed(work / "warm", model, work / "warm-out", 1, args.batch_size)
        runs = [_embed(subset, model, work / f"scaling-{w}", w, args.batch_size) for w in (1, 2)]
        results["scaling"] = runs
        print(f"scaling on {runs[0]['objects']} objects: 1 worker {runs[0]['objects_per_s']:.1f} objects/s, "
              f"2 workers {runs[1]['objects_per_s']:.1f} objects/s (x{runs[1]['objects_per_s'] / runs[0]['objects_per_s']:.2f}; "
              f"{runs[1]['load']})", flush=True)

    out = work / "embeddings"
    embed = _embed(work / "catalog", model, out, args.workers, args.batch_size)
    results["embed"] = embed
    print(f"embed: {embed['objects']} objects in {embed['seconds']:.1f} s = {embed['objects_per_s']:.1f} objects/s "
          f"on {args.workers} workers; peak RSS per worker {embed['peak_rss_mb_per_worker']} MB; "
          f"failed partitions {embed['failed']} ({embed['load']})", flush=True)

    from explorer.scale import read_embeddings

    results["map"] = map_stage(out, args.workers, args.sample)

    t0 = time.perf_counter()
    got = read_embeddings(out)
    results["read_back_s"] = time.perf_counter() - t0
    assert np.isfinite(got.coords).all() and len(got.object_ids) == args.objects
    print(f"read back embeddings + map without recomputing: {results['read_back_s']:.1f} s", flush=True)
    total = results["simulate"]["seconds"] + embed["seconds"] + results["map"]["seconds"]
    print(f"end to end (simulate + embed + map): {total:.1f} s = {args.objects / total:.1f} objects/s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
