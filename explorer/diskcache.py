"""A size cap for the cache folders under ``store_root()``, with least-recently-used eviction.

Caches (embeddings, UMAP projections, representations, int8 model copies) are derived data: any
file can be removed and is recomputed when needed. Without a cap they grow without bound, so every
writer calls :func:`enforce_cap` after a write, and readers call :func:`touch` on a hit so that a
file in use counts as recently used.

What is never touched: the installed models (``models/``) and the user's labels (``labels/``);
only the folders in :data:`CACHE_FOLDERS` are caches.

The cap is ``$LCEXPLORER_CACHE_MAX_BYTES`` (``5G``, ``500M``, ``1.5e9``; ``0`` or ``none``: no cap),
5 GiB by default. Files used in the last :data:`RECENT_S` seconds are never evicted: a writer has
just made them or a reader has just opened them.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from explorer.errors import ExplorerError

__all__ = [
    "CACHE_FOLDERS",
    "CacheFolderInfo",
    "EvictionReport",
    "cache_folders",
    "cache_info",
    "cache_max_bytes",
    "clear_cache",
    "enforce_cap",
    "parse_size",
    "touch",
    "after_write",
]

log = logging.getLogger(__name__)

# Folders of store_root() that hold derived, recomputable files. Add a cache here and it is capped,
# listed by `lcexplorer cache info` and cleared by `lcexplorer cache clear`.
CACHE_FOLDERS = ("embeddings", "projections", "representations", "quantized")
ENV_MAX_BYTES = "LCEXPLORER_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 5 * 1024**3
RECENT_S = 10.0

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3, "t": 1024**4, "tb": 1024**4, "tib": 1024**4}


def parse_size(text: str) -> int | None:
    """``"5G"``, ``"500 MB"``, ``"1.5e9"`` -> bytes; ``"0"``/``"none"``/``"off"`` -> None (no cap).

    ValueError naming the text when it is not a size.
    """
    raw = str(text).strip().lower()
    if raw in ("", "0", "none", "off", "unlimited"):
        return None
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)", raw)
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a size (examples: 5G, 500M, 1.5e9, none)")
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    return value if value > 0 else None


def cache_max_bytes() -> int | None:
    """The cap from ``$LCEXPLORER_CACHE_MAX_BYTES`` (default 5 GiB; None: no cap).

    A malformed value must not break the embedding that calls this: it is logged and the default used.
    """
    raw = os.environ.get(ENV_MAX_BYTES)
    if raw is None:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(raw)
    except ValueError as exc:
        log.warning("%s: %s; using the default cap of %d bytes", ENV_MAX_BYTES, exc, DEFAULT_MAX_BYTES)
        return DEFAULT_MAX_BYTES


def cache_folders() -> dict[str, Path]:
    """Name -> folder of every cache under ``store_root()`` (existing or not)."""
    from explorer.store import store_root

    root = store_root()
    return {name: root / name for name in CACHE_FOLDERS}


def after_write() -> None:
    """What every cache writer calls after a write: enforce the cap, never failing the writer for it."""
    try:
        enforce_cap()
    except (OSError, ExplorerError) as exc:  # eviction is housekeeping: the computed result stands
        logging.getLogger(__name__).warning("cache size cap not enforced: %s", exc)


def touch(path) -> None:
    """Mark a cache file as just used (on a cache hit), so eviction keeps it longest.

    Access times are not reliable (``noatime``/``relatime`` mounts), hence an explicit stamp.
    """
    try:
        os.utime(path)
    except OSError:  # gone or read-only: nothing to keep fresh
        pass


@dataclass(frozen=True)
class _File:
    path: Path
    size: int
    used: float  # last use: the later of access and modification time


def _files(folder: Path) -> list[_File]:
    out: list[_File] = []
    if not folder.is_dir():
        return out
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # removed meanwhile by another process
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                out.append(_File(Path(entry.path), st.st_size, max(st.st_atime, st.st_mtime)))
    return out


@dataclass(frozen=True)
class CacheFolderInfo:
    """One cache folder: its name, path, number of files and bytes."""

    name: str
    path: Path
    n_files: int
    n_bytes: int


def cache_info() -> dict[str, CacheFolderInfo]:
    """Per cache folder: files and bytes (folders that do not exist yet show zeros)."""
    info = {}
    for name, folder in cache_folders().items():
        files = _files(folder)
        info[name] = CacheFolderInfo(name, folder, len(files), sum(f.size for f in files))
    return info


@dataclass
class EvictionReport:
    """What :func:`enforce_cap` did: the cap, bytes before/after, files removed, files kept because in use."""

    max_bytes: int | None
    bytes_before: int
    bytes_after: int
    removed: list = field(default_factory=list)
    kept_recent: int = 0

    @property
    def bytes_freed(self) -> int:
        """Bytes removed."""
        return self.bytes_before - self.bytes_after

    @property
    def over_cap(self) -> bool:
        """True when files in use keep the caches over the cap."""
        return self.max_bytes is not None and self.bytes_after > self.max_bytes


def _remove_empty_dirs(folder: Path) -> None:
    if not folder.is_dir():
        return
    for current, dirs, _ in os.walk(folder, topdown=False):
        if Path(current) == folder:
            continue
        try:
            os.rmdir(current)  # only succeeds when empty
        except OSError:
            pass


def enforce_cap(max_bytes: int | None = None, *, recent_s: float = RECENT_S) -> EvictionReport:
    """Evict least-recently-used cache files until all caches together are under the cap.

    ``max_bytes``: the cap (default :func:`cache_max_bytes`). Files used in the last ``recent_s``
    seconds are kept even over the cap. Safe to run from several processes at once.
    """
    cap = cache_max_bytes() if max_bytes is None else int(max_bytes)
    folders = cache_folders()
    files = [f for folder in folders.values() for f in _files(folder)]
    total = sum(f.size for f in files)
    report = EvictionReport(max_bytes=cap, bytes_before=total, bytes_after=total)
    if cap is None or total <= cap:
        return report
    now = time.time()
    for f in sorted(files, key=lambda f: f.used):
        if report.bytes_after <= cap:
            break
        if now - f.used < recent_s:
            report.kept_recent += 1
            continue
        try:
            f.path.unlink()
        except FileNotFoundError:  # another process evicted it first
            pass
        except OSError as exc:
            log.warning("cannot evict cache file %s: %s", f.path, exc)
            continue
        report.bytes_after -= f.size
        report.removed.append(f.path)
    for folder in folders.values():
        _remove_empty_dirs(folder)
    if report.removed:
        log.info("cache cap %d bytes: evicted %d file(s), %d bytes", cap, len(report.removed), report.bytes_freed)
    return report


def clear_cache(what: str = "all") -> tuple[int, int]:
    """Remove every file of one cache folder (a name of :data:`CACHE_FOLDERS`) or of all; (files, bytes)."""
    folders = cache_folders()
    if what == "all":
        chosen = list(folders.values())
    elif what in folders:
        chosen = [folders[what]]
    else:
        raise ExplorerError(f"unknown cache {what!r}; choose one of {', '.join(CACHE_FOLDERS)} or all")
    n_files = n_bytes = 0
    for folder in chosen:
        for f in _files(folder):
            try:
                f.path.unlink()
            except FileNotFoundError:
                continue
            n_files += 1
            n_bytes += f.size
        _remove_empty_dirs(folder)  # the cache folder itself stays for the next writer
    return n_files, n_bytes
