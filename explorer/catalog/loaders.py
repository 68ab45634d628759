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

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from explorer.catalog.cleaning import to_float64
from explorer.catalog.columns import ColumnMap, check_value_kind, detect_columns, detect_object_id, normalise
from explorer.catalog.core import Catalog, check_objects_table
from explorer.errors import CatalogError

LC_SUFFIX = ".lightcurves.parquet"
OBJ_SUFFIX = ".objects.parquet"
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv", ".txt", ".dat")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_ZTF_FID = {"1": "g", "2": "r", "3": "i"}


# ---------------------------------------------------------------------- small helpers
def _has_suffix(path: Path, suffixes) -> bool:
    low = path.name.lower()
    return any(low.endswith(s) for s in suffixes)


def _stem(path: Path) -> str:
    name = path.name
    for s in sorted(_CSV_SUFFIXES + _PARQUET_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(s):
            return name[: -len(s)]
    return path.stem


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types; all mean "cannot read this file"
        raise CatalogError(f"cannot read Parquet file {path}: {exc}") from exc


def _read_csv(path: Path) -> pa.Table:
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    try:
        return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    except Exception as exc:
        raise CatalogError(f"cannot read CSV file {path}: {exc}") from exc


def _read_table(path: Path) -> pa.Table:
    if _has_suffix(path, _PARQUET_SUFFIXES):
        return _read_parquet(path)
    if _has_suffix(path, _CSV_SUFFIXES):
        return _read_csv(path)
    raise CatalogError(f"unsupported file type {path} (expected Parquet or CSV)")


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


def _objects_frame(objects, *, source: str) -> pd.DataFrame | None:
    """The ``objects=`` argument as a DataFrame (a path is read; Parquet or CSV)."""
    if objects is None or isinstance(objects, pd.DataFrame):
        return objects
    path = Path(objects)
    if not path.exists():
        raise CatalogError(f"objects table {path} does not exist (objects table for {source})")
    # Checked here so that errors (duplicate ids, no id column) name the objects file itself.
    return check_objects_table(_read_table(path).to_pandas(), source=str(path))


def _from_table(
    table: pa.Table,
    *,
    columns: Mapping[str, str] | None,
    value_kind: str | None,
    objects: pd.DataFrame | None,
    name: str,
    source: str,
    object_id=None,
) -> Catalog:
    """Long-format Arrow table -> Catalog (object ids from a column, or ``object_id`` given per row)."""
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
    long = pa.table({c: flat for c, (flat, _) in list_cols.items()})
    row = np.repeat(np.arange(table.num_rows, dtype=np.int64), lengths)
    long = long.append_column("__row__", pa.array(row))
    return long, pa.table(scalar_cols) if scalar_cols else pa.table({})


def _from_nested(
    table: pa.Table, *, columns, value_kind, objects, name: str, source: str
) -> Catalog:
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
    ids = meta["object_id"].astype(str).to_numpy(dtype=object)
    if objects is not None:
        # Nested rows keep their order, their scalar columns come first; objects-table rows
        # without a light curve are appended (they end up flagged empty).
        table = check_objects_table(objects, source=f"the objects table for {source}")
        meta = meta.assign(object_id=meta["object_id"].astype(str))
        merged = meta.merge(table, on="object_id", how="left", suffixes=("", "_objects"))
        extra = table[~table["object_id"].isin(meta["object_id"])]
        objects = pd.concat([merged, extra], ignore_index=True) if len(extra) else merged
    else:
        objects = meta
    row = long.column("__row__").to_numpy()
    long = long.drop(["__row__"])
    return _from_table(long, columns=rest, value_kind=value_kind, objects=objects, name=name,
                       source=source, object_id=pa.DictionaryArray.from_arrays(pa.array(row), pa.array(ids, type=pa.string())))


# ---------------------------------------------------------------------- per-source loaders
def load_shared_layout(folder: Path, *, objects=None, columns=None, value_kind=None, name=None) -> Catalog:
    """``<folder>/<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` (objects table optional)."""
    folder = Path(folder)
    lc_path = folder if folder.is_file() else _find_lightcurves(folder)
    stem = lc_path.name[: -len(LC_SUFFIX)]
    obj_path = lc_path.with_name(stem + OBJ_SUFFIX)
    if objects is None and obj_path.exists():
        objects = obj_path
    table = _read_parquet(lc_path)
    return _from_table(table, columns=columns, value_kind=value_kind, objects=_objects_frame(objects, source=str(lc_path)),
                       name=name or stem, source=str(lc_path))


def _find_lightcurves(folder: Path) -> Path:
    own = folder / f"{folder.name}{LC_SUFFIX}"
    if own.exists():
        return own
    found = sorted(folder.glob(f"*{LC_SUFFIX}"))
    if len(found) == 1:
        return found[0]
    raise CatalogError(
        f"folder {folder} holds {len(found)} '*{LC_SUFFIX}' files ({', '.join(p.name for p in found)}); "
        f"pass one of them"
    )


def is_sidecar(path: Path) -> bool:
    """Files the explorer keeps beside a catalog (labels, hidden temporaries): never light curves."""
    return path.name.startswith(".") or ".labels." in path.name


def load_csv_folder(folder: Path, *, objects=None, columns=None, value_kind=None, name=None) -> Catalog:
    """A folder of per-object CSV files; the object id is the file stem.

    Files are read one by one (I/O bound) and concatenated once; columns are detected per file,
    so files may order their columns differently.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and _has_suffix(p, _CSV_SUFFIXES)
                   and not is_sidecar(p))
    if not files:
        raise CatalogError(f"no objects in {folder}: no CSV files found there")
    obj_frame = _objects_frame(objects, source=str(folder))
    if isinstance(objects, (str, Path)):
        # An objects table kept inside the folder is not a light curve.
        files = [p for p in files if p.resolve() != Path(objects).resolve()]
    parts: dict[str, list] = {"time": [], "value": [], "error": [], "band": []}
    stems, lengths = [], []
    kind = value_kind
    any_error = any_band = False
    for path in files:
        table = _read_csv(path)
        cmap = detect_columns(table.column_names, columns=columns, value_kind=kind, need_object_id=False,
                              source=str(path))
        if kind is None:
            kind = cmap.value_kind
        elif cmap.value_kind != kind:
            raise CatalogError(f"{path} has {cmap.value_kind} values ({cmap.value!r}) but earlier files have {kind}")
        where = str(path)
        parts["time"].append(to_float64(table.column(cmap.time), column=cmap.time, source=where,
                                         object_at=lambda i, s=_stem(path): s, is_time=True))
        parts["value"].append(to_float64(table.column(cmap.value), column=cmap.value, source=where,
                                          object_at=lambda i, s=_stem(path): s))
        if cmap.error is not None:
            any_error = True
            parts["error"].append(to_float64(table.column(cmap.error), column=cmap.error, source=where,
                                              object_at=lambda i, s=_stem(path): s))
        else:
            parts["error"].append(np.full(table.num_rows, np.nan))
        if cmap.band is not None:
            any_band = True
            b = _band_values(table.column(cmap.band), cmap)
            parts["band"].append(pc.cast(b, pa.string()).to_numpy(zero_copy_only=False).astype(object))
        else:
            parts["band"].append(np.full(table.num_rows, None, dtype=object))
        stems.append(_stem(path))
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
    )
    cat.report.added_object_ids = added + cat.report.added_object_ids
    return cat


def load_arrays(
    arrays: Sequence[np.ndarray], object_ids=None, *, objects=None, value_kind=None, name="catalog", source=None
) -> Catalog:
    """A list of ``L x 3`` arrays ``[time, mag, mag_err]`` (``L x 2``: no errors), one per object.

    ``object_ids`` default to ``"0"``, ``"1"``, ...; shapes are checked and a bad one is named.
    """
    n = len(arrays)
    if object_ids is None:
        object_ids = [str(i) for i in range(n)]
    object_ids = list(object_ids)
    if len(object_ids) != n:
        raise CatalogError(f"{n} arrays but {len(object_ids)} object ids")
    if n == 0:
        raise CatalogError("no objects: the list of arrays is empty")
    arrs = [np.asarray(a) for a in arrays]
    widths = np.array([a.shape[1] if a.ndim == 2 else -1 for a in arrs])
    bad = np.flatnonzero((widths != 3) & (widths != 2))
    if bad.size:
        i = int(bad[0])
        raise CatalogError(
            f"array for object {object_ids[i]!r} has shape {arrs[i].shape}; expected (L, 3) columns "
            f"[time, mag, mag_err] or (L, 2) [time, mag]"
        )
    if len(set(widths.tolist())) > 1:
        raise CatalogError("arrays mix (L, 3) and (L, 2) shapes; give errors for all or none")
    for i, a in enumerate(arrs[:1]):
        if a.dtype.kind not in "fiu":
            raise CatalogError(f"array for object {object_ids[i]!r} is not numeric (dtype {a.dtype})")
    try:
        flat = np.concatenate(arrs, axis=0).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"arrays are not all numeric: {exc}") from exc
    lengths = np.array([a.shape[0] for a in arrs])
    ids = np.asarray([str(x) for x in object_ids], dtype=object)
    obj = _objects_frame(objects, source=source or name)
    if obj is None:
        obj = pd.DataFrame({"object_id": ids})
    return Catalog.from_long(
        np.repeat(ids, lengths), flat[:, 0], flat[:, 1], flat[:, 2] if widths[0] == 3 else None, None,
        objects=obj, value_kind=value_kind or "mag", name=name, source=source,
        column_names={"time": "column 0 (time)", "value": "column 1 (mag)", "error": "column 2 (mag_err)"},
    )


def load_dataframe(df: pd.DataFrame, *, objects=None, columns=None, value_kind=None, name="catalog", source=None) -> Catalog:
    """A pandas DataFrame: long format, or nested (cells holding arrays/lists) one row per object."""
    where = source or "the DataFrame"
    try:
        table = pa.Table.from_pandas(df, preserve_index=df.index.name is not None)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns cannot go to Arrow; convert column by column as object arrays.
        cat = _from_pandas_long(df, objects=objects, columns=columns, value_kind=value_kind, name=name, source=where)
    else:
        obj = _objects_frame(objects, source=where)
        nested = any(_is_list(t) or pa.types.is_struct(t) for t in table.schema.types)
        cat = (_from_nested if nested else _from_table)(table, columns=columns, value_kind=value_kind, objects=obj,
                                                        name=name, source=where)
    # "the DataFrame" only names it in messages: there is no folder to save labels beside
    cat.source = source
    return cat


def _from_pandas_long(df, *, objects, columns, value_kind, name, source) -> Catalog:
    cmap = detect_columns([str(c) for c in df.columns], columns=columns, value_kind=value_kind, source=source)
    names = {k: v for k, v in cmap.as_dict().items() if k != "value_kind" and v is not None}
    return Catalog.from_long(
        df[cmap.object_id], df[cmap.time], df[cmap.value],
        None if cmap.error is None else df[cmap.error],
        None if cmap.band is None else df[cmap.band],
        objects=_objects_frame(objects, source=source), value_kind=value_kind or cmap.value_kind,
        name=name, source=source, column_names=names,
    )


def load_file(path: Path, *, objects=None, columns=None, value_kind=None, name=None) -> Catalog:
    """One Parquet (long or nested) or CSV (long) file."""
    path = Path(path)
    if path.name.endswith(LC_SUFFIX):
        return load_shared_layout(path, objects=objects, columns=columns, value_kind=value_kind, name=name)
    table = _read_table(path)
    obj = _objects_frame(objects, source=str(path))
    name = name or _stem(path)
    if any(_is_list(t) or pa.types.is_struct(t) for t in table.schema.types):
        return _from_nested(table, columns=columns, value_kind=value_kind, objects=obj, name=name, source=str(path))
    return _from_table(table, columns=columns, value_kind=value_kind, objects=obj, name=name, source=str(path))


# ---------------------------------------------------------------------- dispatcher
def load_catalog(
    path_or_data,
    *,
    objects=None,
    columns: Mapping[str, str] | None = None,
    value_kind: str | None = None,
    name: str | None = None,
    object_ids=None,
) -> Catalog:
    """Load a catalog from a path (file or folder), a DataFrame, or a list of ``L x 3`` arrays.

    ``objects``: objects table (DataFrame or path) joined by object id. ``columns``: overrides of
    column detection, e.g. ``{"time": "hmjd", "value": "psFlux"}``. ``value_kind``: ``"mag"`` or
    ``"flux"`` (detected from column names otherwise). ``object_ids``: ids for a list of arrays.
    Errors are :class:`explorer.errors.CatalogError` naming the file, column and object at fault.
    """
    check_value_kind(value_kind)
    if isinstance(path_or_data, Catalog):
        return path_or_data
    if isinstance(path_or_data, pd.DataFrame):
        return load_dataframe(path_or_data, objects=objects, columns=columns, value_kind=value_kind,
                              name=name or "catalog")
    if isinstance(path_or_data, (str, Path)):
        path = Path(path_or_data).expanduser()
        if not path.exists():
            raise CatalogError(f"catalog path {path} does not exist")
        if path.is_dir():
            if list(path.glob(f"*{LC_SUFFIX}")):
                return load_shared_layout(path, objects=objects, columns=columns, value_kind=value_kind, name=name)
            if any(p.is_file() and _has_suffix(p, _CSV_SUFFIXES) and not is_sidecar(p) for p in path.iterdir()):
                return load_csv_folder(path, objects=objects, columns=columns, value_kind=value_kind, name=name)
            raise CatalogError(
                f"folder {path} holds neither '*{LC_SUFFIX}' nor per-object CSV files; "
                f"found: {', '.join(sorted(p.name for p in path.iterdir())[:10]) or '(nothing)'}"
            )
        return load_file(path, objects=objects, columns=columns, value_kind=value_kind, name=name)
    if isinstance(path_or_data, (list, tuple)) and (len(path_or_data) == 0 or isinstance(path_or_data[0], np.ndarray)):
        return load_arrays(path_or_data, object_ids, objects=objects, value_kind=value_kind, name=name or "catalog")
    raise CatalogError(
        f"cannot load a catalog from {type(path_or_data).__name__}; give a path, a DataFrame or a list of arrays"
    )
