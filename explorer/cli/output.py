"""Where a subcommand's ``-o`` goes: the format chosen by the suffix (.parquet, .csv, .fits, .vot).

Results write their own Parquet (with the provenance the other commands read back); any other
format is made from that Parquet through :func:`explorer.tables.write_table`, so every format has
the same rows, columns and provenance.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["check_output", "write_output", "OUTPUT_HELP"]

OUTPUT_HELP = "format from the suffix: .parquet, .csv, .fits (.fits.gz), .vot"


def check_output(out) -> str:
    """The format of ``out`` (ExplorerError naming the accepted suffixes): checked before any work."""
    from explorer.tables import table_format

    return table_format(out)


def write_output(write_parquet, out) -> Path:
    """``write_parquet(path)`` writes the result as Parquet; ``out`` gets it in the format of its suffix."""
    from explorer.tables import read_table, write_table

    out = Path(out)
    if check_output(out) == "parquet":
        return write_parquet(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lcx-out-") as tmp:
        table, provenance = read_table(write_parquet(Path(tmp) / "result.parquet"))
    return write_table(table, out, provenance)
