"""Heavy calls in worker processes (``explorer.offload``): real spawned processes, real UMAP,
real Lomb-Scargle; results equal to in-process, real cancellation (the worker is killed), a dead worker
is an error naming the call and the next call gets a fresh process."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from explorer import offload
from explorer.dashboard.jobs import JobCancelled
from explorer.errors import CatalogError, ExplorerError


def pid_and_sleep(seconds: float) -> int:
    """The worker's pid, after sleeping (a stand-in for a long fit that reports nothing)."""
    time.sleep(seconds)
    return os.getpid()


def fail_with_catalog_error(what: str):
    """Raise the library's own error type inside the worker."""
    raise CatalogError(f"object {what!r} is bad")


@pytest.fixture
def pool(lcx_home):
    """A one-process pool for this test, closed afterwards."""
    offload.configure(1)
    yield offload.pool()
    offload.configure(0)


def test_library_default_runs_in_process(monkeypatch):
    monkeypatch.delenv(offload.ENV, raising=False)
    assert offload.configure(None) == 0 and offload.pool() is None
    assert offload.call(pid_and_sleep, 0) == os.getpid()


def test_calls_run_in_a_kept_worker_and_errors_come_back_typed(pool):
    first = offload.call(pid_and_sleep, 0)
    assert first != os.getpid()
    assert offload.call(pid_and_sleep, 0) == first, "the worker was not kept between calls"
    assert pool.pids() == [first]
    with pytest.raises(CatalogError, match="object 'x1' is bad"):
        offload.call(fail_with_catalog_error, "x1")
    assert offload.call(pid_and_sleep, 0) == first, "an ordinary error must not cost the worker"


def test_period_search_and_umap_equal_in_process(pool, monkeypatch):
    from explorer.dashboard.state import umap_coords
    from explorer.representations.features import best_period

    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 20_000, 101))
    m = np.sin(2 * np.pi * t / 3.3) + rng.normal(0, 0.1, t.size)
    assert offload.call(best_period, t, m, min_period=0.05) == best_period(t, m, min_period=0.05)

    x = np.vstack([rng.normal(c, 1.0, size=(60, 12)) for c in (0, 6, 12)]).astype(np.float32)
    remote, fitted, cached = offload.call(umap_coords, x, None, 10, 0.1, "euclidean", None)
    assert not cached and fitted["n_neighbors"] == 10
    monkeypatch.setenv("LCEXPLORER_HOME", os.environ["LCEXPLORER_HOME"] + "-local")  # no disk cache hit
    local, _, cached_here = umap_coords(x, None, 10, 0.1, "euclidean", None)
    assert not cached_here
    np.testing.assert_array_equal(remote, local)


def test_cancel_kills_only_the_running_call_and_the_pool_goes_on(pool):
    before = offload.call(pid_and_sleep, 0)
    cancelled = threading.Event()
    t0 = time.monotonic()

    def check():
        if time.monotonic() - t0 > 0.5:
            cancelled.set()
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        offload.call(pid_and_sleep, 600, check=check)
    assert cancelled.is_set()
    assert before not in pool.pids(), "the cancelled call's worker is still running"
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)
    after = offload.call(pid_and_sleep, 0)
    assert after not in (before, os.getpid())


def test_a_killed_worker_is_a_clear_error_and_the_next_call_works(pool):
    pid = offload.call(pid_and_sleep, 0)
    result: list = []

    def run():
        try:
            result.append(offload.call(pid_and_sleep, 600))
        except BaseException as exc:  # noqa: BLE001
            result.append(exc)

    th = threading.Thread(target=run)
    th.start()
    os.kill(pid, signal.SIGKILL)
    th.join(60)
    assert not th.is_alive()
    assert isinstance(result[0], offload.WorkerDied) and "pid_and_sleep" in str(result[0]), result
    assert isinstance(result[0], ExplorerError)
    assert offload.call(pid_and_sleep, 0) != pid


def test_a_cancelled_map_in_the_worker_leaves_the_state_usable(pool):
    """The dashboard state's UMAP runs in the worker; cancelling it mid-fit kills the worker at once
    (in-process, a UMAP fit could not be stopped before it ended) and the next map is computed."""
    from explorer.dashboard.state import ExplorerState
    from explorer.simulate import simulate_macho_like

    # 600 objects: the worker's start (spawn, imports) alone outlasts the cancel; 1,500 only added features time
    cat = simulate_macho_like(600, seed=2).to_catalog()
    state = ExplorerState(cat, embed_cache=None, map_cache=None)
    state.representation = "features"
    umap_started = threading.Event()
    state.jobs.param.watch(lambda e: umap_started.set() if "computing UMAP" in e.new else None, "message")
    assert state.start()
    assert umap_started.wait(300), state.status
    # the fit is in the worker once the pool has a process (spawned by the call)
    deadline = time.monotonic() + 60
    while not pool.pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    fitting = pool.pids()
    assert fitting, "the UMAP fit did not start a worker process"
    assert state.jobs.cancel()
    assert state.wait(60), "the map computation did not stop after cancel()"
    assert "cancelled" in state.status and "Error" not in state.status, state.status
    assert not set(fitting) & set(pool.pids())
    assert state.start()
    assert state.wait(600)
    assert state.map is not None and state.map.stage == "umap" and len(state.map.coords) == len(cat), state.status
    assert state.status.startswith("Map ready"), state.status


def test_features_in_the_worker_equal_in_process(pool, monkeypatch):
    """Feature extraction sends its chunks to the worker (the extractor holds the GIL for seconds):
    the same matrix and the same per-object failures as in-process."""
    from explorer.representations.features import Features
    from explorer.simulate import simulate_macho_like

    cat = simulate_macho_like(300, seed=4).to_catalog()
    remote = Features(n_jobs=1).compute(cat, cache=False)
    assert pool.pids(), "no chunk went to a worker process"
    offload.configure(0)
    local = Features(n_jobs=1).compute(cat, cache=False)
    np.testing.assert_array_equal(remote.matrix, local.matrix)
    assert remote.missing.equals(local.missing)
