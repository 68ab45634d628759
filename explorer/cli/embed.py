"""``lcexplorer embed``: embed a catalog with a model and write one embedding per object (Parquet, CSV, FITS, VOTable)."""

from __future__ import annotations

import argparse
import sys

from explorer.cli.output import OUTPUT_HELP, check_output, write_output

__all__ = ["register", "run"]


def _band_groups(text: str) -> dict:
    groups = {}
    for item in text.split(","):
        label, sep, index = item.partition("=")
        if not sep or not index.strip().isdigit():
            from explorer.errors import ModelError

            raise ModelError(f"--band-groups wants label=index pairs like u=0,g=1; got {item!r}")
        groups[label.strip()] = int(index)
    return groups


def _family_help() -> tuple[str, str]:
    """(Hub aliases, outputs per family) for the help texts, from the model-family registry."""
    from explorer.families import FAMILIES, hub_aliases

    outputs = "; ".join(f"{f.kind}: {'|'.join(f.outputs)} (default {f.default_output})" for f in FAMILIES.values())
    return ", ".join(hub_aliases()), outputs


def _multiband(kind: str) -> bool:
    from explorer.families import family

    return family(kind).band_handling == "multi"


def register(subparsers) -> None:
    """Add the ``embed`` subcommand."""
    aliases, outputs = _family_help()
    p = subparsers.add_parser("embed", help="embed a light-curve catalog with an ONNX model",
                              description="Embed every object of CATALOG and write OUT (.parquet, .csv, .fits, "
                                          ".vot): object_id, embedding (an array column; CSV: one column "
                                          "per component); band/strategy when several.")
    p.add_argument("catalog", help="catalog path (folder, Parquet, CSV or FITS file)")
    p.add_argument("--model", required=True,
                   help=f"store name, Hub alias ({aliases}) or .onnx path; 'features' for the "
                        "light_curve feature set; 'hybrid:<model>' for an embedding plus the features")
    p.add_argument("--reduction", default=None,
                   help="beginning, end, middle, random-subsample, non-overlapping-windows, or a comma list "
                        "(default: the family's, e.g. non-overlapping-windows for Astromer, end for Chronos)")
    p.add_argument("--output", default=None, help=outputs)
    p.add_argument("--bands", default=None, help="comma-separated bands, one embedding per band (Astromer)")
    p.add_argument("--concat-bands", action="store_true",
                   help="one row per object: the per-band vectors concatenated (always so for features/hybrid)")
    p.add_argument("--band-groups", default=None,
                   help="multiband models (ATCAT, ATAT, AstraCLR): band map, e.g. u=0,g=1,r=2,i=3,z=4,Y=5")
    p.add_argument("--allow-extra-bands", action="store_true",
                   help="multiband models: skip observations in unmapped bands")
    p.add_argument("--mag-zp", type=float, default=31.4,
                   help="AB zero point of flux catalogs (31.4 = nJy): fluxes <-> magnitudes for every family")
    p.add_argument("--seed", type=int, default=0, help="seed of random-subsample")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: all cores)")
    p.add_argument("--batch-size", type=int, default=None, help="windows per model call")
    p.add_argument("--int8", action="store_true", help="run the int8 dynamically quantised model")
    p.add_argument("--cuda", action="store_true", help="use the CUDA execution provider")
    p.add_argument("--fast-math", action="store_true",
                   help="CUDA: allow TF32 matrix products (faster, embeddings differ from the CPU by ~1e-2; "
                        "the default is exact float32)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    p.add_argument("--scheduler", default=None,
                   help="run on Dask: local:N (N worker processes here) or tcp://host:port (a running cluster); "
                        "CATALOG is then a HATS catalog folder or a folder of long-format Parquet files "
                        "partitioned by object, and -o an output folder (one Parquet file per partition)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="with --scheduler: a partition that still fails after its retries stops the job "
                        "(raise, after the others finish) or is reported and left out (skip)")
    p.add_argument("--retries", type=int, default=1, help="with --scheduler: extra attempts per failing partition")
    p.add_argument("-o", "--out", required=True,
                   help=f"output file, {OUTPUT_HELP} (with --scheduler: output folder)")
    p.set_defaults(func=run)


def _progress_bar(desc: str):
    """A tqdm bar on stderr and a ``progress(fraction, message)`` callback driving it."""
    from tqdm import tqdm

    bar = tqdm(total=1000, unit="‰", file=sys.stderr, desc=desc, disable=None)

    def progress(fraction: float, message: str) -> None:
        bar.set_postfix_str(message, refresh=False)
        bar.update(int(1000 * min(max(fraction, 0.0), 1.0)) - bar.n)

    return bar, progress


def run_representation(args: argparse.Namespace, catalog) -> int:
    """Features, hybrid or concatenated bands: one row per object through ``explorer.representations``."""
    from explorer.engine import load_model
    from explorer.representations import FEATURES, HYBRID_PREFIX, Embedding, Features, Hybrid

    bands = [b.strip() for b in args.bands.split(",") if b.strip()] if args.bands else None
    if args.model == FEATURES:
        rep = Features(bands=bands)
    else:
        hybrid = args.model.startswith(HYBRID_PREFIX)
        name = args.model[len(HYBRID_PREFIX):] if hybrid else args.model
        if not name:
            from explorer.errors import ModelError

            raise ModelError("--model hybrid: needs a model name, e.g. hybrid:astromer1-atlas")
        model = load_model(name, threads=args.threads, quantize=args.int8, **_device(args))
        options = _model_options(args, model.kind)
        rep = Embedding(model, output=args.output, reduction=args.reduction, bands=bands, seed=args.seed,
                        batch_size=args.batch_size, model_options=options)
        if hybrid:
            rep = Hybrid(rep, Features(bands=bands))
    bar, progress = _progress_bar(f"{args.model} {catalog.name}")
    try:
        result = rep.compute(catalog, progress=progress, cache=not args.no_cache)
    finally:
        bar.close()
    path = write_output(result.to_parquet, args.out)
    source = "cache" if result.meta.get("from_cache") else f"{result.meta.get('seconds') or 0:.1f} s"
    print(f"{result.summary()} [{source}] -> {path}", file=sys.stderr)
    return 0


def _device(args: argparse.Namespace) -> dict:
    """load_model's provider options: CUDA when asked, exact float32 unless --fast-math."""
    options = {"providers": "cuda" if args.cuda else None}
    if args.fast_math:
        if not args.cuda:
            from explorer.errors import ModelError

            raise ModelError("--fast-math only changes CUDA sessions; add --cuda")
        options["fast_math"] = True
    return options


def _model_options(args: argparse.Namespace, kind: str) -> dict:
    """Model-class options from the command line: the zero point for every family, band handling for
    multiband ones."""
    options = {"mag_zp": args.mag_zp}
    if _multiband(kind):
        options["allow_extra_bands"] = args.allow_extra_bands
        if args.band_groups:
            options["band_groups"] = _band_groups(args.band_groups)
    return options


def run_distributed(args: argparse.Namespace) -> int:
    """``--scheduler``: embed a HATS catalog or a partitioned Parquet folder on Dask, one file per partition."""
    from explorer.engine import load_model
    from explorer.representations import FEATURES
    from explorer.scale import embed_partitioned

    bands = [b.strip() for b in args.bands.split(",") if b.strip()] if args.bands else None
    options = {}
    if args.model != FEATURES:
        model = load_model(args.model, threads=1, quantize=args.int8, **_device(args))
        options = _model_options(args, model.kind)
    else:
        model = FEATURES
    bar, progress = _progress_bar(f"{args.model} {args.catalog}")
    try:
        report = embed_partitioned(
            args.catalog, model, args.out, scheduler=args.scheduler, output=args.output, reduction=args.reduction,
            bands=bands, seed=args.seed, batch_size=args.batch_size, threads=args.threads,
            providers="cuda" if args.cuda else None, quantize=args.int8, fast_math=args.fast_math,
            model_options=options, concat_bands=args.concat_bands, retries=args.retries, on_error=args.on_error,
            progress=lambda done, total, name: progress(done / max(total, 1), name))
    finally:
        bar.close()
    print(report.summary(), file=sys.stderr)
    return 0 if not report.failed else 3


def run(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer embed``."""
    from tqdm import tqdm

    from explorer.catalog import load_catalog
    from explorer.engine import embed_catalog, load_model
    from explorer.engine.diagnose import summary
    from explorer.representations import FEATURES, HYBRID_PREFIX

    _device(args)   # option errors before reading a catalog
    if args.scheduler:
        return run_distributed(args)
    check_output(args.out)
    catalog = load_catalog(args.catalog)
    if args.model == FEATURES or args.model.startswith(HYBRID_PREFIX) or args.concat_bands:
        return run_representation(args, catalog)
    model = load_model(args.model, threads=args.threads, quantize=args.int8, **_device(args))
    output = args.output   # None: the family's default output
    options = _model_options(args, model.kind)
    bands = [b.strip() for b in args.bands.split(",") if b.strip()] if args.bands else None
    bar = tqdm(total=0, unit="window", file=sys.stderr, desc=f"embed {catalog.name}", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = embed_catalog(catalog, model, output=output, reduction=args.reduction, bands=bands, seed=args.seed,
                               batch_size=args.batch_size, progress=progress, cache=not args.no_cache, **options)
    finally:
        bar.close()
    path = write_output(result.to_parquet, args.out)
    embedded = len(set(result.object_index.tolist()))
    source = "cache" if result.meta.get("from_cache") else f"{result.meta.get('seconds', 0):.1f} s"
    print(f"{len(result.embeddings)} embeddings of {embedded} of {len(catalog)} objects "
          f"from {model.name} [{source}] -> {path}", file=sys.stderr)
    said = summary(result.meta)   # each object left out, named with its reason; doubtful times
    if said:
        print(f"objects: {said}", file=sys.stderr)
    return 0
