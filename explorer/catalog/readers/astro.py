"""astropy tables (``Table``, ``QTable``, ``TimeSeries``, FITS tables read by astropy) -> :class:`Catalog`.

Units are respected: ``Time`` columns become MJD days in their own time scale, time quantities are
converted to days; values in magnitudes make a magnitude catalog, spectral flux densities (Jy,
erg s-1 cm-2 Hz-1, ...) a flux catalog in nJy (the AB zero point 31.4 of the engine), other flux
units (electrons per second) a flux catalog as given. Each conversion is said in ``report.notes``.
A table without an object-id column is one light curve; its id comes from the metadata
(``OBJECT``, ``TARGETID``, ``LABEL``, ...) or the catalog name.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from explorer.catalog.columns import ColumnMap, detect_columns
from explorer.catalog.core import Catalog
from explorer.catalog.readers.inputs import check_unique_names, is_nested
from explorer.catalog.readers.limits import ReadContext
from explorer.catalog.readers.nested import from_nested
from explorer.catalog.readers.table import band_values
from explorer.errors import CatalogError

__all__ = ["is_astropy_table", "from_astropy", "astropy_to_arrow", "meta_object_id", "observations",
           "catalog_from_arrays", "QUALITY_BITMASKS"]

# metadata keys naming the one object of a single light curve, in order of preference
ID_KEYS = ("OBJECT", "OBJECT_ID", "TARGETID", "TARGET", "LABEL", "NAME", "TICID", "KEPLERID")


def is_astropy_table(obj) -> bool:
    """True for astropy ``Table`` and its subclasses (``QTable``, ``TimeSeries``, lightkurve's ``LightCurve``)."""
    try:
        from astropy.table import Table
    except ImportError:  # pragma: no cover - astropy is a dependency
        return False
    return isinstance(obj, Table)


def meta_object_id(meta) -> str | None:
    """The object named by a table's metadata (``OBJECT``, ``TARGETID``, ...), or None."""
    upper = {str(k).upper(): v for k, v in dict(meta or {}).items()}
    for key in ID_KEYS:
        value = upper.get(key)
        if value is None or (isinstance(value, float) and not np.isfinite(value)) or str(value).strip() == "":
            continue
        if key == "TICID":
            return f"TIC {value}"
        if key == "KEPLERID":
            return f"KIC {value}"
        return str(value).strip()
    return None


def _column_array(col, name: str, where: str, notes: list) -> tuple[pa.Array, object]:
    """One astropy column as an Arrow array (masked values -> nulls) and its unit (None if none)."""
    from astropy.time import Time, TimeDelta

    if isinstance(col, Time):
        notes.append(f"column {name!r} of {where} (astropy Time, format {col.format!r}, scale {col.scale!r}) "
                     "was read as MJD days in its own time scale")
        values = np.asarray(col.mjd, np.float64)
        mask = np.asarray(getattr(col, "mask", np.zeros(len(values), bool)))
        return pa.array(values, mask=mask if mask.any() else None), None
    if isinstance(col, TimeDelta):
        notes.append(f"column {name!r} of {where} (astropy TimeDelta) was read in days")
        return pa.array(np.asarray(col.to_value("d"), np.float64)), None
    unit = getattr(col, "unit", None)
    data = getattr(col, "value", col)     # Quantity -> its numbers; the unit is handled by the caller
    mask = getattr(col, "mask", None)
    values = np.asarray(data)
    if values.dtype.byteorder not in ("=", "|"):
        values = values.astype(values.dtype.newbyteorder("="))
    mask = None if mask is None or not np.any(mask) else np.asarray(mask, bool)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", errors="replace")
    if values.dtype.kind == "U":
        values = np.char.rstrip(values)    # FITS pads strings with blanks
        if mask is not None and mask.ndim == 1:
            return pa.array(values.astype(object), mask=mask, type=pa.string()), unit
        return pa.array(values.astype(object), type=pa.string()), unit
    if values.ndim > 1:    # a vector per row: one list cell per row
        flat = pa.array(values.reshape(len(values), -1).ravel())
        return pa.FixedSizeListArray.from_arrays(flat, int(np.prod(values.shape[1:]))), unit
    if mask is not None and mask.ndim == 1:
        return pa.array(values, mask=mask), unit
    return pa.array(values), unit


def astropy_to_arrow(table, *, where: str, notes: list) -> tuple[pa.Table, dict]:
    """An astropy table as an Arrow table and the unit of each column that has one."""
    arrays, units = {}, {}
    check_unique_names(list(table.colnames), where)
    for name in table.colnames:
        arr, unit = _column_array(table[name], name, where, notes)
        arrays[str(name)] = arr
        # a unit astropy cannot parse ('BJD - 2457000, days' in TESS files) gives no conversion to make
        if unit is not None and str(unit) != "" and type(unit).__name__ != "UnrecognizedUnit":
            units[str(name)] = unit
    return pa.table(arrays), units


def _to_days(values: pa.Array, unit, column: str, where: str, notes: list) -> pa.Array:
    import astropy.units as u

    try:
        factor = (1 * unit).to_value(u.day)
    except u.UnitConversionError:
        raise CatalogError(f"time column {column!r} of {where} is in {unit}, which is not a time unit") from None
    if factor != 1.0:
        notes.append(f"time column {column!r} of {where} was converted from {unit} to days")
        return pa.array(np.asarray(values.to_numpy(zero_copy_only=False), np.float64) * factor)
    return values


def value_units(unit, column: str, where: str, notes: list) -> tuple[str | None, float]:
    """(value kind, factor to the catalog's unit) of a value column in ``unit``.

    Magnitudes: ("mag", 1); spectral flux densities: ("flux", factor to nJy); any other unit is a
    flux as given (electrons per second, counts), said in a note; no unit: (None, 1).
    """
    import astropy.units as u

    if unit is None:
        return None, 1.0
    if isinstance(unit, u.MagUnit) or unit == u.mag or str(unit).strip().lower() in ("mag", "magnitude"):
        return "mag", 1.0
    try:
        factor = (1 * unit).to_value(u.nJy)
    except (u.UnitConversionError, u.UnitTypeError, TypeError):
        notes.append(f"value column {column!r} of {where} is in {unit}: read as fluxes as given "
                     "(not a flux density in Jy: no AB magnitude zero point applies)")
        return "flux", 1.0
    if factor != 1.0:
        notes.append(f"value column {column!r} of {where} was converted from {unit} to nJy (AB zero point 31.4)")
    return "flux", factor


def _scaled(values: pa.Array, factor: float) -> pa.Array:
    if factor == 1.0:
        return values
    return pa.array(np.asarray(values.to_numpy(zero_copy_only=False), np.float64) * factor)


# Kepler / K2 / TESS quality flags that mark cadences to drop: the missions' documented "default" sets
# (lightkurve's DEFAULT_BITMASK); a quality column of any other origin drops every flagged row
QUALITY_BITMASKS = {"KEPLER": 1130799, "K2": 1130799, "TESS": 17087}


def _mission(meta: dict) -> str | None:
    for key in ("MISSION", "TELESCOP", "INSTRUME"):
        value = meta.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _band_from_meta(meta: dict) -> str | None:
    for key in ("FILTER", "BANDPASS", "BAND"):
        value = meta.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return _mission(meta)


def _pick_flux(names: list[str], columns: dict, where: str, notes: list) -> dict:
    """Kepler/TESS layout: PDCSAP flux where present, else SAP, when the table has no plain flux column."""
    chosen = {k for k in columns if k in ("value", "flux", "mag")}
    upper = {n.upper(): n for n in names}
    if chosen or "FLUX" in upper or "MAG" in upper:
        return columns
    for flux in ("PDCSAP_FLUX", "SAP_FLUX"):
        if flux in upper:
            picked = dict(columns, value=upper[flux])
            if f"{flux}_ERR" in upper:
                picked["error"] = upper[f"{flux}_ERR"]
            notes.append(f"{where}: flux column {upper[flux]!r} used"
                         + (" (PDCSAP: corrected for systematics)" if flux == "PDCSAP_FLUX" else ""))
            return picked
    return columns


def _quality_keep(arrow: pa.Table, meta: dict, where: str, notes: list) -> np.ndarray | None:
    upper = {n.upper(): n for n in arrow.column_names}
    if "QUALITY" not in upper:
        return None
    flags = np.asarray(arrow.column(upper["QUALITY"]).to_numpy(zero_copy_only=False))
    flags = np.nan_to_num(flags.astype(np.float64), nan=0).astype(np.int64)
    mission = (_mission(meta) or "").upper()
    mask = QUALITY_BITMASKS.get(mission)
    keep = (flags & mask) == 0 if mask is not None else flags == 0
    dropped = int((~keep).sum())
    if dropped:
        rule = f"the {mission} default quality flags ({mask})" if mask is not None else "a non-zero quality flag"
        notes.append(f"{where}: {dropped} of {len(keep)} observations dropped for {rule}")
    return keep


def observations(table, *, where: str, fallback_id: str, columns=None, value_kind=None,
                 notes: list, say_id: bool = True) -> tuple[dict, str | None, dict]:
    """One long astropy table as observation arrays ``{object_id, time, value, error, band}`` (Arrow).

    Returns (arrays, value kind from the units or None, role -> source column name). Units are
    converted (see module doc); Kepler/TESS rules apply: PDCSAP flux preferred, quality flags
    honoured, ``TIME`` with ``BJDREFI``/``BJDREFF`` in the metadata made into BJD - 2400000.5.
    """
    meta = {str(k).upper(): v for k, v in dict(getattr(table, "meta", None) or {}).items()}
    arrow, units = astropy_to_arrow(table, where=where, notes=notes)
    cols = _pick_flux(arrow.column_names, dict(columns or {}), where, notes)
    cmap = detect_columns(arrow.column_names, columns=cols, value_kind=value_kind, need_object_id=False,
                          source=where)
    keep = _quality_keep(arrow, meta, where, notes)
    if keep is not None:
        arrow = arrow.filter(pa.array(keep))
    time = arrow.column(cmap.time).combine_chunks()
    if cmap.time in units:
        time = _to_days(time, units[cmap.time], cmap.time, where, notes)
    elif "BJDREFI" in meta and pa.types.is_floating(time.type):
        ref = float(meta["BJDREFI"]) + float(meta.get("BJDREFF", 0.0)) - 2400000.5
        notes.append(f"time column {cmap.time!r} of {where} is BJD - {float(meta['BJDREFI']) + float(meta.get('BJDREFF', 0.0))}"
                     f" (BJDREFI/BJDREFF): read as BJD - 2400000.5")
        time = pa.array(np.asarray(time.to_numpy(zero_copy_only=False), np.float64) + ref)
    kind, factor = value_units(units.get(cmap.value), cmap.value, where, notes)
    if kind is not None and value_kind is not None and kind != value_kind:
        raise CatalogError(f"value_kind={value_kind!r} was given but column {cmap.value!r} of {where} is in "
                           f"{units[cmap.value]} ({kind})")
    n = arrow.num_rows
    if cmap.object_id is not None:
        ids = arrow.column(cmap.object_id)
    else:
        one = meta_object_id(meta) or fallback_id
        ids = pa.array(np.full(n, one, dtype=object), pa.string())
        if say_id:
            notes.append(f"{where} has no object-id column: it is one light curve, object {one!r}")
    if cmap.band is not None:
        band = arrow.column(cmap.band)
    else:
        label = _band_from_meta(meta)
        band = None if label is None else pa.array(np.full(n, label, dtype=object), pa.string())
    arrays = {"object_id": ids, "time": time, "value": _scaled(arrow.column(cmap.value).combine_chunks(), factor),
              "error": None if cmap.error is None else _scaled(arrow.column(cmap.error).combine_chunks(), factor),
              "band": band}
    names = {k: v for k, v in cmap.as_dict().items() if k != "value_kind" and v is not None}
    if cmap.band is None and band is not None:
        names["band"] = "metadata FILTER / MISSION"
    kind = kind or value_kind or cmap.value_kind
    return arrays, kind, names


def from_astropy(table, *, columns=None, value_kind=None, objects=None, name: str, where: str,
                 ctx: ReadContext, object_id: str | None = None) -> Catalog:
    """An astropy table (long: one row per observation, or nested: one row per object) -> Catalog.

    ``object_id``: the id of a table that is one light curve (default: from its metadata, else ``name``).
    """
    ctx.add(len(table), max(len(table.colnames), 1), where)
    notes: list = []
    if any(getattr(table[c], "ndim", 1) > 1 for c in table.colnames):
        arrow, _ = astropy_to_arrow(table, where=where, notes=notes)
        if is_nested(arrow.schema, columns=columns, value_kind=value_kind):
            ctx.notes.extend(notes)
            return from_nested(arrow, columns=columns, value_kind=value_kind, objects=objects, name=name,
                               source=where, ctx=ctx)
    arrays, kind, names = observations(table, where=where, fallback_id=object_id or name, columns=columns,
                                       value_kind=value_kind, notes=notes)
    ctx.notes.extend(notes)
    return catalog_from_arrays([arrays], kind=kind, names=names, objects=objects, name=name, where=where, ctx=ctx)


def catalog_from_arrays(parts: list[dict], *, kind, names: dict, objects, name: str, where: str,
                        ctx: ReadContext) -> Catalog:
    """Observation arrays of one or more light curves (from :func:`observations`) -> Catalog."""
    def joined(role):
        cols = [p[role] for p in parts]
        if all(c is None for c in cols):
            return None
        n = [len(p["time"]) for p in parts]
        filled = [c if c is not None else pa.nulls(k, pa.float64() if role == "error" else pa.string())
                  for c, k in zip(cols, n)]
        filled = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in filled]
        if role in ("object_id", "band"):
            filled = [c.cast(pa.string()) for c in filled]
        else:
            filled = [c.cast(pa.float64()) for c in filled]
        return pa.concat_arrays(filled)

    band = joined("band")
    if band is not None and "band" in names:
        band = band_values(band, ColumnMap(None, "", "", None, names["band"], kind or "mag"))
    return Catalog.from_long(joined("object_id"), joined("time"), joined("value"), joined("error"), band,
                             objects=objects, value_kind=kind or "mag", name=name, source=where,
                             column_names=names, max_objects=ctx.limits.max_objects)
