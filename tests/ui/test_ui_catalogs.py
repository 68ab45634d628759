"""Catalog flows in a real browser against a real ``panel serve app.py``: uploading a catalog file and
switching the catalog from the catalog select.

The module serves its own data folder (``LCEXPLORER_DATA_DIRS``) holding two small catalogs with distinct
object-id prefixes, so that every check can tell which catalog the map and the objects table show.
Each test saves a screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

READ_TIMEOUT_MS = 30_000  # reading a pane waits generously: a loaded 2-core machine stalls for seconds

pytestmark = pytest.mark.ui

FIRST, N_FIRST = "ui_small", 150  # the catalog ui_server opens (conftest.SMALL_CATALOG / SMALL_N_OBJECTS), ids ui-*
BETA, N_BETA = "lcx_beta", 30  # a second catalog this module writes into the same data folder (ids beta-*)
N_UPLOAD, N_UPLOAD_OBS = 40, 60
OBJECTS_PAGE = 15  # page size of the objects table (explorer.py: lcx-objects-table)


# ---------------------------------------------------------------------- data written by the tests
def _shape(kind: int, t: np.ndarray, period: float, amp: float) -> np.ndarray:
    """A few periodic shapes (sine, RR Lyrae-like sawtooth, eclipses) and a constant star."""
    phase = np.mod(t / period, 1.0)
    if kind == 0:
        return amp * np.sin(2 * np.pi * phase)
    if kind == 1:
        return amp * (phase - 0.5) * 2  # slow decline, fast rise
    if kind == 2:
        return amp * (np.abs(phase - 0.5) < 0.05)  # eclipses: fainter for 10% of the period
    return np.zeros_like(t)


def long_light_curves(prefix: str, n_objects: int, n_obs: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long format (object_id, time, mag, mag_err, band) and an objects table with a ``shape`` column."""
    rng = np.random.default_rng(seed)
    rows, objects = [], []
    names = ("sine", "sawtooth", "eclipse", "constant")
    for i in range(n_objects):
        oid = f"{prefix}-{i:04d}"
        n = n_obs or int(rng.integers(60, 100))
        t = np.sort(rng.uniform(50000.0, 50700.0, n))
        kind = i % 4
        mag = 16.5 + rng.normal(0, 0.4) + _shape(kind, t, rng.uniform(0.3, 5.0), rng.uniform(0.3, 0.8)) \
            + rng.normal(0, 0.03, n)
        rows.append(pd.DataFrame({"object_id": oid, "time": t, "mag": mag, "mag_err": np.full(n, 0.03),
                                  "band": "R"}))
        objects.append({"object_id": oid, "shape": names[kind]})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(objects)


def write_catalog(folder, prefix: str, n_objects: int, seed: int):
    """``<folder>/<name>.lightcurves.parquet`` + ``.objects.parquet`` (the layout of ``ui_small``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lcs, objects = long_light_curves(prefix, n_objects, None, seed)
    lcs.to_parquet(folder / f"{folder.name}.lightcurves.parquet", index=False)
    objects.to_parquet(folder / f"{folder.name}.objects.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def beta_catalog(ui_data_root):
    """``lcx_beta`` beside ``ui_small`` in ui_server's allowed data folder (the select lists it on page load)."""
    folder = write_catalog(ui_data_root / BETA, "beta", N_BETA, seed=12)
    yield folder
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


# ---------------------------------------------------------------------- page helpers
def map_state(dash) -> dict:
    """Points on the map, their first ids, and the map note ('' when absent)."""
    info = dash.bokeh.js("""(L) => {
        const s = L.scatter('lcx-map', 1);
        if (!s) return {n: 0, ids: []};
        const d = s.source.data;
        return {n: s.n, ids: d.object_id ? Array.from(d.object_id).slice(0, 2000).map(String) : []};
    }""")
    note = dash.page.get_by_text("UMAP of")
    info["note"] = note.first.inner_text(timeout=READ_TIMEOUT_MS) if note.count() else ""
    return info


def wait_map_of(dash, n: int, prefix: str, timeout_s: float = 60.0) -> dict:
    """Wait (bounded) for the final UMAP map of exactly ``n`` points, all ids starting with ``prefix``.

    Fails at once when the status pane reports an error.
    """
    deadline = time.monotonic() + timeout_s
    state = {}
    while time.monotonic() < deadline:
        if "error" in dash.status_text().lower():
            dash.fail(f"the dashboard reports an error while the map of {n} '{prefix}-*' objects is awaited")
        state = map_state(dash)
        if (state["n"] == n and f"UMAP of {n} objects" in state["note"]
                and state["ids"] and all(i.startswith(prefix + "-") for i in state["ids"])):
            return state
        dash.page.wait_for_timeout(250)  # polling interval of the bounded loop above
    dash.fail(f"the UMAP map of {n} '{prefix}-*' objects did not appear within {timeout_s:.0f} s "
              f"(points: {state.get('n')}, first ids: {state.get('ids', [])[:3]}, note: {state.get('note')!r})")


def objects_table(dash) -> dict:
    """The objects table's Bokeh model: rows on the current page, page count, first ids.

    Each catalog gets a new table; a replaced one may linger in ``all_models`` until Bokeh drops it,
    so the newest model (highest id number) is the one shown.
    """
    return dash.bokeh.js("""(L) => {
        let best = null, bestId = -1;
        for (const doc of Bokeh.documents) for (const m of doc.all_models) {
          if (!(m.css_classes || []).includes('lcx-objects-table') || !m.source) continue;
          const num = parseInt(String(m.id).replace(/[^0-9]/g, '')) || 0;
          if (num > bestId) { bestId = num; best = m; }
        }
        if (!best) return null;
        const d = best.source.data;
        return {rows: best.source.get_length(), max_page: best.max_page, page_size: best.page_size,
                ids: d.object_id ? Array.from(d.object_id).map(String) : []}; }""")


def wait_objects_table(dash, n: int, prefix: str, timeout_s: float = 30.0) -> list[str]:
    """Show the Objects tab and wait until its table pages through ``n`` objects with ids ``prefix-*``."""
    dash.show_tab("Objects")
    expected_pages = math.ceil(n / OBJECTS_PAGE)
    rows = dash.page.locator(".lcx-objects-table .tabulator-row")
    deadline = time.monotonic() + timeout_s
    info, texts = None, []
    while time.monotonic() < deadline:
        info = objects_table(dash)
        texts = rows.all_inner_texts()
        if (info and info["max_page"] == expected_pages and info["ids"]
                and all(i.startswith(prefix + "-") for i in info["ids"])
                and len(texts) == min(n, OBJECTS_PAGE) and all(prefix + "-" in t for t in texts)):
            return texts
        dash.page.wait_for_timeout(250)  # polling interval of the bounded loop above
    dash.fail(f"the objects table did not show {n} '{prefix}-*' objects within {timeout_s:.0f} s "
              f"(model: {info}, rows shown: {texts[:3]}...)")


def record_status(dash) -> None:
    """Record every text the status pane takes from now on (it changes faster than any polling)."""
    ok = dash.bokeh.js("""(L) => {
        window.__lcxStatusLog = [];
        for (const doc of Bokeh.documents) for (const m of doc.all_models) {
          if ((m.css_classes || []).includes('lcx-status') && m.properties && m.properties.text) {
            m.properties.text.change.connect(() => window.__lcxStatusLog.push(String(m.text)));
            return true;
          }
        }
        return false; }""")
    assert ok, "no Bokeh model carries the lcx-status class"


def status_log(dash) -> list[str]:
    return dash.page.evaluate("() => window.__lcxStatusLog || []")


def upload(dash, path) -> None:
    """Set ``path`` on the catalog upload widget (FilePond's file input), like a user picking it in the dialog."""
    dash.page.locator(".lcx-catalog-upload input[type=file]").set_input_files(str(path))


def tap_works(dash) -> str:
    """Tap an isolated map point and check its light curve is drawn; returns its object_id."""
    point = dash.isolated_point()
    assert point and point["object_id"], "no tappable map point"
    dash.tap(point)
    dash.bokeh.wait("""(L, oid) => L.plots().some(p => p.model.title && String(p.model.title.text).includes(oid)
        && p.model.renderers.some(r => r.data_source && r.data_source.get_length && r.data_source.get_length() >= 60))""",
                    point["object_id"], timeout=20_000)
    return point["object_id"]


# ---------------------------------------------------------------------- tests
@pytest.fixture
def upload_csv(tmp_path):
    """``my_upload.csv``: 40 objects x 60 observations in long format (object_id,time,mag,mag_err,band)."""
    lcs, _ = long_light_curves("up", N_UPLOAD, N_UPLOAD_OBS, seed=21)
    path = tmp_path / "my_upload.csv"
    lcs.to_csv(path, index=False)
    assert lcs["object_id"].nunique() == N_UPLOAD and len(lcs) == N_UPLOAD * N_UPLOAD_OBS
    assert list(pd.read_csv(path, nrows=1).columns) == ["object_id", "time", "mag", "mag_err", "band"]
    return path


def test_upload_csv_switches_catalog(ui_server, dash, shot, upload_csv):
    """Uploading a long CSV replaces the catalog: map, status and objects table show its 40 objects."""
    dash.open(ui_server)
    wait_map_of(dash, N_FIRST, "ui")
    record_status(dash)
    upload(dash, upload_csv)
    wait_map_of(dash, N_UPLOAD, "up")
    status = dash.status_text()
    assert f"{N_UPLOAD} objects" in status, f"the status does not report the {N_UPLOAD} uploaded objects: {status!r}"
    assert any("Opening catalog" in s for s in status_log(dash)), status_log(dash)
    texts = wait_objects_table(dash, N_UPLOAD, "up")
    assert texts[0].startswith("up-0000") and "60" in texts[0], texts[0]  # id and n_obs of the first object
    shot(dash.page, "catalog-upload")


def test_upload_without_time_column_is_refused(ui_server, dash, shot, tmp_path):
    """A CSV without a time column: the status names the missing column, the open catalog stays usable."""
    lcs, _ = long_light_curves("bad", 5, 20, seed=22)
    bad = tmp_path / "no_time.csv"
    lcs.drop(columns=["time"]).to_csv(bad, index=False)

    dash.open(ui_server)
    before = wait_map_of(dash, N_FIRST, "ui")
    upload(dash, bad)
    deadline = time.monotonic() + 20
    while "error" not in dash.status_text().lower():
        if time.monotonic() > deadline:
            dash.fail("uploading a CSV without a time column gave no error in the status pane")
        dash.page.wait_for_timeout(200)  # polling interval of the bounded loop above
    status = dash.status_text()
    assert "time column" in status.lower(), f"the error does not name the missing time column: {status!r}"
    assert "mag_err" in status, f"the error does not list the columns found in the file: {status!r}"
    shot(dash.page, "catalog-upload-refused")

    # the previous catalog is still open and usable
    after = map_state(dash)
    assert after["n"] == N_FIRST and after["ids"] == before["ids"], "the map changed after a refused upload"
    assert tap_works(dash).startswith("ui-")
    wait_objects_table(dash, N_FIRST, "ui")


def test_catalog_select_switches_catalog(ui_server, ui_data_root, beta_catalog, dash, shot):
    """Choosing another catalog in the select: map and objects table follow, and follow back."""
    dash.open(ui_server)
    wait_map_of(dash, N_FIRST, "ui")
    wait_objects_table(dash, N_FIRST, "ui")
    select = dash.page.locator(".lcx-catalog-select select")
    labels = select.locator("option").all_inner_texts()
    beta_label, first_label = f"{ui_data_root.name}/{BETA}", f"{ui_data_root.name}/{FIRST}"
    assert beta_label in labels and first_label in labels, f"the catalog select offers {labels}"

    select.select_option(label=beta_label)
    wait_map_of(dash, N_BETA, "beta")
    wait_objects_table(dash, N_BETA, "beta")
    shot(dash.page, "catalog-select-beta")

    select.select_option(label=first_label)
    wait_map_of(dash, N_FIRST, "ui")  # from the server's cache
    wait_objects_table(dash, N_FIRST, "ui")
    shot(dash.page, "catalog-select-back")


def test_map_tap_works_after_catalog_switch(ui_server, ui_data_root, beta_catalog, dash, shot):
    """After a switch, tapping a point of the new map shows that object's light curve."""
    dash.open(ui_server)
    wait_map_of(dash, N_FIRST, "ui")
    dash.page.locator(".lcx-catalog-select select").select_option(label=f"{ui_data_root.name}/{BETA}")
    wait_map_of(dash, N_BETA, "beta")
    assert tap_works(dash).startswith("beta-")
    shot(dash.page, "catalog-switch-tap")


def test_catalog_select_follows_upload(ui_server, ui_data_root, dash, shot, upload_csv):
    """After an upload the select names the uploaded catalog, and choosing the previous one brings it back."""
    dash.open(ui_server)
    wait_map_of(dash, N_FIRST, "ui")
    upload(dash, upload_csv)
    wait_map_of(dash, N_UPLOAD, "up")
    select = dash.page.locator(".lcx-catalog-select select")
    # the map and the select are separate updates from the server: wait (bounded) for the select too
    deadline = time.monotonic() + 20
    shown = ""
    while time.monotonic() < deadline:
        shown = select.evaluate("e => e.selectedIndex < 0 ? '' : e.options[e.selectedIndex].text")
        if "my_upload" in shown:
            break
        dash.page.wait_for_timeout(250)  # polling interval of this bounded loop
    shot(dash.page, "catalog-select-after-upload")
    assert "my_upload" in shown, f"after the upload the catalog select still shows {shown!r}"
    select.select_option(label=f"{ui_data_root.name}/{FIRST}")
    wait_map_of(dash, N_FIRST, "ui")


def test_open_path_after_upload_then_upload_again(ui_server, ui_data_root, beta_catalog, dash, shot, upload_csv,
                                                  tmp_path):
    """Failure 3: after an upload, "Open path" opens that path (no AttributeError, the select follows), and a
    later upload in the same session still works."""
    dash.open(ui_server)
    wait_map_of(dash, N_FIRST, "ui")
    upload(dash, upload_csv)
    wait_map_of(dash, N_UPLOAD, "up")
    dash.page.locator(".lcx-catalog-path input").fill(str(beta_catalog))
    dash.page.locator(".lcx-catalog-open button").click()
    wait_map_of(dash, N_BETA, "beta")
    select = dash.page.locator(".lcx-catalog-select select")
    shown = select.evaluate("e => e.selectedIndex < 0 ? '' : e.options[e.selectedIndex].text")
    assert shown == f"{ui_data_root.name}/{BETA}", f"after Open path the catalog select shows {shown!r}"
    again, _ = long_light_curves("re", 20, 50, seed=23)
    path = tmp_path / "second_upload.csv"
    again.to_csv(path, index=False)
    upload(dash, path)
    wait_map_of(dash, 20, "re")
    assert "error" not in dash.status_text().lower()
    assert "AttributeError" not in ui_server.log_tail(200)
    shot(dash.page, "catalog-path-after-upload")
