"""FITS binary tables (plain or gzip): long-format catalogs, per-object light curves, folders of them.

A file's table is its ``LIGHTCURVE`` extension (the Kepler / K2 / TESS layout) or else its first
table extension with rows. Rows, values and the decoded size are checked from the header before any
data is read. A table with an object-id column is a long-format catalog; one without is one light
curve whose id comes from the header (``OBJECT``, ``TICID``, ``KEPLERID``, ...) or the file name.
Kepler/TESS rules (PDCSAP flux, quality flags, BJD reference) are in :mod:`.astro`.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from explorer.catalog.core import Catalog, check_allocation
from explorer.catalog.readers.astro import catalog_from_arrays, from_astropy, observations
from explorer.catalog.readers.inputs import Input, file_stem, has_suffix
from explorer.catalog.readers.limits import DECODED_BYTES_FACTOR, CatalogLimits, ReadContext, human_bytes, make_context
from explorer.catalog.readers.table import objects_frame
from explorer.errors import CatalogError

__all__ = ["FITS_SUFFIXES", "is_fits", "read_fits_table", "load_fits", "load_fits_folder"]

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")


def is_fits(path) -> bool:
    """True for a name ending in a FITS suffix (plain or gzip)."""
    return has_suffix(path, FITS_SUFFIXES)


def _table_hdu(hdul, where: str):
    from astropy.io import fits

    tables = [h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
    for h in tables:
        if h.name.upper() == "LIGHTCURVE":
            return h
    for h in tables:
        if h.header.get("NAXIS2", 0):
            return h
    if tables:
        return tables[0]
    raise CatalogError(f"{where} holds no FITS table (HDUs: {', '.join(h.name or '?' for h in hdul)}); "
                       "a catalog needs a binary table")


def read_fits_table(src: Input, ctx: ReadContext):
    """The light-curve table of a FITS file (astropy ``Table``, units kept) with the primary header in ``meta``."""
    from astropy.io import fits
    from astropy.table import Table

    ctx.check_bytes(src.size, src.where)
    source = str(src.path)
    if src.data is not None:
        source = io.BytesIO(src.data)
        if src.data[:2] == b"\x1f\x8b":  # astropy finds gzip by the file name only: an upload has none
            source = gzip.GzipFile(fileobj=source)
    try:
        hdul = fits.open(source, memmap=False, lazy_load_hdus=True)
    except Exception as exc:   # astropy raises OSError, ValueError, TypeError on damaged files
        raise CatalogError(f"cannot read FITS file {src.where}: {exc}") from exc
    with hdul:
        try:
            hdu = _table_hdu(hdul, src.where)
            header = hdu.header
            rows, n_cols, row_bytes = int(header.get("NAXIS2", 0)), int(header.get("TFIELDS", 0)), \
                int(header.get("NAXIS1", 0))
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(f"cannot read FITS file {src.where}: {exc}") from exc
        _check_header_limits(ctx, src.where, rows, n_cols, rows * row_bytes)
        try:
            table = Table.read(hdu, character_as_bytes=False, unit_parse_strict="silent")
        except Exception as exc:
            raise CatalogError(f"cannot read the table of FITS file {src.where}: {exc}") from exc
        meta = {k: v for k, v in hdul[0].header.items() if k not in ("COMMENT", "HISTORY", "")}
    meta.update({k: v for k, v in table.meta.items() if k not in ("COMMENT", "HISTORY")})
    table.meta = meta
    return table


def _check_header_limits(ctx: ReadContext, where: str, rows: int, n_cols: int, decoded: int) -> None:
    """The limits, from the table header alone (nothing read yet)."""
    lim = ctx.limits
    if lim.max_rows is not None and ctx.rows + rows > lim.max_rows:
        raise lim.refuse(where, "its number of rows (from its header) is", rows, "max_rows")
    if lim.max_cells is not None and ctx.cells + rows * n_cols > lim.max_cells:
        raise lim.refuse(where, "its number of values (from its header) is", rows * n_cols, "max_cells")
    if lim.max_bytes is not None and decoded > DECODED_BYTES_FACTOR * lim.max_bytes:
        raise CatalogError(
            f"{where} is too large: its table decodes to {human_bytes(decoded)}, over {DECODED_BYTES_FACTOR} x the "
            f"limit of {human_bytes(lim.max_bytes)} (CatalogLimits.max_bytes, environment {lim.ENV['max_bytes']})")
    check_allocation(decoded, 2, what="bytes of FITS table", source=where)


def load_fits(src: Input, ctx: ReadContext, *, objects=None, columns=None, value_kind=None, name: str) -> Catalog:
    """One FITS file: a long-format catalog, or one light curve (id from the header or the file name)."""
    table = read_fits_table(src, ctx)
    obj = objects_frame(objects, source=src.where, ctx=ctx)
    return ctx.finish(from_astropy(table, columns=columns, value_kind=value_kind, objects=obj, name=name,
                                   where=src.where, ctx=ctx, object_id=file_stem(src.name)))


def fits_files(folder: Path, ctx: ReadContext) -> list[Path]:
    """The FITS files of ``folder`` (hidden files left out), sorted by name."""
    files, hidden = [], []
    for p in sorted(folder.iterdir()):
        if not is_fits(p):
            continue
        if p.name.startswith("."):
            hidden.append(p.name)
            continue
        ctx.check_path(p)
        if p.is_file():
            files.append(p)
    if hidden:
        ctx.notes.append(f"{len(hidden)} hidden file(s) in {folder} skipped: {', '.join(hidden[:5])}"
                         + (f" and {len(hidden) - 5} more" if len(hidden) > 5 else "")
                         + " (a name starting with '.'); rename a file to load it as an object")
    return files


def load_fits_folder(folder: Path, *, objects=None, columns=None, value_kind=None, name=None,
                     limits: CatalogLimits | None = None, allowed_roots=None,
                     _ctx: ReadContext | None = None) -> Catalog:
    """A folder of per-object FITS light curves (Kepler/TESS ``LIGHTCURVE`` files or plain tables).

    One file is one light curve; its object id is the header's target (``OBJECT``, ``TICID``, ...)
    or else the file name's stem, so several files of one target (quarters, sectors) make one object.
    """
    ctx = _ctx or make_context(limits, allowed_roots)
    folder = ctx.check_path(Path(folder))
    files = fits_files(folder, ctx)
    if not files:
        raise CatalogError(f"no objects in {folder}: no FITS files found there")
    ctx.check_bytes(sum(p.stat().st_size for p in files), f"folder {folder}")
    ctx.check_objects(len(files), f"folder {folder}")
    obj = objects_frame(objects, source=str(folder), ctx=ctx)
    parts, kinds, names, notes = [], {}, {}, []
    for path in files:
        src = Input.of(path, ctx)
        table = read_fits_table(src, ctx)
        ctx.add(len(table), max(len(table.colnames), 1), src.where)
        file_notes: list = []
        arrays, kind, names = observations(table, where=src.where, fallback_id=file_stem(path.name),
                                           columns=columns, value_kind=value_kind, notes=file_notes,
                                           say_id=False)
        kinds.setdefault(kind, path)
        if len(kinds) > 1:
            first = next(iter(kinds.items()))
            raise CatalogError(f"{path} has {kind} values but {first[1]} has {first[0]}; one catalog holds "
                               "magnitudes or fluxes, not both")
        parts.append(arrays)
        notes.extend(file_notes)
    ctx.notes.extend(_summarised(notes, len(files)))
    cat = catalog_from_arrays(parts, kind=next(iter(kinds)), names=names, objects=obj, name=name or folder.name,
                              where=str(folder), ctx=ctx)
    return ctx.finish(cat)


def _summarised(notes: list, n_files: int) -> list:
    """Per-file notes, the first few as they are and a count of the rest (a folder may hold thousands)."""
    shown = notes[:10]
    if len(notes) > 10:
        shown.append(f"... and {len(notes) - 10} more notes of the same kind over {n_files} files")
    return shown
