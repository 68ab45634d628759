"""Inputs of discovery: the prepared vector matrix, and the user's labels aligned to its rows.

Vectors come from a ``RepresentationResult`` (the dashboard's) or from the Parquet file ``lcexplorer
embed`` writes (:func:`explorer.representations.read_vectors`), and are prepared exactly as the map's
(``explorer.projection.prepare_matrix``: standardised, block-weighted, missing values imputed). Rows
with no value at all cannot be classified nor scored: they are kept, marked unusable and named.

Labels are a CSV or Parquet table with ``object_id`` and a label column. The dashboard's labels file
(``object_id,label,updated_at,origin``) works as is: only ``manual`` labels count by default, an empty
label is a cleared one (a tombstone), and every label whose object is not in the vectors is counted
and named, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import CatalogError

__all__ = ["DiscoverInput", "LabelTable", "prepare_vectors", "load_vectors", "read_label_table", "label_vector",
           "labelled_mask"]

DEFAULT_ORIGINS = ("manual",)


@dataclass
class DiscoverInput:
    """Prepared vectors of a catalog: ``X`` float32 ``[n, d]`` (NaN rows where ``usable`` is False)."""

    X: np.ndarray
    object_ids: np.ndarray
    usable: np.ndarray
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.object_ids)

    @property
    def unusable_ids(self) -> list[str]:
        """Objects without any value (no vector to classify or score)."""
        return [str(i) for i in self.object_ids[~self.usable]]


def prepare_vectors(result) -> DiscoverInput:
    """The prepared space of a ``RepresentationResult`` (the same as the map's)."""
    from explorer.projection import prepare_matrix

    X, usable = prepare_matrix(result.matrix, column_weights=result.column_weights())
    return DiscoverInput(X=X, object_ids=np.asarray(result.object_ids).astype(str), usable=usable,
                         meta=dict(result.meta or {}))


def load_vectors(path) -> DiscoverInput:
    """Read and prepare a vectors Parquet file written by ``lcexplorer embed``."""
    from explorer.representations import read_vectors

    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"vectors file {path} does not exist")
    data = prepare_vectors(read_vectors(path))
    if not len(data):
        raise CatalogError(f"vectors file {path} has no rows")
    if not data.usable.any():
        raise CatalogError(f"vectors file {path}: no object has a finite value")
    return data


@dataclass
class LabelTable:
    """Labels read from a file: ``labels`` (object_id -> label) and what was left out, with why."""

    labels: pd.Series
    column: str
    skipped: dict = field(default_factory=dict)   # reason -> list of object ids

    def notes(self) -> list[str]:
        """One sentence per reason something was not used (names the first objects)."""
        out = []
        for reason, ids in self.skipped.items():
            if ids:
                head = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
                out.append(f"{len(ids)} label(s) not used ({reason}): {head}")
        return out


def _read_table(path: Path) -> pd.DataFrame:
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            if "object_id" in frame:
                frame["object_id"] = frame["object_id"].astype(str)
            return frame
        if path.suffix.lower() in (".csv", ".txt") or suffix in (".csv.gz", ".csv.bz2"):
            # ids and labels are text exactly as written ("001" is not "1"; "NA" is a label, not a missing one)
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CatalogError(f"labels file {path} does not exist") from None
    except Exception as exc:
        raise CatalogError(f"cannot read labels file {path}: {exc}") from None
    raise CatalogError(f"labels file {path}: expected .csv or .parquet")


def read_label_table(path, column: str = "label", *, origins=DEFAULT_ORIGINS) -> LabelTable:
    """Labels of ``column`` by object id from a CSV/Parquet file.

    ``origins``: which rows count when the file has an ``origin`` column (default manual only; None = all).
    Rows with an empty label are skipped (cleared labels); an id given twice keeps its last row (the
    labels file's order is by time), counted.
    """
    path = Path(path)
    frame = _read_table(path)
    for col in ("object_id", column):
        if col not in frame.columns:
            raise CatalogError(f"labels file {path} has no {col!r} column (columns: {list(frame.columns)})")
    skipped: dict[str, list] = {}
    if origins is not None and "origin" in frame.columns:
        origin = frame["origin"].astype(str).str.strip().replace("", "manual")
        keep = origin.isin(list(origins))
        skipped[f"origin not in {list(origins)}"] = frame.loc[~keep, "object_id"].astype(str).tolist()
        frame = frame[keep]
    values = frame[column]
    empty = values.isna() | (values.astype(str).str.strip() == "")
    skipped["empty label"] = frame.loc[empty, "object_id"].astype(str).tolist()
    frame = frame[~empty]
    ids = frame["object_id"].astype(str)
    dup = ids.duplicated(keep="last")
    skipped["id repeated: the last row counts"] = ids[dup].tolist()
    labels = pd.Series(frame[column].astype(str).str.strip().to_numpy()[~dup.to_numpy()],
                       index=pd.Index(ids[~dup].to_numpy(), name="object_id"), name=column)
    return LabelTable(labels=labels, column=column, skipped=skipped)


def label_vector(object_ids, table: LabelTable) -> np.ndarray:
    """Labels aligned to ``object_ids`` (object array, None = unlabelled); unknown ids go to ``table.skipped``."""
    ids = pd.Index(np.asarray(object_ids).astype(str))
    pos = ids.get_indexer(table.labels.index)
    unknown = table.labels.index[pos < 0].tolist()
    table.skipped["object not in the vectors"] = unknown
    y = np.full(len(ids), None, object)
    y[pos[pos >= 0]] = table.labels.to_numpy()[pos >= 0]
    return y


def labelled_mask(labels) -> np.ndarray:
    """True where ``labels`` holds a label (not None, NaN or empty text)."""
    values = pd.Series(np.asarray(labels, dtype=object))
    return (values.notna() & (values.astype(str).str.strip() != "")).to_numpy()
