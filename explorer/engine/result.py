"""``EmbeddingResult``: the embeddings of a catalog, aligned with its objects, and their persistence.

It owns every file form of a result: Parquet for users (``to_parquet``) and the ``.npz`` the
embedding cache keeps (``save_npz`` / ``load_npz``). It imports nothing else of the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_path

__all__ = ["EmbeddingResult"]


@dataclass
class EmbeddingResult:
    """Embeddings of a catalog, aligned with its objects, plus the windows that produced them."""

    embeddings: np.ndarray      # float32 [n_rows, dim] (mean/max/last) or [n_rows, seq, dim] (sequence)
    object_index: np.ndarray    # int64 [n_rows]
    band: np.ndarray            # str [n_rows]; "" when bands were not split
    strategy: np.ndarray        # str [n_rows]
    window_row: np.ndarray      # int64 [n_windows]
    window_obs: np.ndarray      # int64 [n_windows, seq]; -1 = padding
    meta: dict = field(default_factory=dict)
    object_ids: np.ndarray = None            # str [n_objects]: the catalog's object ids
    block_bands: tuple = ("",)               # band labels in block order
    block_strategies: tuple = ("",)          # strategy names in block order

    @property
    def n_objects(self) -> int:
        """Number of objects of the embedded catalog."""
        return len(self.object_ids)

    @property
    def dim(self) -> int:
        """Embedding size per row (seq*dim for the sequence output, flattened)."""
        return int(np.prod(self.embeddings.shape[1:]))

    def _block(self) -> np.ndarray:
        import pandas as pd

        # vectorised label -> position lookups (a Python dict per row costs 0.5 s at 1M rows)
        bi = pd.Index(self.block_bands).get_indexer(np.asarray(self.band, str))
        si = pd.Index(self.block_strategies).get_indexer(np.asarray(self.strategy, str))
        return bi.astype(np.int64) * len(self.block_strategies) + si

    def matrix(self) -> np.ndarray:
        """[n_objects, k*dim] float32, rows aligned with catalog.objects; NaN where an object has no embedding.

        The k = n_bands * n_strategies blocks are concatenated band-major (band 0 strategy 0, band 0
        strategy 1, ...). For the sequence output each block is the flattened [seq, dim] array.
        """
        k = len(self.block_bands) * len(self.block_strategies)
        d = self.dim
        out = np.full((self.n_objects, k, d), np.nan, np.float32)
        out[self.object_index, self._block()] = self.embeddings.reshape(len(self.embeddings), d)
        return out.reshape(self.n_objects, k * d)

    def observations_used(self, object_index: int) -> np.ndarray:
        """Sorted catalog observation indices that were fed to the model for one object."""
        # rows are ordered by object and windows by row, so one object's windows are one slice
        r0, r1 = np.searchsorted(self.object_index, [int(object_index), int(object_index) + 1])
        w0, w1 = np.searchsorted(self.window_row, [r0, r1])
        obs = self.window_obs[w0:w1]
        return np.unique(obs[obs >= 0])

    def to_frame(self):
        """DataFrame with object_id, band, strategy and embedding (a float32 array per row, flattened)."""
        import pandas as pd

        flat = self.embeddings.reshape(len(self.embeddings), self.dim)
        return pd.DataFrame({
            "object_id": self.object_ids[self.object_index] if len(self.object_index) else np.array([], str),
            "band": self.band,
            "strategy": self.strategy,
            "embedding": list(flat),
        })

    def to_parquet(self, path) -> Path:
        """Write one row per embedding: object_id, band/strategy (when several), fixed-size list ``embedding``.

        The schema metadata key ``lcexplorer`` holds the provenance (``meta``) as JSON. Written atomically.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        flat = np.ascontiguousarray(self.embeddings.reshape(len(self.embeddings), self.dim), np.float32)
        columns = {"object_id": pa.array(self.object_ids[self.object_index].astype(str) if len(flat) else [],
                                         pa.string())}
        if len(self.block_bands) > 1:
            columns["band"] = pa.array(self.band.astype(str), pa.string())
        if len(self.block_strategies) > 1:
            columns["strategy"] = pa.array(self.strategy.astype(str), pa.string())
        columns["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), self.dim)
        meta = dict(self.meta, embedding_shape=list(self.embeddings.shape[1:]))
        table = pa.table(columns).replace_schema_metadata({"lcexplorer": json.dumps(meta, default=str)})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    def save_npz(self, path) -> Path:
        """Write every array and the metadata to one ``.npz`` atomically (a reader never sees a partial file)."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh, embeddings=self.embeddings, object_index=self.object_index,
                band=np.asarray(self.band, str), strategy=np.asarray(self.strategy, str),
                window_row=self.window_row, window_obs=self.window_obs,
                object_ids=np.asarray(self.object_ids, str),
                block_bands=np.asarray(self.block_bands, str),
                block_strategies=np.asarray(self.block_strategies, str),
                meta=np.array(json.dumps(self.meta, default=str)),
            )
        return path

    @classmethod
    def load_npz(cls, path) -> "EmbeddingResult":
        """Read a result written by ``save_npz`` (OSError / ValueError / KeyError when unreadable)."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                embeddings=z["embeddings"], object_index=z["object_index"], band=z["band"],
                strategy=z["strategy"], window_row=z["window_row"], window_obs=z["window_obs"],
                meta=json.loads(str(z["meta"])), object_ids=z["object_ids"],
                block_bands=tuple(z["block_bands"].tolist()), block_strategies=tuple(z["block_strategies"].tolist()),
            )
