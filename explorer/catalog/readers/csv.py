"""CSV files, streamed in blocks with the limits checked as they come (long tables and objects tables)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from explorer.catalog.columns import ColumnMap, detect_columns, detect_object_id
from explorer.catalog.readers.inputs import CSV_SUFFIXES, PARQUET_SUFFIXES, Input, check_unique_names, has_suffix
from explorer.catalog.readers.limits import ReadContext
from explorer.catalog.readers.parquet import read_parquet
from explorer.errors import CatalogError


class _NotUtf8(Exception):
    pass


def read_csv(src: Input, ctx: ReadContext, pick=None) -> pa.Table:
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


def _read_csv_as(src: Input, ctx: ReadContext, pick, encoding: str) -> pa.Table:
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
    check_unique_names(names, src.where)
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


def read_long(src: Input, ctx: ReadContext, *, columns, value_kind, need_object_id=True) -> tuple[pa.Table, ColumnMap]:
    """A long-format file (CSV: only the role columns, the id column as text) and its column map."""
    if has_suffix(src.name, PARQUET_SUFFIXES):
        table = read_parquet(src, ctx)
        return table, None
    if not has_suffix(src.name, CSV_SUFFIXES):
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

    table = read_csv(src, ctx, pick)
    return table, found["cmap"]


def read_objects_table(src: Input, ctx: ReadContext) -> pa.Table:
    """An objects table (Parquet or CSV, every column; a CSV id column is read as text)."""
    if has_suffix(src.name, PARQUET_SUFFIXES):
        return read_parquet(src, ctx)
    if not has_suffix(src.name, CSV_SUFFIXES):
        raise CatalogError(f"unsupported file type {src.where} (expected Parquet or CSV)")

    def pick(names, first):
        return None, {detect_object_id(names, source=src.where): pa.string()}

    return read_csv(src, ctx, pick)
