"""Per-session cancellation of background work (``explorer.dashboard.jobs``), on the real runner and state.

A cancelled job stops at its next progress report, is reported as cancelled (not as an error), drops
the queued job, and leaves the session usable: the next job runs to the end.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.dashboard.jobs import JobCancelled, JobRunner


def spin(runner: JobRunner, steps: int, done: list, started: threading.Event) -> None:
    """Real work in small steps, each followed by a progress report (the cancellation point)."""
    rng = np.random.default_rng(0)
    started.set()
    for i in range(steps):
        np.linalg.svd(rng.normal(size=(80, 80)))
        done.append(i)
        runner.report(i / steps, f"step {i}")


def test_cancel_stops_the_running_job_and_the_runner_goes_on():
    errors, cancels = [], []
    runner = JobRunner(on_error=lambda what, exc: errors.append((what, exc)), on_cancel=cancels.append)
    done, started = [], threading.Event()
    runner.submit("Long job", spin, runner, 100_000, done, started)
    assert started.wait(30)
    queued = []
    assert runner.submit("Queued job", queued.append, "ran") is False
    assert runner.cancel() is True
    assert runner.wait(30), "the cancelled job did not stop at its next report"
    assert len(done) < 100_000 and errors == [], (len(done), errors)
    assert queued == [], "the job queued behind the cancelled one still ran"
    assert len(cancels) == 1 and "Long job: cancelled" in cancels[0]
    assert runner.message == "Long job: cancelled" and not runner.busy and not runner.cancelling
    # the session goes on: the next job runs to its end, and a late cancel has nothing to stop
    done2, started2 = [], threading.Event()
    runner.submit("Next job", spin, runner, 20, done2, started2)
    assert runner.wait(60) and len(done2) == 20 and errors == []
    assert runner.cancel() is False
    runner.report(0.5, "outside any job: never cancelled")


def test_cancelled_is_not_swallowed_by_library_error_handling():
    """JobCancelled passes through ``except Exception`` (per-object error handling in the library)."""
    runner = JobRunner()
    runner._cancel.set()  # as cancel() leaves it while a job runs
    with pytest.raises(JobCancelled):
        try:
            runner.report(0.1, "chunk done")
        except Exception:  # noqa: BLE001  what a per-object guard in the library does
            pytest.fail("JobCancelled was caught as an ordinary exception")


def test_cancel_a_map_computation_leaves_the_state_usable(lcx_home):
    """A real features + UMAP map of a simulated catalog, cancelled after its first chunk of features:
    no complete map, a status saying so, and the next Embed computes the map."""
    from explorer.dashboard.state import ExplorerState
    from explorer.simulate import simulate_macho_like

    cat = simulate_macho_like(600, seed=5).to_catalog()  # three chunks of features: cancelled after the first
    state = ExplorerState(cat, embed_cache=None, map_cache=None)
    state.representation = "features"
    first_chunk = threading.Event()
    state.jobs.param.watch(lambda e: first_chunk.set() if e.new > 0 else None, "progress")
    assert state.start()
    assert first_chunk.wait(120), "the features never reported progress"
    assert state.jobs.cancel()
    assert state.wait(60), "the map computation did not stop after cancel()"
    # nothing complete: no map, or (a catalog above LCEXPLORER_FIRST_LOOK_ABOVE) the first look marked unfinished
    assert state.embedding is None
    assert state.map is None or (state.map.stage == "sample" and state.map.unfinished == "embedding cancelled")
    assert "cancelled" in state.status and "Error" not in state.status, state.status
    assert state.start()
    assert state.wait(600)
    assert state.map is not None and len(state.map.coords) == len(cat), state.status
    assert state.status.startswith("Map ready"), state.status
