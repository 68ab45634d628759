"""The served session's update queue on a real Bokeh server: pane updates asked by a job thread go out one
per event-loop turn."""

from __future__ import annotations

import asyncio
import threading
import time

from explorer.dashboard.panes.base import update_queue


def test_queued_updates_let_the_loop_answer_in_between():
    """Ten updates of 30 ms asked at once from a job thread of a served session (a real Bokeh server and
    client): a timer of that session due meanwhile (what a tab's message is to the loop) runs after the
    first few, not after all ten as when each update was its own next-tick callback; each runs once and in
    order; one asked again while waiting is not run twice."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.client import pull_session
    from bokeh.models import Div
    from bokeh.server.server import Server
    from tornado.ioloop import IOLoop

    ran, answered, done = [], [], threading.Event()

    def update(k):
        ran.append(k)
        time.sleep(0.03)
        if k == 9:
            done.set()

    def app(doc):
        doc.add_root(Div(text="queue"))
        queue = update_queue(doc)

        def job():
            for k in range(10):
                queue.put(("update", k), lambda k=k: update(k))
            queue.put(("update", 3), lambda: update("again"))  # still waiting: not queued twice
            # a timer due 5 ms from now, set on the loop (Bokeh's timers are not thread-safe)
            doc.add_next_tick_callback(lambda: doc.add_timeout_callback(lambda: answered.append(len(ran)), 5))

        doc.add_next_tick_callback(lambda: threading.Thread(target=job).start())

    started, holder = threading.Event(), {}

    def serve():  # the server's own loop in its own thread: the test's thread keeps no event loop of it
        asyncio.set_event_loop(asyncio.new_event_loop())
        holder["server"] = Server({"/": Application(FunctionHandler(app))}, port=0, address="127.0.0.1",
                                  io_loop=IOLoop.current())
        holder["server"].start()
        started.set()
        holder["server"].io_loop.start()
        holder["server"].io_loop.close(all_fds=True)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(60), "the Bokeh server did not start"
    server = holder["server"]

    def client(failed: list):
        # the client's own loop in its own thread too: a browser test run earlier in this process (pytest-xdist
        # puts test files in any order) leaves Playwright's loop marked running in the main thread
        try:
            asyncio.set_event_loop(asyncio.new_event_loop())
            with pull_session(url=f"http://127.0.0.1:{server.port}/"):
                done.wait(60)
                deadline = time.monotonic() + 30
                while not answered and time.monotonic() < deadline:
                    time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001  reported by the test's thread
            failed.append(exc)

    try:
        failed: list = []
        reader = threading.Thread(target=client, args=(failed,), daemon=True)
        reader.start()
        reader.join(120)
        assert not reader.is_alive(), "the client session did not end"
        if failed:
            raise failed[0]
        assert done.is_set(), f"the updates did not all run: {ran}"
    finally:
        server.io_loop.add_callback(server.stop)
        server.io_loop.add_callback(server.io_loop.stop)
        thread.join(10)
    assert ran == list(range(10)), ran
    assert answered and answered[0] <= 3, f"the loop answered only after {answered} of 10 updates"
