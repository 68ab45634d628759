"""The batch loop: windows of many objects packed into batches, reduced back per row as each batch ends.

``run_embedding(embedder, data)`` is shared by whole-catalog embedding and the model classes'
single-light-curve calls. The embedder (a model class instance) says how to window ``data``
(``windows``), which catalog-sized arrays its preparation gathers from (``model_arrays``), and how
one batch of windows becomes the session's typed input buffers (``prepare``); the reduction says how
the window outputs of a row are combined (``accumulate`` / ``finish``). Buffers are allocated once
per run and reused. With ``pipeline`` on, a producer thread prepares batch n+1 while the session runs
batch n, into the other of two buffer sets.
"""

from __future__ import annotations

import queue
import threading
import time as _time
from typing import NamedTuple

import numpy as np

from explorer.engine import diagnose
from explorer.engine.result import EmbeddingResult
from explorer.errors import ModelError

__all__ = ["run_embedding", "use_pipeline", "DEFAULT_BATCH_SIZE"]

# measured with benchmarks/bench_engine.py (Astromer-1-sized model, 2 threads): see the report there
DEFAULT_BATCH_SIZE = 64


def _batches(n: int, batch_size: int, breaks):
    """(start, end) run positions of every batch; a batch never spans a break."""
    edges = sorted({0, n, *[int(b) for b in breaks if 0 < b < n]})
    for s, e in zip(edges[:-1], edges[1:]):
        for b0 in range(s, e, batch_size):
            yield b0, min(b0 + batch_size, e)


class _Prepared(NamedTuple):
    """One batch made ready for the session: its windows and the filled buffers (or why filling failed)."""

    b0: int
    b1: int
    obs: np.ndarray
    rows: np.ndarray
    single: bool
    buffers: object             # the buffer set holding ``tensors``: not refilled until the batch is done
    tensors: object             # views of ``buffers`` (None when ``prepare`` raised)
    error: Exception | None


def _prepare_batch(b0, b1, embedder, plan, arrays, buffers) -> _Prepared:
    """The CPU side of windows b0:b1 (run positions): gather and normalise them into ``buffers``."""
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
    # (errstate is per thread: the producer thread needs its own)
    with np.errstate(all="ignore"):
        try:
            return _Prepared(b0, b1, obs, rows, single, buffers, embedder.prepare(obs, arrays, buffers), None)
        except Exception as exc:  # the batch is retried window by window when it is run
            return _Prepared(b0, b1, obs, rows, single, buffers, None, exc)


def _run_batch(batch: _Prepared, embedder, plan, arrays, acc, failed) -> None:
    """Run a prepared batch and combine its outputs into their rows of ``acc``."""
    obs, rows, buffers = batch.obs, batch.rows, batch.buffers
    with np.errstate(all="ignore"):
        out = None
        if batch.error is None:
            try:
                out = embedder.infer(batch.tensors)
            except Exception:  # retried below, as a batch whose preparation failed
                out = None
        if out is None:  # one bad window must not kill the catalog: retry the batch window by window
            out = np.full((len(obs),) + plan.out_shape, np.nan, np.float32)
            for i in range(len(obs)):
                try:
                    out[i] = embedder.infer(embedder.prepare(obs[i:i + 1], arrays, buffers))[0]
                except Exception as exc:  # noqa: PERF203
                    failed[int(rows[min(i, len(rows) - 1)])] = f"{type(exc).__name__}: {exc}"
    if batch.single:
        out, obs = out[:1], obs[:1]
    valid = embedder.position_mask(obs) if out.ndim == 3 else None
    embedder.reduction.accumulate(acc, rows, out, valid)


class _Failure(NamedTuple):
    """An exception raised in the producer outside ``prepare``'s own errors: re-raised by the consumer."""

    exc: BaseException


_DONE = object()


class _Producer:
    """Prepares batches in a thread, one ahead of the session (double buffering).

    Two buffer sets circulate: the producer takes a free one, fills it and queues the batch; the consumer
    hands it back with ``release`` once the session has run it and the retries are over, so a set the
    session may still read is never refilled. ``close`` stops the thread (also mid-run, e.g. when a
    progress callback cancels the job) and waits for it.
    """

    def __init__(self, batches, embedder, plan, arrays, buffer_sets):
        self._batches, self._args = batches, (embedder, plan, arrays)
        self._free: queue.Queue = queue.Queue()
        for buffers in buffer_sets:
            self._free.put(buffers)
        self._ready: queue.Queue = queue.Queue()   # bounded by the buffer sets: at most two batches wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="explorer-batch-producer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            for b0, b1 in self._batches:
                buffers = self._free.get()
                if buffers is None or self._stop.is_set():
                    return
                self._ready.put(_prepare_batch(b0, b1, *self._args, buffers))
            self._ready.put(_DONE)
        except BaseException as exc:  # noqa: BLE001  the consumer re-raises it in the caller's thread
            self._ready.put(_Failure(exc))

    def __iter__(self):
        while True:
            item = self._ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    def release(self, buffers) -> None:
        """The session is done with ``buffers``: the producer may refill them."""
        self._free.put(buffers)

    def close(self) -> None:
        """Stop the producer (wherever it is) and wait for its thread to end."""
        self._stop.set()
        self._free.put(None)   # wakes a producer waiting for a free buffer set
        self._thread.join()


def use_pipeline(embedder) -> bool:
    """Whether batches are pipelined by default: only when the session runs on CUDA.

    Measured with benchmarks/bench_engine.py --pipeline on the 2-core machine: on the CPU provider the
    session already uses both cores and the producer thread competes with it (see benchmarks/README.md).
    """
    options = getattr(embedder.model, "options", None)
    if options is not None:
        return bool(options.uses_cuda)
    get_providers = getattr(embedder.model.session, "get_providers", None)   # a session made elsewhere
    return get_providers is not None and "CUDAExecutionProvider" in get_providers()


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


class Partial(NamedTuple):
    """The rows of the objects whose every window has run, reduced as at the end (pooled outputs only).

    Objects ``0 .. n_objects - 1`` (catalog order) are complete: their rows are final and will not change.
    """

    n_objects: int
    n_slots: int              # band slots of the run (blocks = slots x strategies, as the final result)
    n_strategies: int
    row_object: np.ndarray    # int64 [rows]
    row_slot: np.ndarray      # int64 [rows]: index into the plan's slot labels
    row_strategy: np.ndarray  # int64 [rows]: index into the reduction's strategies
    embeddings: np.ndarray    # float32 [rows, dim]

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """``(objects, matrix)``: the complete objects that have a row, one vector each with the blocks side
        by side as in ``EmbeddingResult.matrix`` (NaN for a block the object lacks)."""
        objects, where = np.unique(self.row_object, return_inverse=True)
        d = self.embeddings.shape[1] if self.embeddings.ndim == 2 else 0
        out = np.full((len(objects), self.n_slots * self.n_strategies * d), np.nan, np.float32)
        block = self.row_slot * self.n_strategies + self.row_strategy
        cols = block[:, None] * d + np.arange(d)[None, :]
        out[where[:, None], cols] = self.embeddings
        return objects.astype(np.int64), out


def _peek(embedder, plan, acc, done: int, failed: dict, n_total: int) -> Partial:
    """The finished rows after ``done`` windows (rows run in order: every row before the first row still
    waiting for a window is complete, and its object too when all of that object's rows are)."""
    windows = plan.windows
    n_rows = windows.n_rows
    first = int(windows.row[done]) if done < len(windows.row) else n_rows
    n_objects = int(plan.row_object[first]) if first < n_rows else n_total
    rows = np.flatnonzero((np.arange(n_rows) < first) & (plan.row_object < n_objects) & (windows.row_windows > 0))
    rows = rows[~np.isin(rows, list(failed))]
    emb = embedder.reduction.finish(acc[rows].copy(), windows.row_windows[rows], None).astype(np.float32)
    ok = np.isfinite(emb).all(axis=1)
    rows, emb = rows[ok], emb[ok]
    return Partial(n_objects, len(plan.slot_labels), len(embedder.reduction.strategies), plan.row_object[rows],
                   plan.row_slot[rows], windows.row_strategy[rows], emb)


def run_embedding(embedder, data, *, batch_size=None, progress=None, rng=None, pipeline=None,
                  partial=None) -> EmbeddingResult:
    """Window ``data`` (a Catalog or compatible arrays), run the model in batches and reduce per row.

    ``rng``: generator for random-subsample draws (None: a fresh one from the reduction's seed).
    ``pipeline``: prepare batch n+1 in a producer thread while the session runs batch n (True), one
    after the other (False), or ``None``: as ``use_pipeline`` says (on for CUDA sessions). The
    embeddings are the same bit for bit either way.
    ``partial(peek)``: called after each batch of a pooled output run in row order; ``peek()`` returns the
    :class:`Partial` so far (computed only when called: the caller decides how often it is worth it).
    """
    t0 = _time.perf_counter()
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ModelError(f"batch_size must be a positive integer, got {batch_size!r}")
    if pipeline not in (None, True, False):
        raise ModelError(f"pipeline must be True, False or None (auto), got {pipeline!r}")
    plan = embedder.windows(data, rng=rng)
    windows = plan.windows
    arrays = embedder.model_arrays(data, plan)
    n_win, n_rows = len(windows.row), windows.n_rows
    # pooled rows are small: accumulate in float64; sequence rows are big: float32 keeps memory at the output size
    acc = np.zeros((n_rows,) + plan.out_shape, np.float32 if len(plan.out_shape) == 2 else np.float64)
    failed: dict[int, str] = dict(plan.failed)
    n_buffer = max(min(batch_size, n_win), 2)  # 2: a lone window runs twice
    batches = list(_batches(n_win, batch_size, plan.breaks))
    pipelined = (use_pipeline(embedder) if pipeline is None else pipeline) and len(batches) > 1
    if progress is not None:
        progress(0, n_win)
    done = 0
    if partial is not None and (plan.order is not None or len(plan.out_shape) != 1):
        partial = None  # series models run windows out of row order; sequence outputs make no map

    def after_batch():
        if progress is not None:
            progress(done, n_win)
        if partial is not None:
            partial(lambda: _peek(embedder, plan, acc, done, failed, len(data.offsets) - 1))

    if pipelined:
        producer = _Producer(batches, embedder, plan, arrays, [embedder.make_buffers(n_buffer) for _ in range(2)])
        try:
            for batch in producer:
                _run_batch(batch, embedder, plan, arrays, acc, failed)
                producer.release(batch.buffers)
                done += batch.b1 - batch.b0
                after_batch()
        finally:   # also on JobCancelled from ``progress``: no producer thread outlives the run
            producer.close()
    else:
        buffers = embedder.make_buffers(n_buffer)
        for b0, b1 in batches:
            _run_batch(_prepare_batch(b0, b1, embedder, plan, arrays, buffers), embedder, plan, arrays, acc, failed)
            done += b1 - b0
            after_batch()
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
        n_windows=int(n_win), n_rows=int(ok.sum()), batch_size=int(batch_size), pipelined=bool(pipelined),
        inference_windows=int(n_win), seconds=round(_time.perf_counter() - t0, 3), from_cache=False,
        failed=[{"object_id": str(ids[object_index[r]]), "band": labels[slot[r]],
                 "strategy": strategies[windows.row_strategy[r]], "error": msg} for r, msg in sorted(failed.items())],
    )
    # every object without a row is named with its reason, and doubtful times are said (engine.diagnose)
    embedded = object_index[ok]
    meta["no_data"] = diagnose.objects_without_rows(data, ids, embedded, {int(object_index[r]) for r in failed},
                                                   embedder.usable(data), embedder.family.title)
    meta["warnings"] = diagnose.time_span_warnings(data, ids, embedded)
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
