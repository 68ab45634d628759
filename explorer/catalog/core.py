"""The in-memory catalog: an objects table plus column-wise observations grouped by object.

Observations of object ``i`` are ``[offsets[i]:offsets[i + 1]]`` of the flat ``time``/``value``/
``error``/``band`` arrays, so a million light curves cost a few numpy arrays, not a million Python
objects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from explorer.catalog.cleaning import CleaningReport, clean_and_group, lookalike_names, to_float64
from explorer.catalog.columns import check_value_kind, detect_object_id
from explorer.errors import CatalogError

DEFAULT_BAND = "default"
_HASH_VERSION = b"lcx-catalog-v1"


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (int64, -1 = missing) and unique labels (object array of str) of ``values``.

    Uniques keep the order of first appearance. Accepts pyarrow arrays (dictionary-encoded in
    C++, no Python string per row), pandas objects and numpy arrays.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        enc = pc.dictionary_encode(arr)
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        uniques = pc.cast(enc.dictionary, pa.string()).to_numpy(zero_copy_only=False).astype(object)
        return codes, uniques
    if not isinstance(values, (pd.Series, pd.Index, pd.Categorical)):
        values = np.asarray(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques).astype(str).to_numpy(dtype=object)


def _rows_text(rows, limit: int = 5) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _where(column: str, source: str | None) -> str:
    return f"column {column!r}" + (f" of {source}" if source else "")


def _type_tag(value) -> str:
    """Coarse type of an id value: int and numpy int are one type, so are float and numpy float."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__


def _mixed_ids_as_text(values: np.ndarray, *, column: str, source: str | None) -> np.ndarray:
    """Object ids of mixed Python types as text (None = missing); CatalogError when two differ but read alike.

    ``1`` and ``"1"`` are different values that both become the key ``"1"``: merging them would
    silently glue two objects together, so the rows are named instead.
    """
    missing = pd.isna(values)
    text = np.array([None if m else str(v) for v, m in zip(values, missing)], dtype=object)
    tags = np.array([None if m else _type_tag(v) for v, m in zip(values, missing)], dtype=object)
    frame = pd.DataFrame({"text": text, "tag": tags})[~missing]
    variants = frame.drop_duplicates(["text", "tag"])
    clash = variants[variants["text"].duplicated(keep=False)]
    if len(clash):
        key = clash["text"].iloc[0]
        parts = [f"{values[i]!r} ({tag}, row {i})" for i, tag in zip(clash.index[clash["text"] == key],
                                                                  clash["tag"][clash["text"] == key])]
        n_keys = clash["text"].nunique()
        raise CatalogError(
            f"object ids in {_where(column, source)} collide after conversion to text: {' and '.join(parts)} "
            f"become the same id {key!r}" + (f" ({n_keys} ids collide like this)" if n_keys > 1 else "")
            + "; make the ids one type (e.g. all strings)"
        )
    return text


def _refuse_empty_ids(codes: np.ndarray, uniques: np.ndarray, *, column: str, source: str | None) -> None:
    empty = np.flatnonzero(uniques == "")
    if empty.size:
        rows = np.flatnonzero(codes == empty[0])
        raise CatalogError(
            f"empty object id in {_where(column, source)} at row(s) {_rows_text(rows)} (rows counted from 0); "
            "an empty id cannot name an object: give these rows an id or remove them"
        )


def factorize_ids(values, *, column: str = "object_id", source: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`factorize`, for object ids: codes (-1 = missing) and unique ids as text, checked.

    Ids are text exactly as given (``"001"`` and ``"1"`` stay two objects; ``"NA"`` is an id, not a
    missing value). CatalogError naming the rows for an empty id, and for values of different types
    that read alike (``1`` and ``"1"``); missing ids (null, None, NaN) give code -1.
    """
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
        if arr.dtype == object and pd.api.types.infer_dtype(arr, skipna=True) not in ("string", "empty"):
            values = _mixed_ids_as_text(arr, column=column, source=source)
    codes, uniques = factorize(values)
    _refuse_empty_ids(codes, uniques, column=column, source=source)
    if pd.Index(uniques).has_duplicates:  # e.g. 1.0 and 1 from one float/int mix that Arrow cast alike
        seen = pd.Index(uniques)
        key = uniques[seen.duplicated()][0]
        raise CatalogError(f"object ids in {_where(column, source)} collide after conversion to text: several "
                           f"different values become {key!r}; make the ids one type (e.g. all strings)")
    return codes, uniques


def ids_as_text(values, *, column: str = "object_id", source: str | None = None) -> np.ndarray:
    """One id per entry as text (object array, None = missing), with the checks of :func:`factorize_ids`."""
    codes, uniques = factorize_ids(values, column=column, source=source)
    out = np.empty(codes.shape[0], dtype=object)
    out[:] = None
    has = codes >= 0
    out[has] = uniques[codes[has]]
    return out


def check_allocation(n_items: int, bytes_per_item: int, *, what: str, source: str | None) -> None:
    """CatalogError before allocating more than this machine's physical memory (absurd sizes).

    A clear refusal instead of ``MemoryError: Unable to allocate 728 TiB``; sizes that may fit are
    left to the operating system.
    """
    need = int(n_items) * int(bytes_per_item)
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no cheap way to know, let numpy try
        return
    if need > phys:
        where = f" ({source})" if source else ""
        raise CatalogError(
            f"{what}{where}: {int(n_items):,} entries would need about {need / 2**30:,.1f} GiB, more than "
            f"this machine's {phys / 2**30:,.1f} GiB of memory; split the catalog or check its sizes"
        )


def _sorted_band_codes(band) -> tuple[np.ndarray, tuple[str, ...]]:
    """Band codes (int16) into sorted labels; missing bands go to the ``"default"`` label."""
    codes, labels = factorize(band)
    if (codes < 0).any():
        if DEFAULT_BAND in set(labels):
            fill = int(np.flatnonzero(labels == DEFAULT_BAND)[0])
        else:
            labels = np.append(labels, DEFAULT_BAND)
            fill = len(labels) - 1
        codes = np.where(codes < 0, fill, codes)
    order = np.argsort(labels.astype(str), kind="stable")
    remap = np.empty(len(labels), dtype=np.int64)
    remap[order] = np.arange(len(labels))
    if len(labels) > np.iinfo(np.int16).max:
        raise CatalogError(f"too many distinct bands ({len(labels)}); is the band column really a band?")
    return remap[codes].astype(np.int16), tuple(str(x) for x in labels[order])


def check_objects_table(objects, *, source: str | None) -> pd.DataFrame:
    """The supplied objects table with its id column renamed ``object_id`` (str), checked unique."""
    where = source or "the objects table"
    if not isinstance(objects, pd.DataFrame):
        raise CatalogError(f"objects must be a pandas DataFrame, got {type(objects).__name__} ({where})")
    idcol = detect_object_id(objects.columns, source=where)
    table = objects.reset_index(drop=True)
    if idcol != "object_id":
        table = table.drop(columns=[c for c in table.columns if c == "object_id"]).rename(columns={idcol: "object_id"})
    text = ids_as_text(table["object_id"].to_numpy(), column=idcol, source=where)
    missing = np.flatnonzero(pd.isna(text))
    if missing.size:
        raise CatalogError(f"objects table {where} has a missing object id (column {idcol!r}, "
                           f"row(s) {_rows_text(missing)})")
    table["object_id"] = text
    dup = table["object_id"].duplicated(keep=False)
    if dup.any():
        ids = pd.unique(table.loc[dup, "object_id"])
        shown = ", ".join(map(repr, ids[:10])) + ("" if len(ids) <= 10 else f" and {len(ids) - 10} more")
        raise CatalogError(f"duplicate object ids in {where} (column {idcol!r}): {shown}")
    return table


def scalar_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` holding one hashable scalar per row (missing values allowed).

    Columns of lists, arrays, dicts (Parquet list and struct columns) are left out: they cannot be
    counted, grouped, coloured by or filtered on. Typed columns are judged by their dtype; object
    columns by their values.
    """
    keep = []
    for name in frame.columns:
        col = frame[name]
        dtype = col.dtype
        if isinstance(dtype, pd.ArrowDtype):
            if pa.types.is_nested(dtype.pyarrow_dtype):
                continue
        elif dtype == object:
            # one value of each Python type decides for the type: a million rows cost one pass of type()
            samples = {type(v): v for v in col.dropna().to_numpy()}
            if not all(_scalar(v) for v in samples.values()):
                continue
        keep.append(name)
    return keep


def _scalar(value) -> bool:
    if isinstance(value, tuple):  # a tuple is hashable when what it holds is
        return all(_scalar(v) for v in value)
    return pd.api.types.is_scalar(value)


class Catalog:
    """One light-curve catalog in memory (see docs/ARCHITECTURE.md for the full contract).

    Build one with :meth:`from_long` or :func:`explorer.catalog.load_catalog`; the constructor
    takes already clean, grouped arrays and only checks their consistency.
    """

    def __init__(
        self,
        objects: pd.DataFrame,
        time: np.ndarray,
        value: np.ndarray,
        error: np.ndarray,
        band: np.ndarray,
        bands: Iterable[str],
        offsets: np.ndarray,
        *,
        value_kind: str = "mag",
        name: str = "catalog",
        source: str | None = None,
        report: CleaningReport | None = None,
    ):
        self.time = np.ascontiguousarray(time, dtype=np.float64)
        self.value = np.ascontiguousarray(value, dtype=np.float64)
        self.error = np.ascontiguousarray(error, dtype=np.float64)
        self.band = np.ascontiguousarray(band, dtype=np.int16)
        self.bands = tuple(str(b) for b in bands)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.value_kind = check_value_kind(value_kind) or "mag"
        self.name = str(name)
        self.source = None if source is None else str(source)
        n_obs = self.time.shape[0]
        for arr, what in ((self.value, "value"), (self.error, "error"), (self.band, "band")):
            if arr.shape != (n_obs,):
                raise CatalogError(f"catalog {self.name}: {what} has shape {arr.shape}, time has ({n_obs},)")
        if "object_id" not in objects.columns:
            raise CatalogError(f"catalog {self.name}: objects table has no object_id column")
        if self.offsets.shape != (len(objects) + 1,) or self.offsets[0] != 0 or self.offsets[-1] != n_obs:
            raise CatalogError(f"catalog {self.name}: offsets do not match {len(objects)} objects / {n_obs} observations")
        if np.any(np.diff(self.offsets) < 0):
            raise CatalogError(f"catalog {self.name}: offsets are not non-decreasing")
        if n_obs and (self.band.min() < 0 or self.band.max() >= len(self.bands)):
            raise CatalogError(f"catalog {self.name}: band codes outside 0..{len(self.bands) - 1}")
        counts = np.diff(self.offsets)
        objects = objects.reset_index(drop=True)
        if not pd.api.types.is_string_dtype(objects["object_id"]):
            objects["object_id"] = objects["object_id"].astype(str)
        objects["n_obs"] = counts
        objects["empty"] = counts == 0
        self.objects = objects
        if report is None:
            report = CleaningReport(
                per_object=pd.DataFrame(
                    {"object_id": objects["object_id"].to_numpy(), "n_input": counts, "n_nonfinite": 0,
                     "n_duplicates": 0, "n_obs": counts, "empty": counts == 0}
                ),
                source=self.source,
            )
        self.report = report
        self._hash: str | None = None
        self._ids: np.ndarray | None = None
        self._index: pd.Index | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_long(
        cls,
        object_id,
        time,
        value,
        error=None,
        band=None,
        *,
        objects: pd.DataFrame | None = None,
        value_kind: str = "mag",
        name: str = "catalog",
        source: str | None = None,
        column_names: Mapping[str, str] | None = None,
        max_objects: int | None = None,
    ) -> "Catalog":
        """Build a catalog from long-format arrays (one entry per observation), cleaning on the way.

        ``objects`` (optional) is a table with one row per object; its order is kept, objects that
        have no observation are kept and flagged empty, and observation ids missing from it are
        appended (listed in ``report.added_object_ids``). ``column_names`` maps roles (time, value,
        error, band, object_id) to the source column names used in error messages. Object ids
        are text exactly as given (see :func:`factorize_ids`); ``max_objects`` refuses more objects.
        """
        names = {"object_id": "object_id", "time": "time", "value": "value", "error": "error", "band": "band"}
        names.update(column_names or {})
        where = str(source) if source is not None else None
        check_value_kind(value_kind)

        codes, ids = factorize_ids(object_id, column=names["object_id"], source=where)
        n_rows = codes.shape[0]
        # time, value, error and codes alone are 32 bytes a row: refuse what cannot fit before trying
        check_allocation(n_rows, 40, what="observations", source=where)
        if max_objects is not None and len(ids) > max_objects:
            raise CatalogError(f"{where or 'the input'} has {len(ids):,} objects, over the limit of {max_objects:,} "
                               "objects (CatalogLimits.max_objects)")

        def object_at(i: int):
            c = codes[i]
            return ids[c] if c >= 0 else None

        t = to_float64(time, column=names["time"], source=where, object_at=object_at, is_time=True)
        v = to_float64(value, column=names["value"], source=where, object_at=object_at)
        e = None if error is None else to_float64(error, column=names["error"], source=where, object_at=object_at)
        for arr, role in ((t, "time"), (v, "value"), (e, "error")):
            if arr is not None and arr.shape != (n_rows,):
                raise CatalogError(
                    f"column {names[role]!r} has {arr.shape[0]} entries but {names['object_id']!r} has {n_rows}"
                    + (f" ({where})" if where else "")
                )
        if band is None:
            b, bands = None, (DEFAULT_BAND,)
        else:
            b, bands = _sorted_band_codes(band)
            if b.shape != (n_rows,):
                raise CatalogError(f"column {names['band']!r} has {b.shape[0]} entries but {names['object_id']!r} has {n_rows}")

        added: list = []
        if objects is None:
            table = pd.DataFrame({"object_id": ids})
        else:
            table = check_objects_table(objects, source=where and f"the objects table of {where}")
            table = table.drop(columns=[c for c in ("n_obs", "empty") if c in table.columns])
            pos = pd.Index(table["object_id"]).get_indexer(ids)
            missing = pos < 0
            if missing.any():
                added = list(ids[missing])
                pos[missing] = len(table) + np.arange(int(missing.sum()))
                extra = pd.DataFrame({"object_id": ids[missing]})
                table = pd.concat([table, extra], ignore_index=True)
            codes = np.where(codes >= 0, pos[np.maximum(codes, 0)], -1) if len(pos) else codes
        if len(table) == 0:
            raise CatalogError(f"no objects in {where or 'the input'}: the catalog would be empty")

        g = clean_and_group(codes, len(table), t, v, e, b)
        counts = np.diff(g.offsets)
        per_object = pd.DataFrame(
            {
                "object_id": table["object_id"].to_numpy(),
                "n_input": g.n_input,
                "n_nonfinite": g.n_nonfinite,
                "n_duplicates": g.n_duplicates,
                "n_obs": counts,
                "empty": counts == 0,
            }
        )
        report = CleaningReport(per_object=per_object, n_missing_id=g.n_missing_id, n_error_nan=g.n_error_nan,
                                added_object_ids=added, source=where)
        lookalike = lookalike_names(bands, what="bands")
        if lookalike:
            report.notes.append(lookalike)
        return cls(table, g.time, g.value, g.error, g.band, bands, g.offsets, value_kind=value_kind,
                   name=name, source=source, report=report)

    # ------------------------------------------------------------------ basic access
    def __len__(self) -> int:
        """Number of objects."""
        return len(self.objects)

    def __repr__(self) -> str:
        return f"<Catalog {self.summary()}>"

    @property
    def n_observations(self) -> int:
        """Total number of observations kept."""
        return int(self.time.shape[0])

    @property
    def n_obs(self) -> np.ndarray:
        """Observations per object (int64 [n_objects])."""
        return np.diff(self.offsets)

    @property
    def object_ids(self) -> np.ndarray:
        """Object ids as a numpy str array, aligned with ``objects``."""
        if self._ids is None:
            self._ids = self.objects["object_id"].to_numpy(dtype=str)
        return self._ids

    def scalar_columns(self) -> list[str]:
        """Objects-table columns holding one hashable scalar per row (see :func:`scalar_columns`)."""
        return scalar_columns(self.objects)

    def _id_index(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self.objects["object_id"].astype(str))
        return self._index

    def index_of(self, object_id) -> int:
        """Row of ``object_id`` in ``objects``; KeyError naming the id when absent."""
        try:
            loc = self._id_index().get_loc(str(object_id))
        except KeyError:
            raise KeyError(f"object {object_id!r} is not in catalog {self.name!r}") from None
        return int(loc)

    def indices_of(self, object_ids, *, skip_missing: bool = False) -> np.ndarray:
        """Rows of many ids at once (int64, in the given order); KeyError naming the first absent id,
        or absent ids left out with ``skip_missing``."""
        ids = np.asarray([str(i) for i in object_ids], dtype=object)
        rows = self._id_index().get_indexer(ids) if len(ids) else np.empty(0, np.int64)
        if (rows < 0).any():
            if not skip_missing:
                raise KeyError(f"object {ids[rows < 0][0]!r} is not in catalog {self.name!r}")
            rows = rows[rows >= 0]
        return rows.astype(np.int64)

    def _row(self, key) -> int:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(f"row {i} is out of range for catalog {self.name!r} with {len(self)} objects")
            return i % len(self)
        return self.index_of(key)

    def light_curve(self, key) -> pd.DataFrame:
        """Observations of one object (row index if ``key`` is an int, else object id).

        Columns ``time``, ``value``, ``error``, ``band`` (band labels as str), sorted by time.
        """
        i = self._row(key)
        s = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        labels = np.asarray(self.bands, dtype=object)
        return pd.DataFrame(
            {"time": self.time[s], "value": self.value[s], "error": self.error[s], "band": labels[self.band[s]]}
        )

    def band_counts(self) -> np.ndarray:
        """Observations per object and band: int64 [n_objects, n_bands], columns in ``bands`` order."""
        obj = np.repeat(np.arange(len(self), dtype=np.int64), self.n_obs)
        flat = np.bincount(obj * len(self.bands) + self.band, minlength=len(self) * len(self.bands))
        return flat.reshape(len(self), len(self.bands))

    def bands_present(self) -> np.ndarray:
        """Which bands each object has: bool [n_objects, n_bands], columns in ``bands`` order."""
        return self.band_counts() > 0

    def band_subset(self, bands) -> "Catalog":
        """Same objects in the same order, only the observations in ``bands`` (a label or labels).

        Objects with no observation in those bands stay, flagged empty. The returned band labels
        keep this catalog's order.
        """
        wanted = [bands] if isinstance(bands, str) else list(bands)
        unknown = [b for b in wanted if b not in self.bands]
        if unknown or not wanted:
            raise CatalogError(
                f"band(s) {unknown or wanted} not in catalog {self.name!r}; bands available: {', '.join(self.bands)}"
            )
        keep_codes = [i for i, b in enumerate(self.bands) if b in wanted]
        remap = np.full(len(self.bands), -1, dtype=np.int16)
        remap[keep_codes] = np.arange(len(keep_codes), dtype=np.int16)
        mask = remap[self.band] >= 0
        kept_before = np.zeros(mask.size + 1, dtype=np.int64)
        np.cumsum(mask, out=kept_before[1:])
        offsets = kept_before[self.offsets]
        sub = Catalog(
            self.objects.copy(), self.time[mask], self.value[mask], self.error[mask], remap[self.band[mask]],
            tuple(self.bands[i] for i in keep_codes), offsets, value_kind=self.value_kind, name=self.name,
            source=self.source, report=self.report,
        )
        return sub

    def take(self, rows, *, name: str | None = None) -> "Catalog":
        """A catalog of the objects at ``rows`` (row indices or a boolean mask), in that order.

        Vectorised: one gather of the observation arrays, no per-object Python work. The cleaning
        report is carried over for the kept objects.
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise CatalogError(f"catalog {self.name}: boolean rows must have length {len(self)}, got {rows.shape}")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise CatalogError(f"catalog {self.name}: row index out of range 0..{len(self) - 1}")
        rows = rows % max(len(self), 1)
        starts, counts = self.offsets[rows], np.diff(self.offsets)[rows]
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # observation index of every kept row: its object's start plus its position within the object
        obs = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1], dtype=np.int64)
        report = CleaningReport(per_object=self.report.per_object.iloc[rows].reset_index(drop=True),
                                source=self.report.source, notes=list(self.report.notes))
        return Catalog(
            self.objects.iloc[rows].reset_index(drop=True), self.time[obs], self.value[obs], self.error[obs],
            self.band[obs], self.bands, offsets, value_kind=self.value_kind, name=name or self.name,
            source=self.source, report=report,
        )

    # ------------------------------------------------------------------ identity and output
    def content_hash(self) -> str:
        """SHA-256 (hex) of ids, observation arrays, bands and value kind; stable across processes."""
        if self._hash is None:
            h = hashlib.sha256(_HASH_VERSION)

            def part(tag: bytes, data: bytes) -> None:
                h.update(tag + len(data).to_bytes(8, "little"))
                h.update(data)

            ids = pa.array(self.objects["object_id"].to_numpy(dtype=object), type=pa.string())
            ids = ids.cast(pa.large_string())
            buffers = ids.buffers()
            part(b"idoff", np.frombuffer(buffers[1], dtype="<i8", count=len(ids) + 1, offset=ids.offset * 8).tobytes())
            part(b"iddat", buffers[2].to_pybytes() if buffers[2] is not None else b"")
            part(b"offsets", self.offsets.astype("<i8").tobytes())
            part(b"time", self.time.astype("<f8").tobytes())
            part(b"value", self.value.astype("<f8").tobytes())
            part(b"error", self.error.astype("<f8").tobytes())
            part(b"band", self.band.astype("<i2").tobytes())
            part(b"bands", "\x00".join(self.bands).encode())
            part(b"kind", self.value_kind.encode())
            self._hash = h.hexdigest()
        return self._hash

    def summary(self) -> str:
        """One line: name, objects (empty ones), observations, bands, value kind."""
        n_empty = int(self.objects["empty"].sum())
        empty = f" ({n_empty} empty)" if n_empty else ""
        return (
            f"{self.name}: {len(self)} objects{empty}, {self.n_observations} observations, "
            f"bands {', '.join(self.bands)}, values {self.value_kind}"
        )

    def to_parquet(self, folder, name: str | None = None) -> tuple[Path, Path]:
        """Write ``<folder>/<name>.lightcurves.parquet`` and ``<name>.objects.parquet`` (the shared layout).

        Returns the two paths. Reading the folder back with ``load_catalog`` gives a catalog with
        the same ``content_hash()``.
        """
        name = name or self.name
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        n = len(self)
        ids = pa.array(self.objects["object_id"].to_numpy(dtype=object), type=pa.string())
        row = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.offsets))
        obj_col = pa.DictionaryArray.from_arrays(pa.array(row, type=pa.int32()), ids).cast(pa.string())
        band_col = pa.DictionaryArray.from_arrays(
            pa.array(self.band.astype(np.int32), type=pa.int32()), pa.array(list(self.bands), type=pa.string())
        ).cast(pa.string())
        vname, ename = ("mag", "mag_err") if self.value_kind == "mag" else ("flux", "flux_err")
        lc = pa.table({"object_id": obj_col, "time": self.time, "band": band_col, vname: self.value, ename: self.error})
        lc_path = folder / f"{name}.lightcurves.parquet"
        obj_path = folder / f"{name}.objects.parquet"
        pq.write_table(lc, lc_path, compression="zstd")
        objects = self.objects.drop(columns=["empty"])
        pq.write_table(pa.Table.from_pandas(objects, preserve_index=False), obj_path, compression="zstd")
        return lc_path, obj_path
