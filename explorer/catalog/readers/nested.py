"""Nested input (one row per object: list columns, a struct of lists or a list of structs) -> :class:`Catalog`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from explorer.catalog.columns import detect_object_id, normalise
from explorer.catalog.core import Catalog, check_allocation, check_objects_table, ids_as_text
from explorer.catalog.readers.inputs import check_unique_names, is_list
from explorer.catalog.readers.limits import ReadContext
from explorer.catalog.readers.table import from_table
from explorer.errors import CatalogError


def flatten_nested(table: pa.Table, *, source: str) -> tuple[pa.Table, pa.Table]:
    """Split a nested table (one row per object) into (long observations, per-object scalars).

    List columns, a struct-of-lists column and a list-of-structs column are all flattened; the
    observation table gets a ``__row__`` column with the object's row number.
    """
    list_cols: dict[str, pa.ChunkedArray] = {}
    scalar_cols: dict[str, pa.ChunkedArray] = {}
    for cname, col in zip(table.column_names, table.columns):
        t = col.type
        if is_list(t) and pa.types.is_struct(t.value_type):  # list<struct<time, mag, ...>>
            arr = col.combine_chunks()
            flat = pc.list_flatten(arr)
            lengths = pc.fill_null(pc.list_value_length(arr), 0)
            for i in range(t.value_type.num_fields):
                list_cols[t.value_type.field(i).name] = (flat.field(i), lengths)
        elif pa.types.is_struct(t) and all(is_list(t.field(i).type) for i in range(t.num_fields)) and t.num_fields:
            arr = col.combine_chunks()
            for i in range(t.num_fields):
                sub = arr.field(i)
                list_cols[t.field(i).name] = (pc.list_flatten(sub), pc.fill_null(pc.list_value_length(sub), 0))
        elif is_list(t):
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


def from_nested(
    table: pa.Table, *, columns, value_kind, objects, name: str, source: str, ctx: ReadContext | None = None
) -> Catalog:
    ctx = ctx or ReadContext()
    check_unique_names(table.column_names, source)
    ctx.check_objects(table.num_rows, source)
    long, scalars = flatten_nested(table, source=source)
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
    return from_table(long, columns=rest, value_kind=value_kind, objects=objects, name=name, source=source,
                       object_id=pa.DictionaryArray.from_arrays(pa.array(row), pa.array(ids, type=pa.string())),
                       ctx=ctx)
