"""Finding 4 in Chromium: a long computation belongs to its session, which can cancel it and go on.

An uploaded catalog of 1,500 objects starts its embedding (the real model, seconds of work); the visitor
presses Cancel; the status says the job was cancelled (not an error), and the session still works: the
previous catalog's map comes back from the catalog chooser and a tap shows its object.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from secutil import HOSTILE, N_HOSTILE

pytestmark = pytest.mark.ui


def wait_status(dash, predicate, what: str, timeout_s: float = 120.0) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = dash.status_text()
        if predicate(text):
            return text
        dash.page.wait_for_timeout(200)  # polling interval of the bounded loop above
    dash.fail(f"the status never showed {what} within {timeout_s:.0f} s (last: {text!r})")


def test_cancel_a_running_embedding(secure_server, dash, tmp_path, shot):
    rng = np.random.default_rng(2)
    n_obj, n_obs = 1500, 60
    frame = pd.DataFrame({"object_id": np.repeat([f"c{i:05d}" for i in range(n_obj)], n_obs),
                          "time": np.tile(np.linspace(50000, 50300, n_obs), n_obj),
                          "mag": rng.normal(17, 0.3, n_obj * n_obs), "mag_err": 0.02})
    path = tmp_path / "to_cancel.csv"
    frame.to_csv(path, index=False)
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    pg = dash.page
    # every text the status takes from now on (it changes faster than any polling): the failure report
    pg.evaluate("""() => { window.__statusLog = [];
        for (const doc of Bokeh.documents) for (const m of doc.all_models)
          if ((m.css_classes || []).includes('lcx-status') && m.properties && m.properties.text)
            m.properties.text.change.connect(() => window.__statusLog.push(String(m.text).slice(0, 150))); }""")
    cancel = pg.locator(".lcx-cancel-button button")
    # the map is shown before its quality is rated (the last step of the job): wait, bounded, for the end
    expect(cancel).to_be_disabled(timeout=120_000)  # Cancel is disabled while nothing runs
    pg.locator(".lcx-catalog-upload input[type=file]").set_input_files(str(path))
    # "Catalog to_cancel: ...", then the embedding's progress "to_cancel: embedding with ...: k/n windows"
    wait_status(dash, lambda s: "to_cancel" in s and "Map ready" not in s and "Error" not in s, "the embedding running")
    cancel.click()
    clicked_at = len(pg.evaluate("() => window.__statusLog"))  # noqa: F841  (shown by a failure's locals)
    status = wait_status(dash, lambda s: "cancelled" in s or "Map ready" in s or "Error" in s,
                         "the cancellation", timeout_s=180)
    shot(pg, "security-cancelled")
    log = pg.evaluate("() => window.__statusLog")
    assert "cancelled" in status and "Error" not in status, f"the job was not cancelled: {status!r}; statuses: {log}"
    # the session goes on: back to the previous catalog, its map, a tap
    pg.locator(".lcx-catalog-select select").select_option(label=next(
        o for o in pg.locator(".lcx-catalog-select select option").all_inner_texts() if o.endswith(HOSTILE)))
    dash.wait_map(N_HOSTILE)
    dash.tap(dash.isolated_point())
    assert cancel.is_disabled(), "Cancel stays enabled after the job ended"
