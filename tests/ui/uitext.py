"""Reading the served page's text panes, and waiting for them, with bounds that fit a loaded machine."""

from __future__ import annotations

import time

READ_TIMEOUT_MS = 30_000  # reading a pane waits generously: a loaded 2-core machine stalls for seconds


def pane_text(page, css: str) -> str:
    """Text of a Panel pane (rendered in shadow DOM: innerText of the host does not reach it)."""
    loc = page.locator(f".{css}")
    if not loc.count():
        return ""
    return loc.first.evaluate("""e => Array.from((e.shadowRoot || e).children)
        .filter(c => !['STYLE', 'LINK', 'SCRIPT'].includes(c.tagName))
        .map(c => c.innerText || c.textContent || '').join(' ').trim()""", timeout=READ_TIMEOUT_MS)


def wait_for(dash, check, what: str, timeout_s: float = 120.0, poll_ms: int = 250):
    """Poll ``check()`` (bounded) until truthy; returns it; fails naming ``what``."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        dash.page.wait_for_timeout(poll_ms)  # polling interval of this bounded loop
    dash.fail(f"{what} (last value {value!r})")


def wait_text(dash, css: str, needle: str, timeout_s: float = 120.0) -> str:
    """Wait (bounded) until the pane ``css`` says ``needle``; returns its text."""
    return wait_for(dash, lambda: (lambda t: t if needle in t else "")(pane_text(dash.page, css)),
                    f".{css} never said {needle!r}", timeout_s)
