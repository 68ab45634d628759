"""Size limits checked before a catalog is read, and the context one load shares between its files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from explorer.catalog.core import Catalog
from explorer.errors import CatalogError


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise CatalogError(f"environment variable {name}={raw!r} is not a number") from None
    return None if value <= 0 else value


def human_bytes(nbytes: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if nbytes < 1024 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes} bytes"


@dataclass(frozen=True)
class CatalogLimits:
    """Size limits checked *before* a catalog is read (``None``: no limit).

    ``max_bytes``: size of each file as stored (or uploaded), and of all files of a folder together;
    ``max_rows``: observation rows (long tables) or list elements (nested tables), all files together;
    ``max_objects``: objects; ``max_cells``: values read (rows x columns read). Parquet is checked from
    its metadata, CSV while it streams in blocks, so a file over a limit never fills the memory.
    """

    max_bytes: int | None = None
    max_rows: int | None = None
    max_objects: int | None = None
    max_cells: int | None = None

    # A served app shares one process between sessions: bound what one upload or one path may take.
    SERVED_DEFAULTS = {"max_bytes": 200 * 1024**2, "max_rows": 5_000_000, "max_objects": 1_000_000,
                       "max_cells": 25_000_000}
    ENV = {"max_bytes": "LCEXPLORER_MAX_UPLOAD_BYTES", "max_rows": "LCEXPLORER_MAX_ROWS",
           "max_objects": "LCEXPLORER_MAX_OBJECTS", "max_cells": "LCEXPLORER_MAX_CELLS"}

    @classmethod
    def served(cls) -> "CatalogLimits":
        """Limits for a served app: ``SERVED_DEFAULTS``, each overridable by its ``ENV`` variable (0: none)."""
        return cls(**{k: _env_int(cls.ENV[k], v) for k, v in cls.SERVED_DEFAULTS.items()})

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return all(v is None for v in (self.max_bytes, self.max_rows, self.max_objects, self.max_cells))

    def refuse(self, where: str, what: str, count: int, limit_name: str) -> CatalogError:
        """The error for ``count`` over the limit ``limit_name`` (names the file and the limit)."""
        limit = getattr(self, limit_name)
        shown = human_bytes if limit_name == "max_bytes" else (lambda n: f"{n:,}")
        return CatalogError(
            f"{where} is too large: {what} {shown(count)}, over the limit of {shown(limit)} "
            f"(CatalogLimits.{limit_name}, environment {self.ENV[limit_name]})"
        )


NO_LIMITS = CatalogLimits()
# A Parquet file may decode to at most this many times CatalogLimits.max_bytes (compression ratio).
DECODED_BYTES_FACTOR = 8


@dataclass
class ReadContext:
    """What one load_catalog call shares between the files it reads: limits, running totals, notes."""

    limits: CatalogLimits = NO_LIMITS
    allowed_roots: tuple[Path, ...] | None = None
    rows: int = 0
    cells: int = 0
    notes: list = field(default_factory=list)

    def add(self, rows: int, columns: int, where: str) -> None:
        """Count ``rows`` x ``columns`` more values read; CatalogError as soon as a limit is passed."""
        self.count(rows, int(rows) * int(columns), where)

    def count(self, rows: int, cells: int, where: str) -> None:
        """Count ``rows`` more rows and ``cells`` more values read; CatalogError as soon as a limit is passed."""
        self.rows += int(rows)
        self.cells += int(cells)
        lim = self.limits
        if lim.max_rows is not None and self.rows > lim.max_rows:
            raise CatalogError(f"{where} is too large: over {lim.max_rows:,} rows (CatalogLimits.max_rows, "
                               f"environment {lim.ENV['max_rows']}); reading stopped there")
        if lim.max_cells is not None and self.cells > lim.max_cells:
            raise CatalogError(f"{where} is too large: over {lim.max_cells:,} values (rows x columns; "
                               f"CatalogLimits.max_cells, environment {lim.ENV['max_cells']}); reading stopped there")

    def check_bytes(self, nbytes: int, where: str) -> None:
        if self.limits.max_bytes is not None and nbytes > self.limits.max_bytes:
            raise self.limits.refuse(where, "its size is", nbytes, "max_bytes")

    def check_objects(self, n: int, where: str) -> None:
        if self.limits.max_objects is not None and n > self.limits.max_objects:
            raise self.limits.refuse(where, "its number of objects is", n, "max_objects")

    def finish(self, cat: Catalog) -> Catalog:
        cat.report.notes.extend(n for n in self.notes if n not in cat.report.notes)
        return cat

    # -------------------------------------------------------------- where files may come from
    def check_path(self, path: Path) -> Path:
        """``path`` if it may be opened: inside the allowed roots once every link is followed.

        The refusal names only the path as given, never where a link leads nor whether that exists.
        """
        if self.allowed_roots is None:
            return path
        real = Path(os.path.realpath(path))
        if not any(real == root or root in real.parents for root in self.allowed_roots):
            raise CatalogError(f"{path} leads outside the allowed folders; it was not opened")
        return path


def _roots(allowed_roots) -> tuple[Path, ...] | None:
    if allowed_roots is None:
        return None
    if isinstance(allowed_roots, (str, os.PathLike)):
        allowed_roots = [allowed_roots]
    return tuple(Path(os.path.realpath(Path(r).expanduser())) for r in allowed_roots)


def make_context(limits, allowed_roots) -> ReadContext:
    if limits is not None and not isinstance(limits, CatalogLimits):
        raise CatalogError(f"limits must be a CatalogLimits, got {type(limits).__name__}")
    return ReadContext(limits=limits or NO_LIMITS, allowed_roots=_roots(allowed_roots))
