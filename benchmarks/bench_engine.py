"""Benchmark of whole-catalog embedding (not a test).

    python benchmarks/bench_engine.py [--model PATH_OR_NAME] [--threads 2] [--repeats 5] [--quick]
    python benchmarks/bench_engine.py --families [KIND ...] [--objects 200] [--repeats 3] [--small]
    python benchmarks/bench_engine.py --pipeline-compare [--batch-sizes 64 256] [--repeats 5]
    python benchmarks/bench_engine.py --ceiling [--batch-sizes 16 32 64 128] [--repeats 7] [--profile]

Measures windows per second on ../shared/data/eros1_lmc (R band, non-overlapping windows) for
  (e) explorer.engine.embed_catalog (end to end: windowing, preprocessing, batches, reduction),
  (a) raw onnxruntime on pre-built input tensors (the model alone, same session and batch size),
  (b) light_curve.embed.Astromer1 called once per object (same session),
prints medians and ratios, the batch-size sweep, and the int8 mode (speed-up, cosine to float32).
Default model: the store's ``astromer1-macho`` when installed, else an Astromer-1-sized stand-in
(2 blocks, d=256, 4 heads, FFN 128: about 344 MFLOP per window).

``--families``: for every model family (or those named), objects/s of ours (``embed_catalog``, whole
catalog in batches) against ``light_curve.embed`` driving the same session once per object, on real
light curves of the family's survey (ZTF BTS, ELAsTiCC, EROS R); the two are run interleaved and the
ratio is light_curve's time / ours. The model is a random-weight stand-in (tests/standin_models.py)
with the family's exact public ONNX interface and, by default, the published model's size: number of
transformer blocks, width, attention heads and feed-forward width of ``REAL_SIZES`` (sources and
estimates noted there), so that the model's share of the time is the real one. The stand-in's blocks
are plain (tanh) transformer blocks: the FLOPs of attention and feed-forward match, the smaller ops
(layer norms, GELU/gating, relative position biases) do not. ``--small`` uses the earlier quick
stand-ins instead (two blocks, FFN = width for most families), which make the model's share small
and so exaggerate the ratio.

``--pipeline-compare``: end to end with pipelined batches forced on and off (``pipeline=True/False``,
runs interleaved so a change of load hits both) against the raw session, per batch size: the figures
behind the default of ``explorer.engine.runner.use_pipeline``.

``--ceiling``: the raw session against the GEMM ceiling of the same model (``engine_ceiling.py``: plain
float32 GEMMs of the model's own shapes, same threads), per batch size, in wall time and in CPU time
(user + system of this process: what other processes' load changes least); ceiling and model passes
alternate, so a change of load hits both. The session runs as ``load_model`` makes it (the engine's
settings) and with ORT's thread spinning on and off. ``--profile`` adds onnxruntime's per-op profile
(time per op type against its share of the FLOPs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import median_time  # noqa: E402




# kind -> (catalog, band filter, value kind, small stand-in options (--small), our options, light_curve options, call)
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


# kind -> stand-in size of the published model: n_blocks (encoder layers), width (d_model), n_heads, ffn (d_ff).
# Only the encoder counts: every family's ONNX file embeds with the encoder alone.
REAL_SIZES = {
    # ../shared/models/ASTROMER-FORMAT.md (macho/atlas v1 table: 2 layers, 4 heads, d_model 256, dff 128),
    # explorer/convert/config.py (v1 keys layers/heads/head_dim/dff); light_curve.embed.Astromer1's
    # docstring ("2 layers, 4 attention heads", 256-d).
    "astromer1": dict(n_blocks=2, width=256, n_heads=4, ffn=128),
    # light_curve.embed.Astromer1ZTF's docstring: fine-tuned from Astromer 1, same architecture.
    "astromer1-ztf": dict(n_blocks=2, width=256, n_heads=4, ffn=128),
    # light-curve/atcat model card and light_curve.embed.ATCAT: 384-d outputs over 243 positions, causal.
    # Depth, heads and FFN are NOT stated in the installed sources or the card: best estimate 4 layers,
    # 6 heads of 64, FFN 4 x 384 (a conventional encoder of that width); to be replaced by the real
    # figures (arXiv:2511.00614 / codeberg.org/zorat/atcat config) when checked.
    "atcat": dict(n_blocks=4, width=384, n_heads=6, ffn=1536),
    # light-curve/atat model card: "3 attention layers, 4 heads, head dimension 48 (d_model = 192)",
    # 65 observations x 6 bands (390 tokens, light_curve.embed.ATAT). FFN not stated: estimate 4 x 192.
    "atat": dict(n_blocks=3, width=192, n_heads=4, ffn=768),
    # light-curve/astra-clr model card and light_curve.embed.AstraCLR: transformer, 512-d embedding,
    # 700 positions (300 g + 350 r + 50 i). Depth, width, heads and FFN are NOT published (upstream
    # repository private, paper in prep.): best estimate 4 layers of width 512, 8 heads, FFN 2048.
    "astraclr": dict(n_blocks=4, width=512, n_heads=8, ffn=2048),
    # MOMENT-1-small (AutonLab, Goswami et al. 2024) is a T5-small encoder: 6 layers (MOMENT paper: 40M
    # parameters), d_model 512 (light_curve.embed.Moment1 _EMBED_DIMS), 8 heads, d_ff 2048 (T5-small
    # config); 64 patches of 8 over a 512 context.
    "moment1": dict(n_blocks=6, width=512, n_heads=8, ffn=2048),
    # Chronos-Bolt tiny: d_model 256 (light_curve.embed.ChronosBolt _EMBED_DIMS); amazon/chronos-bolt-tiny
    # config.json (T5-efficient-tiny): 4 encoder layers, 4 heads, d_ff 1024 -- from the Hub config as
    # published, not checked against an installed copy.
    "chronos-bolt": dict(n_blocks=4, width=256, n_heads=4, ffn=1024),
    # Chronos-2: 768-d (light_curve.embed.Chronos2); amazon/chronos-2 config (120M parameters): 12 layers,
    # 12 heads, d_ff 3072 -- from the published config, not checked against an installed copy. Its group
    # attention (across the series of a group) is trivial for a single series and left out.
    "chronos2": dict(n_blocks=12, width=768, n_heads=12, ffn=3072),
}


def standin_options(kind: str, small: bool) -> dict:
    """Builder options of the family's stand-in: the published size, or the earlier quick one."""
    return dict(FAMILY_CASES[kind][3]) if small else dict(REAL_SIZES[kind])


def bench_families(kinds, *, threads: int, repeats: int, objects: int, data_root: Path, small: bool = False) -> int:
    """Ours vs light_curve.embed per family (objects/s, same session, same light curves)."""
    import pandas as pd

    import light_curve.embed as lce
    from benchlib import load_avg
    from explorer.catalog import Catalog
    from explorer.engine import FAMILIES, load_model, model_class
    from standin_models import STANDIN_BUILDERS

    folder = Path(tempfile.mkdtemp())
    print(f"families, {threads} threads, medians of {repeats} runs, "
          f"{'small stand-ins' if small else 'stand-ins of the published sizes'}, {load_avg()}")
    print(f"{'family':14s} {'catalog':18s} {'objects':>7s} {'windows':>7s} {'ours obj/s':>10s} {'lc obj/s':>9s} "
          f"{'ratio':>6s}")
    for kind in kinds:
        name, band, value_kind, _, ours_opts, lc_opts, call = FAMILY_CASES[kind]
        build = standin_options(kind, small)
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
              f"{len(cat) / t_ours:10.1f} {len(cat) / t_lc:9.1f} {t_lc / t_ours:6.2f}   "
              f"({build['n_blocks']} blocks, width {build['width']}, {build.get('n_heads', 1)} heads, "
              f"FFN {build.get('ffn') or build['width']}; {load_avg()})", flush=True)
    return 0


def _raw_feeds(embedder, cat, windows, batch_size: int) -> list:
    """Pre-built input tensors of every batch (for the raw-session figure)."""
    arrays = embedder.model_arrays(cat)
    n_win = len(windows.row)
    return [embedder.prepare(windows.obs[b0:b0 + batch_size], arrays,
                             embedder.make_buffers(min(batch_size, n_win - b0)))
            for b0 in range(0, n_win, batch_size)]


def compare_pipeline(embedder, cat, windows, batch_sizes, repeats: int) -> int:
    """End to end with pipelined batches on / off vs the raw session, per batch size (medians, interleaved)."""
    from benchlib import load_avg

    n_win = len(windows.row)
    session = embedder.model.session
    print(f"pipelined vs sequential batches: {n_win} windows, medians of {repeats} interleaved runs, {load_avg()}")
    for bs in batch_sizes:
        feeds = _raw_feeds(embedder, cat, windows, bs)
        times = {"raw": [], False: [], True: []}
        embedder.embed_catalog(cat, batch_size=bs, cache=False, pipeline=True)   # warm-up
        for _ in range(repeats):
            times["raw"].append(median_time(lambda feeds=feeds: [session.run(["mean"], f) for f in feeds], 1))
            for pipeline in (False, True):
                times[pipeline].append(median_time(
                    lambda bs=bs, p=pipeline: embedder.embed_catalog(cat, batch_size=bs, cache=False, pipeline=p), 1))
        t = {k: statistics.median(v) for k, v in times.items()}
        # each repeat ran the three back to back: the ratio within a repeat cancels slow drifts of the load
        paired = statistics.median(s / p for s, p in zip(times[False], times[True]))
        print(f"  batch {bs:4d}: raw {n_win / t['raw']:8.1f} windows/s; end to end sequential "
              f"{n_win / t[False]:8.1f} (e/a {t['raw'] / t[False]:.3f}), pipelined {n_win / t[True]:8.1f} "
              f"(e/a {t['raw'] / t[True]:.3f}); pipelined speed-up (median of paired runs) {paired:.3f}; "
              f"{load_avg()}", flush=True)
    return 0


def compare_ceiling(model, embedder, cat, windows, batch_sizes, repeats: int, profile: bool,
                    windows_per_pass: int = 256) -> int:
    """Raw session windows/s against the GEMM ceiling of the same shapes (wall and CPU time), interleaved."""
    import time

    import onnxruntime as ort

    from benchlib import load_avg
    from engine_ceiling import GemmCeiling, profile_ops
    from explorer.engine.session import get_session

    path, opts = str(model.path), model.options
    variants = {}
    for spin in (False, True):
        so = replace_spinning(opts, spin)
        label = f"spinning {'on' if spin else 'off'}" + (" (engine)" if so == opts else "")
        variants[label] = get_session(path, so)
    print(f"GEMM ceiling vs raw session, {opts.intra_threads} threads, medians of {repeats} interleaved passes "
          f"(~{windows_per_pass} windows each), {load_avg()}; engine options: {opts}")
    for bs in batch_sizes:
        feeds = _raw_feeds(embedder, cat, windows, bs)[:max(1, windows_per_pass // bs)]
        n = sum(len(f["input"]) for f in feeds)
        ceiling = GemmCeiling(path, bs, opts.intra_threads, replace_spinning(opts, True).to_ort())
        wall = {k: [] for k in variants}
        cpu = {k: [] for k in variants}
        ceil_wall, ceil_cpu = [], []
        for sess in variants.values():
            sess.run(["mean"], feeds[0])
        for _ in range(repeats):
            for name, sess in variants.items():
                passes = [ceiling.run() for _f in feeds]
                ceil_wall.append(sum(p[0] for p in passes) / n)
                ceil_cpu.append(sum(p[1] for p in passes) / n)
                c0, t0 = time.process_time(), time.perf_counter()
                for f in feeds:
                    sess.run(["mean"], f)
                c1, t1 = time.process_time(), time.perf_counter()
                wall[name].append((t1 - t0) / n)
                cpu[name].append((c1 - c0) / n)
        cw, cc = statistics.median(ceil_wall), statistics.median(ceil_cpu)
        gflop = ceiling.flops / bs / 1e9
        print(f"  batch {bs:4d}: ceiling {1 / cw:7.1f} windows/s wall ({gflop / cw:6.1f} GFLOP/s), "
              f"{1 / cc:7.1f} per CPU-second; {gflop * 1e3:.0f} MFLOP per window; {load_avg()}")
        for name in variants:
            w, c = statistics.median(wall[name]), statistics.median(cpu[name])
            print(f"      {name:13s} {1 / w:7.1f} windows/s wall = {100 * cw / w:5.1f} % of the ceiling; "
                  f"{1 / c:7.1f} per CPU-second = {100 * cc / c:5.1f} %", flush=True)
        rates = ceiling.rates()
        print("      ceiling GEMMs: " + ", ".join(f"{lab} {r:.0f}" for lab, r in rates) + " GFLOP/s")
        # the stricter reference: every FLOP at the rate of the model's best-running product (its QKV)
        peak = max(r for _, r in rates) * 1e9 / ceiling.flops * bs
        for name in variants:
            print(f"      {name:13s} = {100 / statistics.median(wall[name]) / peak:5.1f} % of {peak:.1f} windows/s "
                  f"(all FLOPs at the best product's rate)")
    if profile:
        bs = batch_sizes[-1]
        feeds = _raw_feeds(embedder, cat, windows, bs)[:max(1, windows_per_pass // bs)]
        per_op = profile_ops(path, feeds, "mean", opts.to_ort())
        total = sum(per_op.values())
        n = sum(len(f["input"]) for f in feeds) * 3
        ceiling = GemmCeiling(path, bs, opts.intra_threads, opts.to_ort())
        gemm_ops = ("Attention", "Gemm", "FusedGemm", "MatMul", "FusedMatMul")
        print(f"per-op profile, batch {bs} ({n} windows, onnxruntime's profiler, {load_avg()}):")
        print(f"  {'op type':20s} {'us/window':>10s} {'share':>7s}")
        for op, us in sorted(per_op.items(), key=lambda kv: -kv[1]):
            print(f"  {op:20s} {us / n:10.1f} {100 * us / total:6.1f} %")
        in_gemm = sum(v for k, v in per_op.items() if k in gemm_ops)
        print(f"  ops holding the GEMMs ({', '.join(gemm_ops)}): {100 * in_gemm / total:.1f} % of the time; "
              f"every other op: {100 - 100 * in_gemm / total:.1f} %")
    return 0


def replace_spinning(options, spinning: bool):
    """The engine's session options with ORT's thread spinning set (when the engine has that field)."""
    import dataclasses

    if "spinning" in {f.name for f in dataclasses.fields(options)}:
        return dataclasses.replace(options, spinning=spinning)
    return options


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
    ap.add_argument("--pipeline-compare", action="store_true",
                    help="end to end with pipelined batches on and off against the raw session")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                    help="with --pipeline-compare (default 64 256) or --ceiling (default 16 32 64 128)")
    ap.add_argument("--ceiling", action="store_true", help="raw session vs the GEMM ceiling of the same shapes")
    ap.add_argument("--profile", action="store_true", help="with --ceiling: onnxruntime's per-op profile")
    ap.add_argument("--small", action="store_true",
                    help="with --families: the earlier quick stand-ins (two blocks) instead of the published sizes")
    args = ap.parse_args(argv)
    if args.families is not None:
        kinds = args.families or list(FAMILY_CASES)
        unknown = sorted(set(kinds) - set(FAMILY_CASES))
        if unknown:
            ap.error(f"unknown families {unknown}; expected some of {', '.join(FAMILY_CASES)}")
        return bench_families(kinds, threads=args.threads, repeats=args.repeats, objects=args.objects or 200,
                              data_root=Path(args.data).parent, small=args.small)
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
    if args.pipeline_compare:
        return compare_pipeline(embedder, cat, windows, args.batch_sizes or [64, 256], args.repeats)
    if args.ceiling:
        return compare_ceiling(model, embedder, cat, windows, args.batch_sizes or [16, 32, 64, 128], args.repeats,
                               args.profile)

    # batch size sweep, end to end
    sweep = (16, 64) if args.quick else (16, 32, 64, 128)
    rates = {}
    for bs in sweep:
        t = median_time(lambda: embedder.embed_catalog(cat, batch_size=bs, cache=False), max(1, args.repeats // 2))
        rates[bs] = n_win / t
        print(f"  batch {bs:4d}: {rates[bs]:8.1f} windows/s end to end")
    best = max(rates, key=rates.get)

    # (a) raw onnxruntime on pre-built tensors, same batch size
    feeds = _raw_feeds(embedder, cat, windows, best)
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
