"""GPU benchmark (not a test): end-to-end vs raw windows/s and the GPU-CPU difference, exact and fast math.

    python benchmarks/bench_gpu.py [--model NAME_OR_ONNX] [--objects 25000] [--batch-sizes 1024 4096]

Catalog: ../shared/data/eros1_lmc, R band, repeated until ``--objects`` objects (the issue's 25,490).
For each CUDA mode:
  exact  providers="cuda" (use_tf32=0, the default: float32 matrix products)
  fast   providers="cuda", fast_math=True (TF32)
it measures
  (e) ``embed_catalog`` end to end (windowing, preprocessing, copies, reduction) per batch size, with
      pipelined batches (``pipeline=True``: the default on CUDA, the CPU prepares batch n+1 while the
      GPU runs batch n) and, for comparison, sequential batches (``pipeline=False``),
  (a) raw ``session.run`` on pre-built input tensors (the model alone; same session and batch size),
  the ratio e/a (pipelined; the sequential ratio beside it), and the max |GPU - CPU| of the mean
  embeddings on ``--compare-objects`` objects (the CPU provider's result as reference; max |embedding|
  printed for scale).
Exits with status 2 and a message when onnxruntime has no CUDA provider here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchlib import ROOT, SHARED, load_avg, median_time

sys.path.insert(0, str(ROOT / "tests"))




def _catalog(data: Path, n_objects: int):
    """The R band of ``data`` repeated (fresh ids) until it holds ``n_objects`` objects."""
    import pandas as pd

    from explorer.catalog import Catalog

    name = data.name
    lc = pd.read_parquet(data / f"{name}.lightcurves.parquet")
    lc = lc[lc.band == "R"]
    n_src = lc.object_id.nunique()
    reps = max(1, -(-n_objects // n_src))
    parts = [lc.assign(object_id=lc.object_id.astype(str) + f"#{k}") for k in range(reps)]
    big = pd.concat(parts, ignore_index=True)
    keep = big.object_id.drop_duplicates().iloc[:n_objects]
    big = big[big.object_id.isin(keep)]
    return Catalog.from_long(big.object_id.values, big.time.values, big.mag.values, big.mag_err.values,
                             name=f"{name}-x{reps}")


def _model_source(args) -> str:
    if args.model:
        return args.model
    from explorer.store import list_store

    if "astromer1-macho" in [e.name for e in list_store()]:
        return "astromer1-macho"
    from standin_models import build_astromer_standin

    return str(build_astromer_standin(Path(tempfile.mkdtemp()) / "astromer1-sized.onnx", width=256, n_blocks=2,
                                      n_heads=4, ffn=128))


def _load(source: str, device: str, fast_math: bool):
    from explorer.engine import load_model

    return load_model(source, providers=device, **({"fast_math": True} if fast_math else {}))


def measure_mode(source: str, catalog, fast_math: bool, batch_sizes, repeats: int, device: str = "cuda") -> dict:
    """End-to-end and raw windows/s of one CUDA mode for each batch size."""
    from explorer.engine import Astromer1
    from explorer.engine.runner import use_pipeline
    from explorer.engine.windows import build_windows

    model = _load(source, device, fast_math)
    embedder = Astromer1(model, output="mean")
    windows = build_windows(embedder.segments(catalog)[0], embedder.reduction, embedder.seq_len)
    n_win = len(windows.row)
    arrays = embedder.model_arrays(catalog)
    rows = []
    for bs in batch_sizes:
        embedder.embed_catalog(catalog, batch_size=bs, cache=False)    # warm-up: CUDA kernels, allocator
        t_e2e = median_time(lambda bs=bs: embedder.embed_catalog(catalog, batch_size=bs, cache=False,
                                                                  pipeline=True), repeats)
        t_seq = median_time(lambda bs=bs: embedder.embed_catalog(catalog, batch_size=bs, cache=False,
                                                                  pipeline=False), repeats)
        feeds = []
        for b0 in range(0, n_win, bs):
            buffers = embedder.make_buffers(min(bs, n_win - b0))
            feeds.append({k: np.array(v) for k, v in embedder.prepare(windows.obs[b0:b0 + bs], arrays, buffers).items()})

        def raw(feeds=feeds):
            for f in feeds:
                model.session.run(["mean"], f)

        raw()
        t_raw = median_time(raw, repeats)
        rows.append({"batch_size": bs, "windows": n_win, "end_to_end_windows_per_s": n_win / t_e2e,
                     "sequential_windows_per_s": n_win / t_seq, "raw_windows_per_s": n_win / t_raw,
                     "ratio": t_raw / t_e2e, "sequential_ratio": t_raw / t_seq,
                     "pipelined_by_default": use_pipeline(embedder), "load": load_avg()})
    return {"fast_math": fast_math, "providers": list(model.options.providers), "identity": model.sha256,
            "rows": rows}


def gpu_cpu_difference(source: str, catalog, fast_math: bool, device: str = "cuda") -> dict:
    """max |GPU - CPU| over the mean embeddings of ``catalog``'s objects."""
    from explorer.engine import embed_catalog

    cpu = embed_catalog(catalog, _load(source, "cpu", False), cache=False).matrix()
    gpu = embed_catalog(catalog, _load(source, device, fast_math), cache=False).matrix()
    return {"objects": len(catalog), "max_abs_diff": float(np.nanmax(np.abs(gpu - cpu))),
            "max_abs_embedding": float(np.nanmax(np.abs(cpu)))}


def main(argv=None) -> int:
    """Run both modes; print a table (and --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "eros1_lmc")
    ap.add_argument("--objects", type=int, default=25_490)
    ap.add_argument("--compare-objects", type=int, default=2_000)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--check-on-cpu", action="store_true",
                    help="run the same measurements on the CPU provider (exact mode only): checks the script "
                         "where there is no GPU; its figures are not GPU figures")
    args = ap.parse_args(argv)

    import onnxruntime as ort

    device = "cpu" if args.check_on_cpu else "cuda"
    if not args.check_on_cpu and "CUDAExecutionProvider" not in ort.get_available_providers():
        print(f"no CUDA here: onnxruntime {ort.__version__} offers {', '.join(ort.get_available_providers())}; "
              "install onnxruntime-gpu with a matching CUDA and run this on a machine with a GPU", file=sys.stderr)
        return 2
    source = _model_source(args)
    catalog = _catalog(args.data, args.objects)
    print(f"onnxruntime {ort.__version__}; model {source}; {catalog.summary()}; {load_avg()}", flush=True)
    small = _catalog(args.data, args.compare_objects)
    results = {"model": source, "objects": len(catalog), "modes": []}
    for fast in (False,) if args.check_on_cpu else (False, True):
        mode = measure_mode(source, catalog, fast, args.batch_sizes, args.repeats, device)
        mode["difference"] = gpu_cpu_difference(source, small, fast, device)
        results["modes"].append(mode)
        label = "fast (TF32)" if fast else "exact (float32)"
        for r in mode["rows"]:
            print(f"{label:<16} batch {r['batch_size']:5d}: end to end pipelined {r['end_to_end_windows_per_s']:9.0f} "
                  f"windows/s (sequential {r['sequential_windows_per_s']:9.0f}), raw {r['raw_windows_per_s']:9.0f} "
                  f"windows/s, ratio {r['ratio']:.2f} (sequential {r['sequential_ratio']:.2f}; "
                  f"pipelined by default here: {r['pipelined_by_default']}; {r['load']})", flush=True)
        d = mode["difference"]
        print(f"{label:<16} max |GPU - CPU| {d['max_abs_diff']:.2e} over {d['objects']} objects "
              f"(max |embedding| {d['max_abs_embedding']:.2f})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
