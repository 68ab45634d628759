"""On-disk embedding cache: reopening a catalog with the same model and settings costs no inference.

Key = sha256 of (catalog content hash, model file sha256, kind, output, reduction (+seed when
random), bands / ATCAT band_groups + mag_zp + allow_extra_bands, format version). One ``.npz`` per
key under ``store_root()/embeddings/`` (or a folder given), written to a temporary file and moved
into place, so a reader never sees a partial file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_path

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
        from explorer.engine.embed import EmbeddingResult

        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                result = EmbeddingResult(
                    embeddings=z["embeddings"], object_index=z["object_index"], band=z["band"],
                    strategy=z["strategy"], window_row=z["window_row"], window_obs=z["window_obs"],
                    meta=meta, object_ids=z["object_ids"], block_bands=tuple(z["block_bands"].tolist()),
                    block_strategies=tuple(z["block_strategies"].tolist()),
                )
        except (OSError, ValueError, KeyError):
            return None
        from explorer.diskcache import touch

        touch(path)  # recently used: the size cap evicts least recently used files first
        result.meta.update(from_cache=True, inference_windows=0, cache_file=str(path))
        return result

    def save(self, key: str, result) -> Path:
        """Write ``result`` under ``key`` atomically."""
        path = self.path(key)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh, embeddings=result.embeddings, object_index=result.object_index,
                band=np.asarray(result.band, str), strategy=np.asarray(result.strategy, str),
                window_row=result.window_row, window_obs=result.window_obs,
                object_ids=np.asarray(result.object_ids, str),
                block_bands=np.asarray(result.block_bands, str),
                block_strategies=np.asarray(result.block_strategies, str),
                meta=np.array(json.dumps(result.meta, default=str)),
            )
        from explorer.diskcache import after_write

        after_write()
        return path
