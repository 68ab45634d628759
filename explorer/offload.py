"""Heavy pure computations of a served app in worker processes, so they never hold the server's GIL.

A UMAP fit (numba), a Lomb-Scargle search and light-curve feature extraction (the ``light_curve`` Rust
extractors) hold the GIL for long stretches: in the server's job thread they stalled every other
session's page (up to 1.5 s for a period search, 5-7 s per chunk of features; ``bench_server.py``).  ``call(fn, ...)`` runs such a function in a worker
process instead, started with ``spawn`` (no copy of the server's threads and sockets) at a lower CPU
priority (``nice``), so on a 2-core machine the server's event loop is served first.

Workers are kept between calls (UMAP's compiled code stays warm) and taken one call at a time from a
small pool (``LCEXPLORER_WORKER_PROCS``, default 1 in the served app, 0 = in-process, the library's
default).  Cancellation is real: while waiting, ``call`` runs the job's ``check()``; when it raises, the
worker doing that call is killed (only that one, so another session's call goes on) and replaced on
the next call.  A worker that dies (killed by the system) gives a clear error, not a hung session.
As with any ``spawn`` process, a script that configures workers must guard its top level with
``if __name__ == "__main__":`` (the worker imports the main module); ``panel serve`` and pytest do.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from typing import Callable

from explorer.errors import ExplorerError

log = logging.getLogger(__name__)

ENV = "LCEXPLORER_WORKER_PROCS"
NICE = 10  # below the server: its event loop must answer first on a 2-core machine
_POLL_S = 0.1


def _serve(conn, nice: int) -> None:
    """Worker process loop: receive ``(fn, args, kwargs)``, send back ``(True, result)`` or ``(False, exc)``."""
    try:
        os.nice(nice)
    except OSError:  # not allowed here: the worker still keeps the GIL away from the server
        pass
    from explorer import numba_cache

    numba_cache.configure()  # a spawned process: UMAP's numba code loads from the server's cache folder
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the server went away
            return
        if task is None:
            return
        fn, args, kwargs = task
        try:
            reply = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001  every failure goes back to the caller
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result or exception: say what it was  # noqa: BLE001
            conn.send((False, ExplorerError(f"{getattr(fn, '__name__', fn)}: {type(reply[1]).__name__}: "
                                            f"{reply[1]} (could not be sent back: {exc})")))


class WorkerDied(ExplorerError):
    """The worker process of a call ended before answering (killed by the system, out of memory)."""


class _Worker:
    """One worker process and its pipe; one call at a time."""

    def __init__(self, nice: int):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, nice), daemon=True, name="lcx-worker")
        self.process.start()
        child.close()

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.is_alive()

    def run(self, fn: Callable, args, kwargs, check: Callable[[], None] | None):
        """Send one call and wait for its answer ``(ok, result or exception)``, running ``check()`` meanwhile."""
        self.conn.send((fn, args, kwargs))
        while not self.conn.poll(_POLL_S):
            if not self.process.is_alive():
                raise WorkerDied(f"the worker process running {getattr(fn, '__name__', fn)} ended "
                                 f"(exit code {self.process.exitcode}); the session goes on, try again")
            if check is not None:
                check()
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerDied(f"the worker process running {getattr(fn, '__name__', fn)} ended: {exc}") from None

    def kill(self) -> None:
        """Stop the process now (a cancelled call) and release its pipe."""
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class WorkerPool:
    """A few kept worker processes; ``call`` borrows one for one function call."""

    def __init__(self, processes: int, nice: int = NICE):
        self.processes = int(processes)
        self.nice = int(nice)
        self._free: queue.Queue = queue.Queue()
        for _ in range(self.processes):
            self._free.put(None)  # a slot: its worker starts on first use
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()

    def call(self, fn: Callable, *args, check: Callable[[], None] | None = None, **kwargs):
        """``fn(*args, **kwargs)`` in a worker process; ``check()`` may raise to cancel (the worker is killed)."""
        while True:  # wait for a free slot, still cancellable
            try:
                worker = self._free.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if check is not None:
                    check()
        try:
            if worker is None or not worker.alive:
                worker = _Worker(self.nice)
                with self._lock:
                    self._workers.add(worker)
            ok, value = worker.run(fn, args, kwargs, check)
        except BaseException:
            # cancelled or dead mid-call: the process may still be computing, so it cannot serve the next call
            if worker is not None:
                with self._lock:
                    self._workers.discard(worker)
                worker.kill()
            self._free.put(None)
            raise
        self._free.put(worker)
        if ok:
            return value
        raise value

    def pids(self) -> list[int]:
        """Process ids of the running workers (for tests and the operator)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.alive]

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for w in workers:
            w.kill()


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def configure(processes: int | None = None) -> int:
    """Set the number of worker processes (None: ``$LCEXPLORER_WORKER_PROCS``, else 0); returns it.

    0 runs every call in the calling thread (the library's default: no processes started behind a
    notebook user's back); the served app starts with :func:`serve_default`.
    """
    global _POOL
    if processes is None:
        raw = os.environ.get(ENV, "0").strip() or "0"
        try:
            processes = int(raw)
        except ValueError:
            raise ExplorerError(f"{ENV} must be a whole number of worker processes, got {raw!r}") from None
    if processes < 0:
        raise ExplorerError(f"worker processes must be 0 or more, got {processes}")
    with _POOL_LOCK:
        if _POOL is not None and _POOL.processes != processes:
            _POOL.close()
            _POOL = None
        if processes and _POOL is None:
            _POOL = WorkerPool(processes)
    return processes


def serve_default() -> int:
    """The served app's setting: ``$LCEXPLORER_WORKER_PROCS`` when set, else one worker process."""
    os.environ.setdefault(ENV, "1")
    return configure()


def pool() -> WorkerPool | None:
    """The current pool (None: calls run in-process)."""
    return _POOL


def call(fn: Callable, *args, check: Callable[[], None] | None = None, **kwargs):
    """Run ``fn(*args, **kwargs)`` in a worker process when a pool is configured, else here.

    ``fn`` and its arguments must be picklable (module-level functions, arrays).  ``check`` is the
    job's cancellation check: it runs while waiting; in-process it runs once before the call.
    """
    p = _POOL
    if p is None:
        if check is not None:
            check()
        return fn(*args, **kwargs)
    return p.call(fn, *args, check=check, **kwargs)
