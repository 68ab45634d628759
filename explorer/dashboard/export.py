"""Export labels, selections, embeddings and map coordinates as CSV or Parquet, with provenance.

Every export carries a provenance record (see :func:`build_provenance`): model name and sha256,
output, reduction, bands, ``embedding_seed`` (the seed of the embedding's window reduction; None for
the features alone), the UMAP parameters (with UMAP's own ``random_state``), package versions, catalog
name and content hash, and the UTC time of the export.

* **Parquet**: the provenance is JSON in the schema metadata under the key ``lcexplorer``
  (``json.loads(pq.read_schema(f).metadata[b"lcexplorer"])``).  Embeddings are a fixed-size list
  column ``embedding`` of float32.
* **CSV**: the file starts with ``# key: value`` comment lines (value is JSON when it is not a plain
  string), then the table.  ``pandas.read_csv(f, comment="#")`` reads the table; note that pandas'
  ``comment`` also cuts data lines at a ``#``, so when object ids or labels may contain ``#`` use
  :func:`read_export` (it skips exactly the header lines).  Embeddings become columns
  ``embedding_0 .. embedding_{d-1}`` written with 9 significant digits (float32 round-trips exactly);
  other float columns are written in full float64 precision.

Functions take plain data and return ``(bytes, filename)``; writing the file is up to the caller
(the dashboard hands the bytes to a download button).
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.errors import ExplorerError

__all__ = [
    "FORMATS",
    "PROVENANCE_KEY",
    "build_provenance",
    "package_versions",
    "export_table",
    "export_labels",
    "export_selection",
    "export_embeddings",
    "export_coordinates",
    "read_export",
]

FORMATS = ("csv", "parquet")
PROVENANCE_KEY = "lcexplorer"
CSV_MAGIC = "lcexplorer-export"
_PACKAGES = {
    "explorer": ("lightcurve-explorer",),
    "numpy": ("numpy",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "umap-learn": ("umap-learn",),
    "panel": ("panel",),
}


class ExportError(ExplorerError, ValueError):
    """Data that cannot be exported as asked (bad format, mismatched lengths, wrong shape)."""


# ---------------------------------------------------------------------- provenance
def package_versions() -> dict[str, str | None]:
    """Versions of the packages that shape the numbers (None when one is not installed)."""
    out: dict[str, str | None] = {}
    for key, dists in _PACKAGES.items():
        version = None
        for dist in dists:
            try:
                version = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        if version is None and key == "explorer":
            import explorer

            version = explorer.__version__
        out[key] = version
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _umap_params(projection) -> dict | None:
    if projection is None:
        return None
    if isinstance(projection, Mapping):
        return _jsonable(dict(projection))
    keys = ("n_neighbors", "min_dist", "metric", "random_state", "pca", "pca_components")
    params = {k: getattr(projection, k) for k in keys if hasattr(projection, k)}
    if not params:
        raise ExportError(f"cannot read UMAP parameters from {type(projection).__name__}")
    return _jsonable(params)


def build_provenance(
    catalog=None,
    *,
    embedding_meta: Mapping | None = None,
    projection=None,
    model: str | None = None,
    model_sha256: str | None = None,
    output: str | None = None,
    reduction: str | None = None,
    bands=None,
    seed: int | None = None,
    catalog_name: str | None = None,
    catalog_hash: str | None = None,
    extra: Mapping | None = None,
    representation: str | None = None,
) -> dict:
    """Provenance record of an export.

    ``catalog`` gives the catalog name and content hash, ``embedding_meta`` (``EmbeddingResult.meta``
    or a representation's meta) the model name, sha256, output, reduction, bands and seed, ``projection``
    (a ``Projection`` or a dict) the UMAP parameters; explicit keyword arguments win over both.  All keys
    are always present (``None`` when unknown) so that readers can rely on them.

    Two seeds, named for what they seed: ``embedding_seed`` (``seed``: the embedding's random-subsample
    reduction; None when the vectors are the features alone, which use no seed: ``representation``
    or ``embedding_meta["representation"]`` is ``"features"``) and ``umap.random_state`` (the map's layout).
    """
    meta = dict(embedding_meta or {})

    def pick(explicit, *keys):
        if explicit is not None:
            return explicit
        for k in keys:
            if meta.get(k) is not None:
                return meta[k]
        return None

    if catalog is not None:
        catalog_name = catalog_name or catalog.name
        catalog_hash = catalog_hash or catalog.content_hash()
    record = {
        "format_version": 1,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "catalog": catalog_name,
        "catalog_sha256": catalog_hash,
        "model": pick(model, "model", "name", "model_name"),
        "model_sha256": pick(model_sha256, "sha256", "model_sha256"),
        "model_kind": pick(None, "kind", "model_kind"),
        "output": pick(output, "output"),
        "reduction": pick(reduction, "reduction"),
        "bands": pick(bands, "bands"),
        "embedding_seed": None if "features" in (representation, meta.get("representation")) else pick(seed, "seed"),
        "umap": _umap_params(projection),
        "packages": package_versions(),
    }
    if extra:
        record.update(dict(extra))
    return _jsonable(record)


# ---------------------------------------------------------------------- writers
def _check_format(fmt: str) -> str:
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def _filename(provenance: Mapping, kind: str, fmt: str) -> str:
    cat = str(provenance.get("catalog") or "catalog")
    cat = "".join(c if c.isalnum() or c in "-_." else "_" for c in cat)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{cat}-{kind}-{stamp}.{fmt}"


def _csv_header_value(value: Any) -> str:
    if isinstance(value, str):
        try:  # a plain string that JSON would read as something else is written quoted
            plain = isinstance(json.loads(value), str)
        except ValueError:
            plain = True
        if plain and value == value.strip() and "\n" not in value and "\r" not in value:
            return value
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _to_csv(frame: pd.DataFrame, provenance: Mapping) -> bytes:
    frame = frame.copy()
    if "embedding" in frame.columns:
        frame = _expand_embedding(frame)
    lines = [f"# {CSV_MAGIC}: 1"]
    for key, value in provenance.items():
        lines.append(f"# {key}: {_csv_header_value(value)}")
    body = frame.to_csv(index=False, lineterminator="\n")
    return ("\n".join(lines) + "\n" + body).encode("utf-8")


def _expand_embedding(frame: pd.DataFrame) -> pd.DataFrame:
    mat = np.stack(frame["embedding"].to_numpy()) if len(frame) else np.zeros((0, 0), np.float32)
    # 9 significant digits round-trip float32 exactly; other float columns keep pandas' full repr
    cols = {f"embedding_{j}": np.char.mod("%.9g", mat[:, j].astype(np.float64)) for j in range(mat.shape[1])}
    pos = frame.columns.get_loc("embedding")
    left, right = frame.iloc[:, :pos], frame.iloc[:, pos + 1:]
    return pd.concat([left, pd.DataFrame(cols, index=frame.index), right], axis=1)


def _to_parquet(frame: pd.DataFrame, provenance: Mapping, embedding: np.ndarray | None) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if embedding is not None:
        dim = embedding.shape[1]
        flat = pa.array(np.ascontiguousarray(embedding, dtype=np.float32).reshape(-1), type=pa.float32())
        column = pa.FixedSizeListArray.from_arrays(flat, dim)
        table = table.append_column(pa.field("embedding", pa.list_(pa.float32(), dim)), column)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY.encode()] = json.dumps(_jsonable(dict(provenance)), ensure_ascii=False).encode("utf-8")
    table = table.replace_schema_metadata(meta)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def export_table(frame: pd.DataFrame, provenance: Mapping, fmt: str = "csv", kind: str = "table",
                 *, embedding: np.ndarray | None = None) -> tuple[bytes, str]:
    """Serialise ``frame`` (plus an optional float32 ``embedding`` matrix, one row per frame row) with provenance."""
    fmt = _check_format(fmt)
    if not isinstance(frame, pd.DataFrame):
        raise ExportError(f"export_table needs a pandas DataFrame, got {type(frame).__name__}")
    if embedding is not None:
        embedding = np.asarray(embedding)
        if embedding.ndim != 2:
            raise ExportError(f"embeddings must be a 2-D matrix [n_objects, dim], got shape {embedding.shape} "
                              "(export sequence outputs after a mean/max/last reduction)")
        if len(embedding) != len(frame):
            raise ExportError(f"embedding has {len(embedding)} rows but the table has {len(frame)}")
    frame = frame.reset_index(drop=True)
    if fmt == "csv":
        if embedding is not None:
            frame = frame.assign(embedding=list(embedding.astype(np.float32)))
        data = _to_csv(frame, provenance)
    else:
        data = _to_parquet(frame, provenance, embedding)
    return data, _filename(provenance, kind, fmt)


def _ids_frame(object_ids, n: int | None = None, what: str = "rows") -> pd.DataFrame:
    ids = pd.array(np.asarray(object_ids).astype(str), dtype="string")
    if n is not None and len(ids) != n:
        raise ExportError(f"{len(ids)} object ids for {n} {what}")
    return pd.DataFrame({"object_id": ids})


def export_labels(labels, provenance: Mapping, fmt: str = "csv") -> tuple[bytes, str]:
    """Labelled objects; unlabelled rows dropped.

    ``labels``: a ``LabelStore`` (or anything with its ``records()``: object_id, label, updated_at and
    ``origin``, manual or suggested, all kept), a DataFrame with object_id and label (other columns kept),
    or a Series of labels indexed by object_id (then without origin).
    """
    if hasattr(labels, "records") and callable(labels.records):
        labels = labels.records()
    if isinstance(labels, pd.Series):
        frame = pd.DataFrame({"object_id": labels.index.astype(str), "label": labels.astype("string").to_numpy()})
    elif isinstance(labels, pd.DataFrame) and {"object_id", "label"} <= set(labels.columns):
        frame = labels.copy()
    else:
        raise ExportError("labels must be a Series indexed by object_id or a DataFrame with object_id and label columns")
    frame = frame[frame["label"].notna() & (frame["label"].astype(str) != "")]
    frame = frame.astype({"object_id": "string", "label": "string"})
    return export_table(frame, provenance, fmt, "labels")


def export_selection(selection: pd.DataFrame, provenance: Mapping, fmt: str = "csv") -> tuple[bytes, str]:
    """The selected objects' table (object_id first, then whatever columns the dashboard shows).

    An empty selection is an ExportError (not a file with a header and no rows)."""
    if not isinstance(selection, pd.DataFrame) or "object_id" not in selection.columns:
        raise ExportError("the selection must be a DataFrame with an object_id column")
    if not len(selection):
        raise ExportError("nothing is selected: select objects on the map or in the table, then export the "
                          "selection")
    cols = ["object_id", *[c for c in selection.columns if c != "object_id"]]
    return export_table(selection[cols], provenance, fmt, "selection")


def export_coordinates(object_ids, xy, provenance: Mapping, fmt: str = "csv",
                       labels: pd.Series | None = None) -> tuple[bytes, str]:
    """2-D map coordinates (columns object_id, x, y and, when given, label)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ExportError(f"coordinates must have shape [n, 2], got {xy.shape}")
    frame = _ids_frame(object_ids, len(xy), "coordinate rows")
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    if labels is not None:
        frame["label"] = pd.array(labels.reindex(frame["object_id"]).to_numpy(), dtype="string")
    return export_table(frame, provenance, fmt, "map")


def export_embeddings(object_ids, embeddings, provenance: Mapping, fmt: str = "parquet", *,
                      xy=None, band=None, strategy=None) -> tuple[bytes, str]:
    """Embedding matrix [n, dim] (float32), with optional per-row band/strategy and 2-D coordinates."""
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ExportError(f"embeddings must be a 2-D matrix [n_objects, dim], got shape {embeddings.shape}")
    frame = _ids_frame(object_ids, len(embeddings), "embedding rows")
    for name, col in (("band", band), ("strategy", strategy)):
        if col is not None:
            col = np.asarray(col).astype(str)
            if len(col) != len(frame):
                raise ExportError(f"{name} has {len(col)} entries for {len(frame)} embedding rows")
            frame[name] = pd.array(col, dtype="string")
    if xy is not None:
        xy = np.asarray(xy, dtype=np.float64)
        if xy.shape != (len(frame), 2):
            raise ExportError(f"coordinates must have shape ({len(frame)}, 2), got {xy.shape}")
        frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    return export_table(frame, provenance, fmt, "embeddings", embedding=embeddings.astype(np.float32))


# ---------------------------------------------------------------------- reader
def _parse_header_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def read_export(source) -> tuple[pd.DataFrame, dict]:
    """Read back an export (path, bytes or file object) as ``(table, provenance)``.

    Parquet embeddings come back as a column of float32 arrays; CSV embeddings stay as
    ``embedding_<j>`` columns.
    """
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        data = source.read()
    if data[:4] == b"PAR1":
        table = pq.read_table(io.BytesIO(data))
        raw = (table.schema.metadata or {}).get(PROVENANCE_KEY.encode())
        if raw is None:
            raise ExportError(f"this Parquet file has no '{PROVENANCE_KEY}' provenance metadata")
        frame = table.to_pandas()
        return frame, json.loads(raw)
    text = data.decode("utf-8")
    provenance: dict = {}
    n_header = 0
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        n_header += 1
        key, sep, value = line[1:].strip().partition(":")
        if sep:
            provenance[key.strip()] = _parse_header_value(value.strip())
    if provenance.pop(CSV_MAGIC, None) is None:
        raise ExportError(f"not a Light-curve Explorer CSV export (no '# {CSV_MAGIC}' header line)")
    frame = pd.read_csv(io.StringIO(text), skiprows=n_header, dtype={"object_id": str, "label": str})
    return frame, provenance
