"""The served session's update queue: pane updates asked by job threads go out one per event-loop turn."""

from __future__ import annotations

import asyncio
import threading
import time

from explorer.dashboard.panes.base import UpdateQueue


class LoopDocument:
    """What the queue uses of a Bokeh document, on a real asyncio loop: Bokeh's server schedules a
    next-tick callback with the loop's thread-safe ``call_soon`` (through Tornado's ``add_callback``)."""

    def __init__(self, loop):
        self.loop = loop

    def add_next_tick_callback(self, fn):
        self.loop.call_soon_threadsafe(fn)


def test_queued_updates_let_the_loop_answer_in_between():
    """Ten updates of 30 ms asked at once from a job thread: a timer due meanwhile (a tab's message)
    runs after the first one or two, not after all ten; each update runs once and in order, one asked
    again while waiting is not run twice, and a closed session's queue drops what it was asked."""
    loop = asyncio.new_event_loop()
    doc = LoopDocument(loop)
    queue = UpdateQueue(doc)
    ran, answered = [], []

    def update(k):
        ran.append(k)
        time.sleep(0.03)

    def job():
        for k in range(10):
            queue.put(("update", k), lambda k=k: update(k))
        queue.put(("update", 3), lambda: update("again"))  # still waiting: not queued twice

    async def main():
        thread = threading.Thread(target=job)
        thread.start()
        thread.join()
        loop.call_later(0.005, lambda: answered.append(len(ran)))
        for _ in range(400):
            if len(ran) == 10:
                break
            await asyncio.sleep(0.01)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert ran == list(range(10)), ran
    assert answered and answered[0] <= 2, f"the loop answered only after {answered} of 10 updates"
    queue._doc = lambda: None  # the session's document is gone
    queue.put(("late", 0), lambda: ran.append("late"))
    assert queue.closed and ran[-1] == 9
