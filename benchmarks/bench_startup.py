"""Start-up benchmark: ``import umap`` + the first map in a fresh interpreter, after the install step.

    python benchmarks/bench_startup.py [--objects 3000 100000] [--repeats 3] [--home DIR] [--empty]

1. The install step on a fresh ``LCEXPLORER_HOME`` (a temporary one unless ``--home``): ``python -m
   explorer.numba_cache`` (what ``scripts/start-app`` and ``scripts/run-tests`` run), timed; run again,
   timed (a filled cache).
2. Per size, ``--repeats`` times, interleaved: a fresh interpreter that configures the cache as the
   served app does (``explorer.numba_cache.configure()``, called by ``explorer.dashboard``), imports
   ``umap``, fits a map of N synthetic 256-d objects (``Projection()``, the app's settings) and then
   fits it again in the same process (the warm fit). Reported: import, first fit, warm fit and the
   ratio (import + first fit) / warm fit (target <= 1.2), in wall time and in the child's CPU time
   (user + system, all its threads: what other processes' load does not change). The same child with
   umap-learn's functions left uncached (``--no-umap-cache`` in the child: the behaviour before,
   pynndescent cached only) runs beside it for comparison.
3. ``--empty``: the same child on an empty numba cache (what every fresh process paid without the
   install step), once per size.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import load_avg  # noqa: E402


def child(n: int, umap_cache: bool) -> dict:
    """In a fresh interpreter: configure, import umap, first fit, warm fit (seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    from explorer import numba_cache

    if umap_cache:
        numba_cache.configure()
    else:  # the behaviour before: the store's folder for pynndescent's own cached functions only
        os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache.cache_dir()))
    import umap  # noqa: F401

    t_import, c_import = time.perf_counter() - t0, time.process_time() - c0
    import numpy as np

    from explorer.projection import Projection

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(20, 256)).astype(np.float32)
    X = centres[rng.integers(0, 20, n)] + rng.normal(size=(n, 256)).astype(np.float32)
    t, c = time.perf_counter(), time.process_time()
    first = Projection(cache=False).fit(X).embedding_
    t_first, c_first = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    again = Projection(cache=False).fit(X).embedding_
    t_warm, c_warm = time.perf_counter() - t, time.process_time() - c
    return {"import_s": t_import, "first_fit_s": t_first, "warm_fit_s": t_warm, "import_cpu_s": c_import,
            "first_fit_cpu_s": c_first, "warm_fit_cpu_s": c_warm,
            "same_map": bool(np.array_equal(first, again)), "load": os.getloadavg()[0]}


def run_child(n: int, env: dict, umap_cache: bool) -> dict:
    """One fresh interpreter (``nice`` as the caller) running :func:`child`."""
    cmd = [sys.executable, __file__, "--_child", str(n)] + ([] if umap_cache else ["--no-umap-cache"])
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def install_step(env: dict) -> float:
    """``python -m explorer.numba_cache`` (the install step), timed."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "explorer.numba_cache"], env=env, cwd=ROOT, check=True)
    return time.perf_counter() - t


def ratio(r: dict, clock: str = "") -> float:
    """(import + first fit) / warm fit, in wall time (``clock=""``) or CPU time (``"_cpu"``)."""
    return (r[f"import{clock}_s"] + r[f"first_fit{clock}_s"]) / r[f"warm_fit{clock}_s"]


def fmt(r: dict) -> str:
    """One child's figures on a line: wall time, then CPU time (robust to other processes' load)."""
    return (f"wall: import {r['import_s']:5.1f} + first fit {r['first_fit_s']:6.1f} s, warm fit "
            f"{r['warm_fit_s']:6.1f} s, ratio {ratio(r):.2f}; CPU: import {r['import_cpu_s']:5.1f} + first fit "
            f"{r['first_fit_cpu_s']:6.1f} s, warm fit {r['warm_fit_cpu_s']:6.1f} s, ratio {ratio(r, '_cpu'):.2f}; "
            f"same map {r['same_map']}; load {r['load']:.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, nargs="+", default=[3000, 100_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--home", default=None, help="LCEXPLORER_HOME to use (default: a new temporary one)")
    ap.add_argument("--empty", action="store_true", help="also a child on an empty numba cache, once per size")
    ap.add_argument("--skip-before", action="store_true", help="no child with umap-learn's functions uncached")
    ap.add_argument("--_child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-umap-cache", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        print(json.dumps(child(args._child, not args.no_umap_cache)))
        return 0

    home = Path(args.home or tempfile.mkdtemp(prefix="lcx-startup-"))
    env = dict(os.environ, LCEXPLORER_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("NUMBA_CACHE_DIR", None)
    print(f"home {home}; {load_avg()}", flush=True)
    print(f"install step (python -m explorer.numba_cache): {install_step(env):.1f} s; {load_avg()}", flush=True)
    print(f"install step again (cache filled): {install_step(env):.1f} s; {load_avg()}", flush=True)
    for n in args.objects:
        rows = {"after": [], "before": []}
        for _ in range(args.repeats):
            rows["after"].append(run_child(n, env, True))
            print(f"  {n:7d} objects, after install:        {fmt(rows['after'][-1])}", flush=True)
            if not args.skip_before:
                rows["before"].append(run_child(n, env, False))
                print(f"  {n:7d} objects, umap-learn uncached:  {fmt(rows['before'][-1])}", flush=True)
        for label, rs in rows.items():
            if rs:
                print(f"{n:7d} objects, {label}: median ratio (import + first fit) / warm fit over {len(rs)} runs: "
                      f"wall {statistics.median(ratio(r) for r in rs):.2f}, "
                      f"CPU {statistics.median(ratio(r, '_cpu') for r in rs):.2f}", flush=True)
        if args.empty:
            empty = tempfile.mkdtemp(prefix="lcx-numba-empty-")
            print(f"  {n:7d} objects, empty numba cache:    "
                  f"{fmt(run_child(n, dict(env, NUMBA_CACHE_DIR=empty), True))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
