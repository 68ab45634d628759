"""Visual-classification labels, saved to a human-readable CSV file beside the catalog.

The file has three columns: ``object_id``, ``label``, ``updated_at`` (UTC ISO 8601).  An empty
``label`` is a *tombstone*: the object's label was cleared at ``updated_at``.  Tombstones are kept so
that two dashboards working on the same catalog can merge their changes per object by time
(last write wins per object) without resurrecting labels that one of them cleared.

The label vocabulary (``label_set``) lives in a small JSON sidecar ``<name>.labels.json``.

Every change is saved at once with an atomic write (temporary file in the same folder, fsync,
``os.replace``), so a crash leaves either the previous file or the new one, never half of one.
A labels file that cannot be parsed is never overwritten: it is moved aside to
``<file>.bak-<timestamp>`` and a warning says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from explorer.atomic import atomic_write_bytes
from explorer.errors import CatalogError, ExplorerError

try:  # advisory lock around read-merge-write; absent on Windows, where we merge without it
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

log = logging.getLogger(__name__)

COLUMNS = ("object_id", "label", "updated_at")
DEFAULT_LABELS = (
    "RR Lyrae",
    "Cepheid",
    "eclipsing binary",
    "long-period variable",
    "transient",
    "non-variable",
    "artefact",
    "unknown",
)


class LabelsFileError(ExplorerError, ValueError):
    """A labels file that cannot be read (it is moved aside, never overwritten)."""


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (sorts and compares as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _protected_roots() -> list[Path]:
    """Folders we never write labels into even when the OS would let us (installed package, shipped samples)."""
    pkg = Path(__file__).resolve().parents[1]
    return [pkg, pkg.parent / "sample_catalogs"]


def folder_is_writable(folder: Path) -> bool:
    """True when labels may be written into ``folder``.

    Permission bits are honoured even for root (``../shared`` is ``r-x`` but root could write), and
    the installed package / shipped sample catalogs are treated as read-only.
    """
    folder = Path(folder)
    try:
        st = folder.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or not (st.st_mode & 0o222) or not os.access(folder, os.W_OK):
        return False
    resolved = folder.resolve()
    for root in _protected_roots():
        if resolved == root or root in resolved.parents:
            return False
    try:  # the file system may still be mounted read-only
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".lcx-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def _load_catalog(catalog_or_path):
    if isinstance(catalog_or_path, (str, os.PathLike)):
        from explorer.catalog import load_catalog

        return load_catalog(catalog_or_path)
    return catalog_or_path


class LabelStore:
    """Labels of one catalog, autosaved to ``<catalog folder>/<catalog name>.labels.csv``.

    Parameters
    ----------
    catalog_or_path:
        a :class:`explorer.catalog.Catalog` or anything ``load_catalog`` accepts.
    path:
        explicit labels file; by default beside the catalog source, or, when that folder is not
        writable (read-only data, the installed package), under
        ``store_root()/labels/<name>-<content hash[:12]>.labels.csv`` (``.notice`` says so).
    """

    def __init__(self, catalog_or_path, path: str | os.PathLike | None = None):
        self.catalog = _load_catalog(catalog_or_path)
        self.notice: str | None = None
        self.path = Path(path) if path is not None else self._default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ids = pd.Index(np.asarray(self.catalog.object_ids).astype(str))
        self._records: dict[str, tuple[str, str]] = {}  # object_id -> (label or "", updated_at)
        self._label_set: list[str] = list(DEFAULT_LABELS)
        self._stamp = None
        self._series: pd.Series | None = None  # .labels cache, dropped whenever _records changes
        self._load()

    # ------------------------------------------------------------------ paths
    @property
    def sidecar_path(self) -> Path:
        """The JSON file holding the label vocabulary."""
        stem = self.path.name[:-4] if self.path.name.endswith(".csv") else self.path.name
        return self.path.with_name(stem + ".json")

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name("." + self.path.name + ".lock")

    def _default_path(self) -> Path:
        name = _safe_name(self.catalog.name)
        from explorer.store import store_root

        fallback = store_root() / "labels" / f"{name}-{self.catalog.content_hash()[:12]}.labels.csv"
        source = getattr(self.catalog, "source", None)
        if source:
            src = Path(source)
            folder = src if src.is_dir() else src.parent
            if folder_is_writable(folder):
                beside = folder / f"{name}.labels.csv"
                if beside.exists() or not fallback.exists():
                    return beside
                # labels were saved to the fallback while the folder was read-only: keep using them
                reason = f"labels for this catalog were saved there earlier (while {folder} was not writable)"
            else:
                reason = f"the catalog folder {folder} is not writable"
        else:
            reason = "the catalog has no source folder"
        self.notice = f"Labels are saved to {fallback} because {reason}."
        log.info(self.notice)
        return fallback

    # ------------------------------------------------------------------ reading
    def _file_stamp(self):
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read_file(self) -> dict[str, tuple[str, str]]:
        """Parse the labels file; a corrupt one is moved aside (never overwritten) and reads as empty."""
        if not self.path.exists():
            return {}
        try:
            return _parse_labels_csv(self.path)
        except LabelsFileError as exc:
            backup = self.path.with_name(
                f"{self.path.name}.bak-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}")
            os.replace(self.path, backup)
            msg = f"Labels file {self.path} is unreadable ({exc}); it was moved to {backup} and a new one is started."
            self.notice = msg
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            log.warning(msg)
            return {}

    def _read_sidecar(self) -> list[str] | None:
        try:
            data = json.loads(self.sidecar_path.read_text(encoding="utf-8"))
            labels = data["label_set"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise ValueError("label_set is not a list of strings")
            return labels
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            warnings.warn(f"Label-set file {self.sidecar_path} is unreadable ({exc}); using the default label set.",
                          RuntimeWarning, stacklevel=3)
            return None

    def _load(self) -> None:
        with self._locked():
            self._records = self._read_file()
            self._series = None
            self._stamp = self._file_stamp()
            stored = self._read_sidecar()
        if stored is not None:
            self._label_set = _merge_label_sets(stored, [])
        self._label_set = _merge_label_sets(self._label_set, [lab for lab, _ in self._records.values() if lab])

    def refresh(self) -> None:
        """Merge in changes another instance saved since we last looked (cheap when nothing changed)."""
        if self._file_stamp() == self._stamp:
            return
        with self._locked():
            self._records = _merge_records(self._records, self._read_file())
            self._series = None
            self._stamp = self._file_stamp()
            stored = self._read_sidecar() or []
        self._label_set = _merge_label_sets(self._label_set, stored + [lab for lab, _ in self._records.values() if lab])

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _locked(self):
        if fcntl is None:
            yield
            return
        with open(self._lock_path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _save(self, changes: dict[str, tuple[str, str]]) -> None:
        """Re-read the file, merge per object by ``updated_at``, write atomically."""
        with self._locked():
            on_disk = self._read_file()
            merged = _merge_records(on_disk, _merge_records(self._records, changes))
            atomic_write_bytes(self.path, _format_labels_csv(merged), durable=True)
            self._records = merged
            self._series = None
            self._stamp = self._file_stamp()
            self._save_sidecar_locked()

    def _save_sidecar_locked(self) -> None:
        stored = self._read_sidecar() or []
        self._label_set = _merge_label_sets(self._label_set, stored)
        payload = {"catalog": self.catalog.name, "label_set": self._label_set}
        atomic_write_bytes(self.sidecar_path, (json.dumps(payload, indent=1) + "\n").encode("utf-8"), durable=True)

    # ------------------------------------------------------------------ public API
    def _check_ids(self, object_ids) -> list[str]:
        if isinstance(object_ids, (str, bytes)):
            object_ids = [object_ids]
        ids = [str(x) for x in object_ids]
        missing = np.asarray(ids)[self._ids.get_indexer(ids) < 0] if ids else []
        if len(missing):
            shown = ", ".join(repr(x) for x in list(dict.fromkeys(missing))[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise CatalogError(f"Unknown object id(s) for catalog {self.catalog.name!r}: {shown}{more}")
        return ids

    def assign(self, object_ids, label: str) -> None:
        """Give ``label`` to every object in ``object_ids`` and save; a new label joins ``label_set``."""
        label = _check_label(label)
        ids = self._check_ids(object_ids)
        if not ids:
            return
        if label not in self._label_set:
            self._label_set.append(label)
        now = utc_now()
        self._save({i: (label, now) for i in ids})

    def clear(self, object_ids) -> None:
        """Remove the labels of ``object_ids`` and save."""
        ids = self._check_ids(object_ids)
        if not ids:
            return
        now = utc_now()
        self._save({i: ("", now) for i in ids})

    def add_label(self, name: str) -> None:
        """Add ``name`` to the label vocabulary (persisted)."""
        name = _check_label(name)
        if name in self._label_set:
            return
        self._label_set.append(name)
        with self._locked():
            self._save_sidecar_locked()

    @property
    def label_set(self) -> list[str]:
        """The label vocabulary, in the order labels were added."""
        return list(self._label_set)

    @property
    def labels(self) -> pd.Series:
        """Label of every catalog object (index ``object_id``, dtype ``string``, ``<NA>`` = no label)."""
        self.refresh()
        if self._series is None:
            live = pd.Series({oid: lab for oid, (lab, _) in self._records.items() if lab}, dtype="string")
            out = live.reindex(self._ids).astype("string")
            out.index.name = "object_id"
            self._series = out.rename("label")
        return self._series.copy()

    def records(self) -> pd.DataFrame:
        """Labelled objects as a DataFrame (object_id, label, updated_at), the content of the CSV without tombstones."""
        self.refresh()
        rows = [(oid, lab, ts) for oid, (lab, ts) in self._records.items() if lab]
        frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype("string")
        return frame.sort_values("object_id", ignore_index=True)

    def __len__(self) -> int:
        return sum(1 for lab, _ in self._records.values() if lab)

    def __repr__(self) -> str:
        return f"LabelStore({self.catalog.name!r}, path={str(self.path)!r}, labelled={len(self)})"


# ---------------------------------------------------------------------- helpers
def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)).strip(".")
    return keep or "catalog"


def _check_label(label) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"A label must be a non-empty string, got {label!r}")
    label = label.strip()
    if any(c in label for c in "\r\n"):
        raise ValueError(f"A label cannot contain line breaks: {label!r}")
    return label


def _merge_label_sets(first: Iterable[str], second: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _merge_records(a: dict, b: dict) -> dict:
    """Per object, keep the newer entry; on a tie ``b`` wins (the caller passes its own changes as ``b``)."""
    out = dict(a)
    for oid, entry in b.items():
        old = out.get(oid)
        if old is None or entry[1] >= old[1]:
            out[oid] = entry
    return out


def _parse_labels_csv(path: Path) -> dict[str, tuple[str, str]]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise LabelsFileError(f"cannot parse CSV: {exc}") from exc
    if list(frame.columns) != list(COLUMNS):
        raise LabelsFileError(f"expected columns {list(COLUMNS)}, found {list(frame.columns)}")
    if (frame["object_id"] == "").any():
        raise LabelsFileError(f"row {int(np.argmax(frame['object_id'].to_numpy() == '')) + 2} has no object_id")
    stamps = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce", format="ISO8601")
    if stamps.isna().any():
        bad = int(np.argmax(stamps.isna().to_numpy()))
        raise LabelsFileError(f"row {bad + 2} ({frame['object_id'].iloc[bad]!r}) has a bad updated_at "
                              f"{frame['updated_at'].iloc[bad]!r}")
    if not path.read_bytes().endswith(b"\n") and len(frame):
        raise LabelsFileError("the file is truncated (no final line break)")
    # hand-edited stamps ("...Z", no microseconds) are normalised so that text comparison orders them
    canon = stamps.map(lambda t: t.isoformat(timespec="microseconds"))
    records: dict[str, tuple[str, str]] = {}
    for oid, lab, ts in zip(frame["object_id"], frame["label"].str.strip(), canon):
        old = records.get(oid)
        if old is None or ts >= old[1]:
            records[oid] = (lab, ts)
    return records


def _format_labels_csv(records: dict[str, tuple[str, str]]) -> bytes:
    frame = pd.DataFrame([(oid, lab, ts) for oid, (lab, ts) in sorted(records.items())], columns=list(COLUMNS))
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
