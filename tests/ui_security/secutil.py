"""Helpers of the security tests: XSS payloads, reading text out of Panel's shadow DOM, a hostile catalog."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# the UI harness (tests/ui/conftest.py), loaded once by path: one implementation for both folders
if "lcx_ui_harness" in sys.modules:
    harness = sys.modules["lcx_ui_harness"]
else:
    _spec = importlib.util.spec_from_file_location("lcx_ui_harness", Path(__file__).parents[1] / "ui" / "conftest.py")
    harness = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = harness
    _spec.loader.exec_module(harness)

Dashboard = harness.Dashboard
BokehPage = harness.BokehPage

HOSTILE = "hostile"
N_HOSTILE = 24
# operator limits of the test server (environment, as documented in the README)
MAX_UPLOAD_BYTES = 30_000_000  # above Bokeh's 20 MB websocket message limit: uploads come in chunks
MAX_ROWS = 200_000


def XSS(where: str) -> str:
    """A payload that records ``where`` in ``window.__xss`` when rendered as HTML (no spaces, no quotes)."""
    return f"<img src=x onerror=(window.__xss=window.__xss||[]).push('{where}')>"


def xss_ran(pg) -> list:
    """The payloads that ran in this page (empty: none)."""
    return pg.evaluate("() => window.__xss || []")


def shadow_text(pg, css: str) -> str:
    """innerText of every element with class ``css``, shadow roots included (Panel renders in shadow DOM)."""
    return pg.evaluate("""(css) => {
        const out = [];
        const walk = (root) => {
          for (const el of root.querySelectorAll('*')) {
            if (el.classList && el.classList.contains(css)) out.push((el.shadowRoot || el).textContent || '');
            if (el.shadowRoot) walk(el.shadowRoot);
          }
        };
        walk(document);
        return out.join(' ');
    }""", css)


def page_text(pg) -> str:
    """All text of the page, shadow roots included (what a person can read, HTML or not)."""
    return pg.evaluate("""() => {
        const out = [];
        const walk = (root) => {
          for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) { out.push(el.shadowRoot.textContent || ''); walk(el.shadowRoot); }
          }
        };
        out.push(document.body.innerText || '');
        walk(document);
        return out.join(' ');
    }""")


def write_hostile_catalog(folder: Path) -> Path:
    """Object ids, a metadata column name, a metadata value and both band names are XSS payloads."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    rows, objects = [], []
    for i in range(N_HOSTILE):
        oid = XSS(f"id{i}") if i < 3 else f"ok-{i:03d}"
        for band in (XSS("band"), "r"):
            n = int(rng.integers(40, 60))
            t = np.sort(rng.uniform(50000.0, 50300.0, n))
            mag = 17 + 0.4 * np.sin(2 * np.pi * t / rng.uniform(0.3, 3.0)) + rng.normal(0, 0.03, n)
            rows.append(pd.DataFrame({"object_id": oid, "time": t, "mag": mag, "mag_err": 0.03, "band": band}))
        objects.append({"object_id": oid, XSS("column"): XSS("value") if i % 2 else "plain",
                        "kind": XSS("class") if i % 3 else "other"})
    pd.concat(rows, ignore_index=True).to_parquet(folder / f"{folder.name}.lightcurves.parquet", index=False)
    pd.DataFrame(objects).to_parquet(folder / f"{folder.name}.objects.parquet", index=False)
    return folder


def server_io(server) -> dict:
    """The served process's I/O counters (``/proc/<pid>/io``): ``wchar`` counts the bytes it wrote with
    ``write()`` (its files: an upload's temp file), not what it sent on sockets."""
    with open(f"/proc/{server.proc.pid}/io") as fh:
        return {k: int(v) for k, v in (line.split(":") for line in fh if ":" in line)}


class SentBytes:
    """Bytes the page sends to the server over its websockets, from Chromium's own frame events: what
    the server can have received. Attach before the page opens the app."""

    def __init__(self, pg):
        self.total = 0
        pg.on("websocket", lambda ws: ws.on("framesent", self._count))

    def _count(self, payload) -> None:
        self.total += len(payload.encode() if isinstance(payload, str) else payload)


def serve(app: Path, env: dict, *extra_args: str, timeout: float = harness.SERVER_START_TIMEOUT_S):
    """``panel serve app`` with ``extra_args`` (the harness's command plus the start-app flags)."""
    return harness.launch_server(app, env, *extra_args, timeout=timeout)
