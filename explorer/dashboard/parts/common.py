"""What every part of the dashboard state shares: names, the in-memory result caches, the ``Part`` base
and the ``Messages`` part (status line and alerts).

A part is a small browser-free ``param.Parameterized`` owning one concern.  Its *inputs* are plain
parameters the view edits through widgets made with ``from_param``; its *outputs* are constant
parameters only the part sets, each replaced whole (``Part._out``), so a pane reading one gets a
consistent snapshot even while a background job replaces it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict

import param

from explorer.errors import ExplorerError

log = logging.getLogger(__name__)

USER_LABEL = "user_label"  # colour option / column holding the labels given in the dashboard
NO_LABEL = "(none)"
SUGGESTION = "suggestion"  # colour option holding the label suggestions, once computed
INTERNAL_COLUMNS = ("object_id", "empty")  # never offered as colours nor exported as metadata
SEED = 0  # the embedding's seed (random windows); the UMAP map has its own random_state
HOW_TO_GET_A_MODEL = (
    "No embedding model is available. Import one into the local store with:\n\n"
    "    lcexplorer models import ../shared/models/checkpoints/macho.zip --name astromer1-macho\n\n"
    "then reload this page. The catalog and its light curves can still be browsed below."
)


class ResultCache:
    """A small thread-safe LRU dictionary shared by every dashboard session of the process."""

    def __init__(self, maxsize: int = 8):
        self.maxsize = int(maxsize)
        self._data: OrderedDict = OrderedDict()
        self._pending: dict = {}
        self._listeners: dict = {}  # key -> callbacks told about a computation of that key under way
        self._lock = threading.Lock()

    def get(self, key):
        """The value stored under ``key`` (refreshed as most recent), or None."""
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key, value) -> None:
        """Store ``value``; the least recently used entry goes when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_compute(self, key, compute):
        """``(value, was_cached)``; concurrent callers with the same key wait for one computation."""
        value = self.get(key)
        if value is not None:
            return value, True
        with self._lock:
            key_lock = self._pending.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)
            if value is not None:
                return value, True
            value = compute()
            self.put(key, value)
        with self._lock:
            self._pending.pop(key, None)
        return value, False

    @contextlib.contextmanager
    def listening(self, key, listener):
        """While inside, ``listener`` hears what ``tell(key, ...)`` says: a caller waiting for another's
        computation of ``key`` (a session behind the server's warm-up) sees it grow too."""
        if listener is None:
            yield
            return
        with self._lock:
            self._listeners.setdefault(key, []).append(listener)
        try:
            yield
        finally:
            with self._lock:
                self._listeners[key].remove(listener)
                if not self._listeners[key]:
                    del self._listeners[key]

    def tell(self, key, *args) -> None:
        """Call every listener of ``key`` with ``args`` (from the computing thread; a failing listener is
        logged and never stops the computation)."""
        with self._lock:
            listeners = list(self._listeners.get(key, ()))
        for listener in listeners:
            try:
                listener(*args)
            except Exception:  # noqa: BLE001
                log.exception("a listener of a computation under way failed")

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


EMBEDDINGS = ResultCache(maxsize=6)
MAPS = ResultCache(maxsize=12)
CATALOGS = ResultCache(maxsize=4)


class Part(param.Parameterized):
    """Base of the state's parts: outputs are set in one batch, and parameters listed in ``catalog_bound``
    go back to their defaults whenever the catalog changes (``reset_for``), so nothing tied to the
    previous catalog survives a switch by construction."""

    catalog_bound: tuple = ()

    def _out(self, **values) -> None:
        """Set output (constant) parameters in one batch."""
        with param.edit_constant(self):
            self.param.update(**values)

    def reset_for(self, catalog) -> None:
        """A new catalog is open: every catalog-bound parameter goes back to its default, then
        ``revalidate`` keeps what still means something in the new catalog."""
        defaults = {name: self.param[name].default for name in self.catalog_bound}
        with param.edit_constant(self):
            self.param.update(**{k: (list(v) if isinstance(v, list) else v) for k, v in defaults.items()})
        self.revalidate(catalog)

    def revalidate(self, catalog) -> None:
        """Adapt choices to a new catalog (options, defaults); nothing by default."""


class Messages(Part):
    """The status line and the alerts of one map (main or second)."""

    status = param.String(default="", constant=True, doc="Last message for the user (plain text).")
    alert = param.Tuple(default=(0, ""), length=2, constant=True,
                        doc="(count, text) of the last failure; a new tuple per failure, for notifications.")

    def say(self, message: str) -> None:
        """Set the status line (plain text; the view never renders it as HTML)."""
        self._out(status=str(message))

    def fail(self, what: str, exc: BaseException | str) -> str:
        """Report a failure: status and a new ``alert`` naming what failed; returns the message."""
        detail = exc if isinstance(exc, str) else (str(exc) if isinstance(exc, ExplorerError)
                                                    else f"{type(exc).__name__}: {exc}")
        message = f"Error: {what} failed: {detail}"
        # in the server's log too: what a visitor was told is otherwise seen by nobody who runs the server
        # (repr: a file or object name from the visitor cannot start a forged log line)
        log.warning("shown to the user: %r", message[:500])
        self._out(status=message, alert=(self.alert[0] + 1, message))
        return message
