"""Visual-classification labels, saved to a human-readable CSV file beside the catalog.

The file has four columns: ``object_id``, ``label``, ``updated_at`` (UTC ISO 8601) and ``origin``
(``manual``: given by a person; ``suggested``: proposed by the explorer and not yet confirmed).
Files written before ``origin`` existed (three columns) read as ``manual``. An empty ``label`` is a
*tombstone*: the object's label was cleared at ``updated_at``. Tombstones are kept so that two
dashboards working on the same catalog can merge their changes per object by time (last write wins
per object) without resurrecting labels that one of them cleared.

The label vocabulary (``label_set``) lives in a small JSON sidecar ``<name>.labels.json``.

Every change is saved at once with an atomic write (temporary file in the same folder, fsync,
``os.replace``), so a crash leaves either the previous file or the new one, never half of one.
Temporary files a killed writer left behind (our own name pattern) are removed when the labels are
opened: every writer holds the file's lock while its temporary file exists, so under that lock any of
them is an orphan (without ``fcntl``: those older than ``ORPHAN_TMP_AGE_S``). Ids of any length
round-trip (the csv module's field limit is raised to the file's size).

Who may write (``LCEXPLORER_LABELS``, for a served app; see :func:`labels_mode`): ``shared`` (default:
every session writes the one file beside the catalog), ``read-only`` (labels are shown, nothing is
written: no label file, no sidecar, no clean-up) or ``per-user`` (each signed-in user writes their own
file under ``store_root()/labels/users/``; a session without a user is read-only).

A damaged labels file is never moved away nor dropped whole: it is read row by row, good rows are
kept, bad rows are listed in ``LabelStore.problems`` (and a warning). Before the file is next
rewritten, the bad rows are appended verbatim to ``<name>.labels.rejected.txt`` beside it, so that
nothing a person typed is lost.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
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

COLUMNS = ("object_id", "label", "updated_at", "origin")
REQUIRED_COLUMNS = COLUMNS[:3]  # files written before ``origin`` existed have these three
ORIGINS = ("manual", "suggested", "predicted")  # predicted: accepted from the classifier (discover)
# Temporary files of atomic_path are ".<name>.<8 random chars>.tmp" (tempfile.mkstemp); a writer
# killed between creating one and renaming it leaves it behind. Without fcntl (no lock to tell a live
# writer), older than this, nobody owns it.
ORPHAN_TMP_AGE_S = 30.0
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


LABEL_MODES = ("shared", "per-user", "read-only")
LABELS_ENV = "LCEXPLORER_LABELS"


def labels_mode(value: str | None = None) -> str:
    """Who may write labels: ``value`` or ``$LCEXPLORER_LABELS`` (``shared``, ``per-user``, ``read-only``).

    Unset or empty means ``shared``; anything else is an ExplorerError naming the choices (a typo must
    not quietly let anonymous visitors write).
    """
    raw = os.environ.get(LABELS_ENV, "") if value is None else value
    mode = str(raw).strip().lower() or "shared"
    if mode not in LABEL_MODES:
        raise ExplorerError(f"{LABELS_ENV}={raw!r} is not one of {', '.join(LABEL_MODES)}")
    return mode


class LabelsReadOnly(ExplorerError, PermissionError):
    """Labels cannot be written in this session (read-only server, or per-user labels without a user)."""


class LabelsFileError(ExplorerError, ValueError):
    """A labels file that cannot be read at all (e.g. no permission); damaged rows are not this error."""


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
    user:
        the signed-in user of a served session (``pn.state.user``), None when anonymous.
    mode:
        ``shared``, ``per-user`` or ``read-only`` (default: :func:`labels_mode`, i.e. ``$LCEXPLORER_LABELS``).
        ``per-user`` with a user: that user's own file (``path`` aside); without one: read-only.
    """

    def __init__(self, catalog_or_path, path: str | os.PathLike | None = None, *, user: str | None = None,
                 mode: str | None = None):
        self.catalog = _load_catalog(catalog_or_path)
        self.mode = labels_mode(mode)
        self.user = str(user) if user else None
        self._path_notice: str | None = None  # why labels are not beside the catalog
        self._rows_notice: str | None = None  # bad rows of the file at the last read
        if self.mode == "per-user" and self.user and path is None:
            self.path = self._user_path()
        else:
            self.path = Path(path) if path is not None else self._default_path()
        if self.writable:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._ids = pd.Index(np.asarray(self.catalog.object_ids).astype(str))
        self._records: dict[str, tuple[str, str, str]] = {}  # object_id -> (label or "", updated_at, origin)
        self.problems: list[str] = []  # bad rows of the labels file at the last read (kept on disk until saved)
        self._bad_lines: list[tuple[int, str, str]] = []  # (line number, raw text, reason)
        self._label_set: list[str] = list(DEFAULT_LABELS)
        self._stamp = None
        self._series: pd.Series | None = None  # .labels cache, dropped whenever _records changes
        # a read-only session writes nothing, not even the clean-up of other writers' temporaries
        self.removed_temp_files = self._remove_orphans() if self.writable else []
        self._load()

    # ------------------------------------------------------------------ who may write
    @property
    def writable(self) -> bool:
        """True when this session may save labels (see ``mode``)."""
        return self.mode == "shared" or (self.mode == "per-user" and self.user is not None)

    @property
    def read_only_reason(self) -> str | None:
        """Why nothing can be labelled in this session (a sentence for the page), None when writable."""
        if self.writable:
            return None
        if self.mode == "read-only":
            return f"Labels are read-only on this server ({LABELS_ENV}=read-only): you can see them, not change them."
        return (f"Labels are kept per signed-in user on this server ({LABELS_ENV}=per-user) and you are not "
                "signed in: you can see the shared labels, not change them.")

    def _require_writable(self) -> None:
        if not self.writable:
            raise LabelsReadOnly(self.read_only_reason)

    # ------------------------------------------------------------------ paths
    def _user_path(self) -> Path:
        """``store_root()/labels/users/<user>-<sha256(user)[:8]>/<catalog>-<hash[:12]>.labels.csv``: one
        folder per user, apart from the data (which may be read-only) and from the shared file; the
        digest keeps users whose names differ only in characters a file name cannot hold apart."""
        import hashlib

        from explorer.store import store_root

        digest = hashlib.sha256(self.user.encode("utf-8")).hexdigest()[:8]
        folder = store_root() / "labels" / "users" / f"{_safe_name(self.user)[:40]}-{digest}"
        return folder / f"{_safe_name(self.catalog.name)}-{self.catalog.content_hash()[:12]}.labels.csv"

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
        self._path_notice = f"Labels are saved to {fallback} because {reason}."
        log.info(self._path_notice)
        return fallback

    # ------------------------------------------------------------------ reading
    def _file_stamp(self):
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    @property
    def notice(self) -> str | None:
        """What the user should know about the labels file (read-only, fallback folder, bad rows), or None."""
        parts = [p for p in (self.read_only_reason, self._path_notice if self.writable else None,
                             self._rows_notice if self.problems else None) if p]
        return " ".join(parts) or None

    @property
    def rejected_path(self) -> Path:
        """Where bad rows of the labels file are kept, verbatim, once the file is rewritten."""
        stem = self.path.name[:-4] if self.path.name.endswith(".csv") else self.path.name
        return self.path.with_name(stem + ".rejected.txt")

    def _read_file(self) -> dict[str, tuple[str, str, str]]:
        """Parse the labels file row by row: good rows are returned, bad ones listed in ``problems``."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self.problems, self._bad_lines = [], []
            return {}
        except OSError as exc:
            raise LabelsFileError(f"cannot read labels file {self.path}: {exc.strerror}") from None
        records, bad = _parse_labels_bytes(data)
        self._bad_lines = bad
        problems = [f"line {line}: {reason}" for line, _, reason in bad]
        if problems and problems != self.problems:
            shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
            msg = (f"Labels file {self.path}: {len(problems)} bad row(s) skipped ({shown}); the other "
                   f"{len(records)} object(s) are read. The bad rows stay in the file until the next save, "
                   f"then move to {self.rejected_path}.")
            self._rows_notice = msg
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            log.warning(msg)
        self.problems = problems
        return records

    def _keep_rejected_locked(self) -> None:
        """Append the bad rows of the file about to be rewritten to the rejected file (durably).

        Each row is kept byte for byte under a ``#`` line saying when, where and why, so a person
        can mend it and paste it back into the labels file.
        """
        if not self._bad_lines:
            return
        try:
            old = self.rejected_path.read_bytes()
        except FileNotFoundError:
            old = (f"# Rows of {self.path.name} that could not be read, each under a line saying why.\n"
                   f"# Mend a row and paste it back into {self.path.name} to restore it.\n").encode("utf-8")
        stamp = utc_now()
        parts = []
        for line, raw, reason in self._bad_lines:
            parts.append(f"# {stamp} line {line}: {reason}\n{raw}\n")
        atomic_write_bytes(self.rejected_path, old + "".join(parts).encode("utf-8", "surrogateescape"),
                           durable=True)
        log.warning("%d bad row(s) of %s kept in %s", len(self._bad_lines), self.path, self.rejected_path)
        self._bad_lines = []

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
        self._label_set = _merge_label_sets(self._label_set, [r[0] for r in self._records.values() if r[0]])

    def refresh(self) -> None:
        """Merge in changes another instance saved since we last looked (cheap when nothing changed)."""
        if self._file_stamp() == self._stamp:
            return
        with self._locked():
            self._records = _merge_records(self._records, self._read_file())
            self._series = None
            self._stamp = self._file_stamp()
            stored = self._read_sidecar() or []
        self._label_set = _merge_label_sets(self._label_set, stored + [r[0] for r in self._records.values() if r[0]])

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _locked(self):
        # read-only sessions take no lock: the lock file is a write, and writers replace the file atomically
        if fcntl is None or not self.writable:
            yield
            return
        with open(self._lock_path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _remove_orphans(self) -> list[Path]:
        """Temporary files of killed writers, removed. Every writer of these files holds the lock while its
        temporary file exists, so under the lock any of ours is an orphan, however young (a writer killed
        a second ago included); without ``fcntl`` only files older than ``ORPHAN_TMP_AGE_S`` are."""
        if fcntl is None:
            return remove_orphan_temp_files(self.path)
        with self._locked():
            return remove_orphan_temp_files(self.path, older_than_s=0.0)

    def _save(self, changes: dict[str, tuple[str, str, str]]) -> None:
        """Re-read the file, merge per object by ``updated_at``, write atomically (bad rows kept aside first)."""
        self._require_writable()
        with self._locked():
            on_disk = self._read_file()
            merged = _merge_records(on_disk, _merge_records(self._records, changes))
            self._keep_rejected_locked()
            atomic_write_bytes(self.path, _format_labels_csv(merged), durable=True)
            self.problems = []
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
        if "" in ids:
            # the catalog never has such an object; refuse before anything reaches the file
            raise CatalogError(f"an empty object id cannot be labelled (catalog {self.catalog.name!r}, "
                               f"position {ids.index('')} of the ids given)")
        missing = np.asarray(ids)[self._ids.get_indexer(ids) < 0] if ids else []
        if len(missing):
            shown = ", ".join(repr(x) for x in list(dict.fromkeys(missing))[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise CatalogError(f"Unknown object id(s) for catalog {self.catalog.name!r}: {shown}{more}")
        return ids

    def assign(self, object_ids, label: str, origin: str = "manual") -> None:
        """Give ``label`` to every object in ``object_ids`` and save; a new label joins ``label_set``.

        ``origin``: ``"manual"`` (a person chose it) or ``"suggested"`` (proposed by the explorer).
        """
        self._require_writable()
        label = _check_label(label)
        origin = _check_origin(origin)
        ids = self._check_ids(object_ids)
        if not ids:
            return
        if label not in self._label_set:
            self._label_set.append(label)
        now = utc_now()
        self._save({i: (label, now, origin) for i in ids})

    def clear(self, object_ids) -> None:
        """Remove the labels of ``object_ids`` and save."""
        self._require_writable()
        ids = self._check_ids(object_ids)
        if not ids:
            return
        now = utc_now()
        self._save({i: ("", now, "manual") for i in ids})

    def add_label(self, name: str) -> None:
        """Add ``name`` to the label vocabulary (persisted)."""
        name = _check_label(name)
        self._require_writable()
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
            live = pd.Series({oid: r[0] for oid, r in self._records.items() if r[0]}, dtype="string")
            out = live.reindex(self._ids).astype("string")
            out.index.name = "object_id"
            self._series = out.rename("label")
        return self._series.copy()

    @property
    def origins(self) -> pd.Series:
        """Origin of every catalog object's label (``manual``/``suggested``; ``<NA>`` = no label), like ``labels``."""
        self.refresh()
        live = pd.Series({oid: r[2] for oid, r in self._records.items() if r[0]}, dtype="string")
        out = live.reindex(self._ids).astype("string")
        out.index.name = "object_id"
        return out.rename("origin")

    def records(self) -> pd.DataFrame:
        """Labelled objects as a DataFrame (object_id, label, updated_at, origin): the CSV without tombstones."""
        self.refresh()
        rows = [(oid, *r) for oid, r in self._records.items() if r[0]]
        frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype("string")
        return frame.sort_values("object_id", ignore_index=True)

    def __len__(self) -> int:
        return sum(1 for r in self._records.values() if r[0])

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


def _check_origin(origin) -> str:
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    return origin


def _canonical_stamp(text: str) -> str | None:
    """``text`` as UTC ISO 8601 with microseconds (sorts as text), or None when it is not an ISO time.

    Hand-edited stamps (``...Z``, no microseconds, no zone = UTC) are accepted and normalised.
    """
    try:
        stamp = datetime.fromisoformat(text.strip())
    except (ValueError, TypeError):
        return None
    stamp = stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None else stamp.astimezone(timezone.utc)
    return stamp.isoformat(timespec="microseconds")


def _parse_labels_bytes(data: bytes) -> tuple[dict[str, tuple[str, str, str]], list[tuple[int, str, str]]]:
    """Good records and bad rows ``(line number, raw text, reason)`` of a labels file's bytes.

    Row by row: one bad row (no id, bad time, wrong number of fields, not UTF-8, cut short by a
    crash) never costs the others. Files with three columns (before ``origin``) read as manual.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    _allow_fields_of(len(text))
    # one split for the raw lines and the csv reader, so that line numbers and raw text agree
    lines = io.StringIO(text, newline="").readlines()
    records: dict[str, tuple[str, str, str]] = {}
    bad: list[tuple[int, str, str]] = []
    if not lines:
        return records, bad
    first = next(csv.reader([lines[0]]), [])
    header = [h.strip().lstrip("\ufeff") for h in first]
    body_start = 1
    if not set(REQUIRED_COLUMNS) <= set(header):
        # no usable header (hand-made file, or a damaged first line): read the rows in the standard
        # column order; the first line is data if it reads as a row, else it is reported
        header = list(COLUMNS) if len(first) >= 4 else list(REQUIRED_COLUMNS)
        pos = {name: header.index(name) for name in COLUMNS if name in header}
        if _row_problem(first, header, pos, lines[0])[0] is None:
            body_start = 0
        else:
            bad.append((1, lines[0].rstrip("\r\n"), f"not a header with {', '.join(REQUIRED_COLUMNS)}, "
                                                      "nor a label row"))
    pos = {name: header.index(name) for name in COLUMNS if name in header}
    has_surrogates = _SURROGATE.search(text) is not None  # bytes that are not UTF-8 (rare: skip the check)
    i = body_start
    reader, base = None, i  # one reader while rows read well; a fresh one after a bad row
    while i < len(lines):
        if reader is None:
            reader, base = csv.reader(lines[k] for k in range(i, len(lines))), i
        try:
            row = next(reader)
            problem = None
        except csv.Error as exc:
            row, problem = None, f"not CSV ({exc})"
        except StopIteration:
            break
        end = base + max(reader.line_num, 1)
        raw = "".join(lines[i:end])
        if row is not None:
            if not row or all(not f.strip() for f in row):
                i = end
                continue
            problem, stamp = _row_problem(row, header, pos, raw if has_surrogates else "")
        if problem is not None:
            # an unmatched quote makes one "row" of every line after it: report this line alone
            # and read on from the next one
            bad.append((i + 1, lines[i].rstrip("\r\n"), problem))
            i += 1
            reader = None
            continue
        oid = row[pos["object_id"]]
        origin = row[pos["origin"]].strip() if "origin" in pos and row[pos["origin"]].strip() else "manual"
        entry = (row[pos["label"]].strip(), stamp, origin)
        old = records.get(oid)
        if old is None or entry[1] >= old[1]:
            records[oid] = entry
        i = end
    return records, bad


_SURROGATE = re.compile("[\udc80-\udcff]")
_FIELD_LIMIT_LOCK = threading.Lock()


def _allow_fields_of(n_chars: int) -> None:
    """Let the csv module read fields as long as the file itself (any id the catalog accepts round-trips).

    ``csv.field_size_limit`` is process-wide (default 131,072 characters): it is only ever raised here,
    under a lock, so no reader in another thread sees it lowered under its feet.
    """
    with _FIELD_LIMIT_LOCK:
        if csv.field_size_limit() < n_chars + 1:
            csv.field_size_limit(n_chars + 1)


def _row_problem(row: list[str], header: list[str], pos: dict, raw: str) -> tuple[str | None, str | None]:
    """(why ``row`` cannot be used or None, its canonical ``updated_at`` when it can)."""
    if raw and _SURROGATE.search(raw):
        return "not UTF-8 text", None
    if len(row) != len(header):
        cut = "" if raw.endswith(("\n", "\r")) or not raw else " (cut short: no line break at its end)"
        return f"{len(row)} fields, expected {len(header)}{cut}", None
    if not row[pos["object_id"]]:
        return "no object_id", None
    stamp = _canonical_stamp(row[pos["updated_at"]])
    if stamp is None:
        return f"bad updated_at {row[pos['updated_at']]!r} for object {row[pos['object_id']]!r}", None
    if "origin" in pos and row[pos["origin"]].strip() not in ("", *ORIGINS):
        return f"unknown origin {row[pos['origin']]!r} (expected {' or '.join(ORIGINS)})", None
    return None, stamp


def _format_labels_csv(records: dict[str, tuple[str, str, str]]) -> bytes:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(COLUMNS)
    for oid, (lab, ts, origin) in sorted(records.items()):
        writer.writerow([oid, lab, ts, origin])
    return sink.getvalue().encode("utf-8")


def remove_orphan_temp_files(path, *, older_than_s: float = ORPHAN_TMP_AGE_S) -> list[Path]:
    """Remove temporary files that killed writers of ``path`` (and its ``.json`` sidecar) left behind.

    Only our own pattern (``.<name>.<8 chars>.tmp``, as :func:`explorer.atomic.atomic_path` makes
    them) and only files older than ``older_than_s``, so a writer still at work keeps its file.
    Returns the files removed.
    """
    path = Path(path)
    stem = path.name[:-4] if path.name.endswith(".csv") else path.name
    names = {path.name, stem + ".json", stem + ".rejected.txt"}
    pattern = re.compile(r"^\.(" + "|".join(re.escape(n) for n in names) + r")\.[a-z0-9_]{8}\.tmp$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < older_than_s:
                continue
            os.unlink(entry.path)
        except OSError:  # gone already (another instance cleaned it) or not ours to remove
            continue
        removed.append(Path(entry.path))
    if removed:
        log.info("removed %d orphan temporary file(s) beside %s", len(removed), path)
    return removed
