"""``lcexplorer simulate``: regenerate the simulated sample catalogs (``sample_catalogs/``)."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``simulate`` subcommand."""
    from explorer import simulate

    parser = subparsers.add_parser(
        "simulate",
        help="regenerate the simulated sample catalogs (macho_like, lsst_like)",
        description="Simulate the labelled sample catalogs deterministically from a seed "
        "(same command, byte-identical files).",
    )
    simulate.add_arguments(parser)
    parser.set_defaults(func=simulate.run)
