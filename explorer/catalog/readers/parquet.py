"""Parquet files (long or nested), with the limits checked from the metadata before anything is read."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from explorer.catalog.core import check_allocation
from explorer.catalog.readers.inputs import Input, check_unique_names, is_list, is_nested
from explorer.catalog.readers.limits import DECODED_BYTES_FACTOR, ReadContext, human_bytes
from explorer.errors import CatalogError


def read_parquet(src: Input, ctx: ReadContext, *, columns=None, value_kind=None) -> pa.Table:
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
    check_unique_names(names, src.where)
    lim = ctx.limits
    # few rows of huge strings pass the row and value limits: bound the decoded size too
    if lim.max_bytes is not None and decoded > DECODED_BYTES_FACTOR * lim.max_bytes:
        raise CatalogError(
            f"{src.where} is too large: it decodes to {human_bytes(decoded)}, over {DECODED_BYTES_FACTOR} x the limit of "
            f"{human_bytes(lim.max_bytes)} (CatalogLimits.max_bytes, environment {lim.ENV['max_bytes']})")
    # one row per object (nested light curves): a long table with extra list columns is not
    nested = is_nested(schema, columns=columns, value_kind=value_kind)
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
            ctx.count(*nested_counts(table), src.where)
            return table
        batches = []
        for batch in pf.iter_batches(batch_size=1024):
            ctx.count(*nested_counts(batch), src.where)
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=schema)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(f"cannot read Parquet file {src.where}: {exc}") from exc


def nested_counts(data) -> tuple[int, int]:
    """(observations, values) of a nested table or batch: the longest list column, and every value."""
    longest, values = data.num_rows, 0
    for col in data.columns:
        n = _leaf_count(col)
        longest = max(longest, n)
        values += n
    return longest, values


def _leaf_count(col) -> int:
    t = col.type
    if is_list(t):
        return int(pc.sum(pc.list_value_length(col)).as_py() or 0) * max(_width(t.value_type), 1)
    if pa.types.is_struct(t):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        return sum(_leaf_count(arr.field(i)) for i in range(t.num_fields))
    return len(col)


def _width(t) -> int:
    return t.num_fields if pa.types.is_struct(t) else 1
