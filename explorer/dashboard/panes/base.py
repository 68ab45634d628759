"""What every pane shares: the state, UI-thread dispatch, guarded actions and plain-text panes."""

from __future__ import annotations

import cProfile
import logging
import os
import threading
import time
import weakref
from functools import partial
from html import escape

import panel as pn
import param

from explorer.errors import ExplorerError

from ..state import ExplorerState

log = logging.getLogger(__name__)

# Str renders a <pre>: wrap long lines and use the page's font instead of a fixed-width one
TEXT_CSS = "pre { white-space: pre-wrap; word-break: break-word; font-family: inherit; font-size: 0.95em; margin: 0; }"


class PlainText(pn.pane.Str):
    """A Str pane whose text is escaped before it becomes HTML.

    Panel's own Str only escapes for transport: the browser un-escapes and renders the markup, so an
    object id like ``<img onerror=...>`` would run.  Here the text itself is escaped first.
    """

    def _transform_object(self, obj) -> dict:
        text = "" if obj is None else str(obj)
        return dict(object=escape("<pre>" + (escape(text) or " ") + "</pre>"))


class TextMultiChoice(pn.widgets.MultiChoice):
    """A MultiChoice whose options are shown as text: Bokeh's Choices.js puts option labels in as HTML."""

    def _process_param_change(self, params: dict) -> dict:
        props = super()._process_param_change(params)
        if "options" in props:  # (value, label): the value stays the raw text, only the label is escaped
            props["options"] = [(o, escape(o)) if isinstance(o, str) else (o[0], escape(o[1]))
                                for o in props["options"]]
        return props


class OptionalFloatInput(pn.widgets.FloatInput):
    """A FloatInput whose box is empty when its value is None: Panel sends NaN for None, which the
    browser shows as the text "NaN" (a period field once read NaN after a tap on an object without one)."""

    def _process_param_change(self, params: dict) -> dict:
        empty = {k for k in ("value", "value_throttled") if k in params and params[k] is None}
        props = super()._process_param_change(params)
        for key in empty:
            if key in props:
                props[key] = None
        return props


def text_pane(css: str, text: str = "", **kwargs) -> PlainText:
    """A plain-text pane: object ids, labels, column and file names are shown as text, never run as HTML."""
    kwargs.setdefault("sizing_mode", "stretch_width")
    return PlainText(text, css_classes=[css], name=css, stylesheets=[TEXT_CSS], **kwargs)


def bokeh_edit():
    """Context for changing Bokeh models in place from a callback (plots redrawn by new data).

    Panel runs some callbacks (HoloViews streams among them) without the document lock, where a
    direct model change raises in Bokeh; ``unlocked`` collects the changes and sends them itself.
    """
    from panel.io.document import unlocked

    return unlocked()


def text_titles(frame) -> dict:
    """Tabulator column titles, escaped: Tabulator puts a title into the page as HTML (cells are text)."""
    return {c: escape(str(c)) for c in frame.columns}


def with_css(widget, css: str):
    """Give a widget its stable CSS class for UI tests (see explorer.py for the list)."""
    widget.css_classes = list(widget.css_classes or []) + [css]
    return widget


SLOW_UPDATE_S = 0.25  # a pane update holding the event loop longer than this is logged (it stalls every tab)


# a folder: every slow pane update is also profiled there (one .prof file each), to find what held the loop
PROFILE_DIR = os.environ.get("LCEXPLORER_PROFILE_UPDATES", "")


def _steadily(steady, fn, *args, **kwargs):
    """Run one pane update holding ``steady`` (the session's switch lock), waiting for a switch in
    progress: outside a server, where no event loop is held by the wait."""
    with steady:
        return fn(*args, **kwargs)


def _timed(pane: str, fn, *args, **kwargs):
    """Run one pane update, logging it when it held the event loop long enough to be felt."""
    profile = cProfile.Profile() if PROFILE_DIR else None
    t0 = time.perf_counter()
    try:
        if profile is None:
            return fn(*args, **kwargs)
        return profile.runcall(fn, *args, **kwargs)
    finally:
        took = time.perf_counter() - t0
        if took > SLOW_UPDATE_S:
            what = getattr(args[1], "__name__", "") if len(args) > 1 else getattr(fn, "__name__", "")
            log.warning("slow page update: %s %s held the event loop %.0f ms", pane, what, took * 1000)
            if profile is not None:
                profile.dump_stats(os.path.join(PROFILE_DIR, f"{pane}-{what}-{int(t0 * 1000)}-{took * 1000:.0f}ms.prof"))


class UpdateQueue:
    """The pane updates that job threads ask of one served session, run one per event-loop turn.

    Bokeh runs every callback already scheduled before it reads the sockets again: the tens of updates
    one catalog switch asks for at once held every tab of the server for their sum (1.3-1.6 s under
    load).  Chained, each goes out on its own turn and the server answers its tabs in between.  An update
    already waiting is not queued twice: it reads the state when it runs.
    """

    STALLED_S = 30.0  # updates waiting this long for their turn are logged (once per stall): the page stopped moving

    def __init__(self, doc):
        self._doc = weakref.ref(doc)  # the queue lives as long as its session's document, not longer
        self._lock = threading.Lock()
        self._waiting: dict = {}  # key -> call, in the order asked
        self._scheduled = False
        self._turn_asked = 0.0  # when the pending turn was asked of the event loop (monotonic)
        self._stall_logged = False
        self.closed = False

    def put(self, key, call) -> None:
        """Run ``call`` on a later turn of the session's event loop (once, if ``key`` is already waiting)."""
        with self._lock:
            if self.closed or key in self._waiting:
                return
            self._waiting[key] = call
            if self._scheduled:
                self._note_stall()
                return
            self._scheduled = True
        self._schedule()

    def _note_stall(self) -> None:
        waited = time.monotonic() - self._turn_asked
        if waited > self.STALLED_S and not self._stall_logged:
            self._stall_logged = True
            log.warning("pane updates of a session have waited %.0f s for a turn of the event loop "
                        "(%d waiting): that page no longer follows its state", waited, len(self._waiting))

    def _schedule(self) -> None:
        self._turn_asked = time.monotonic()
        doc = self._doc()
        try:
            doc.add_next_tick_callback(self._run_one)
        except Exception:
            # a closed tab (its document destroyed while a job ran) has nothing left to update; anything
            # else would leave a live page frozen, so it is logged with its cause
            if doc is not None and getattr(doc, "session_context", None) is not None \
                    and not getattr(doc.session_context, "destroyed", False):
                log.exception("pane updates of a live session could not be scheduled; they stop here")
            with self._lock:
                self.closed, self._waiting = True, {}

    def _run_one(self) -> None:
        with self._lock:
            self._stall_logged = False
            if not self._waiting:
                self._scheduled = False
                return
            key = next(iter(self._waiting))
            call = self._waiting.pop(key)
        try:
            call()
        finally:
            with self._lock:
                more = bool(self._waiting)
                self._scheduled = more
            if more:
                self._schedule()


_QUEUES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_QUEUES_LOCK = threading.Lock()


def update_queue(doc) -> UpdateQueue:
    """The served session's one queue of pane updates (made on first use)."""
    with _QUEUES_LOCK:
        queue = _QUEUES.get(doc)
        if queue is None:
            queue = _QUEUES[doc] = UpdateQueue(doc)
        return queue


def _key(fn, args, kwargs):
    """What makes two asked updates the same one; a fresh object (never the same) when unhashable."""
    key = (fn, args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        return object()
    return key


class StatePane(pn.viewable.Viewer):
    """A view of the shared state; its updates run on the session's event loop when served."""

    state = param.ClassSelector(class_=ExplorerState, doc="The browser-free state this pane shows.")

    def __init__(self, **params):
        super().__init__(**params)
        curdoc = pn.state.curdoc
        self._doc = curdoc if curdoc is not None and curdoc.session_context else None

    def ui(self, fn, *args, **kwargs) -> None:
        """Run ``fn`` now when on the event loop (or not served), else through the session's update queue."""
        key = _key(fn, args, kwargs)
        call = self._call(key, fn, *args, **kwargs)
        if self._doc is None or threading.current_thread() is threading.main_thread():
            call()
        else:
            update_queue(self._doc).put(key, call)

    def own_turn(self, fn, *args) -> None:
        """Run ``fn(*args)`` on a turn of its own through the session's update queue, even from the event loop
        (at once when not served): one long update cut in pieces lets the server answer its tabs between them."""
        if self._doc is None:
            fn(*args)
        else:
            key = _key(fn, args, {})
            update_queue(self._doc).put(key, self._call(key, fn, *args))

    def _call(self, key, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` as one pane update that never reads a half-switched state (the session's
        switch lock held while it runs).  Outside a server it waits for a switch in progress; on the served
        event loop it never waits: asked during a switch, it goes back on the session's update queue (as
        ``key``) when the switch ends, and holds the loop only for its own work."""
        session = self.state.session
        if self._doc is None:
            return partial(_steadily, session.steady(), fn, *args, **kwargs)
        doc, name = self._doc, type(self).__name__

        def run():
            if not session.enter_or_defer(lambda: update_queue(doc).put(key, run)):
                return
            try:
                _timed(name, fn, *args, **kwargs)  # timed: a long update stalls every tab of the server
            finally:
                session.leave()

        return run

    def later(self, what: str, fn) -> None:
        """Run ``fn`` guarded on the session's next tick (at once when not served): what follows a tap
        goes out after the tap's own update has reached the browser."""
        if self._doc is None:
            self.guarded(what, fn)
        else:
            self._doc.add_next_tick_callback(self._call(_key(self.guarded, (what, fn), {}), self.guarded, what, fn))

    def watch(self, fn, names, obj=None) -> None:
        """Call ``fn()`` on the UI side whenever any of the parameters ``names`` change: of ``obj``, or of
        whichever part of the state owns each name."""
        callback = lambda *events: self.ui(self.guarded, f"updating {type(self).__name__}", fn)  # noqa: E731
        if obj is not None:
            obj.param.watch(callback, list(names))
            return
        by_owner: dict = {}
        for name in names:
            owner = self.state.owner(name)
            by_owner.setdefault(id(owner), (owner, []))[1].append(name)
        for owner, owned in by_owner.values():
            owner.param.watch(callback, owned)

    def p(self, name: str):
        """The parameter ``name`` of whichever part of the state owns it (for ``Widget.from_param``)."""
        return self.state.owner(name).param[name]

    def guarded(self, what: str, fn, *args, **kwargs):
        """Run a user action; a failure becomes a visible error naming ``what`` (the session goes on)."""
        try:
            return fn(*args, **kwargs)
        except (ExplorerError, ValueError, KeyError) as exc:
            self.state.fail(what, exc)
        except Exception as exc:  # noqa: BLE001  never let one callback kill the session
            log.exception("%s failed", what)
            self.state.fail(what, exc)
        return None

    def action(self, what: str, fn, *args):
        """An ``on_click`` handler that runs ``fn(*args)`` guarded."""
        return lambda *_: self.guarded(what, fn, *args)
