"""Which representation makes the most readable map? kNN5 (full / 2-D) and trustworthiness per representation.

    python benchmarks/bench_representations.py            # eros1_lmc (R, B, R||B) and asas_richards2012
    python benchmarks/bench_representations.py --quick    # eros1_lmc features and atlas only, no timing repeats

Protocol (explorer.quality): StandardScaler (then the representation's block weights) + 5-NN, 5-fold
stratified CV shuffled with seed 0; 2-D = the same on the map of ``Projection()`` (UMAP, n_neighbors 15,
min_dist 0.1, euclidean, seed 42, standardised); trustworthiness@10 between the prepared full space and the
map. ASAS uses ``label_coarse`` with 'Other' left out. The models are the shared checkpoints converted into
a private store (``astromer1-macho``, ``astromer1-atlas``). Feature extraction time: median of 3 uncached
runs of ``Features`` on each EROS-1 band (the package's parallel batch call on every core).
Needs ../shared; prints a Markdown table and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import SHARED, load_avg  # noqa: E402


def ensure_models() -> None:
    """Convert the shared checkpoints into the (private) store unless already there."""
    from explorer.convert import import_checkpoint
    from explorer.store import list_store

    have = {e.name for e in list_store()}
    for name, file in (("astromer1-macho", "macho.zip"), ("astromer1-atlas", "atlas.zip")):
        if name not in have:
            import_checkpoint(SHARED / "models" / "checkpoints" / file, name=name, verify=False)


def measure(catalog, labels, spec: str, bands, exclude=()) -> dict:
    """Quality figures of one representation's map."""
    from explorer.projection import Projection
    from explorer.quality import map_quality
    from explorer.representations import compute_representation

    t0 = time.perf_counter()
    rep = compute_representation(catalog, spec, bands=bands)
    t_rep = time.perf_counter() - t0
    t0 = time.perf_counter()
    proj = Projection(column_weights=rep.column_weights())
    xy = proj.fit_transform(rep.matrix)
    t_map = time.perf_counter() - t0
    q = map_quality(labels, rep.matrix, xy, column_weights=rep.column_weights(), exclude=exclude)
    return {"q": q, "dim": rep.dim, "rep_s": t_rep, "map_s": t_map, "unmapped": int((~proj.valid_).sum())}


def feature_timing(catalog, bands, repeats: int) -> dict:
    """Median ms per object per band of uncached feature extraction."""
    from explorer.representations import Features

    out = {}
    for band in bands:
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            Features(bands=[band]).compute(catalog, cache=False)
            runs.append(time.perf_counter() - t0)
        out[band] = 1000 * statistics.median(runs) / len(catalog)
    return out


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--home", default=None, help="LCEXPLORER_HOME to use (default: a fresh temporary one)")
    args = ap.parse_args()
    if not (SHARED / "data").is_dir():
        sys.exit(f"../shared is absent ({SHARED}): this benchmark needs the real catalogs")
    os.environ["LCEXPLORER_HOME"] = args.home or tempfile.mkdtemp(prefix="lcx-bench-rep-")
    from explorer.catalog import load_catalog

    print(f"# representations benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {load_avg()})\n")
    ensure_models()
    eros = load_catalog(SHARED / "data" / "eros1_lmc")
    asas = load_catalog(SHARED / "data" / "asas_richards2012")
    cases = [
        ("EROS-1", eros, "label", (), "astromer1-macho", ["R"]),
        ("EROS-1", eros, "label", (), "astromer1-atlas", ["R"]),
        ("EROS-1", eros, "label", (), "astromer1-atlas", ["R", "B"]),
        ("EROS-1", eros, "label", (), "features", ["R"]),
        ("EROS-1", eros, "label", (), "features", ["B"]),
        ("EROS-1", eros, "label", (), "features", ["R", "B"]),
        ("EROS-1", eros, "label", (), "hybrid:astromer1-atlas", ["R", "B"]),
        ("ASAS", asas, "label_coarse", ("Other",), "astromer1-macho", ["V"]),
        ("ASAS", asas, "label_coarse", ("Other",), "astromer1-atlas", ["V"]),
        ("ASAS", asas, "label_coarse", ("Other",), "features", ["V"]),
        ("ASAS", asas, "label_coarse", ("Other",), "hybrid:astromer1-atlas", ["V"]),
    ]
    if args.quick:
        cases = [c for c in cases if c[0] == "EROS-1" and c[5] == ["R", "B"]]
    print("| catalog | representation | bands | dim | kNN5 full | kNN5 2-D | trustworthiness@10 | vectors s | map s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for name, cat, col, exclude, spec, bands in cases:
        r = measure(cat, cat.objects[col], spec, bands, exclude)
        q = r["q"]
        print(f"| {name} | {spec} | {'‖'.join(bands)} | {r['dim']} | {q.knn_full:.3f} | {q.knn_2d:.3f} | "
              f"{q.trustworthiness:.3f} | {r['rep_s']:.1f} | {r['map_s']:.1f} |", flush=True)
    if not args.quick:
        timing = feature_timing(eros, ["R", "B"], repeats=3)
        print(f"\nfeature extraction, EROS-1 ({len(eros)} objects, ~120 observations per band), median of 3: "
              + ", ".join(f"{b} {ms:.2f} ms/object" for b, ms in timing.items()))
    print(f"\nfinished with {load_avg()}")


if __name__ == "__main__":
    main()
