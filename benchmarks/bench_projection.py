"""Benchmark the UMAP projection: cold (numba JIT) vs warm fits at 10k and 100k objects, and cached re-runs.

    python benchmarks/bench_projection.py                  # 10k and 100k objects, 256-d, 3 repeats
    python benchmarks/bench_projection.py --quick          # 10k objects, 1 repeat
    python benchmarks/bench_projection.py --embeddings a.npy --embeddings b.npy   # real matrices
    python benchmarks/bench_projection.py --choices 100000 # each speed choice at 100k, one at a time
    python benchmarks/bench_projection.py --choices 100000 --only "sample 35k" --cold-options '{"sample": 35000}'
    python benchmarks/bench_projection.py --real-sampling  # EROS-1: map quality fitted whole vs on a sample
    python benchmarks/bench_projection.py --wide           # PCA of few objects x many bands: old vs bounded

``--wide``: the PCA before UMAP (and of the preview) on matrices shaped like a many-band catalog embedded
side by side (12 objects x bands x 256), and one tall-and-wide matrix: the covariance eigen-decomposition
every shape used before (skipped where it takes minutes) against the bounded PCA of ``projection/pca.py``
(Gram or randomized SVD), medians of ``--repeats``, with the traced peak memory of one run.

``--choices N``: the map of N synthetic objects with each choice of issue 11 measured on its own (warm,
one process): PCA to 50 dimensions or not, exact (brute-force BLAS) or approximate (NN-descent)
neighbours, UMAP's default epochs or fewer, fitting a seeded sample + ``transform`` for the rest; then
the chosen default cold in fresh interpreters with an empty and with a filled numba cache
(``NUMBA_CACHE_DIR``). Each row also gives the 2-D neighbour purity (fraction of an object's 10 map
neighbours in its own synthetic cluster, 5000 objects) and trustworthiness@10 (3000 objects), so a
faster choice is not a worse map.

"cold" is the first fit in a fresh interpreter; "jit" is the numba compilation measured on its own
(a fresh interpreter fitting 4500 points: the exact-neighbour path of maps up to 50k objects; NN-descent, above 50k, compiles on first use); "warm" is the
median of fits with the cache off after warm-up;
"cached (memory)" and "cached (disk)" re-run the same fit with the in-process and on-disk caches.
Numbers printed here are the ones to report; tests never measure time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def clustered_embeddings(n: int, dim: int, n_clusters: int = 20, seed: int = 0, return_labels: bool = False):
    """Synthetic float32 embeddings: Gaussian clusters of different widths around random centres
    (and the cluster of each row when ``return_labels``)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_clusters, dim))
    widths = rng.uniform(0.5, 1.5, size=n_clusters)
    labels = rng.integers(0, n_clusters, size=n)
    X = (centres[labels] + rng.normal(size=(n, dim)) * widths[labels, None]).astype(np.float32)
    return (X, labels) if return_labels else X


def _load(spec: str) -> np.ndarray:
    if spec.startswith("synthetic:"):
        _, n, dim = spec.split(":")
        return clustered_embeddings(int(n), int(dim))
    return np.load(spec).astype(np.float32)


def _projection(args, **extra):
    from explorer.projection import Projection

    return Projection(
        n_neighbors=args.n_neighbors,
        min_dist=args.min_dist,
        metric=args.metric,
        random_state=42,
        n_epochs=args.n_epochs,
        init=args.init,
        low_memory=not args.high_memory,
        **extra,
    )


def _child(args) -> None:
    """Run inside a fresh interpreter: time imports + one fit; prints one JSON line."""
    X = _load(args.child)
    t0 = time.perf_counter()
    import umap  # noqa: F401  (import time is part of a cold start)

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    _projection(args, cache=False, **json.loads(args.child_options or "{}")).fit(X)
    print(json.dumps({"import_s": t_import, "fit_s": time.perf_counter() - t0}))


CHOICES = [
    ("shipped defaults at this size (PCA 50, NN-descent, 200 epochs)", {"neighbours": "approximate"}),
    ("no PCA (256-d neighbours)", {"neighbours": "approximate", "pca": False}),
    ("exact neighbours (brute force)", {"neighbours": "exact"}),
    ("100 epochs", {"neighbours": "approximate", "n_epochs": 100}),
    ("exact neighbours + 100 epochs", {"neighbours": "exact", "n_epochs": 100}),
    ("sample 25k fit + transform the rest", {"sample": 25_000}),
    ("sample 50k + 100 epochs + transform", {"sample": 50_000, "n_epochs": 100}),
    ("sample 35k fit (exact neighbours) + transform", {"sample": 35_000}),
    ("sample 50k fit (exact neighbours) + transform", {"sample": 50_000}),
]


def _purity(coords: np.ndarray, labels: np.ndarray, k: int = 10, n: int = 5000) -> float:
    from sklearn.neighbors import NearestNeighbors

    pick = np.random.default_rng(1).choice(len(coords), min(n, len(coords)), replace=False)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords[pick])
    return float((labels[idx[:, 1:]] == labels[pick, None]).mean())


def _trust(X: np.ndarray, coords: np.ndarray, n: int = 3000) -> float:
    """Trustworthiness@10 of the map on a seeded sample (within-cluster structure, not just clusters)."""
    from sklearn.manifold import trustworthiness

    pick = np.random.default_rng(2).choice(len(coords), min(n, len(coords)), replace=False)
    return float(trustworthiness(X[pick], coords[pick], n_neighbors=10))


def choices(args, n: int) -> dict:
    """Each speed choice on its own at ``n`` objects (warm), then the chosen default cold (numba cache)."""
    from benchlib import load_avg
    from explorer.projection import Projection, warm_up

    X, labels = clustered_embeddings(n, args.dim, return_labels=True)
    if not args.skip_warm:
        print(f"warm-up: {warm_up(args.metric):.1f} s; {load_avg()}", flush=True)
        # compile NN-descent too (the path above 50k) so no row pays a JIT
        Projection(n_epochs=5, cache=False, neighbours="approximate").fit(X[:6000])
    rows = []
    picked = [(name, options) for name, options in CHOICES
              if not args.only or any(word in name for word in args.only)]
    if args.skip_warm:
        picked = []
    elif not picked:
        raise SystemExit(f"--only {args.only} matches no choice; choices: {[name for name, _ in CHOICES]}")
    for name, options in picked:
        t0 = time.perf_counter()
        coords = Projection(cache=False, **options).fit_transform(X)
        row = {"choice": name, "options": options, "seconds": time.perf_counter() - t0,
               "purity10": _purity(coords, labels), "trust10": _trust(X, coords), "load": load_avg()}
        rows.append(row)
        print(f"{name:<62} {row['seconds']:6.1f} s  purity@10 {row['purity10']:.3f}  "
              f"trustworthiness@10 {row['trust10']:.3f}  ({row['load']})", flush=True)
    cold = {}
    if args.no_cold:
        return {"n": n, "rows": rows, "cold": cold}
    cold_options = json.loads(args.cold_options or "{}")   # {}: the shipped defaults
    with tempfile.TemporaryDirectory() as numba_dir:
        for label in ("empty numba cache", "filled numba cache"):
            os.environ["NUMBA_CACHE_DIR"] = numba_dir
            run = _fresh(f"synthetic:{n}:{args.dim}", args, cold_options)
            cold[label] = run["fit_s"]
            cold[label + ", import umap"] = run["import_s"]
            print(f"cold fit {cold_options or 'shipped defaults'} ({label}): {cold[label]:.1f} s "
                  f"+ import umap {run['import_s']:.1f} s ({load_avg()})", flush=True)
    return {"n": n, "rows": rows, "cold": cold, "cold_options": cold_options}


def real_sampling(fractions, spec: str = "features", bands=("R", "B")) -> list:
    """EROS-1 (../shared, real classes): the map fitted whole vs on a seeded fraction + ``transform``.

    The synthetic clusters are too well separated to tell sample sizes apart; on EROS-1 the same fractions
    of the catalog as the 100k choices (25k, 35k, 50k of 100k) show what sampled fitting costs a real map:
    kNN5 accuracy of the classes on the map (5-fold CV) and trustworthiness@10 (``explorer.quality``).
    """
    from benchlib import SHARED, load_avg
    from explorer.catalog import load_catalog
    from explorer.projection import Projection
    from explorer.quality import map_quality
    from explorer.representations import compute_representation

    eros = load_catalog(SHARED / "data" / "eros1_lmc")
    rep = compute_representation(eros, spec, bands=list(bands))
    n = int(np.isfinite(rep.matrix).any(axis=1).sum())
    rows = []
    for fraction in fractions:
        sample = None if fraction >= 1 else max(10, int(round(fraction * n)))
        t0 = time.perf_counter()
        xy = Projection(column_weights=rep.column_weights(), sample=sample, cache=False).fit_transform(rep.matrix)
        seconds = time.perf_counter() - t0
        q = map_quality(eros.objects["label"], rep.matrix, xy, column_weights=rep.column_weights())
        rows.append({"fraction": fraction, "sample": sample, "objects": n, "knn5_2d": q.knn_2d,
                     "knn5_full": q.knn_full, "trust10": q.trustworthiness, "seconds": seconds, "load": load_avg()})
        print(f"EROS-1 {spec} {'+'.join(bands)}: fit on {fraction:.0%} ({sample or n} of {n}) + transform: "
              f"kNN5 2-D {q.knn_2d:.3f} (full space {q.knn_full:.3f}), trustworthiness@10 "
              f"{q.trustworthiness:.3f}, {seconds:.1f} s ({load_avg()})", flush=True)
    return rows


def _fresh(spec: str, args, options=None) -> dict:
    cmd = [sys.executable, __file__, "--child", spec, "--metric", args.metric, "--init", args.init,
           "--n-neighbors", str(args.n_neighbors), "--min-dist", str(args.min_dist),
           "--child-options", json.dumps(options or {})]
    if args.n_epochs is not None:
        cmd += ["--n-epochs", str(args.n_epochs)]
    if args.high_memory:
        cmd += ["--high-memory"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wide(repeats: int) -> list:
    """Old covariance PCA vs the bounded PCA on wide shapes; prints and returns one row per shape."""
    import tracemalloc

    from explorer.projection.pca import _by_covariance, _fit_pca

    def old(x, k):
        xc = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
        return _by_covariance(xc, k)

    def measure(fn, x, n):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(x, 50)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        fn(x, 50)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return statistics.median(times), peak / 1e6

    rows = []
    rng = np.random.default_rng(0)
    # (objects, dimensions, old method measured?): the covariance of 10,240 columns takes minutes and 840 MB
    for n, d, with_old in ((12, 4 * 256, True), (12, 16 * 256, True), (12, 40 * 256, False),
                           (5000, 16 * 256, True)):
        x = rng.normal(size=(n, d)).astype(np.float32)
        row = {"n": n, "dim": d}
        row["bounded_s"], row["bounded_peak_mb"] = measure(_fit_pca, x, repeats)
        if with_old:
            row["covariance_s"], row["covariance_peak_mb"] = measure(old, x, 1)
        rows.append(row)
        cov = (f"covariance {row['covariance_s']:.2f} s / {row['covariance_peak_mb']:.0f} MB"
               if with_old else "covariance not run")
        print(f"{n:>5} x {d:<6} bounded {row['bounded_s']:.3f} s / {row['bounded_peak_mb']:.0f} MB; {cov}",
              flush=True)
    return rows


def main(argv=None) -> int:
    """Entry point; prints a table of medians."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10k objects, 1 repeat")
    ap.add_argument("--embeddings", action="append", default=[], help=".npy matrix to use instead of synthetic")
    ap.add_argument("--no-cold", action="store_true", help="skip the fresh-interpreter runs")
    ap.add_argument("--metric", default="euclidean")
    ap.add_argument("--init", default="pca")
    ap.add_argument("--n-neighbors", type=int, default=15)
    ap.add_argument("--min-dist", type=float, default=0.1)
    ap.add_argument("--n-epochs", type=int, default=None)
    ap.add_argument("--high-memory", action="store_true", help="low_memory=False for the neighbour search")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--choices", type=int, default=None, metavar="N", help="measure each speed choice at N objects")
    ap.add_argument("--only", action="append", default=[], metavar="WORDS",
                    help="with --choices: only the choices whose name contains WORDS (repeatable)")
    ap.add_argument("--skip-warm", action="store_true", help="with --choices: only the cold fits")
    ap.add_argument("--cold-options", metavar="JSON",
                    help='with --choices: Projection options of the cold fits (default {}: the shipped defaults)')
    ap.add_argument("--real-sampling", type=float, nargs="*", default=None, metavar="FRACTION",
                    help="EROS-1 map quality fitted whole vs on these fractions (default 1 0.5 0.35 0.25)")
    ap.add_argument("--wide", action="store_true", help="PCA of few objects x many bands: old vs bounded")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-options", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    if args.wide:
        rows = wide(args.repeats)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0
    if args.real_sampling is not None:
        rows = real_sampling(args.real_sampling or [1.0, 0.5, 0.35, 0.25])
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0
    if args.choices:
        result = choices(args, args.choices)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return 0
    if args.quick:
        args.sizes, args.repeats = [10_000], 1
    specs = args.embeddings or [f"synthetic:{n}:{args.dim}" for n in args.sizes]

    print(f"cpus available: {len(os.sched_getaffinity(0))}; metric={args.metric} init={args.init} "
          f"n_epochs={args.n_epochs} low_memory={not args.high_memory}")
    results = {"cpus": len(os.sched_getaffinity(0)), "runs": []}
    if not args.no_cold:
        jit = _fresh("synthetic:4500:16", args)
        results["jit_s"] = jit["fit_s"]
        print(f"numba JIT warm-up (fresh interpreter, 4500 points): {jit['fit_s']:.1f} s "
              f"(+ import umap {jit['import_s']:.1f} s)")

    from explorer.projection import clear_memory_cache, warm_up

    # JIT in this process; 4500 points because UMAP uses NN-descent (compiled separately) above 4096.
    print(f"warm-up in this process: {warm_up(args.metric):.1f} s", flush=True)
    for spec in specs:
        X = _load(spec)
        row = {"input": spec, "n": len(X), "dim": X.shape[1]}
        if not args.no_cold:
            row["cold_s"] = _fresh(spec, args)["fit_s"]
        warm = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            _projection(args, cache=False).fit(X)
            warm.append(time.perf_counter() - t0)
        row["warm_median_s"] = statistics.median(warm)
        row["warm_all_s"] = warm
        with tempfile.TemporaryDirectory() as cache_dir:
            _projection(args, cache_dir=cache_dir).fit(X)  # fills both caches
            p = _projection(args, cache_dir=cache_dir)
            t0 = time.perf_counter()
            p.fit(X)
            row["cached_memory_s"] = time.perf_counter() - t0
            assert p.cache_hit_ == "memory", p.cache_hit_
            clear_memory_cache()
            p = _projection(args, cache_dir=cache_dir)
            t0 = time.perf_counter()
            p.fit(X)
            row["cached_disk_s"] = time.perf_counter() - t0
            assert p.cache_hit_ == "disk", p.cache_hit_
        results["runs"].append(row)
        cold = f"cold {row['cold_s']:.1f} s, " if "cold_s" in row else ""
        print(f"{row['n']:>7} x {row['dim']:<4} {cold}warm median {row['warm_median_s']:.1f} s "
              f"(of {args.repeats}: {', '.join(f'{w:.1f}' for w in warm)}), cached re-run: memory "
              f"{row['cached_memory_s'] * 1e3:.0f} ms, disk {row['cached_disk_s'] * 1e3:.0f} ms", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
