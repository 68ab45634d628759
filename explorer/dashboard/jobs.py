"""One background job runner per dashboard state: long work runs off the event loop, one job at a time.

The runner owns ``busy``, ``progress`` and ``message`` (constant parameters: the view shows them and
never sets them).  A job submitted while another runs is queued; a newer submission replaces a queued
one (the user's latest request wins), so nothing the user asked for is dropped silently and nothing
runs twice in parallel on a 2-core machine.  A failing job never kills the session: its exception
goes to ``on_error(what, exc)`` (the state turns it into a visible message) and the runner goes on.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable

import param

log = logging.getLogger(__name__)


class JobRunner(param.Parameterized):
    """Runs named jobs in one worker thread at a time and reports their progress."""

    busy = param.Boolean(default=False, constant=True, doc="True while a job runs (or one is queued).")
    progress = param.Integer(default=0, bounds=(0, 100), constant=True, doc="Progress of the running job, percent.")
    message = param.String(default="", constant=True, doc="What the running job is doing now.")
    job = param.String(default="", constant=True, doc="Name of the running job ('' when idle).")

    def __init__(self, on_error: Callable[[str, BaseException], None] | None = None, **params):
        super().__init__(**params)
        self._on_error = on_error
        self._lock = threading.RLock()  # watchers of busy/message may submit again
        self._thread: threading.Thread | None = None
        self._queued: tuple | None = None
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, what: str, fn: Callable, *args, **kwargs) -> bool:
        """Run ``fn(*args, **kwargs)`` in the background; queued (replacing any queued job) while busy.

        Returns True when it started at once, False when it was queued.
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._queued = (what, fn, args, kwargs)
                self._set(message=f"{what}: queued after {self.job or 'the running job'}")
                return False
            self._start_locked(what, fn, args, kwargs)
            return True

    def _start_locked(self, what, fn, args, kwargs) -> None:
        self._idle.clear()
        self._set(busy=True, job=what, progress=0, message=f"{what}...")
        self._thread = threading.Thread(target=self._work, args=(what, fn, args, kwargs), daemon=True,
                                        name=f"lcx-job-{what[:20]}")
        self._thread.start()

    def _work(self, what, fn, args, kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001  a failing job must leave the session usable
            log.error("dashboard job %r failed:\n%s", what, traceback.format_exc())
            if self._on_error is not None:
                try:
                    self._on_error(what, exc)
                except Exception:  # the error reporter itself must not kill the worker
                    log.exception("reporting the failure of %r failed", what)
        finally:
            with self._lock:
                queued, self._queued = self._queued, None
                if queued is not None:
                    self._start_locked(*queued)
                else:
                    self._thread = None
                    self._set(busy=False, job="")
                    self._idle.set()

    def report(self, fraction: float, message: str) -> None:
        """Progress of the running job (fraction 0..1) and what it is doing."""
        self._set(progress=int(round(100 * min(max(float(fraction), 0.0), 1.0))), message=str(message))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs or is queued; False when ``timeout`` passed first."""
        return self._idle.wait(timeout)

    @property
    def running(self) -> bool:
        """True while a job runs or is queued."""
        return not self._idle.is_set()

    def _set(self, **values) -> None:
        with param.edit_constant(self):
            self.param.update(**values)
