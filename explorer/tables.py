"""Tables out: one writer for every result table (embeddings, maps, labels, predictions, selections).

``write_table(table, path, provenance)`` picks the format from the suffix:

* ``.parquet``: Arrow types kept; provenance as JSON under the schema metadata key ``lcexplorer``;
* ``.csv``: a vector column becomes one column per component (``embedding_0``, ...); no provenance;
* ``.fits`` (``.fit``, ``.fits.gz``): a binary table, vectors as array columns; provenance in the
  header (``ORIGIN``, ``LCXPROV`` holding the JSON, long values on ``CONTINUE`` cards);
* ``.vot`` (``.votable``, ``.xml``): a VOTable, vectors as array fields; provenance in ``INFO``
  elements (one ``lcexplorer`` INFO holding the JSON, one INFO per top-level scalar).

``table_bytes`` gives the same bytes for a download. ``read_table`` reads any of them back as an
Arrow table and its provenance. Files are written atomically (a reader never sees half a file).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from explorer.errors import ExplorerError

__all__ = ["FORMATS", "table_format", "write_table", "table_bytes", "read_table", "PROVENANCE_KEY"]

PROVENANCE_KEY = "lcexplorer"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".fits": "fits", ".fit": "fits",
           ".fits.gz": "fits", ".vot": "votable", ".votable": "votable", ".xml": "votable"}


def table_format(path_or_suffix) -> str:
    """``"parquet"``, ``"csv"``, ``"fits"`` or ``"votable"`` from a path or a bare suffix (``".vot"``)."""
    name = str(path_or_suffix).lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise ExplorerError(f"cannot tell the table format of {str(path_or_suffix)!r}: give a name ending in "
                        f"{', '.join(FORMATS)}")


def _as_arrow(table) -> pa.Table:
    """A DataFrame (cells of arrays allowed) or Arrow table as an Arrow table with vector columns fixed-size."""
    if isinstance(table, pd.DataFrame):
        columns = {}
        for name in table.columns:
            col = table[name]
            if col.dtype == object and len(col) and isinstance(col.dropna().iloc[0] if col.notna().any() else None,
                                                                 (np.ndarray, list, tuple)):
                columns[str(name)] = _vector_array(col.tolist(), str(name))
            else:
                columns[str(name)] = pa.array(col.to_numpy(dtype=object) if col.dtype == object else col,
                                              from_pandas=True)
        return pa.table(columns)
    if isinstance(table, pa.Table):
        return table
    raise ExplorerError(f"write_table wants a pandas DataFrame or an Arrow table, got {type(table).__name__}")


def _vector_array(cells, name: str) -> pa.Array:
    lengths = {len(c) for c in cells if c is not None}
    if len(lengths) > 1:
        raise ExplorerError(f"column {name!r} holds vectors of different lengths ({sorted(lengths)[:5]}); "
                            "a table column needs one length")
    width = lengths.pop() if lengths else 0
    flat = np.concatenate([np.asarray(c).reshape(-1) if c is not None else np.full(width, np.nan)
                           for c in cells]) if cells else np.zeros(0)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), width)


def _is_vector(t: pa.DataType) -> bool:
    return pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t)


def _vectors(col: pa.ChunkedArray, name: str) -> np.ndarray:
    """A list column as a 2-D numpy array (rows x width); every row must have the same length."""
    arr = col.combine_chunks()
    if pa.types.is_fixed_size_list(arr.type):
        width = arr.type.list_size
        values = arr.flatten().to_numpy(zero_copy_only=False)
        return values.reshape(len(arr), width)
    lengths = set(arr.value_lengths().to_numpy(zero_copy_only=False).tolist())
    if len(lengths) > 1:
        raise ExplorerError(f"column {name!r} holds lists of different lengths; FITS and VOTable need one length")
    width = lengths.pop() if lengths else 0
    return arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), width)


def _astropy(table: pa.Table, provenance: dict | None):
    """The Arrow table as an astropy Table (vectors as 2-D columns, nulls masked)."""
    from astropy.table import MaskedColumn, Table

    out = Table()
    for name, col in zip(table.column_names, table.columns):
        if _is_vector(col.type):
            out[name] = _vectors(col, name)
            continue
        values = col.to_numpy(zero_copy_only=False)
        mask = col.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or values.dtype == object:
            values = np.array(["" if v is None else str(v) for v in values], dtype=str)
        if mask.any():
            out[name] = MaskedColumn(values, mask=mask)
        else:
            out[name] = values
    if provenance:
        out.meta[PROVENANCE_KEY] = _json(provenance)
    return out


def _json(provenance: dict) -> str:
    return json.dumps(provenance, default=str, ensure_ascii=True, sort_keys=True)


def _write_fits(table: pa.Table, provenance: dict | None, target) -> None:
    from astropy.io import fits

    import explorer

    hdu = fits.table_to_hdu(_astropy(table, None))
    hdu.name = "LCEXPLORER"
    hdu.header["ORIGIN"] = (f"lcexplorer {explorer.__version__}", "Light-curve Explorer")
    if provenance:
        # one long string: astropy splits it on CONTINUE cards, and joins them again on reading
        hdu.header["LCXPROV"] = (_json(provenance), "provenance (JSON)")
        for key, value in provenance.items():   # the short scalars also as cards a FITS viewer shows
            if isinstance(value, (str, int, float, bool)) and str(key).isascii() and str(value).isascii():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")   # astropy warns before it refuses a card too long
                        hdu.header[f"HIERARCH LCX {key}"] = value
                except ValueError:
                    continue   # too long for one card: it is in LCXPROV all the same
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(target, overwrite=True)


def _write_votable(table: pa.Table, provenance: dict | None, target) -> None:
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    vot = from_table(_astropy(table, None))
    first = vot.get_first_table()
    first.name = "lcexplorer"
    if provenance:
        first.infos.append(Info(name=PROVENANCE_KEY, value=_json(provenance)))
        for key, value in provenance.items():
            if isinstance(value, (str, int, float, bool)):
                first.infos.append(Info(name=str(key), value=str(value)))
    vot.to_xml(target)


def _csv_frame(table: pa.Table) -> pd.DataFrame:
    columns = {}
    for name, col in zip(table.column_names, table.columns):
        if _is_vector(col.type):
            matrix = _vectors(col, name)
            for j in range(matrix.shape[1]):
                columns[f"{name}_{j}"] = matrix[:, j]
        else:
            columns[name] = col.to_pandas()
    return pd.DataFrame(columns)


def _encode(table: pa.Table, fmt: str, provenance: dict | None, target) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = dict(table.schema.metadata or {})
        if provenance:
            meta[PROVENANCE_KEY.encode()] = _json(provenance).encode()
        pq.write_table(table.replace_schema_metadata(meta), target)
    elif fmt == "csv":
        _csv_frame(table).to_csv(target, index=False)
    elif fmt == "fits":
        _write_fits(table, provenance, target)
    else:
        _write_votable(table, provenance, target)


def write_table(table, path, provenance: dict | None = None) -> Path:
    """Write ``table`` (DataFrame or Arrow) to ``path`` in the format of its suffix, atomically; returns the path.

    ``provenance``: a JSON-able dict (how the table was made), kept in the file's metadata (see the
    module doc). Vector columns (arrays per row) are array columns in Parquet, FITS and VOTable.
    """
    from explorer.atomic import atomic_path

    path = Path(path)
    fmt = table_format(path)
    arrow = _as_arrow(table)
    with atomic_path(path) as tmp:
        if fmt == "fits" and path.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(tmp, "wb") as fh:
                _encode(arrow, fmt, provenance, fh)
        else:
            _encode(arrow, fmt, provenance, str(tmp))
    return path


def table_bytes(table, suffix: str, provenance: dict | None = None) -> bytes:
    """The bytes ``write_table`` would write for a file ending in ``suffix`` (for a download)."""
    fmt = table_format(suffix)
    buffer = io.BytesIO()
    if fmt == "csv":
        text = io.StringIO()
        _encode(_as_arrow(table), fmt, provenance, text)
        return text.getvalue().encode("utf-8")
    _encode(_as_arrow(table), fmt, provenance, buffer)
    data = buffer.getvalue()
    if fmt == "fits" and str(suffix).lower().endswith(".gz"):
        import gzip

        data = gzip.compress(data)
    return data


def read_table(path) -> tuple[pa.Table, dict]:
    """A table written by :func:`write_table` (or any such file) and its provenance ({} when none)."""
    path = Path(path)
    fmt = table_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(PROVENANCE_KEY.encode())
        return table, json.loads(raw) if raw else {}
    if fmt == "csv":
        return pa.Table.from_pandas(pd.read_csv(path), preserve_index=False), {}
    from astropy.table import Table

    if fmt == "fits":
        table = Table.read(path, hdu=1, character_as_bytes=False)
        raw = table.meta.get("LCXPROV")
    else:
        from astropy.io.votable import parse

        vot = parse(str(path))
        first = vot.get_first_table()
        table = first.to_table()
        raw = next((i.value for i in first.infos if i.name == PROVENANCE_KEY), None)
    return _from_astropy(table), json.loads(raw) if raw else {}


def _from_astropy(table) -> pa.Table:
    columns = {}
    for name in table.colnames:
        col = table[name]
        values = np.asarray(col)
        if values.dtype.byteorder not in ("=", "|"):   # FITS is big-endian; Arrow wants native order
            values = values.astype(values.dtype.newbyteorder("="))
        if values.ndim > 1:
            columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
            continue
        mask = np.asarray(getattr(col, "mask", np.zeros(len(values), bool)), bool)
        if values.dtype.kind == "U":
            values = values.astype(object)
        columns[name] = pa.array(values, mask=mask if mask.any() else None)
    return pa.table(columns)
