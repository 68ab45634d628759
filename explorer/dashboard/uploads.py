"""Catalog uploads in chunks, bounded in memory and size before the bytes reach the server.

``CatalogDropper`` is Panel's ``FileDropper`` (FilePond in the browser) with its server side replaced:
the browser refuses a file over the operator's limit (``LCEXPLORER_MAX_UPLOAD_BYTES``) before sending
anything, and sends accepted files in chunks of ``UPLOAD_CHUNK_BYTES``. The server never trusts that
check: it refuses an upload from its announced chunk count at the first chunk, counts the bytes as they
arrive, and writes each chunk straight to one temp file (``lcx-upload-*`` in ``tempfile.gettempdir()``,
i.e. ``$TMPDIR``). So a refused upload holds at most one chunk in the server's memory (a browser that
skipped the check may still send the rest: each chunk is dropped unwritten), an accepted one costs its
file on disk, and no websocket message is larger than a chunk (Bokeh's 20 MB default limit is enough).

Temp files are removed when the upload is opened (by its consumer, ``CatalogDropper.release``), refused,
replaced by a new upload, and when the session ends (also in the middle of an upload). Those a crashed or
killed server left behind are swept when a process makes its first upload widget (once per temp folder):
only regular files of this user named as ours, directly in the temp folder, untouched for
``STALE_UPLOAD_S`` (an upload in progress in another server rewrites its file with every chunk).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import time
import threading
from dataclasses import dataclass
from pathlib import Path

import panel as pn
import param

from explorer.catalog import CatalogLimits
from explorer.errors import CatalogError

from .sources import UPLOAD_SUFFIXES

log = logging.getLogger(__name__)

# Well under Bokeh's default websocket message limit (20 MB), small enough that one chunk in flight is
# nothing next to a session's memory, large enough that a 200 MB file is 200 messages.
UPLOAD_CHUNK_BYTES = 1_000_000
TEMP_PREFIX = "lcx-upload-"
# tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=<.parquet or .csv>) names: 8 random characters between
_SUFFIXES = "|".join(re.escape(s) for s in UPLOAD_SUFFIXES)
_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}[a-z0-9_]{{8}}(?:{_SUFFIXES})$")
# An upload temp file untouched this long has no live writer: chunks arrive within seconds of each
# other, and a complete upload is read (then removed) by its session's job within minutes.
STALE_UPLOAD_S = 3600.0
_SWEPT: set[str] = set()
_SWEPT_LOCK = threading.Lock()


def sweep_stale_uploads(folder=None, *, older_than_s: float = STALE_UPLOAD_S) -> list[Path]:
    """Remove upload temp files that a crashed server left in ``folder`` (default: the temp folder).

    Only regular files directly in ``folder``, named as this module names them, owned by this user and
    not modified for ``older_than_s`` seconds. Returns the files removed.
    """
    folder = Path(folder if folder is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
            if not stat.S_ISREG(st.st_mode) or not mine or now - st.st_mtime < older_than_s:
                continue
            os.unlink(entry.path)
        except OSError:  # gone already, or not ours to remove
            continue
        removed.append(Path(entry.path))
    if removed:
        log.info("removed %d upload temp file(s) left by an earlier server in %s", len(removed), folder)
    return removed


def _sweep_once() -> None:
    """``sweep_stale_uploads`` of the temp folder, the first time this process makes an upload widget there."""
    folder = tempfile.gettempdir()
    with _SWEPT_LOCK:
        if folder in _SWEPT:
            return
        _SWEPT.add(folder)
    sweep_stale_uploads(folder)


def upload_limit() -> int | None:
    """The operator's upload size limit in bytes (``LCEXPLORER_MAX_UPLOAD_BYTES``; None: no limit)."""
    return CatalogLimits.served().max_bytes


def upload_name(filename) -> str:
    """The file name a browser sent, reduced to its last path part (no folders, no null bytes)."""
    return Path(str(filename or "upload").replace("\\", "/").replace("\x00", "")).name or "upload"


@dataclass(frozen=True)
class ReceivedUpload:
    """A complete upload waiting in its temp file: ``read()`` it once, then ``discard()`` it."""

    filename: str
    path: Path
    size: int

    def read(self) -> bytes:
        """The file's bytes (one copy in memory: what the catalog reader parses)."""
        return self.path.read_bytes()

    def discard(self) -> None:
        """Remove the temp file (again is harmless)."""
        self.path.unlink(missing_ok=True)


class _Stream:
    """The upload being received: its temp file and the chunks that have arrived."""

    def __init__(self, name: str, total: int, path: Path, fd: int):
        self.name, self.total, self.path, self.fd = name, total, path, fd
        self.chunks: set[int] = set()
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class CatalogDropper(pn.widgets.FileDropper):
    """A one-file Parquet/CSV upload whose size is checked in the browser and on the server, chunk by chunk.

    Outputs (each a new object per upload, so a watcher fires every time): ``received`` (a
    ``ReceivedUpload``; its consumer must ``release()`` it) and ``refused`` (a ``CatalogError`` naming the
    file and the limit). ``bytes_received`` counts every payload byte the server accepted into a temp
    file, for benchmarks and tests. Each chunk is written at its own offset, so chunks handled out of
    order (``panel serve --num-threads``) still make the file.
    """

    received = param.Parameter(default=None, doc="The last complete upload (ReceivedUpload).")
    refused = param.Parameter(default=None, doc="The last refusal (CatalogError naming the file and limit).")
    bytes_received = param.Integer(default=0, doc="Payload bytes written to temp files by this widget.")

    # server-side outputs only: never synced to the browser
    _rename = {**pn.widgets.FileDropper._rename, "received": None, "refused": None, "bytes_received": None}

    def __init__(self, *, max_bytes: int | None = None, **params):
        self.max_bytes = upload_limit() if max_bytes is None else (max_bytes or None)
        params.setdefault("chunk_size", UPLOAD_CHUNK_BYTES)
        params.setdefault("multiple", False)
        params.setdefault("previews", [])
        # FilePond's type check compares MIME types, and browsers give Parquet none: it would refuse every
        # Parquet file. The suffix is checked on the server at the first chunk instead.
        params.setdefault("accepted_filetypes", [])
        if self.max_bytes:
            params.setdefault("max_file_size", str(int(self.max_bytes)))  # FilePond reads plain digits as bytes
        super().__init__(**params)
        _sweep_once()  # what a crashed server left: at this process's first upload widget
        self._lock = threading.RLock()  # chunk events (maybe on several threads), release and cleanup
        self._stream: _Stream | None = None
        self._dropping: tuple | None = None  # (name, total) of a refused upload: its other chunks are dropped
        self._waiting: set[Path] = set()  # complete uploads not yet released by their consumer
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(self._session_destroyed)

    # ------------------------------------------------------------------ receiving
    def _process_event(self, event) -> None:
        if event.event_name != "upload_event":
            return  # a FilePond "revert" (delete) of a file already handed over: nothing is kept here
        data = event.data or {}
        name = upload_name(data.get("name"))
        outcome = None
        with self._lock:
            try:
                outcome = self._receive(name, data)
            except OSError as exc:  # no room or no temp folder: the operator's problem, said without the path
                outcome = CatalogError(f"the server could not store uploaded file {name!r} "
                                       f"({exc.strerror or type(exc).__name__}); tell the operator")
            except CatalogError as exc:
                outcome = exc
            if isinstance(outcome, CatalogError):
                self._abort()
                self._dropping = (name, data.get("total_chunks"))
        # watchers run outside the lock: they start jobs that release() from another thread
        if isinstance(outcome, CatalogError):
            log.info("upload %r refused: %s", name, outcome)
            self.refused = outcome
        elif outcome is not None:
            self.received = outcome

    def _receive(self, name: str, data: dict) -> ReceivedUpload | None:
        chunk, total, payload = data.get("chunk"), data.get("total_chunks"), data.get("data")
        where = f"uploaded file {name!r}"
        if not isinstance(chunk, int) or not isinstance(total, int) or not 1 <= chunk <= total:
            raise CatalogError(f"{where}: the browser sent a malformed chunk ({chunk!r} of {total!r}); upload it again")
        stream = self._stream
        new_upload = stream is None or (stream.name, stream.total) != (name, total)
        if not new_upload and chunk == 1 and 1 in stream.chunks:
            new_upload = True  # the same file again
        if new_upload:
            if self._dropping == (name, total) and chunk != 1:
                return None  # the rest of a refused upload: dropped, never written
            self._abort()
            self._dropping = None
            stream = self._start(name, total, where)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise CatalogError(f"{where}: the browser sent {type(payload).__name__} instead of bytes; upload it again")
        # every chunk but the last is exactly chunk_size (the browser slices the file so)
        if len(payload) > self.chunk_size or (chunk < total and len(payload) != self.chunk_size):
            raise CatalogError(f"{where}: chunk {chunk} of {total} holds {len(payload):,} bytes, not the "
                               f"{self.chunk_size:,} agreed; upload it again")
        if chunk in stream.chunks:
            raise CatalogError(f"{where}: chunk {chunk} of {total} arrived twice; upload it again")
        if self.max_bytes is not None and stream.size + len(payload) > self.max_bytes:
            raise CatalogLimits(max_bytes=self.max_bytes).refuse(where, "its size is over", stream.size + len(payload),
                                                                 "max_bytes")
        os.pwrite(stream.fd, payload, (chunk - 1) * self.chunk_size)
        stream.chunks.add(chunk)
        stream.size += len(payload)
        self.bytes_received += len(payload)
        if len(stream.chunks) < total:
            return None
        stream.close()
        self._stream = None
        self._waiting.add(stream.path)
        log.info("upload %r received: %d bytes in %s", stream.name, stream.size, stream.path)
        return ReceivedUpload(stream.name, stream.path, stream.size)

    def _start(self, name: str, total: int, where: str) -> _Stream:
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise CatalogError(f"{where} is not a {' or '.join(UPLOAD_SUFFIXES)} file; upload a Parquet or CSV catalog")
        # the browser sends ceil((size + 1) / chunk_size) chunks: the size is at least this much
        at_least = (total - 1) * self.chunk_size
        if self.max_bytes is not None and at_least > self.max_bytes:
            raise CatalogLimits(max_bytes=self.max_bytes).refuse(where, "its size is at least", at_least, "max_bytes")
        fd, path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=Path(name).suffix.lower())
        self._stream = _Stream(name, total, Path(path), fd)
        return self._stream

    def _abort(self) -> None:
        """Drop the upload in progress, if any, and its temp file."""
        with self._lock:
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.close()
                stream.path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ cleaning up
    def release(self, upload: ReceivedUpload) -> None:
        """The consumer is done with ``upload``: its temp file goes."""
        with self._lock:
            upload.discard()
            self._waiting.discard(upload.path)

    def cleanup_files(self) -> None:
        """Remove every temp file of this widget: the upload in progress and those not yet released."""
        with self._lock:
            self._abort()
            waiting, self._waiting = self._waiting, set()
            for path in waiting:
                path.unlink(missing_ok=True)

    def _session_destroyed(self, session_context) -> None:
        self.cleanup_files()
