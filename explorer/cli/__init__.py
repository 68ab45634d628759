"""The ``lcexplorer`` console script: a dispatcher over the subcommand modules."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes register(subparsers); kept as names so `lcexplorer --help` stays fast.
_SUBCOMMAND_MODULES = ("explorer.cli.embed", "explorer.cli.models", "explorer.cli.simulate",
                       "explorer.cli.map", "explorer.cli.quality", "explorer.cli.cache",
                       "explorer.cli.finetune")
_SUBCOMMAND_MODULES += ("explorer.cli.discover",)  # next, classify, anomalies


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="lcexplorer", description="Light-curve Explorer command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the console script; returns the process exit status."""
    from explorer.errors import ExplorerError

    parser = build_parser()
    args = parser.parse_args(argv)
    from explorer.numba_cache import configure

    configure()  # maps from the command line load UMAP's compiled code from the install step's cache
    try:
        return int(args.func(args) or 0)
    except ExplorerError as exc:
        print(f"lcexplorer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
