"""The batch loop: windows of many objects packed into batches, reduced back per row as each batch ends.

``run_embedding(embedder, data)`` is shared by whole-catalog embedding and the model classes'
single-light-curve calls. The embedder (a model class instance) says how to window ``data``
(``windows``), which catalog-sized arrays its preparation gathers from (``model_arrays``), and how
one batch of windows becomes the session's typed input buffers (``prepare``); the reduction says how
the window outputs of a row are combined (``accumulate`` / ``finish``). Buffers are allocated once
per run and reused.
"""

from __future__ import annotations

import time as _time

import numpy as np

from explorer.engine.result import EmbeddingResult
from explorer.errors import ModelError

__all__ = ["run_embedding", "DEFAULT_BATCH_SIZE"]

# measured with benchmarks/bench_engine.py (Astromer-1-sized model, 2 threads): see the report there
DEFAULT_BATCH_SIZE = 64


def _batches(n: int, batch_size: int, breaks):
    """(start, end) run positions of every batch; a batch never spans a break."""
    edges = sorted({0, n, *[int(b) for b in breaks if 0 < b < n]})
    for s, e in zip(edges[:-1], edges[1:]):
        for b0 in range(s, e, batch_size):
            yield b0, min(b0 + batch_size, e)


def _run_batch(b0, b1, embedder, plan, arrays, buffers, acc, failed) -> None:
    """Run windows b0:b1 (run positions) and combine their outputs into their rows of ``acc``."""
    windows = plan.windows
    sel = slice(b0, b1) if plan.order is None else plan.order[b0:b1]
    obs = windows.obs[sel]
    rows = windows.row[sel]
    single = b1 - b0 == 1
    if single:
        # onnxruntime's CPU matrix product takes another kernel for one row (results differ by ~4e-7):
        # a lone window runs as two copies, so its embedding never depends on how windows were batched
        obs = np.repeat(obs, 2, axis=0)
    # bad values (e.g. times beyond float32) give non-finite outputs, reported per row: no warnings here
    with np.errstate(all="ignore"):
        try:
            out = embedder.infer(embedder.prepare(obs, arrays, buffers))
        except Exception:  # one bad window must not kill the catalog: retry the batch window by window
            out = np.full((len(obs),) + plan.out_shape, np.nan, np.float32)
            for i in range(len(obs)):
                try:
                    out[i] = embedder.infer(embedder.prepare(obs[i:i + 1], arrays, buffers))[0]
                except Exception as exc:  # noqa: PERF203
                    failed[int(rows[min(i, len(rows) - 1)])] = f"{type(exc).__name__}: {exc}"
    if single:
        out, obs = out[:1], obs[:1]
    valid = embedder.position_mask(obs) if out.ndim == 3 else None
    embedder.reduction.accumulate(acc, rows, out, valid)


def _position_counts(embedder, windows):
    """Valid windows per output position of every row (for masked means of sequence outputs)."""
    def counts():
        valid = embedder.position_mask(windows.obs).astype(np.int64)
        out = np.zeros((windows.n_rows, valid.shape[1]), np.int64)
        if len(valid):
            # windows are grouped by row: one reduceat over the runs
            starts = np.flatnonzero(np.r_[True, windows.row[1:] != windows.row[:-1]])
            out[windows.row[starts]] = np.add.reduceat(valid, starts, axis=0)
        return out
    return counts


def run_embedding(embedder, data, *, batch_size=None, progress=None, rng=None) -> EmbeddingResult:
    """Window ``data`` (a Catalog or compatible arrays), run the model in batches and reduce per row.

    ``rng``: generator for random-subsample draws (None: a fresh one from the reduction's seed).
    """
    t0 = _time.perf_counter()
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ModelError(f"batch_size must be a positive integer, got {batch_size!r}")
    plan = embedder.windows(data, rng=rng)
    windows = plan.windows
    arrays = embedder.model_arrays(data, plan)
    n_win, n_rows = len(windows.row), windows.n_rows
    # pooled rows are small: accumulate in float64; sequence rows are big: float32 keeps memory at the output size
    acc = np.zeros((n_rows,) + plan.out_shape, np.float32 if len(plan.out_shape) == 2 else np.float64)
    failed: dict[int, str] = dict(plan.failed)
    buffers = embedder.make_buffers(max(min(batch_size, n_win), 2))  # 2: a lone window runs twice
    if progress is not None:
        progress(0, n_win)
    done = 0
    for b0, b1 in _batches(n_win, batch_size, plan.breaks):
        _run_batch(b0, b1, embedder, plan, arrays, buffers, acc, failed)
        done += b1 - b0
        if progress is not None:
            progress(done, n_win)
    acc = embedder.reduction.finish(acc, windows.row_windows, _position_counts(embedder, windows))
    emb = acc.astype(np.float32, copy=False)
    bad = ~np.isfinite(emb.reshape(n_rows, int(np.prod(plan.out_shape)))).all(axis=1)
    for r in np.flatnonzero(bad):
        failed.setdefault(int(r), "non-finite embedding")
    ok = np.ones(n_rows, bool)
    ok[list(failed)] = False
    strategies = [s.name for s in embedder.reduction.strategies]
    object_index, slot = plan.row_object, plan.row_slot
    keep_win = ok[windows.row]
    new_row = np.cumsum(ok) - 1
    ids = np.asarray(data.object_ids) if hasattr(data, "object_ids") else np.arange(len(data.offsets) - 1).astype(str)
    labels = plan.slot_labels
    meta = dict(embedder.describe())
    meta.update(
        n_windows=int(n_win), n_rows=int(ok.sum()), batch_size=int(batch_size),
        inference_windows=int(n_win), seconds=round(_time.perf_counter() - t0, 3), from_cache=False,
        failed=[{"object_id": str(ids[object_index[r]]), "band": labels[slot[r]],
                 "strategy": strategies[windows.row_strategy[r]], "error": msg} for r, msg in sorted(failed.items())],
    )
    return EmbeddingResult(
        embeddings=emb[ok],
        object_index=object_index[ok].astype(np.int64),
        band=np.asarray(labels, dtype=str)[slot[ok]] if n_rows else np.array([], str),
        strategy=np.asarray(strategies, dtype=str)[windows.row_strategy[ok]] if n_rows else np.array([], str),
        window_row=new_row[windows.row[keep_win]].astype(np.int64),
        window_obs=windows.obs[keep_win],
        meta=meta,
        object_ids=ids,
        block_bands=tuple(labels),
        block_strategies=tuple(strategies),
    )
