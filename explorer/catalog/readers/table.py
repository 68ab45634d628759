"""A long-format Arrow table (one row per observation) and an objects table -> :class:`Catalog`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from explorer.catalog.columns import ColumnMap, detect_columns, normalise
from explorer.catalog.core import Catalog, check_objects_table
from explorer.catalog.readers.csv import read_objects_table
from explorer.catalog.readers.inputs import Input, check_unique_names
from explorer.catalog.readers.limits import ReadContext
from explorer.errors import CatalogError

_ZTF_FID = {"1": "g", "2": "r", "3": "i"}


def band_values(col, cmap: ColumnMap):
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


def objects_frame(objects, *, source: str, ctx: ReadContext | None = None) -> pd.DataFrame | None:
    """The ``objects=`` argument as a DataFrame (a path is read; Parquet or CSV, ids as text)."""
    if objects is None or isinstance(objects, pd.DataFrame):
        return objects
    ctx = ctx or ReadContext()
    path = Path(objects)
    ctx.check_path(path)
    if not path.exists():
        raise CatalogError(f"objects table {path} does not exist (objects table for {source})")
    # Checked here so that errors (duplicate ids, no id column) name the objects file itself.
    return check_objects_table(read_objects_table(Input.of(path, ctx), ctx).to_pandas(), source=str(path))


def from_table(
    table: pa.Table,
    *,
    columns: Mapping[str, str] | None,
    value_kind: str | None,
    objects: pd.DataFrame | None,
    name: str,
    source: str,
    object_id=None,
    ctx: ReadContext | None = None,
) -> Catalog:
    """Long-format Arrow table -> Catalog (object ids from a column, or ``object_id`` given per row)."""
    check_unique_names(table.column_names, source)
    cmap = detect_columns(table.column_names, columns=columns, value_kind=value_kind,
                          need_object_id=object_id is None, source=source)
    ids = object_id if object_id is not None else table.column(cmap.object_id)
    band = None if cmap.band is None else band_values(table.column(cmap.band), cmap)
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
        max_objects=(ctx or ReadContext()).limits.max_objects,
    )
