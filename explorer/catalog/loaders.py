"""The catalog's entry points: ``load_catalog`` (any input) and ``load_catalog_bytes`` (an upload).

Each input format has its reader in :mod:`explorer.catalog.readers`; this module picks the reader.

Accepted inputs (see :func:`load_catalog`):

* long-format Parquet or CSV (one row per observation);
* a folder holding ``<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` (the ``../shared/data``
  and ``sample_catalogs/`` layout), or the ``.lightcurves.parquet`` file itself;
* a folder of per-object CSV files (columns time, band, mag/magerr or flux/fluxerr; object id = file stem);
* nested Parquet (one row per object, list columns ``time``/``mag``/... or one struct-of-lists or
  list-of-structs column, as nested-pandas writes);
* a list of ``L x 3`` arrays ``[time, mag, mag_err]`` (ASTROMER's input) with ``object_ids``;
* a pandas DataFrame (long or nested), a nested-pandas ``NestedFrame`` or an LSDB catalog;
* FITS binary tables (long format, plain or gzip), one per-object FITS light curve (the Kepler / TESS
  ``LIGHTCURVE`` layout) or a folder of them;
* astropy ``Table`` / ``QTable`` / ``TimeSeries``, lightkurve ``LightCurve`` / ``LightCurveCollection``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.catalog.columns import check_value_kind
from explorer.catalog.core import Catalog
from explorer.catalog.readers.arrays import load_arrays
from explorer.catalog.readers.astro import from_astropy, is_astropy_table
from explorer.catalog.readers.collections import (is_hats, is_light_curve_collection, is_lsdb_catalog,
                                                  load_light_curves, lsdb_frame, open_hats)
from explorer.catalog.readers.csv import read_long
from explorer.catalog.readers.fits import FITS_SUFFIXES, is_fits, load_fits, load_fits_folder
from explorer.catalog.readers.folder import is_sidecar, load_csv_folder, load_shared_layout
from explorer.catalog.readers.frame import load_dataframe
from explorer.catalog.readers.inputs import (CSV_SUFFIXES, LC_SUFFIX, OBJ_SUFFIX, PARQUET_SUFFIXES, Input, file_stem,
                                            guard_memory, has_suffix, is_nested, note_ignored_nested)
from explorer.catalog.readers.limits import CatalogLimits, ReadContext, make_context
from explorer.catalog.readers.nested import from_nested
from explorer.catalog.readers.parquet import read_parquet
from explorer.catalog.readers.table import from_table, objects_frame
from explorer.errors import CatalogError

# every file suffix load_catalog / load_catalog_bytes read (for upload widgets and folder listings)
CATALOG_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES + FITS_SUFFIXES

__all__ = ["CATALOG_SUFFIXES", "CatalogLimits", "LC_SUFFIX", "OBJ_SUFFIX", "is_sidecar", "load_arrays", "load_catalog", "load_catalog_bytes",
           "load_csv_folder", "load_dataframe", "load_file", "load_fits_folder", "load_shared_layout"]


def load_one(src: Input, ctx: ReadContext, *, objects, columns, value_kind, name: str) -> Catalog:
    """One Parquet (long or nested), CSV (long) or FITS file, from disk or memory: the one code path for both."""
    if has_suffix(src.name, PARQUET_SUFFIXES):
        table = read_parquet(src, ctx, columns=columns, value_kind=value_kind)
        obj = objects_frame(objects, source=src.where, ctx=ctx)
        if is_nested(table.schema, columns=columns, value_kind=value_kind):
            return ctx.finish(from_nested(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                           source=src.where, ctx=ctx))
        note_ignored_nested(table.schema, ctx, src.where)
        return ctx.finish(from_table(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                      source=src.where, ctx=ctx))
    if has_suffix(src.name, CSV_SUFFIXES):
        table, _ = read_long(src, ctx, columns=columns, value_kind=value_kind)
        obj = objects_frame(objects, source=src.where, ctx=ctx)
        return ctx.finish(from_table(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                      source=src.where, ctx=ctx))
    if is_fits(src.name):
        return load_fits(src, ctx, objects=objects, columns=columns, value_kind=value_kind, name=name)
    raise CatalogError(f"unsupported file type {src.where} (expected Parquet {', '.join(PARQUET_SUFFIXES)}, "
                       f"CSV {', '.join(CSV_SUFFIXES)} or FITS {', '.join(FITS_SUFFIXES)})")


def load_file(path: Path, *, objects=None, columns=None, value_kind=None, name=None,
              limits: CatalogLimits | None = None, allowed_roots=None, _ctx: ReadContext | None = None) -> Catalog:
    """One Parquet (long or nested), CSV (long) or FITS (long table or one light curve) file."""
    ctx = _ctx or make_context(limits, allowed_roots)
    path = Path(path)
    if path.name.endswith(LC_SUFFIX):
        return load_shared_layout(path, objects=objects, columns=columns, value_kind=value_kind, name=name, _ctx=ctx)
    return load_one(Input.of(path, ctx), ctx, objects=objects, columns=columns, value_kind=value_kind,
                     name=name or file_stem(path))


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
    """Load an uploaded file's bytes (Parquet, CSV or FITS, chosen by ``filename``'s suffix).

    Exactly the reader of ``load_catalog(path)`` on a buffer instead of a path, so an upload and the
    same file opened by path (or by the CLI) give the same catalog. ``limits`` defaults to
    :meth:`CatalogLimits.served` (the size limit is checked before anything is parsed). Messages name
    the file as ``uploaded file 'name'``; the catalog has no ``source`` (no folder to save labels in).
    """
    check_value_kind(value_kind)
    ctx = make_context(CatalogLimits.served() if limits is None else limits, None)
    fname = Path(str(filename or "upload").replace("\\", "/").replace("\x00", "")).name or "upload"
    where = f"uploaded file {fname!r}"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CatalogError(f"{where}: expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise CatalogError(f"{where} is empty")
    ctx.check_bytes(len(data), where)
    if objects is not None and not isinstance(objects, pd.DataFrame):
        raise CatalogError(f"{where}: objects= must be a DataFrame for an upload")
    src = Input(name=fname, where=where, data=bytes(data))
    cat = guard_memory(lambda: load_one(src, ctx, objects=objects, columns=columns, value_kind=value_kind,
                                          name=name or file_stem(fname)), where)
    cat.source = None
    return cat


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
    sample: int | None = None,
    seed: int | None = None,
) -> Catalog:
    """Load a catalog from a path (file or folder), a table or light curves in memory, or ``L x 3`` arrays.

    In memory: a pandas DataFrame (long or nested, nested-pandas ``NestedFrame`` included), an astropy
    ``Table`` / ``QTable`` / ``TimeSeries`` (units respected), a lightkurve ``LightCurve`` or
    ``LightCurveCollection`` (or a list of light curves), an LSDB catalog (``sample``: that many objects
    drawn at random with ``seed``; default: the whole catalog), or a HATS folder (read as an LSDB catalog).

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
        return guard_memory(lambda: load_dataframe(path_or_data, objects=objects, columns=columns,
                                                    value_kind=value_kind, name=name or "catalog", limits=limits),
                             "the DataFrame")
    if isinstance(path_or_data, (str, Path)):
        if "\x00" in str(path_or_data):
            raise CatalogError(f"catalog path {str(path_or_data).replace(chr(0), '?')!r} contains a null byte")
        ctx = make_context(limits, allowed_roots)
        path = ctx.check_path(Path(path_or_data).expanduser())
        if not path.exists():
            raise CatalogError(f"catalog path {path} does not exist")
        return guard_memory(lambda: _load_path(path, ctx, objects=objects, columns=columns, value_kind=value_kind,
                                               name=name, sample=sample, seed=seed), str(path))
    if isinstance(path_or_data, (list, tuple)) and (len(path_or_data) == 0 or isinstance(path_or_data[0], np.ndarray)):
        return guard_memory(lambda: load_arrays(path_or_data, object_ids, objects=objects, value_kind=value_kind,
                                                 name=name or "catalog", limits=limits), "the arrays")
    return _load_object(path_or_data, objects=objects, columns=columns, value_kind=value_kind, name=name,
                        limits=limits, sample=sample, seed=seed)


def _load_object(obj, *, objects, columns, value_kind, name, limits, sample, seed) -> Catalog:
    """Tables and light curves of other libraries, recognised by type (astropy) or attributes (the others)."""
    ctx = make_context(limits, None)
    kind = type(obj).__name__
    where = f"the {kind}"
    if is_astropy_table(obj):
        cat = guard_memory(lambda: from_astropy(obj, columns=columns, value_kind=value_kind,
                                                objects=objects_frame(objects, source=where, ctx=ctx),
                                                name=name or "catalog", where=where, ctx=ctx), where)
        cat.source = None
        return ctx.finish(cat)
    if is_light_curve_collection(obj):
        cat = guard_memory(lambda: load_light_curves(obj, objects=objects, columns=columns, value_kind=value_kind,
                                                     name=name or "catalog", where=where, ctx=ctx), where)
        cat.source = None
        return cat
    if is_lsdb_catalog(obj):
        where = f"the LSDB catalog {getattr(obj, 'name', None) or ''}".rstrip()
        frame = lsdb_frame(obj, sample=sample, seed=seed, ctx=ctx, where=where)
        cat = guard_memory(lambda: load_dataframe(frame, objects=objects, columns=columns, value_kind=value_kind,
                                                  name=name or getattr(obj, "name", None) or "catalog",
                                                  limits=limits, source=where), where)
        cat.source = None
        return ctx.finish(cat)
    raise CatalogError(
        f"cannot load a catalog from {kind}; give a path, a DataFrame, an astropy Table, light curves, "
        "an LSDB catalog or a list of arrays"
    )


def _load_path(path: Path, ctx: ReadContext, *, objects, columns, value_kind, name, sample, seed) -> Catalog:
    kw = dict(objects=objects, columns=columns, value_kind=value_kind, name=name, _ctx=ctx)
    if is_hats(path):
        return _load_object(open_hats(path), objects=objects, columns=columns, value_kind=value_kind,
                            name=name or path.name, limits=ctx.limits, sample=sample, seed=seed)
    if path.is_dir():
        lc_files = list(path.glob(f"*{LC_SUFFIX}"))
        for p in lc_files:
            ctx.check_path(p)
        if any(p.exists() for p in lc_files):
            return load_shared_layout(path, **kw)
        if any(has_suffix(p, CSV_SUFFIXES) and not is_sidecar(p) for p in path.iterdir()):
            unread = sorted(p.name for p in path.iterdir() if is_fits(p))
            if unread:   # one kind of per-object file per folder: say which files were left
                ctx.notes.append(f"{len(unread)} FITS file(s) in {path} not read ({', '.join(unread[:5])}"
                                 f"{' ...' if len(unread) > 5 else ''}): the folder was read as per-object CSV files")
            return load_csv_folder(path, **kw)
        if any(is_fits(p) and not p.name.startswith(".") for p in path.iterdir()):
            return load_fits_folder(path, **kw)
        raise CatalogError(
            f"folder {path} holds neither '*{LC_SUFFIX}' nor per-object CSV or FITS files; "
            f"found: {', '.join(sorted(p.name for p in path.iterdir())[:10]) or '(nothing)'}"
        )
    return load_file(path, **kw)
