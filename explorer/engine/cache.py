"""On-disk embedding cache: reopening a catalog with the same model and settings costs no inference.

Key = sha256 of (catalog content hash, model file sha256, kind, output, reduction (+seed when
random), the model's band and zero-point settings, format version). One ``.npz`` per key under
``store_root()/embeddings/`` (or a folder given), written by ``EmbeddingResult.save_npz``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from explorer.engine.result import EmbeddingResult

__all__ = ["EmbeddingCache", "cache_key", "default_cache_dir"]

FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``store_root()/embeddings``."""
    from explorer.store import store_root

    return store_root() / "embeddings"


def cache_key(parts: dict) -> str:
    """Stable sha256 hex of a JSON-serialisable dict of key parts."""
    text = json.dumps(dict(parts, format=FORMAT_VERSION), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class EmbeddingCache:
    """A folder of cached EmbeddingResults, one .npz per key."""

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        """File of one key."""
        return self.root / f"{key}.npz"

    def load(self, key: str):
        """The cached EmbeddingResult, or None when absent or unreadable (then it is recomputed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            result = EmbeddingResult.load_npz(path)
        except (OSError, ValueError, KeyError):
            return None
        from explorer.diskcache import touch

        touch(path)  # recently used: the size cap evicts least recently used files first
        result.meta.update(from_cache=True, inference_windows=0, cache_file=str(path))
        return result

    def save(self, key: str, result: EmbeddingResult) -> Path:
        """Write ``result`` under ``key`` atomically."""
        path = result.save_npz(self.path(key))
        from explorer.diskcache import after_write

        after_write()
        return path
