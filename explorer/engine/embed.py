"""Whole-catalog embedding: windows of many objects packed into batches, reduced back per object.

``embed_catalog`` is the entry point; ``run_embedding`` is the batch loop shared with the model
classes' single-light-curve ``__call__``. Preprocessing is vectorised per batch (fancy indexing
into the catalog's flat arrays, means in float64), the session's input buffers are allocated once
and reused, and window outputs are reduced into their rows as each batch finishes.
"""

from __future__ import annotations

import json
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_path
from explorer.engine.reductions import NonOverlappingWindows
from explorer.engine.windows import build_windows
from explorer.errors import ModelError

__all__ = ["EmbeddingResult", "embed_catalog", "run_embedding", "DEFAULT_BATCH_SIZE"]

# measured with benchmarks/bench_engine.py (Astromer-1-sized model, 2 threads): see the report there
DEFAULT_BATCH_SIZE = 64


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


def _accumulate_starts(rows: np.ndarray) -> np.ndarray:
    """Start positions of runs of equal values in a non-decreasing array."""
    return np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])


def _run_batch(b0, b1, embedder, windows, arrays, buffers, session, output, out_shape, averaged, is_seq, acc,
               failed) -> None:
    """Run windows b0:b1 and add their outputs into their rows of ``acc``."""
    obs = windows.obs[b0:b1]
    single = b1 - b0 == 1
    if single:
        # onnxruntime's CPU matrix product takes another kernel for one row (results differ by ~4e-7):
        # a lone window runs as two copies, so its embedding never depends on how windows were batched
        obs = np.repeat(obs, 2, axis=0)
    # bad values (e.g. times beyond float32) give non-finite outputs, reported per row: no warnings here
    with np.errstate(all="ignore"):
        feeds = embedder.prepare(obs, arrays, buffers)
        try:
            out = session.run([output], feeds)[0]
        except Exception:  # one bad window must not kill the catalog: retry the batch window by window
            out = np.full((b1 - b0,) + out_shape, np.nan, np.float32)
            for i in range(b1 - b0):
                try:
                    out[i] = session.run([output], embedder.prepare(obs[i:i + 1], arrays, buffers))[0][0]
                except Exception as exc:  # noqa: PERF203
                    failed[int(windows.row[b0 + i])] = f"{type(exc).__name__}: {exc}"
    if single:
        out, obs = out[:1], obs[:1]
    rows = windows.row[b0:b1]
    if averaged:
        if is_seq:
            out = out * (obs >= 0)[:, :, None]
        starts = _accumulate_starts(rows)
        # pooled outputs are summed in float64 (exact for float32 terms of one scale), so an object whose
        # windows straddle two batches gets the same mean whatever the batch size or partitioning
        acc[rows[starts]] += np.add.reduceat(out if is_seq else out.astype(np.float64), starts, axis=0)
    else:
        acc[rows] = out


def run_embedding(embedder, data, *, batch_size=None, progress=None) -> EmbeddingResult:
    """Window ``data`` (a Catalog or compatible arrays), run the model in batches and reduce per row."""
    t0 = _time.perf_counter()
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ModelError(f"batch_size must be a positive integer, got {batch_size!r}")
    seq, dim, output = embedder.seq_len, embedder.dim, embedder.output
    segments, slot_labels = embedder.segments(data)
    windows = build_windows(segments, embedder.reduction, seq)
    arrays = embedder.model_arrays(data)
    n_win, n_rows = len(windows.row), windows.n_rows
    averaged = isinstance(embedder.reduction, NonOverlappingWindows)
    is_seq = output == "sequence"
    out_shape = (seq, dim) if is_seq else (dim,)
    # pooled rows are small: accumulate in float64; sequence rows are big: float32 keeps memory at the output size
    acc = np.zeros((n_rows,) + out_shape, np.float32 if is_seq else np.float64)
    failed: dict[int, str] = {}
    session = embedder.model.session
    buffers = embedder.make_buffers(max(min(batch_size, n_win), 2))
    if progress is not None:
        progress(0, n_win)
    for b0 in range(0, n_win, batch_size):
        _run_batch(b0, min(b0 + batch_size, n_win), embedder, windows, arrays, buffers, session, output, out_shape,
                   averaged, is_seq, acc, failed)
        if progress is not None:
            progress(min(b0 + batch_size, n_win), n_win)
    if averaged:
        if is_seq:
            valid = (windows.obs >= 0).astype(np.int64)
            starts = _accumulate_starts(windows.row)
            counts = np.maximum(np.add.reduceat(valid, starts, axis=0), 1) if n_win else np.ones((0, seq))
            acc /= counts[:, :, None]
        else:
            acc /= windows.row_windows[:, None]
    emb = acc.astype(np.float32, copy=False)
    bad = ~np.isfinite(emb.reshape(n_rows, int(np.prod(out_shape)))).all(axis=1)
    for r in np.flatnonzero(bad):
        failed.setdefault(int(r), "non-finite embedding")
    ok = np.ones(n_rows, bool)
    ok[list(failed)] = False
    seg = windows.row_segment
    strategies = [s.name for s in embedder.reduction.strategies]
    object_index = segments.object_index[seg]
    keep_win = ok[windows.row]
    new_row = np.cumsum(ok) - 1
    ids = np.asarray(data.object_ids) if hasattr(data, "object_ids") else np.arange(len(data.offsets) - 1).astype(str)
    meta = dict(embedder.describe())
    meta.update(
        n_windows=int(n_win), n_rows=int(ok.sum()), batch_size=int(batch_size),
        inference_windows=int(n_win), seconds=round(_time.perf_counter() - t0, 3), from_cache=False,
        failed=[{"object_id": str(ids[object_index[r]]), "band": slot_labels[segments.slot[seg[r]]],
                 "strategy": strategies[windows.row_strategy[r]], "error": msg} for r, msg in sorted(failed.items())],
    )
    return EmbeddingResult(
        embeddings=emb[ok],
        object_index=object_index[ok].astype(np.int64),
        band=np.asarray(slot_labels, dtype=str)[segments.slot[seg[ok]]] if n_rows else np.array([], str),
        strategy=np.asarray(strategies, dtype=str)[windows.row_strategy[ok]] if n_rows else np.array([], str),
        window_row=new_row[windows.row[keep_win]].astype(np.int64),
        window_obs=windows.obs[keep_win],
        meta=meta,
        object_ids=ids,
        block_bands=tuple(slot_labels),
        block_strategies=tuple(strategies),
    )


def embed_catalog(catalog, model, *, output="mean", reduction="non-overlapping-windows", bands=None, seed=0,
                  batch_size=None, progress=None, cache=True, **model_options) -> EmbeddingResult:
    """Embed every object of ``catalog``; rows aligned with ``catalog.objects`` through ``object_index``.

    ``model`` is an OnnxModel, a source for ``load_model`` (store name, Hub alias, .onnx path), or a
    model-class instance (Astromer1/Astromer2/ATCAT), whose own output/reduction/bands are then used.
    ``cache``: True for ``store_root()/embeddings``, a folder path, or False. ``model_options`` go to
    the model class (ATCAT: ``band_groups``, ``allow_extra_bands``, ``mag_zp``).
    ``progress(done_windows, total_windows)`` is called after each batch.
    """
    from explorer.engine.models import EmbeddingModel, model_class
    from explorer.engine.session import OnnxModel
    from explorer.engine.sources import load_model

    if isinstance(model, EmbeddingModel):
        embedder = model
    else:
        onnx_model = model if isinstance(model, OnnxModel) else load_model(model)
        cls = model_class(onnx_model.kind)
        kwargs = dict(output=output, reduction=reduction, seed=seed, **model_options)
        if bands is not None:
            kwargs["bands"] = bands
        embedder = cls(onnx_model, **kwargs)
    return embedder.embed_catalog(catalog, batch_size=batch_size, progress=progress, cache=cache)
