"""One input file (from disk or from memory), the suffixes that pick its reader, and checks shared by every reader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from explorer.catalog.columns import detect_columns
from explorer.catalog.core import Catalog
from explorer.catalog.readers.limits import ReadContext
from explorer.errors import CatalogError

LC_SUFFIX = ".lightcurves.parquet"
OBJ_SUFFIX = ".objects.parquet"
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv", ".tsv.gz", ".tsv.bz2", ".txt", ".dat")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def has_suffix(path, suffixes) -> bool:
    low = Path(path).name.lower()
    return any(low.endswith(s) for s in suffixes)


def file_stem(path) -> str:
    name = Path(path).name
    for s in sorted(CSV_SUFFIXES + PARQUET_SUFFIXES + (".gz", ".bz2"), key=len, reverse=True):
        if name.lower().endswith(s):
            return name[: -len(s)]
    return Path(path).stem


@dataclass(frozen=True)
class Input:
    """One file to read, from disk or from memory (an upload); ``where`` names it in messages."""

    name: str
    where: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, path, ctx: ReadContext) -> "Input":
        path = ctx.check_path(Path(path))
        return cls(name=path.name, where=str(path), path=path)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size

    def raw(self):
        return pa.BufferReader(self.data) if self.data is not None else str(self.path)

    def stream(self):
        low = self.name.lower()
        comp = "gzip" if low.endswith(".gz") else "bz2" if low.endswith(".bz2") else None
        return pa.input_stream(self.raw(), compression=comp)


def check_unique_names(names, where: str) -> None:
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    twice = [n for n, k in seen.items() if k > 1]
    if twice:
        shown = ", ".join(f"{seen[n]} columns named {n!r}" for n in twice[:5])
        raise CatalogError(f"{where} has {shown}; rename them so that each column has its own name")


def is_list(t: pa.DataType) -> bool:
    """True for every Arrow list type (list, large list, fixed-size list)."""
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def nested_columns(schema: pa.Schema) -> list[str]:
    """Columns of ``schema`` holding lists or structs."""
    return [f.name for f in schema if is_list(f.type) or pa.types.is_struct(f.type)]


def is_nested(schema: pa.Schema, *, columns=None, value_kind=None) -> bool:
    """True when ``schema`` is one row per object (its light curves in list or struct columns).

    A table whose plain columns already hold an object id, a time and a value is long format (one
    row per observation) even when other columns hold lists or structs: those are extra data, not
    light curves, and a long table must not be read as a nested one because of them.
    """
    nested = set(nested_columns(schema))
    if not nested:
        return False
    try:
        detect_columns([n for n in schema.names if n not in nested], columns=columns, value_kind=value_kind)
    except CatalogError:
        return True
    return False


def note_ignored_nested(schema: pa.Schema, ctx: ReadContext, where: str) -> None:
    """Note the list or struct columns of a long-format table: they are not read as light-curve data."""
    extra = nested_columns(schema)
    if extra:
        ctx.notes.append(f"{where} is a long-format table (one row per observation); its column(s) "
                         f"{', '.join(map(repr, extra[:10]))} hold lists or structs and were not read")


def guard_memory(load, where: str) -> Catalog:
    try:
        return load()
    except MemoryError:
        raise CatalogError(f"not enough memory to load {where}; split the catalog or load fewer bands/objects") from None
