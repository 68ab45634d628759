"""The anomaly-feedback file: what the user said about ranked objects, saved beside the labels.

CSV with columns ``object_id,anomaly,updated_at,origin``: ``anomaly`` is 1 (an anomaly) or 0 (not
interesting), empty when the user withdrew the answer (kept, like the labels' tombstones, so merges by
time do not resurrect it); ``origin`` is ``anomaly-feedback``. A file with only ``object_id,anomaly``
(what ``lcexplorer anomalies --feedback`` accepts) reads the same. Next to ``<name>.labels.csv`` the file
is ``<name>.anomaly-feedback.csv`` (:func:`feedback_path`).

Nothing the user gave is lost: every save re-reads the file and merges per object (the newer
``updated_at`` wins), then replaces it atomically (fsynced); a file with a row this reader cannot
understand is never rewritten (the error names the file and line), so a hand edit is not overwritten.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from explorer.atomic import atomic_write_bytes
from explorer.errors import CatalogError

try:  # advisory lock around read-merge-write; absent on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["FEEDBACK_ORIGIN", "FEEDBACK_COLUMNS", "feedback_path", "read_feedback", "read_feedback_records",
           "save_feedback"]

FEEDBACK_ORIGIN = "anomaly-feedback"
FEEDBACK_COLUMNS = ("object_id", "anomaly", "updated_at", "origin")
_TRUE = {"1", "1.0", "true", "yes", "anomaly"}
_FALSE = {"0", "0.0", "false", "no", "not interesting"}


def feedback_path(labels_path) -> Path:
    """The feedback file beside a labels file: ``<name>.labels.csv`` -> ``<name>.anomaly-feedback.csv``."""
    path = Path(labels_path)
    name = path.name[:-len(".labels.csv")] if path.name.endswith(".labels.csv") else path.stem
    return path.with_name(f"{name}.anomaly-feedback.csv")


def _value(text: str, path, line: int):
    value = text.strip().lower()
    if value in _TRUE:
        return 1
    if value in _FALSE:
        return 0
    if value == "":
        return None
    raise CatalogError(f"{path} line {line}: anomaly must be 1 (anomaly) or 0 (not interesting), not {text!r}")


def read_feedback_records(path) -> dict[str, tuple]:
    """Every row of a feedback file: ``object_id -> (anomaly 1/0/None, updated_at, origin)``, last row per id.

    A missing file is empty; a row that cannot be read is a CatalogError naming the file and line.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read feedback file {path}: {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    header = [h.strip() for h in rows[0]]
    if "object_id" not in header or "anomaly" not in header:
        raise CatalogError(f"feedback file {path} needs columns object_id and anomaly (has {header})")
    pos = {h: header.index(h) for h in header}
    records = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CatalogError(f"{path} line {line}: {len(row)} fields where the header has {len(header)}")
        oid = row[pos["object_id"]]
        if not oid:
            raise CatalogError(f"{path} line {line}: empty object_id")
        records[oid] = (_value(row[pos["anomaly"]], path, line),
                        row[pos["updated_at"]] if "updated_at" in pos else "",
                        row[pos["origin"]] or FEEDBACK_ORIGIN if "origin" in pos else FEEDBACK_ORIGIN)
    return records


def read_feedback(path) -> pd.Series:
    """The current answers: Series ``object_id -> 1/0`` (withdrawn answers left out)."""
    records = read_feedback_records(path)
    kept = {k: v[0] for k, v in records.items() if v[0] is not None}
    return pd.Series(list(kept.values()), index=pd.Index(list(kept.keys()), name="object_id"), name="anomaly",
                     dtype="int64")


@contextlib.contextmanager
def _locked(path: Path):
    if fcntl is None:
        yield
        return
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save_feedback(path, answers: dict) -> pd.Series:
    """Merge ``answers`` (``object_id -> 1, 0 or None`` to withdraw) into the file and return the current
    answers. The file is re-read under a lock first, so answers saved meanwhile by another session stay."""
    path = Path(path)
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    for oid, value in answers.items():
        if value is not None and value not in (0, 1):
            raise CatalogError(f"feedback for {oid!r} must be 1, 0 or None, not {value!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        records = read_feedback_records(path)
        for oid, value in answers.items():
            records[str(oid)] = (None if value is None else int(value), now, FEEDBACK_ORIGIN)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FEEDBACK_COLUMNS)
        for oid, (value, stamp, origin) in records.items():
            writer.writerow([oid, "" if value is None else value, stamp, origin])
        atomic_write_bytes(path, out.getvalue().encode("utf-8"), durable=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o644)
    return read_feedback(path)
