"""``lcexplorer models``: import checkpoints into the local store, list models and families, print a model's path."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``models`` command (import / list / path) to the console script."""
    parser = subparsers.add_parser("models", help="manage models: import Astromer checkpoints, list, families, path")
    sub = parser.add_subparsers(dest="models_command", required=True)

    imp = sub.add_parser("import", help="convert an Astromer checkpoint to ONNX and install it in the local store")
    imp.add_argument("path", help="a .zip/.tar.gz archive, an extracted folder, a TF2 checkpoint prefix or a Keras .h5 file")
    imp.add_argument("--name", help="store name (default: astromer1-<file> or astromer-2023-<experiment>)")
    imp.add_argument("--overwrite", action="store_true", help="replace an installed model of the same name")
    imp.add_argument("--config", help="conf.json / config.toml when it is not beside the weights")
    imp.add_argument("--reference", help="reference .npz to verify against (default: found by checkpoint name)")
    imp.add_argument("--no-verify", action="store_true", help="skip the reference check")
    imp.set_defaults(func=_import)

    lst = sub.add_parser("list", help="list Hub models (cached or not) and local store models")
    lst.set_defaults(func=_list)

    fam = sub.add_parser("families", help="the model families the engine knows: kind, class, bands, outputs, Hub files")
    fam.set_defaults(func=_families)

    pth = sub.add_parser("path", help="print the ONNX file path of a store model")
    pth.add_argument("name")
    pth.set_defaults(func=_path)


def _import(args: argparse.Namespace) -> int:
    from explorer.convert import import_checkpoint

    entry = import_checkpoint(
        args.path, args.name, overwrite=args.overwrite, config=args.config, reference=args.reference,
        verify=not args.no_verify, progress=lambda msg: print(msg, file=sys.stderr),
    )
    checks = entry.card.get("verification") or []
    print(f"installed {entry.name} -> {entry.onnx_path}")
    if not checks:
        print("  (no reference outputs found: not verified)")
    return 0


def _rows() -> list[tuple[str, str, str, str, str]]:
    from explorer import store

    rows = []
    try:
        from explorer.engine import list_models
    except ImportError:
        list_models = None
    if list_models is not None:
        for info in list_models():
            rows.append((info.name, info.kind, info.source, "yes" if info.available else "no", info.detail))
        names = {r[0] for r in rows}
    else:
        names = set()
        rows.extend(_hub_cache_rows())
    for entry in store.list_store():
        if entry.name in names:
            continue
        fam = entry.card.get("family", "")
        rows.append((entry.name, entry.kind, "store", "yes", f"{fam} {entry.onnx_path}".strip()))
    return rows


def _hub_cache_rows() -> list[tuple[str, str, str, str, str]]:
    """Hub ONNX files already in the huggingface_hub cache (used only when the engine is unavailable)."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # an absent or unreadable cache just means nothing cached
        return []
    rows = []
    for repo in info.repos:
        for rev in repo.revisions:
            for f in rev.files:
                if f.file_name.endswith(".onnx"):
                    rows.append((f.file_name.removesuffix(".onnx"), "", "hub", "yes", f"{repo.repo_id} (cached)"))
    return rows


def _list(args: argparse.Namespace) -> int:
    rows = _rows()
    if not rows:
        print("no models")
        return 0
    header = ("name", "kind", "source", "available", "detail")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        print("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return 0


def _families(args: argparse.Namespace) -> int:
    from explorer.families import FAMILIES

    rows = [("kind", "class", "bands", "input", "outputs", "Hub aliases")]
    for f in FAMILIES.values():
        outputs = ", ".join(f"{o}*" if o == f.default_output else o for o in f.outputs)
        rows.append((f.kind, f.class_name, f.band_handling, f.value_kind, outputs, ", ".join(h.alias for h in f.hub)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
    print("(* default output; every family takes mag_zp, the AB zero point of fluxes, 31.4 = nJy)")
    return 0


def _path(args: argparse.Namespace) -> int:
    from explorer import store

    print(store.get_entry(args.name).onnx_path)
    return 0
