"""Benchmark of whole-catalog embedding (not a test).

    python benchmarks/bench_engine.py [--model PATH_OR_NAME] [--threads 2] [--repeats 5] [--quick]
    python benchmarks/bench_engine.py --families [KIND ...] [--objects 200] [--repeats 3]

Measures windows per second on ../shared/data/eros1_lmc (R band, non-overlapping windows) for
  (e) explorer.engine.embed_catalog (end to end: windowing, preprocessing, batches, reduction),
  (a) raw onnxruntime on pre-built input tensors (the model alone, same session and batch size),
  (b) light_curve.embed.Astromer1 called once per object (same session),
prints medians and ratios, the batch-size sweep, and the int8 mode (speed-up, cosine to float32).
Default model: the store's ``astromer1-macho`` when installed, else an Astromer-1-sized stand-in
(2 blocks, d=256, 4 heads, FFN 128: about 344 MFLOP per window).

``--families``: for every model family (or those named), ours (``embed_catalog``, whole catalog in
batches) against ``light_curve.embed`` driving the same session once per object, on real light curves
of the family's survey (ZTF BTS, ELAsTiCC, EROS R), with a stand-in of the family's real interface and
embedding width, two transformer blocks deep (tests/standin_models.py). Prints objects/s and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# kind -> (catalog, band filter, value kind, stand-in options, our options, light_curve options, call)
LSST = {"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5}
ZTF = {"g": 0, "r": 1, "i": 2}
FAMILY_CASES = {
    "astromer1": ("eros1_lmc", "R", "mag", dict(width=256, n_blocks=2, n_heads=4, ffn=128), {}, {},
                  lambda m, t, v, e, b: m(t, v)),
    "astromer1-ztf": ("ztf_bts", "g", "mag", dict(width=256, n_blocks=2, n_heads=4, ffn=128), {}, {},
                      lambda m, t, v, e, b: m(t, v)),
    "atcat": ("elasticc_sim_fink", None, "flux", dict(width=384, n_blocks=2, n_heads=4),
              dict(band_groups=LSST), dict(band_groups=LSST), lambda m, t, v, e, b: m(t, v, e, b)),
    "atat": ("elasticc_sim_fink", None, "flux", dict(width=192, n_blocks=2, n_heads=4),
             dict(band_groups=LSST, reduction="beginning"), dict(band_groups=LSST, reduction="beginning"),
             lambda m, t, v, e, b: m(t, v, b)),
    "astraclr": ("ztf_bts", None, "mag", dict(width=256, n_blocks=2, n_heads=4),
                 dict(band_groups=ZTF), dict(band_groups=ZTF), lambda m, t, v, e, b: m(t, v, e, b)),
    "moment1": ("eros1_lmc", "R", "mag", dict(width=512, n_blocks=2), dict(size="small"), dict(size="small"),
                lambda m, t, v, e, b: m(v)),
    "chronos-bolt": ("eros1_lmc", "R", "mag", dict(width=256, n_blocks=2), dict(size="tiny"), dict(size="tiny"),
                     lambda m, t, v, e, b: m(v)),
    "chronos2": ("eros1_lmc", "R", "mag", dict(width=768, n_blocks=2), {}, {}, lambda m, t, v, e, b: m(v)),
}


def bench_families(kinds, *, threads: int, repeats: int, objects: int, data_root: Path) -> int:
    """Ours vs light_curve.embed per family (objects/s, same session, same light curves)."""
    import pandas as pd

    import light_curve.embed as lce
    from benchlib import load_avg
    from explorer.catalog import Catalog
    from explorer.engine import FAMILIES, load_model, model_class
    from standin_models import STANDIN_BUILDERS

    folder = Path(tempfile.mkdtemp())
    print(f"families, {threads} threads, medians of {repeats} runs, {load_avg()}")
    print(f"{'family':14s} {'catalog':18s} {'objects':>7s} {'windows':>7s} {'ours obj/s':>10s} {'lc obj/s':>9s} "
          f"{'ratio':>6s}")
    for kind in kinds:
        name, band, value_kind, build, ours_opts, lc_opts, call = FAMILY_CASES[kind]
        fam = FAMILIES[kind]
        size_dim = {"d_model": fam.sizes[ours_opts["size"]]} if "size" in ours_opts else {}
        model = load_model(STANDIN_BUILDERS[kind](folder / f"{kind}.onnx", **build, **size_dim), kind=kind,
                           threads=threads)
        lc = pd.read_parquet(data_root / name / f"{name}.lightcurves.parquet")
        if band is not None:
            lc = lc[lc.band == band]
        lc = lc[lc.object_id.isin(lc.object_id.drop_duplicates().iloc[:objects])]
        col = "mag" if value_kind == "mag" else "flux"
        cat = Catalog.from_long(lc.object_id.values, lc.time.values, lc[col].values, lc[col + "_err"].values,
                                lc.band.values, value_kind=value_kind, name=name)
        ours = model_class(kind)(model, **ours_opts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(lce, fam.class_name)(model.session, **lc_opts)
        curves = [(cat.time[a:b], cat.value[a:b], cat.error[a:b], np.asarray(cat.bands)[cat.band[a:b]])
                  for a, b in zip(cat.offsets[:-1], cat.offsets[1:])]
        res = ours.embed_catalog(cat, cache=False)

        def per_object():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for t, v, e, b in curves:
                    call(theirs, t, v, e, b)

        # interleaved, so that a change of the machine's load hits both sides alike
        times = {"ours": [], "lc": []}
        for _ in range(repeats):
            times["ours"].append(median_time(lambda: ours.embed_catalog(cat, cache=False), 1))
            times["lc"].append(median_time(per_object, 1))
        t_ours, t_lc = statistics.median(times["ours"]), statistics.median(times["lc"])
        print(f"{kind:14s} {name + (' ' + band if band else ''):18s} {len(cat):7d} {res.meta['n_windows']:7d} "
              f"{len(cat) / t_ours:10.1f} {len(cat) / t_lc:9.1f} {t_lc / t_ours:6.2f}", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="store name, Hub alias or .onnx path")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--objects", type=int, default=None, help="embed only the first N objects")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "eros1_lmc"))
    ap.add_argument("--quick", action="store_true", help="200 objects, 2 repeats, short batch sweep")
    ap.add_argument("--families", nargs="*", default=None, metavar="KIND",
                    help="ours vs light_curve.embed per family (all families when no KIND is given)")
    args = ap.parse_args(argv)
    if args.families is not None:
        kinds = args.families or list(FAMILY_CASES)
        unknown = sorted(set(kinds) - set(FAMILY_CASES))
        if unknown:
            ap.error(f"unknown families {unknown}; expected some of {', '.join(FAMILY_CASES)}")
        return bench_families(kinds, threads=args.threads, repeats=args.repeats, objects=args.objects or 200,
                              data_root=Path(args.data).parent)
    if args.quick:
        args.objects = args.objects or 200
        args.repeats = min(args.repeats, 2)

    import onnxruntime as ort
    import pandas as pd

    from explorer.catalog import Catalog
    from explorer.engine import Astromer1, load_model
    from explorer.engine.windows import build_windows

    source = args.model
    if source is None:
        from explorer.store import list_store

        names = [e.name for e in list_store()]
        if "astromer1-macho" in names:
            source = "astromer1-macho"
        else:
            from standin_models import build_astromer_standin

            source = build_astromer_standin(Path(tempfile.mkdtemp()) / "astromer1-sized.onnx", width=256,
                                            n_blocks=2, n_heads=4, ffn=128)
    model = load_model(source, threads=args.threads)
    name = Path(args.data).name
    lc = pd.read_parquet(Path(args.data) / f"{name}.lightcurves.parquet")
    lc = lc[lc.band == "R"]
    if args.objects:
        lc = lc[lc.object_id.isin(lc.object_id.drop_duplicates().iloc[: args.objects])]
    cat = Catalog.from_long(lc.object_id.values, lc.time.values, lc.mag.values, lc.mag_err.values, name=name)
    print(f"model {model.name} ({model.kind}), {ort.__version__}, threads {args.threads}; "
          f"catalog {name} R band: {len(cat)} objects, {cat.n_observations} observations")

    embedder = Astromer1(model, output="mean")
    windows = build_windows(embedder.segments(cat)[0], embedder.reduction, embedder.seq_len)
    n_win = len(windows.row)

    # batch size sweep, end to end
    sweep = (16, 64) if args.quick else (16, 32, 64, 128)
    rates = {}
    for bs in sweep:
        t = median_time(lambda: embedder.embed_catalog(cat, batch_size=bs, cache=False), max(1, args.repeats // 2))
        rates[bs] = n_win / t
        print(f"  batch {bs:4d}: {rates[bs]:8.1f} windows/s end to end")
    best = max(rates, key=rates.get)

    # (a) raw onnxruntime on pre-built tensors, same batch size
    arrays = embedder.model_arrays(cat)
    feeds = []
    for b0 in range(0, n_win, best):
        buffers = embedder.make_buffers(min(best, n_win - b0))
        feeds.append(embedder.prepare(windows.obs[b0:b0 + best], arrays, buffers))
    session = model.session

    def raw():
        for f in feeds:
            session.run(["mean"], f)

    def ours():
        embedder.embed_catalog(cat, batch_size=best, cache=False)

    t_raw = median_time(raw, args.repeats)
    t_ours = median_time(ours, args.repeats)

    # (b) light_curve.embed, one call per object
    import light_curve.embed as lce

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lce.Astromer1(session, output="mean")
    curves = [(cat.time[a:b], cat.value[a:b]) for a, b in zip(cat.offsets[:-1], cat.offsets[1:])]

    def per_object():
        for t, m in curves:
            ref(t, m)

    t_lc = median_time(per_object, max(1, args.repeats // 2))

    # overhead alone: the same end-to-end call with a session that returns zeros at once
    class ZeroSession:
        def get_inputs(self):
            return session.get_inputs()

        def run(self, outputs, feeds):
            return [np.zeros((len(feeds["input"]), embedder.dim), np.float32)]

    model.session = ZeroSession()
    t_over = median_time(ours, args.repeats)
    model.session = session
    r_ours, r_raw, r_lc = n_win / t_ours, n_win / t_raw, n_win / t_lc
    print(f"windows: {n_win}, batch size {best}, medians of {args.repeats} runs")
    print(f"  (e) embed_catalog        {r_ours:8.1f} windows/s  ({t_ours:.2f} s)")
    print(f"  (a) raw onnxruntime      {r_raw:8.1f} windows/s  ({t_raw:.2f} s)   e/a = {r_ours / r_raw:.3f}")
    print(f"  (b) light_curve per obj  {r_lc:8.1f} windows/s  ({t_lc:.2f} s, {1e3 * t_lc / len(cat):.1f} ms/object)"
          f"   e/b = {r_ours / r_lc:.2f}")

    print(f"  overhead without the model: {1e6 * t_over / n_win:.1f} us/window "
          f"({100 * t_over / t_ours:.1f}% of the end-to-end time)")

    # int8 mode
    q = load_model(source, threads=args.threads, quantize=True)
    q_embedder = Astromer1(q, output="mean")
    t_q = median_time(lambda: q_embedder.embed_catalog(cat, batch_size=best, cache=False), args.repeats)
    a = embedder.embed_catalog(cat, batch_size=best, cache=False).embeddings.astype(np.float64)
    b = q_embedder.embed_catalog(cat, batch_size=best, cache=False).embeddings.astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"  int8 embed_catalog       {n_win / t_q:8.1f} windows/s  speed-up {t_ours / t_q:.2f}x; "
          f"cosine to float32: median {np.median(cos):.5f}, min {cos.min():.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
