"""Folders: the shared ``<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` layout, and per-object CSV files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from explorer.catalog.cleaning import to_float64
from explorer.catalog.columns import detect_columns
from explorer.catalog.core import Catalog
from explorer.catalog.readers.csv import read_long
from explorer.catalog.readers.inputs import CSV_SUFFIXES, LC_SUFFIX, OBJ_SUFFIX, Input, file_stem, has_suffix
from explorer.catalog.readers.limits import CatalogLimits, ReadContext, make_context
from explorer.catalog.readers.parquet import read_parquet
from explorer.catalog.readers.table import band_values, from_table, objects_frame
from explorer.errors import CatalogError


def load_shared_layout(folder: Path, *, objects=None, columns=None, value_kind=None, name=None,
                       limits: CatalogLimits | None = None, allowed_roots=None, _ctx: ReadContext | None = None) -> Catalog:
    """``<folder>/<name>.lightcurves.parquet`` + ``<name>.objects.parquet`` (objects table optional)."""
    ctx = _ctx or make_context(limits, allowed_roots)
    folder = ctx.check_path(Path(folder))
    lc_path = folder if folder.is_file() else _find_lightcurves(folder, ctx)
    src = Input.of(lc_path, ctx)
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
    table = read_parquet(src, ctx)
    obj = objects_frame(objects, source=str(lc_path), ctx=ctx)
    return ctx.finish(from_table(table, columns=columns, value_kind=value_kind, objects=obj,
                                  name=name or stem, source=str(lc_path), ctx=ctx))


def _find_lightcurves(folder: Path, ctx: ReadContext | None = None) -> Path:
    candidates = sorted(folder.glob(f"*{LC_SUFFIX}"))
    for p in candidates:  # before exists(): a refusal must not depend on whether a link's target exists
        (ctx or ReadContext()).check_path(p)
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
    """Files the explorer keeps beside a catalog (labels, anomaly feedback, hidden temporaries): never
    light curves."""
    return path.name.startswith(".") or ".labels." in path.name or path.name.endswith(".anomaly-feedback.csv")


def _folder_csv_files(folder: Path, ctx: ReadContext, *, exclude: Path | None = None) -> list[Path]:
    """The per-object CSV files of ``folder``; links are checked, links to nothing skipped with a note."""
    files, dangling, sidecars = [], [], []
    for p in sorted(folder.iterdir()):
        if not has_suffix(p, CSV_SUFFIXES):
            continue
        if is_sidecar(p):
            # the explorer's own labels and feedback files need no word
            if p.name not in (f"{folder.name}.labels.csv", f"{folder.name}.anomaly-feedback.csv"):
                sidecars.append(p.name)
            continue
        ctx.check_path(p)  # before exists(): a refusal must not depend on whether the target exists
        if not p.exists():
            dangling.append(p.name)
            continue
        if not p.is_file() or (exclude is not None and os.path.realpath(p) == os.path.realpath(exclude)):
            continue
        files.append(p)
    if dangling:
        ctx.notes.append(f"{len(dangling)} link(s) to nothing in {folder} skipped: {_shown(dangling)}")
    if sidecars:
        ctx.notes.append(f"{len(sidecars)} file(s) in {folder} skipped as not light curves: {_shown(sidecars)} "
                         "(a name starting with '.' is a hidden file; a name holding '.labels.' is a labels file "
                         "the explorer keeps beside a catalog); rename a file to load it as an object")
    return files


def _shown(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_csv_folder(folder: Path, *, objects=None, columns=None, value_kind=None, name=None,
                    limits: CatalogLimits | None = None, allowed_roots=None, _ctx: ReadContext | None = None) -> Catalog:
    """A folder of per-object CSV files; the object id is the file stem, exactly as written.

    Files are read one by one (I/O bound) and concatenated once; columns are detected per file,
    so files may order their columns differently. Links to nothing are skipped and noted in the
    report; two files with one stem (``a.csv``, ``a.tsv``) are an error naming both.
    """
    ctx = _ctx or make_context(limits, allowed_roots)
    folder = ctx.check_path(Path(folder))
    exclude = Path(objects) if isinstance(objects, (str, Path)) else None
    files = _folder_csv_files(folder, ctx, exclude=exclude)
    if not files:
        raise CatalogError(f"no objects in {folder}: no CSV files found there")
    stems = [file_stem(p) for p in files]
    seen: dict[str, Path] = {}
    for stem, path in zip(stems, files):
        if stem in seen:
            raise CatalogError(f"{seen[stem].name} and {path.name} in {folder} both name object {stem!r}; "
                               "keep one file per object")
        seen[stem] = path
    ctx.check_objects(len(files), f"folder {folder}")
    ctx.check_bytes(sum(p.stat().st_size for p in files), f"folder {folder}")
    obj_frame = objects_frame(objects, source=str(folder), ctx=ctx)
    parts: dict[str, list] = {"time": [], "value": [], "error": [], "band": []}
    lengths = []
    kind = value_kind
    any_error = any_band = False
    for path, stem in zip(files, stems):
        table, cmap = read_long(Input.of(path, ctx), ctx, columns=columns, value_kind=kind, need_object_id=False)
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
            b = band_values(table.column(cmap.band), cmap)
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
