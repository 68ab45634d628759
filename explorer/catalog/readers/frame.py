"""A pandas DataFrame (long, or nested with array cells) -> :class:`Catalog`."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from explorer.catalog.columns import detect_columns
from explorer.catalog.core import Catalog
from explorer.catalog.readers.inputs import check_unique_names, is_nested, note_ignored_nested
from explorer.catalog.readers.limits import CatalogLimits, ReadContext, make_context
from explorer.catalog.readers.nested import from_nested
from explorer.catalog.readers.table import from_table, objects_frame


def load_dataframe(df: pd.DataFrame, *, objects=None, columns=None, value_kind=None, name="catalog", source=None,
                   limits: CatalogLimits | None = None) -> Catalog:
    """A pandas DataFrame: long format, or nested (cells holding arrays/lists) one row per object.

    Object ids are text: ``str()`` of each value, so ``1`` and ``"1"`` in one column are an error
    naming the rows (they would otherwise become one object).
    """
    ctx = make_context(limits, None)
    where = source or "the DataFrame"
    check_unique_names([str(c) for c in df.columns], where)
    ctx.add(len(df), max(len(df.columns), 1), where)
    try:
        table = pa.Table.from_pandas(df, preserve_index=df.index.name is not None)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns cannot go to Arrow; convert column by column as object arrays.
        cat = _from_pandas_long(df, objects=objects, columns=columns, value_kind=value_kind, name=name, source=where,
                                ctx=ctx)
    else:
        obj = objects_frame(objects, source=where, ctx=ctx)
        nested = is_nested(table.schema, columns=columns, value_kind=value_kind)
        if not nested:
            note_ignored_nested(table.schema, ctx, where)
        cat = (from_nested if nested else from_table)(table, columns=columns, value_kind=value_kind, objects=obj,
                                                        name=name, source=where, ctx=ctx)
    # "the DataFrame" only names it in messages: there is no folder to save labels beside
    cat.source = source
    return ctx.finish(cat)


def _from_pandas_long(df, *, objects, columns, value_kind, name, source, ctx: ReadContext) -> Catalog:
    cmap = detect_columns([str(c) for c in df.columns], columns=columns, value_kind=value_kind, source=source)
    names = {k: v for k, v in cmap.as_dict().items() if k != "value_kind" and v is not None}
    return Catalog.from_long(
        df[cmap.object_id], df[cmap.time], df[cmap.value],
        None if cmap.error is None else df[cmap.error],
        None if cmap.band is None else df[cmap.band],
        objects=objects_frame(objects, source=source, ctx=ctx), value_kind=value_kind or cmap.value_kind,
        name=name, source=source, column_names=names, max_objects=ctx.limits.max_objects,
    )
