"""Loaders: turn files, folders, DataFrames and arrays into a :class:`Catalog`.

Accepted inputs (see :func:`load_catalog`):

* long-format Parquet or CSV (one row per observation);
* a folder holding ``<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` (the ``../shared/data``
  and ``sample_catalogs/`` layout), or the ``.lightcurves.parquet`` file itself;
* a folder of per-object CSV files (columns time, band, mag/magerr or flux/fluxerr; object id = file stem);
* nested Parquet (one row per object, list columns ``time``/``mag``/... or one struct-of-lists or
  list-of-structs column, as nested-pandas writes);
* a list of ``L x 3`` arrays ``[time, mag, mag_err]`` (ASTROMER's input) with ``object_ids``;
* a pandas DataFrame (long or nested).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from explorer.catalog.cleaning import to_float64
from explorer.catalog.columns import ColumnMap, check_value_kind, detect_columns, detect_object_id, normalise
from explorer.catalog.core import Catalog, check_allocation, check_objects_table, ids_as_text
from explorer.errors import CatalogError

LC_SUFFIX = ".lightcurves.parquet"
OBJ_SUFFIX = ".objects.parquet"
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv", ".tsv.gz", ".tsv.bz2", ".txt", ".dat")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_ZTF_FID = {"1": "g", "2": "r", "3": "i"}


# ---------------------------------------------------------------------- limits
def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise CatalogError(f"environment variable {name}={raw!r} is not a number") from None
    return None if value <= 0 else value


def _human(nbytes: float) -> str:
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
        shown = _human if limit_name == "max_bytes" else (lambda n: f"{n:,}")
        return CatalogError(
            f"{where} is too large: {what} {shown(count)}, over the limit of {shown(limit)} "
            f"(CatalogLimits.{limit_name}, environment {self.ENV[limit_name]})"
        )


_NO_LIMITS = CatalogLimits()
# A Parquet file may decode to at most this many times CatalogLimits.max_bytes (compression ratio).
DECODED_BYTES_FACTOR = 8


@dataclass
class _Context:
    """What one load_catalog call shares between the files it reads: limits, running totals, notes."""

    limits: CatalogLimits = _NO_LIMITS
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


# ---------------------------------------------------------------------- reading one file
def _has_suffix(path, suffixes) -> bool:
    low = Path(path).name.lower()
    return any(low.endswith(s) for s in suffixes)


def _stem(path) -> str:
    name = Path(path).name
    for s in sorted(_CSV_SUFFIXES + _PARQUET_SUFFIXES + (".gz", ".bz2"), key=len, reverse=True):
        if name.lower().endswith(s):
            return name[: -len(s)]
    return Path(path).stem


@dataclass(frozen=True)
class _Input:
    """One file to read, from disk or from memory (an upload); ``where`` names it in messages."""

    name: str
    where: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, path, ctx: _Context) -> "_Input":
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


def _check_unique_names(names, where: str) -> None:
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    twice = [n for n, k in seen.items() if k > 1]
    if twice:
        shown = ", ".join(f"{seen[n]} columns named {n!r}" for n in twice[:5])
        raise CatalogError(f"{where} has {shown}; rename them so that each column has its own name")


class _NotUtf8(Exception):
    pass


def _read_parquet(src: _Input, ctx: _Context) -> pa.Table:
    """A Parquet file; its size, rows and values are checked from the metadata before reading.

    Only file- and row-group-level metadata is used: pyarrow 26 aborts the whole process (C++
    ``std::terminate``) on some corrupt column-chunk statistics, so ``row_group(i).column(j)`` is never
    touched. Nested files (list columns) are read in batches, counting list elements as they come.
    """
    ctx.check_bytes(src.size, src.where)
    try:
        pf = pq.ParquetFile(src.raw())
        md = pf.metadata
        schema = pf.schema_arrow
        names = schema.names
        decoded = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    except Exception as exc:  # pyarrow raises several types; all mean "cannot read this file"
        raise CatalogError(f"cannot read Parquet file {src.where}: {exc}") from exc
    _check_unique_names(names, src.where)
    lim = ctx.limits
    # few rows of huge strings pass the row and value limits: bound the decoded size too
    if lim.max_bytes is not None and decoded > DECODED_BYTES_FACTOR * lim.max_bytes:
        raise CatalogError(
            f"{src.where} is too large: it decodes to {_human(decoded)}, over {DECODED_BYTES_FACTOR} x the limit of "
            f"{_human(lim.max_bytes)} (CatalogLimits.max_bytes, environment {lim.ENV['max_bytes']})")
    nested = any(_is_list(t) or pa.types.is_struct(t) for t in schema.types)
    try:
        if not nested:
            rows, cells = int(md.num_rows), int(md.num_rows) * len(names)
            if lim.max_rows is not None and ctx.rows + rows > lim.max_rows:
                raise lim.refuse(src.where, "its number of rows (from its metadata) is", rows, "max_rows")
            if lim.max_cells is not None and ctx.cells + cells > lim.max_cells:
                raise lim.refuse(src.where, "its number of values (from its metadata) is", cells, "max_cells")
            check_allocation(cells, 8, what="values", source=src.where)
            ctx.add(rows, len(names), src.where)
            return pf.read()
        # one row per object here: the object limit is known before reading
        if lim.max_objects is not None and md.num_rows > lim.max_objects:
            raise lim.refuse(src.where, "its number of objects (nested rows, from its metadata) is", md.num_rows,
                             "max_objects")
        if lim.max_rows is None and lim.max_cells is None:
            table = pf.read()
            ctx.count(*_nested_counts(table), src.where)
            return table
        batches = []
        for batch in pf.iter_batches(batch_size=1024):
            ctx.count(*_nested_counts(batch), src.where)
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=schema)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(f"cannot read Parquet file {src.where}: {exc}") from exc


def _nested_counts(data) -> tuple[int, int]:
    """(observations, values) of a nested table or batch: the longest list column, and every value."""
    longest, values = data.num_rows, 0
    for col in data.columns:
        n = _leaf_count(col)
        longest = max(longest, n)
        values += n
    return longest, values


def _leaf_count(col) -> int:
    t = col.type
    if _is_list(t):
        return int(pc.sum(pc.list_value_length(col)).as_py() or 0) * max(_width(t.value_type), 1)
    if pa.types.is_struct(t):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        return sum(_leaf_count(arr.field(i)) for i in range(t.num_fields))
    return len(col)


def _width(t) -> int:
    return t.num_fields if pa.types.is_struct(t) else 1


def _read_csv(src: _Input, ctx: _Context, pick=None) -> pa.Table:
    """A CSV file, streamed in blocks with the limits checked as it comes.

    ``pick(names, first_schema)`` returns ``(include_columns or None, column_types)``; the loaders
    force the object-id column to text there, so that ``"001"`` and ``"1"`` stay two ids. A file
    that is not UTF-8 is read again as Latin-1 (every byte is a Latin-1 character) and a note says so.
    """
    ctx.check_bytes(src.size, src.where)
    before = (ctx.rows, ctx.cells)
    try:
        return _read_csv_as(src, ctx, pick, "utf8")
    except _NotUtf8:
        ctx.rows, ctx.cells = before
        table = _read_csv_as(src, ctx, pick, "latin-1")
        ctx.notes.append(f"{src.where} is not UTF-8 text; it was decoded as Latin-1 (ISO-8859-1)")
        return table


def _read_csv_as(src: _Input, ctx: _Context, pick, encoding: str) -> pa.Table:
    delimiter = "\t" if ".tsv" in src.name.lower() else ","
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(encoding=encoding)

    def fail(exc) -> CatalogError:
        if encoding == "utf8" and "utf8" in str(exc).lower().replace("-", ""):
            raise _NotUtf8() from exc
        return CatalogError(f"cannot read CSV file {src.where}: {exc}")

    try:
        with src.stream() as fh:
            first = pacsv.open_csv(fh, read_options=read, parse_options=parse).schema
            names = list(first.names)  # decodes the header: not UTF-8 shows here
    except (pa.ArrowException, OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise fail(exc) from exc
    _check_unique_names(names, src.where)
    include, types = pick(names, first) if pick is not None else (None, {})
    if encoding == "utf8" and any(pa.types.is_binary(first.field(c).type) for c in (include or first.names)):
        raise _NotUtf8()
    convert = pacsv.ConvertOptions(include_columns=include, column_types=types)
    try:
        with src.stream() as fh:
            if ctx.limits.max_rows is None and ctx.limits.max_cells is None:
                table = pacsv.read_csv(fh, read_options=read, parse_options=parse, convert_options=convert)
                ctx.add(table.num_rows, table.num_columns, src.where)
            else:
                reader = pacsv.open_csv(fh, read_options=read, parse_options=parse, convert_options=convert)
                batches = []
                for batch in reader:
                    ctx.add(batch.num_rows, batch.num_columns, src.where)
                    batches.append(batch)
                table = pa.Table.from_batches(batches, schema=reader.schema)
    except CatalogError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
        raise fail(exc) from exc
    if encoding == "utf8" and any(pa.types.is_binary(t) for t in table.schema.types):
        raise _NotUtf8()
    return table


def _numeric_or_keep(first: pa.Schema, column: str) -> dict:
    """Force a numeric-looking role column to float64, so a later block with ``1.5`` after ``1`` reads."""
    t = first.field(column).type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t):
        return {column: pa.float64()}
    return {}


def _read_long(src: _Input, ctx: _Context, *, columns, value_kind, need_object_id=True) -> tuple[pa.Table, ColumnMap]:
    """A long-format file (CSV: only the role columns, the id column as text) and its column map."""
    if _has_suffix(src.name, _PARQUET_SUFFIXES):
        table = _read_parquet(src, ctx)
        return table, None
    if not _has_suffix(src.name, _CSV_SUFFIXES):
        raise CatalogError(f"unsupported file type {src.where} (expected Parquet or CSV)")
    found: dict = {}

    def pick(names, first):
        cmap = detect_columns(names, columns=columns, value_kind=value_kind, need_object_id=need_object_id,
                              source=src.where)
        found["cmap"] = cmap
        types = {c: pa.string() for c in (cmap.object_id, cmap.band) if c is not None}
        for c in (cmap.time, cmap.value, cmap.error):
            if c is not None:
                types.update(_numeric_or_keep(first, c))
        include = [c for c in (cmap.object_id, cmap.time, cmap.value, cmap.error, cmap.band) if c is not None]
        return include, types

    table = _read_csv(src, ctx, pick)
    return table, found["cmap"]


def _read_objects_table(src: _Input, ctx: _Context) -> pa.Table:
    """An objects table (Parquet or CSV, every column; a CSV id column is read as text)."""
    if _has_suffix(src.name, _PARQUET_SUFFIXES):
        return _read_parquet(src, ctx)
    if not _has_suffix(src.name, _CSV_SUFFIXES):
        raise CatalogError(f"unsupported file type {src.where} (expected Parquet or CSV)")

    def pick(names, first):
        return None, {detect_object_id(names, source=src.where): pa.string()}

    return _read_csv(src, ctx, pick)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _band_values(col, cmap: ColumnMap):
    """ZTF ``fid`` codes 1/2/3 become g/r/i; other band columns are used as they are."""
    if normalise(cmap.band) != "fid":
        return col
    arr = col if isinstance(col, (pa.Array, pa.ChunkedArray)) else pa.array(np.asarray(col))
    if not (pa.types.is_integer(arr.type) or pa.types.is_string(arr.type)):
        return col
    text = pc.cast(arr, pa.string())
    uniq = set(pc.unique(text).drop_null().to_pylist())
    if uniq and uniq <= set(_ZTF_FID):
        keys = pa.array(list(_ZTF_FID))
        idx = pc.index_in(text, value_set=keys)
        return pc.take(pa.array(list(_ZTF_FID.values())), idx)
    return col


def _objects_frame(objects, *, source: str, ctx: _Context | None = None) -> pd.DataFrame | None:
    """The ``objects=`` argument as a DataFrame (a path is read; Parquet or CSV, ids as text)."""
    if objects is None or isinstance(objects, pd.DataFrame):
        return objects
    ctx = ctx or _Context()
    path = Path(objects)
    ctx.check_path(path)
    if not path.exists():
        raise CatalogError(f"objects table {path} does not exist (objects table for {source})")
    # Checked here so that errors (duplicate ids, no id column) name the objects file itself.
    return check_objects_table(_read_objects_table(_Input.of(path, ctx), ctx).to_pandas(), source=str(path))


def _from_table(
    table: pa.Table,
    *,
    columns: Mapping[str, str] | None,
    value_kind: str | None,
    objects: pd.DataFrame | None,
    name: str,
    source: str,
    object_id=None,
    ctx: _Context | None = None,
) -> Catalog:
    """Long-format Arrow table -> Catalog (object ids from a column, or ``object_id`` given per row)."""
    _check_unique_names(table.column_names, source)
    cmap = detect_columns(table.column_names, columns=columns, value_kind=value_kind,
                          need_object_id=object_id is None, source=source)
    ids = object_id if object_id is not None else table.column(cmap.object_id)
    band = None if cmap.band is None else _band_values(table.column(cmap.band), cmap)
    names = {k: v for k, v in cmap.as_dict().items() if k != "value_kind" and v is not None}
    return Catalog.from_long(
        ids,
        table.column(cmap.time),
        table.column(cmap.value),
        None if cmap.error is None else table.column(cmap.error),
        band,
        objects=objects,
        value_kind=value_kind or cmap.value_kind,
        name=name,
        source=source,
        column_names=names,
        max_objects=(ctx or _Context()).limits.max_objects,
    )


# ---------------------------------------------------------------------- nested input
def _flatten_nested(table: pa.Table, *, source: str) -> tuple[pa.Table, pa.Table]:
    """Split a nested table (one row per object) into (long observations, per-object scalars).

    List columns, a struct-of-lists column and a list-of-structs column are all flattened; the
    observation table gets a ``__row__`` column with the object's row number.
    """
    list_cols: dict[str, pa.ChunkedArray] = {}
    scalar_cols: dict[str, pa.ChunkedArray] = {}
    for cname, col in zip(table.column_names, table.columns):
        t = col.type
        if _is_list(t) and pa.types.is_struct(t.value_type):  # list<struct<time, mag, ...>>
            arr = col.combine_chunks()
            flat = pc.list_flatten(arr)
            lengths = pc.fill_null(pc.list_value_length(arr), 0)
            for i in range(t.value_type.num_fields):
                list_cols[t.value_type.field(i).name] = (flat.field(i), lengths)
        elif pa.types.is_struct(t) and all(_is_list(t.field(i).type) for i in range(t.num_fields)) and t.num_fields:
            arr = col.combine_chunks()
            for i in range(t.num_fields):
                sub = arr.field(i)
                list_cols[t.field(i).name] = (pc.list_flatten(sub), pc.fill_null(pc.list_value_length(sub), 0))
        elif _is_list(t):
            arr = col.combine_chunks()
            list_cols[cname] = (pc.list_flatten(arr), pc.fill_null(pc.list_value_length(arr), 0))
        else:
            scalar_cols[cname] = col
    if not list_cols:
        raise CatalogError(f"no list columns in nested input {source}; columns found: {', '.join(table.column_names)}")
    lengths = None
    for cname, (_, lens) in list_cols.items():
        lens = lens.to_numpy(zero_copy_only=False)
        if lengths is None:
            lengths, first = lens, cname
        elif not np.array_equal(lens, lengths):
            row = int(np.flatnonzero(lens != lengths)[0])
            raise CatalogError(
                f"list columns {first!r} and {cname!r} of {source} have different lengths in row {row} "
                f"({lengths[row]} vs {lens[row]})"
            )
    check_allocation(int(lengths.sum()), 8 * (len(list_cols) + 1), what="list elements", source=source)
    long = pa.table({c: flat for c, (flat, _) in list_cols.items()})
    row = np.repeat(np.arange(table.num_rows, dtype=np.int64), lengths)
    long = long.append_column("__row__", pa.array(row))
    return long, pa.table(scalar_cols) if scalar_cols else pa.table({})


def _from_nested(
    table: pa.Table, *, columns, value_kind, objects, name: str, source: str, ctx: _Context | None = None
) -> Catalog:
    ctx = ctx or _Context()
    _check_unique_names(table.column_names, source)
    ctx.check_objects(table.num_rows, source)
    long, scalars = _flatten_nested(table, source=source)
    if "__index_level_0__" in scalars.column_names and not any(
        normalise(c) in ("objectid", "oid", "id", "objid") for c in scalars.column_names
    ):
        scalars = scalars.rename_columns(["object_id" if c == "__index_level_0__" else c for c in scalars.column_names])
    id_override = (columns or {}).get("object_id")
    rest = {k: v for k, v in (columns or {}).items() if k != "object_id"}
    meta = scalars.to_pandas()
    idcol = detect_object_id(meta.columns, column=id_override, source=f"nested input {source}")
    meta = meta.rename(columns={idcol: "object_id"}) if idcol != "object_id" else meta
    # One row is one object here: a missing or repeated id would merge or lose light curves.
    ids = ids_as_text(scalars.column(idcol), column=idcol, source=source)
    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        raise CatalogError(f"missing object id in column {idcol!r} of {source} at row(s) "
                           f"{', '.join(map(str, missing[:5]))} (rows counted from 0)")
    dup = pd.Index(ids).duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup)
        raise CatalogError(f"object id {ids[rows[0]]!r} appears in more than one row of {source} (column {idcol!r}, "
                           f"rows {', '.join(map(str, rows[ids[rows] == ids[rows[0]]][:5]))}); one row per object")
    meta = meta.assign(object_id=ids)
    if objects is not None:
        # Nested rows keep their order, their scalar columns come first; objects-table rows
        # without a light curve are appended (they end up flagged empty).
        table = check_objects_table(objects, source=f"the objects table for {source}")
        merged = meta.merge(table, on="object_id", how="left", suffixes=("", "_objects"))
        extra = table[~table["object_id"].isin(meta["object_id"])]
        objects = pd.concat([merged, extra], ignore_index=True) if len(extra) else merged
    else:
        objects = meta
    row = long.column("__row__").to_numpy()
    long = long.drop(["__row__"])
    return _from_table(long, columns=rest, value_kind=value_kind, objects=objects, name=name, source=source,
                       object_id=pa.DictionaryArray.from_arrays(pa.array(row), pa.array(ids, type=pa.string())),
                       ctx=ctx)


# ---------------------------------------------------------------------- per-source loaders
def _context(limits, allowed_roots) -> _Context:
    if limits is not None and not isinstance(limits, CatalogLimits):
        raise CatalogError(f"limits must be a CatalogLimits, got {type(limits).__name__}")
    return _Context(limits=limits or _NO_LIMITS, allowed_roots=_roots(allowed_roots))


def load_shared_layout(folder: Path, *, objects=None, columns=None, value_kind=None, name=None,
                       limits: CatalogLimits | None = None, allowed_roots=None, _ctx: _Context | None = None) -> Catalog:
    """``<folder>/<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` (objects table optional)."""
    ctx = _ctx or _context(limits, allowed_roots)
    folder = ctx.check_path(Path(folder))
    lc_path = folder if folder.is_file() else _find_lightcurves(folder, ctx)
    src = _Input.of(lc_path, ctx)
    stem = lc_path.name[: -len(LC_SUFFIX)]
    obj_path = lc_path.with_name(stem + OBJ_SUFFIX)
    if objects is None and (obj_path.exists() or obj_path.is_symlink()):
        ctx.check_path(obj_path)
        if obj_path.exists():
            objects = obj_path
        else:
            ctx.notes.append(f"{obj_path} is a link to nothing; the catalog was read without its objects table")
    if isinstance(objects, (str, Path)) and Path(objects).is_file():
        ctx.check_bytes(src.size + Path(objects).stat().st_size, f"catalog {lc_path.parent}")
    table = _read_parquet(src, ctx)
    obj = _objects_frame(objects, source=str(lc_path), ctx=ctx)
    return ctx.finish(_from_table(table, columns=columns, value_kind=value_kind, objects=obj,
                                  name=name or stem, source=str(lc_path), ctx=ctx))


def _find_lightcurves(folder: Path, ctx: _Context | None = None) -> Path:
    candidates = sorted(folder.glob(f"*{LC_SUFFIX}"))
    for p in candidates:  # before exists(): a refusal must not depend on whether a link's target exists
        (ctx or _Context()).check_path(p)
    own = folder / f"{folder.name}{LC_SUFFIX}"
    if own.exists():
        return own
    found = [p for p in candidates if p.exists()]
    if len(found) == 1:
        return found[0]
    raise CatalogError(
        f"folder {folder} holds {len(found)} '*{LC_SUFFIX}' files ({', '.join(p.name for p in found)}); "
        f"pass one of them"
    )


def is_sidecar(path: Path) -> bool:
    """Files the explorer keeps beside a catalog (labels, hidden temporaries): never light curves."""
    return path.name.startswith(".") or ".labels." in path.name


def _folder_csv_files(folder: Path, ctx: _Context, *, exclude: Path | None = None) -> list[Path]:
    """The per-object CSV files of ``folder``; links are checked, links to nothing skipped with a note."""
    files, dangling = [], []
    for p in sorted(folder.iterdir()):
        if not _has_suffix(p, _CSV_SUFFIXES) or is_sidecar(p):
            continue
        ctx.check_path(p)  # before exists(): a refusal must not depend on whether the target exists
        if not p.exists():
            dangling.append(p.name)
            continue
        if not p.is_file() or (exclude is not None and os.path.realpath(p) == os.path.realpath(exclude)):
            continue
        files.append(p)
    if dangling:
        shown = ", ".join(dangling[:5]) + (f" and {len(dangling) - 5} more" if len(dangling) > 5 else "")
        ctx.notes.append(f"{len(dangling)} link(s) to nothing in {folder} skipped: {shown}")
    return files


def load_csv_folder(folder: Path, *, objects=None, columns=None, value_kind=None, name=None,
                    limits: CatalogLimits | None = None, allowed_roots=None, _ctx: _Context | None = None) -> Catalog:
    """A folder of per-object CSV files; the object id is the file stem, exactly as written.

    Files are read one by one (I/O bound) and concatenated once; columns are detected per file,
    so files may order their columns differently. Links to nothing are skipped and noted in the
    report; two files with one stem (``a.csv``, ``a.tsv``) are an error naming both.
    """
    ctx = _ctx or _context(limits, allowed_roots)
    folder = ctx.check_path(Path(folder))
    exclude = Path(objects) if isinstance(objects, (str, Path)) else None
    files = _folder_csv_files(folder, ctx, exclude=exclude)
    if not files:
        raise CatalogError(f"no objects in {folder}: no CSV files found there")
    stems = [_stem(p) for p in files]
    seen: dict[str, Path] = {}
    for stem, path in zip(stems, files):
        if stem in seen:
            raise CatalogError(f"{seen[stem].name} and {path.name} in {folder} both name object {stem!r}; "
                               "keep one file per object")
        seen[stem] = path
    ctx.check_objects(len(files), f"folder {folder}")
    ctx.check_bytes(sum(p.stat().st_size for p in files), f"folder {folder}")
    obj_frame = _objects_frame(objects, source=str(folder), ctx=ctx)
    parts: dict[str, list] = {"time": [], "value": [], "error": [], "band": []}
    lengths = []
    kind = value_kind
    any_error = any_band = False
    for path, stem in zip(files, stems):
        table, cmap = _read_long(_Input.of(path, ctx), ctx, columns=columns, value_kind=kind, need_object_id=False)
        if cmap is None:  # a Parquet file cannot be here (CSV suffixes only), but keep detection in one place
            cmap = detect_columns(table.column_names, columns=columns, value_kind=kind, need_object_id=False,
                                  source=str(path))
        if kind is None:
            kind = cmap.value_kind
        elif cmap.value_kind != kind:
            raise CatalogError(f"{path} has {cmap.value_kind} values ({cmap.value!r}) but earlier files have {kind}")
        where = str(path)
        parts["time"].append(to_float64(table.column(cmap.time), column=cmap.time, source=where,
                                         object_at=lambda i, s=stem: s, is_time=True))
        parts["value"].append(to_float64(table.column(cmap.value), column=cmap.value, source=where,
                                          object_at=lambda i, s=stem: s))
        if cmap.error is not None:
            any_error = True
            parts["error"].append(to_float64(table.column(cmap.error), column=cmap.error, source=where,
                                              object_at=lambda i, s=stem: s))
        else:
            parts["error"].append(np.full(table.num_rows, np.nan))
        if cmap.band is not None:
            any_band = True
            b = _band_values(table.column(cmap.band), cmap)
            parts["band"].append(pc.cast(b, pa.string()).to_numpy(zero_copy_only=False).astype(object))
        else:
            parts["band"].append(np.full(table.num_rows, None, dtype=object))
        lengths.append(table.num_rows)
    ids = np.repeat(np.arange(len(stems)), lengths)
    object_id = np.asarray(stems, dtype=object)[ids]
    added: list = []
    if obj_frame is None:
        obj_frame = pd.DataFrame({"object_id": stems})
    else:
        # Every file is an object, even an empty one: stems absent from the table are appended
        # (and reported) here, since an empty file has no row that would add it later.
        known = pd.Index(obj_frame["object_id"].astype(str))
        added = [s for s, hit in zip(stems, known.get_indexer(stems) >= 0) if not hit]
        if added:
            obj_frame = pd.concat([obj_frame, pd.DataFrame({"object_id": added})], ignore_index=True)
    cat = Catalog.from_long(
        object_id,
        np.concatenate(parts["time"]),
        np.concatenate(parts["value"]),
        np.concatenate(parts["error"]) if any_error else None,
        np.concatenate(parts["band"]) if any_band else None,
        objects=obj_frame,
        value_kind=kind or "mag",
        name=name or folder.name,
        source=str(folder),
        max_objects=ctx.limits.max_objects,
    )
    cat.report.added_object_ids = added + cat.report.added_object_ids
    return ctx.finish(cat)


def load_arrays(
    arrays: Sequence[np.ndarray], object_ids=None, *, objects=None, value_kind=None, name="catalog", source=None,
    limits: CatalogLimits | None = None,
) -> Catalog:
    """A list of ``L x 3`` arrays ``[time, mag, mag_err]`` (``L x 2``: no errors), one per object.

    ``object_ids`` default to ``"0"``, ``"1"``, ...; shapes are checked and a bad one is named; ids
    that are missing, empty or equal once written as text (``1`` and ``"1"``) are an error.
    """
    ctx = _context(limits, None)
    where = source or name
    n = len(arrays)
    if object_ids is None:
        object_ids = [str(i) for i in range(n)]
    object_ids = list(object_ids)
    if len(object_ids) != n:
        raise CatalogError(f"{n} arrays but {len(object_ids)} object ids")
    if n == 0:
        raise CatalogError("no objects: the list of arrays is empty")
    ctx.check_objects(n, where)
    id_values = np.empty(n, dtype=object)
    id_values[:] = object_ids
    ids = ids_as_text(id_values, column="object_ids", source=where)
    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        raise CatalogError(f"object_ids[{int(missing[0])}] is missing ({object_ids[int(missing[0])]!r}); "
                           "every array needs an id")
    dup = pd.Index(ids).duplicated(keep=False)
    if dup.any():
        first = ids[np.flatnonzero(dup)[0]]
        where_dup = np.flatnonzero(ids == first)
        raise CatalogError(f"object_ids {', '.join(f'[{i}]' for i in where_dup[:5])} all read {first!r}; "
                           "each array needs its own id")
    arrs = [np.asarray(a) for a in arrays]
    widths = np.array([a.shape[1] if a.ndim == 2 else -1 for a in arrs])
    bad = np.flatnonzero((widths != 3) & (widths != 2))
    if bad.size:
        i = int(bad[0])
        raise CatalogError(
            f"array for object {ids[i]!r} has shape {arrs[i].shape}; expected (L, 3) columns "
            f"[time, mag, mag_err] or (L, 2) [time, mag]"
        )
    if len(set(widths.tolist())) > 1:
        raise CatalogError("arrays mix (L, 3) and (L, 2) shapes; give errors for all or none")
    for i, a in enumerate(arrs[:1]):
        if a.dtype.kind not in "fiu":
            raise CatalogError(f"array for object {ids[i]!r} is not numeric (dtype {a.dtype})")
    lengths = np.array([a.shape[0] for a in arrs], dtype=np.int64)
    total = int(lengths.sum())
    # an (L, 3) view can be huge and cost nothing (np.broadcast_to): check before copying it
    check_allocation(total, 8 * 3 * 4, what="observations in the arrays", source=where)
    ctx.add(total, int(widths[0]), where)
    try:
        flat = np.concatenate(arrs, axis=0).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"arrays are not all numeric: {exc}") from exc
    obj = _objects_frame(objects, source=where, ctx=ctx)
    if obj is None:
        obj = pd.DataFrame({"object_id": ids})
    return Catalog.from_long(
        np.repeat(ids, lengths), flat[:, 0], flat[:, 1], flat[:, 2] if widths[0] == 3 else None, None,
        objects=obj, value_kind=value_kind or "mag", name=name, source=source,
        column_names={"time": "column 0 (time)", "value": "column 1 (mag)", "error": "column 2 (mag_err)"},
    )


def load_dataframe(df: pd.DataFrame, *, objects=None, columns=None, value_kind=None, name="catalog", source=None,
                   limits: CatalogLimits | None = None) -> Catalog:
    """A pandas DataFrame: long format, or nested (cells holding arrays/lists) one row per object.

    Object ids are text: ``str()`` of each value, so ``1`` and ``"1"`` in one column are an error
    naming the rows (they would otherwise become one object).
    """
    ctx = _context(limits, None)
    where = source or "the DataFrame"
    _check_unique_names([str(c) for c in df.columns], where)
    ctx.add(len(df), max(len(df.columns), 1), where)
    try:
        table = pa.Table.from_pandas(df, preserve_index=df.index.name is not None)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns cannot go to Arrow; convert column by column as object arrays.
        cat = _from_pandas_long(df, objects=objects, columns=columns, value_kind=value_kind, name=name, source=where,
                                ctx=ctx)
    else:
        obj = _objects_frame(objects, source=where, ctx=ctx)
        nested = any(_is_list(t) or pa.types.is_struct(t) for t in table.schema.types)
        cat = (_from_nested if nested else _from_table)(table, columns=columns, value_kind=value_kind, objects=obj,
                                                        name=name, source=where, ctx=ctx)
    # "the DataFrame" only names it in messages: there is no folder to save labels beside
    cat.source = source
    return cat


def _from_pandas_long(df, *, objects, columns, value_kind, name, source, ctx: _Context) -> Catalog:
    cmap = detect_columns([str(c) for c in df.columns], columns=columns, value_kind=value_kind, source=source)
    names = {k: v for k, v in cmap.as_dict().items() if k != "value_kind" and v is not None}
    return Catalog.from_long(
        df[cmap.object_id], df[cmap.time], df[cmap.value],
        None if cmap.error is None else df[cmap.error],
        None if cmap.band is None else df[cmap.band],
        objects=_objects_frame(objects, source=source, ctx=ctx), value_kind=value_kind or cmap.value_kind,
        name=name, source=source, column_names=names, max_objects=ctx.limits.max_objects,
    )


def _load_one(src: _Input, ctx: _Context, *, objects, columns, value_kind, name: str) -> Catalog:
    """One Parquet (long or nested) or CSV (long) file, from disk or memory: the one code path for both."""
    if _has_suffix(src.name, _PARQUET_SUFFIXES):
        table = _read_parquet(src, ctx)
        obj = _objects_frame(objects, source=src.where, ctx=ctx)
        if any(_is_list(t) or pa.types.is_struct(t) for t in table.schema.types):
            return ctx.finish(_from_nested(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                           source=src.where, ctx=ctx))
        return ctx.finish(_from_table(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                      source=src.where, ctx=ctx))
    if _has_suffix(src.name, _CSV_SUFFIXES):
        table, _ = _read_long(src, ctx, columns=columns, value_kind=value_kind)
        obj = _objects_frame(objects, source=src.where, ctx=ctx)
        return ctx.finish(_from_table(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                      source=src.where, ctx=ctx))
    raise CatalogError(f"unsupported file type {src.where} (expected Parquet {', '.join(_PARQUET_SUFFIXES)} "
                       f"or CSV {', '.join(_CSV_SUFFIXES)})")


def load_file(path: Path, *, objects=None, columns=None, value_kind=None, name=None,
              limits: CatalogLimits | None = None, allowed_roots=None, _ctx: _Context | None = None) -> Catalog:
    """One Parquet (long or nested) or CSV (long) file."""
    ctx = _ctx or _context(limits, allowed_roots)
    path = Path(path)
    if path.name.endswith(LC_SUFFIX):
        return load_shared_layout(path, objects=objects, columns=columns, value_kind=value_kind, name=name, _ctx=ctx)
    return _load_one(_Input.of(path, ctx), ctx, objects=objects, columns=columns, value_kind=value_kind,
                     name=name or _stem(path))


def load_catalog_bytes(
    data: bytes,
    filename: str,
    *,
    limits: CatalogLimits | None = None,
    objects=None,
    columns: Mapping[str, str] | None = None,
    value_kind: str | None = None,
    name: str | None = None,
) -> Catalog:
    """Load an uploaded file's bytes (Parquet or CSV, chosen by ``filename``'s suffix).

    Exactly the reader of ``load_catalog(path)`` on a buffer instead of a path, so an upload and the
    same file opened by path (or by the CLI) give the same catalog. ``limits`` defaults to
    :meth:`CatalogLimits.served` (the size limit is checked before anything is parsed). Messages name
    the file as ``uploaded file 'name'``; the catalog has no ``source`` (no folder to save labels in).
    """
    check_value_kind(value_kind)
    ctx = _context(CatalogLimits.served() if limits is None else limits, None)
    fname = Path(str(filename or "upload").replace("\\", "/").replace("\x00", "")).name or "upload"
    where = f"uploaded file {fname!r}"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CatalogError(f"{where}: expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise CatalogError(f"{where} is empty")
    ctx.check_bytes(len(data), where)
    if objects is not None and not isinstance(objects, pd.DataFrame):
        raise CatalogError(f"{where}: objects= must be a DataFrame for an upload")
    src = _Input(name=fname, where=where, data=bytes(data))
    cat = _guard_memory(lambda: _load_one(src, ctx, objects=objects, columns=columns, value_kind=value_kind,
                                          name=name or _stem(fname)), where)
    cat.source = None
    return cat


def _guard_memory(load, where: str) -> Catalog:
    try:
        return load()
    except MemoryError:
        raise CatalogError(f"not enough memory to load {where}; split the catalog or load fewer bands/objects") from None


# ---------------------------------------------------------------------- dispatcher
def load_catalog(
    path_or_data,
    *,
    objects=None,
    columns: Mapping[str, str] | None = None,
    value_kind: str | None = None,
    name: str | None = None,
    object_ids=None,
    limits: CatalogLimits | None = None,
    allowed_roots=None,
) -> Catalog:
    """Load a catalog from a path (file or folder), a DataFrame, or a list of ``L x 3`` arrays.

    ``objects``: objects table (DataFrame or path) joined by object id. ``columns``: overrides of
    column detection, e.g. ``{"time": "hmjd", "value": "psFlux"}``. ``value_kind``: ``"mag"`` or
    ``"flux"`` (detected from column names otherwise). ``object_ids``: ids for a list of arrays.
    ``limits``: a :class:`CatalogLimits` checked before reading (default: none). ``allowed_roots``:
    folders every file actually opened must resolve into, links followed (default: anywhere).
    Object ids are text exactly as written. Errors are :class:`explorer.errors.CatalogError` naming
    the file, column and object at fault; notes on how the input was read are in ``report.notes``.
    """
    check_value_kind(value_kind)
    if isinstance(path_or_data, Catalog):
        return path_or_data
    if isinstance(path_or_data, pd.DataFrame):
        return _guard_memory(lambda: load_dataframe(path_or_data, objects=objects, columns=columns,
                                                    value_kind=value_kind, name=name or "catalog", limits=limits),
                             "the DataFrame")
    if isinstance(path_or_data, (str, Path)):
        if "\x00" in str(path_or_data):
            raise CatalogError(f"catalog path {str(path_or_data).replace(chr(0), '?')!r} contains a null byte")
        ctx = _context(limits, allowed_roots)
        path = ctx.check_path(Path(path_or_data).expanduser())
        if not path.exists():
            raise CatalogError(f"catalog path {path} does not exist")
        return _guard_memory(lambda: _load_path(path, ctx, objects=objects, columns=columns, value_kind=value_kind,
                                                name=name), str(path))
    if isinstance(path_or_data, (list, tuple)) and (len(path_or_data) == 0 or isinstance(path_or_data[0], np.ndarray)):
        return _guard_memory(lambda: load_arrays(path_or_data, object_ids, objects=objects, value_kind=value_kind,
                                                 name=name or "catalog", limits=limits), "the arrays")
    raise CatalogError(
        f"cannot load a catalog from {type(path_or_data).__name__}; give a path, a DataFrame or a list of arrays"
    )


def _load_path(path: Path, ctx: _Context, *, objects, columns, value_kind, name) -> Catalog:
    kw = dict(objects=objects, columns=columns, value_kind=value_kind, name=name, _ctx=ctx)
    if path.is_dir():
        lc_files = list(path.glob(f"*{LC_SUFFIX}"))
        for p in lc_files:
            ctx.check_path(p)
        if any(p.exists() for p in lc_files):
            return load_shared_layout(path, **kw)
        if any(_has_suffix(p, _CSV_SUFFIXES) and not is_sidecar(p) for p in path.iterdir()):
            return load_csv_folder(path, **kw)
        raise CatalogError(
            f"folder {path} holds neither '*{LC_SUFFIX}' nor per-object CSV files; "
            f"found: {', '.join(sorted(p.name for p in path.iterdir())[:10]) or '(nothing)'}"
        )
    return load_file(path, **kw)
