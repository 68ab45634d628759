"""One background job runner per dashboard state: long work runs off the event loop, one job at a time.

The runner owns ``busy``, ``progress`` and ``message`` (constant parameters: the view shows them and
never sets them).  A job submitted while another runs is queued; a newer submission replaces a queued
one (the user's latest request wins), so nothing the user asked for is dropped silently and nothing
runs twice in parallel on a 2-core machine.  A failing job never kills the session: its exception
goes to ``on_error(what, exc)`` (the state turns it into a visible message) and the runner goes on.

Cancellation is per runner (one runner per session) and cooperative: ``cancel()`` marks the running
job, and the job stops at its next check, i.e. its next ``report()`` (features and embeddings report per
chunk, fine-tuning per batch, the map between its stages) or an explicit ``check()``.  A step that
reports nothing (one UMAP fit in-process) finishes first; a call run in a worker process
(``offload.call``) checks while it waits, and its worker is killed at once.  The job unwinds with :class:`JobCancelled`, which
derives from ``BaseException`` so that no ``except Exception`` in the library swallows it; the runner
reports ``on_cancel(message)`` instead of an error and takes the next job.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable

import param

from explorer.errors import ExplorerError

log = logging.getLogger(__name__)


class JobCancelled(BaseException):
    """Raised inside a job at its next check after ``JobRunner.cancel()``; not an error."""


class JobRunner(param.Parameterized):
    """Runs named jobs in one worker thread at a time and reports their progress."""

    busy = param.Boolean(default=False, constant=True, doc="True while a job runs (or one is queued).")
    progress = param.Integer(default=0, bounds=(0, 100), constant=True, doc="Progress of the running job, percent.")
    message = param.String(default="", constant=True, doc="What the running job is doing now.")
    job = param.String(default="", constant=True, doc="Name of the running job ('' when idle).")

    def __init__(self, on_error: Callable[[str, BaseException], None] | None = None,
                 on_cancel: Callable[[str], None] | None = None, **params):
        super().__init__(**params)
        self._on_error = on_error
        self._on_cancel = on_cancel
        self._cancel = threading.Event()  # set: the running job stops at its next check
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
        self._cancel = threading.Event()  # a fresh flag per job: a late cancel never hits the next one
        self._set(busy=True, job=what, progress=0, message=f"{what}...")
        self._thread = threading.Thread(target=self._work, args=(what, fn, args, kwargs), daemon=True,
                                        name=f"lcx-job-{what[:20]}")
        self._thread.start()

    def _work(self, what, fn, args, kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except JobCancelled as exc:
            log.info("dashboard job %r cancelled", what)
            self._set(message=f"{what}: cancelled")
            if self._on_cancel is not None:
                # a job may say what it left on screen (JobCancelled's message), else the generic word
                detail = str(exc) or "the session goes on."
                try:
                    self._on_cancel(f"{what}: cancelled; {detail}")
                except Exception:  # the reporter itself must not kill the worker
                    log.exception("reporting the cancellation of %r failed", what)
        except ExplorerError as exc:  # a refusal the user reads in the status: no traceback in the log
            log.info("dashboard job %r refused: %s", what, exc)
            if self._on_error is not None:
                try:
                    self._on_error(what, exc)
                except Exception:  # the error reporter itself must not kill the worker
                    log.exception("reporting the failure of %r failed", what)
        except BaseException as exc:  # noqa: BLE001  a failing job must leave the session usable
            log.error("dashboard job %r failed:\n%s", what, traceback.format_exc())
            if self._on_error is not None:
                try:
                    self._on_error(what, exc)
                except Exception:  # the error reporter itself must not kill the worker
                    log.exception("reporting the failure of %r failed", what)
        finally:
            with self._lock:
                self._cancel = threading.Event()  # work outside any job (a direct state.run()) is never cancelled
                queued, self._queued = self._queued, None
                if queued is not None:
                    self._start_locked(*queued)
                else:
                    self._thread = None
                    self._set(busy=False, job="")
                    self._idle.set()

    def cancel(self) -> bool:
        """Stop the running job at its next check and drop the queued one; False when nothing ran."""
        with self._lock:
            self._queued = None
            if self._thread is None or not self._thread.is_alive():
                return False
            self._cancel.set()
            self._set(message=f"Cancelling {self.job}...")
            return True

    @property
    def cancelling(self) -> bool:
        """True between ``cancel()`` and the end of the running job."""
        return self._cancel.is_set() and self.running

    def check(self) -> None:
        """Raise :class:`JobCancelled` when the running job was cancelled (for steps that report nothing)."""
        if self._cancel.is_set():
            raise JobCancelled()

    def report(self, fraction: float, message: str) -> None:
        """Progress of the running job (fraction 0..1) and what it is doing; the job's cancellation point."""
        self.check()
        self._set(progress=int(round(100 * min(max(float(fraction), 0.0), 1.0))), message=str(message))

    def finish(self, message: str) -> None:
        """The running job's work is complete: full progress and its last word (not a cancellation point,
        so what was completed stays)."""
        self._set(progress=100, message=str(message))

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
