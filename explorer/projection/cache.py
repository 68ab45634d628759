"""The caches of fitted maps: a small LRU in memory (per process) and ``.npz`` files on disk."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_path
from explorer.projection.pca import _PCAState

__all__ = ["projection_cache_dir", "clear_memory_cache", "MEMORY_CACHE_SIZE"]

log = logging.getLogger(__name__)

MEMORY_CACHE_SIZE = 8


def projection_cache_dir() -> Path:
    """Default on-disk cache folder: ``store_root()/projections`` (``$LCEXPLORER_HOME`` or the user cache)."""
    from explorer.store import store_root

    return store_root() / "projections"



@dataclass(frozen=True)
class _Fitted:
    """What a fit produces and the cache keeps: the map of the usable rows and the PCA used before UMAP."""

    coords: np.ndarray  # float32 [n_valid, 2]
    pca: _PCAState | None


class _MemoryCache:
    """A small thread-safe LRU of fitted maps shared by every ``Projection`` in the process."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, _Fitted] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> _Fitted | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, item: _Fitted) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_MEMORY = _MemoryCache(MEMORY_CACHE_SIZE)


def clear_memory_cache() -> None:
    """Forget every map kept in memory (the disk cache is untouched)."""
    _MEMORY.clear()


def _read_disk(path: Path) -> _Fitted | None:
    """Load a cached map; a missing or unreadable file is a miss (it is rewritten by the next fit)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            coords = np.array(data["coords"], dtype=np.float32)
            pca = None
            if "pca_components" in data.files:
                pca = _PCAState(mean=np.array(data["pca_mean"]), components=np.array(data["pca_components"]))
    except Exception as exc:  # corrupt or truncated file from elsewhere: recompute, don't fail
        log.warning("ignoring unreadable projection cache file %s: %s", path, exc)
        return None
    from explorer.diskcache import touch

    touch(path)  # recently used: the size cap evicts least recently used files first
    return _Fitted(coords=coords, pca=pca)


def _write_disk(path: Path, fitted: _Fitted) -> None:
    """Write atomically (temporary file in the same folder, then rename) so readers never see half a file."""
    arrays = {"coords": fitted.coords}
    if fitted.pca is not None:
        arrays["pca_mean"] = fitted.pca.mean
        arrays["pca_components"] = fitted.pca.components
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    from explorer.diskcache import after_write

    after_write()

