"""The dashboard in a real browser against a real ``panel serve app.py`` (small catalog, real model).

Each test saves a screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
import uuid

import pandas as pd
import pytest

from explorer.dashboard.export import read_export

N_POINTS = 150  # objects in the small UI catalog (conftest.SMALL_N_OBJECTS), all long enough to embed
pytestmark = pytest.mark.ui


def test_map_renders_with_points(ui_server, dash, shot):
    dash.open(ui_server)
    n = dash.wait_map(N_POINTS)
    assert n == N_POINTS
    canvases = dash.page.locator(".lcx-map canvas, .bk-Figure canvas")
    assert canvases.count() >= 1
    shot(dash.page, "map")


def test_map_is_not_covered_by_other_panes(ui_server, dash, shot):
    """The map's plotting frame is fully visible (the light-curve pane must not be drawn over it)."""
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    dash.scroll_map_into_view()  # the map is taller than what is left of the window under the filter bar
    covered = dash.bokeh.js("""(L) => {
        const p = L.scatter('lcx-map', 1).plot, b = L.frameBox(p), bad = [];
        for (let i = 1; i < 10; i++) for (let j = 1; j < 10; j++) {
          const x = b.left + (b.right - b.left) * i / 10, y = b.top + (b.bottom - b.top) * j / 10;
          if (!L.onPlot(p, x, y)) { const t = L.topAt(x, y); bad.push([i, j, t ? (t.className || t.tagName) : null]); }
        }
        return bad; }""")
    shot(dash.page, "layout")
    assert not covered, f"{len(covered)}/81 probe points of the map frame are covered, e.g. {covered[:3]}"


def test_tap_shows_light_curve(ui_server, dash, shot):
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    point = dash.isolated_point()
    assert point["object_id"], "the map's data source has no object_id column"
    dash.tap(point)
    oid = point["object_id"]
    # the light-curve figure of that object is drawn, with its observations
    n_obs = dash.bokeh.wait("""(L, oid) => {
        for (const p of L.plots()) {
          const t = p.model.title && p.model.title.text;
          if (t && t.includes(oid)) {
            return Math.max(0, ...p.model.renderers.map(r => (r.data_source && r.data_source.get_length) ? (r.data_source.get_length() || 0) : 0));
          }
        }
        return 0; }""", oid, timeout=20_000)
    assert n_obs >= 60  # every UI object has 60..120 observations
    shot(dash.page, "tap-lightcurve")


def test_box_selection_fills_table(ui_server, dash, shot):
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    dash.show_tab("Selection")
    rows = dash.page.locator(".lcx-selection-table .tabulator-row")
    error, inside = None, None
    for _ in range(3):  # bounded: a drag made while the map is redrawn under load reaches no plot
        if rows.count():
            break  # the previous drag's selection arrived late
        dash.activate_tool("BoxSelectTool")
        dragged = dash.drag_box()
        inside = dragged if inside is None else inside
        assert inside > 0, "the dragged box holds no point (plot geometry not understood)"
        try:
            rows.first.wait_for(timeout=15_000)
            break
        except Exception as exc:  # noqa: BLE001
            error = exc
    else:
        dash.fail("the selection table stayed empty after a box selection (3 drags)", error)
    # the table may be drawn again once more (a late second selection event): wait, bounded, for its page
    deadline = time.monotonic() + 20
    while rows.count() != min(inside, 10) and time.monotonic() < deadline:
        dash.page.wait_for_timeout(250)  # polling interval of this bounded loop
    assert rows.count() == min(inside, 10)  # the table shows 10 rows a page
    table_text = " ".join(rows.all_inner_texts())
    assert re.search(r"ui-\d{4}", table_text), table_text
    shot(dash.page, "box-selection")


def _labels_on_disk(path, timeout_s: float = 20.0) -> pd.DataFrame:
    """The labels CSV, polled (bounded) until it exists."""
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert path.exists(), f"no labels file beside the catalog ({path})"
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("object_id")


def _apply_label(dash, label: str) -> None:
    box = dash.page.locator(".lcx-label-input input")
    box.fill(label)
    box.press("Enter")
    dash.page.locator(".lcx-label-add button").click()
    dash.page.locator(".lcx-label-apply button").click()


def test_label_is_saved_and_survives_reload(ui_server, dash, shot):
    label = f"ui-label-{uuid.uuid4().hex[:6]}"
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    point = dash.isolated_point()
    dash.tap(point)
    oid = point["object_id"]
    _apply_label(dash, label)

    labels_csv = ui_server.extra["catalog"] / f"{ui_server.extra['catalog'].name}.labels.csv"
    deadline = time.monotonic() + 20
    while _labels_on_disk(labels_csv).get("label", pd.Series(dtype=str)).get(oid) != label:
        assert time.monotonic() < deadline, f"{labels_csv} never got {oid} = {label!r}: {labels_csv.read_text()}"
        time.sleep(0.2)

    dash.page.reload()
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    dash.tap(dash.point_of(oid))
    try:
        dash.page.locator(".lcx-tapped").get_by_text(label).wait_for(timeout=20_000)
    except Exception as exc:
        dash.fail(f"after a reload the label {label!r} of {oid} is not shown", exc)
    shot(dash.page, "label-after-reload")

    # a label applied to the tapped object shows at once, without a reload
    second = label + "-b"
    _apply_label(dash, second)
    try:
        dash.page.locator(".lcx-tapped").get_by_text(second).wait_for(timeout=20_000)
    except Exception as exc:
        dash.fail(f"the new label {second!r} of the tapped object {oid} is not shown after applying it", exc)
    assert _labels_on_disk(labels_csv).loc[oid, "label"] == second


@pytest.mark.parametrize("fmt,what", [("csv", "coordinates"), ("parquet", "embeddings")])
def test_export_downloads_file_with_provenance(ui_server, dash, shot, downloads_dir, fmt, what):
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    if fmt != "csv":
        dash.page.locator(".lcx-export-format select").select_option(fmt)
        # the server saw the new format once the download buttons' file names follow it
        dash.bokeh.wait("""(L, f) => [...Bokeh.documents[0].all_models].some(
            m => String(m.type).endsWith("FileDownload") && String(m.filename).endsWith("." + f))""",
                        fmt, timeout=10_000)
    with dash.page.expect_download(timeout=30_000) as info:
        dash.page.locator(f".lcx-export-{what} button, .lcx-export-{what} a").first.click()
    download = info.value
    target = downloads_dir / download.suggested_filename
    download.save_as(target)
    assert target.suffix == f".{fmt}", target.name
    frame, prov = read_export(target)
    assert len(frame) == N_POINTS
    assert prov["catalog"] == ui_server.extra["catalog"].name
    assert prov["model"] == "astromer1-macho" and len(prov["model_sha256"]) == 64
    assert prov["umap"] and prov["umap"]["n_neighbors"] >= 2
    assert prov["packages"]["numpy"] and prov["output"] and prov["reduction"]
    if what == "embeddings":
        assert frame["embedding"].iloc[0].dtype.name == "float32"
    shot(dash.page, f"export-{what}-{fmt}")


def test_unavailable_model_is_refused_with_its_reason(ui_server, dash, shot):
    """Failure 1: choosing a Hub model that is not cached keeps it chosen, says why it cannot be used, and
    Embed never computes with another model."""
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    select = dash.page.locator(".lcx-model-select select")
    options = select.locator("option").all_inner_texts()
    unavailable = [o for o in options if o.startswith("astromer2") and "unavailable" in o]
    assert unavailable, f"the model select does not mark astromer2 as unavailable: {options}"
    select.select_option(label=unavailable[0])
    deadline = time.monotonic() + 20
    while not ("astromer2" in dash.status_text() and "unavailable" in dash.status_text()):
        if time.monotonic() > deadline:
            dash.fail("choosing an unavailable model did not say why it cannot be used")
        dash.page.wait_for_timeout(200)  # polling interval of the bounded loop above
    dash.page.locator(".lcx-embed-button button").click()
    deadline = time.monotonic() + 20
    while "computing the map failed" not in dash.status_text():  # Embed is refused, with the reason
        if time.monotonic() > deadline:
            dash.fail("pressing Embed with an unavailable model was not refused with a reason")
        dash.page.wait_for_timeout(200)  # polling interval of the bounded loop above
    shown = select.evaluate("e => e.options[e.selectedIndex].text")
    assert shown == unavailable[0], f"the model select now shows {shown!r}"
    assert "unavailable" in dash.status_text()
    assert "astromer1-macho" in dash.page.locator(".lcx-map-note").first.evaluate(
        "e => (e.shadowRoot || e).textContent"), "the map changed although no model could be used"
    assert "Cannot set the value" not in ui_server.log_tail(200)
    shot(dash.page, "unavailable-model")


def test_map_points_are_painted_in_their_colours(ui_server, dash, shot):
    """The map's points are painted, not only sent (a redrawn map was once left blank by Chromium under
    load): in the class colours, then on the colour scale of a numeric column (whose map once failed
    to render) and back."""
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    assert dash.wait_map_painted() >= 50
    select = dash.page.locator(".lcx-color-select select")
    before = dash.bokeh.js("(L) => L.scatter('lcx-map', 1).plot.model.id")
    select.select_option("n_obs")
    deadline = time.monotonic() + 60
    mapper = None
    while time.monotonic() < deadline:
        if "error" in dash.status_text().lower():
            dash.fail("colouring the map by n_obs reported an error")
        mapper = dash.bokeh.js("""(L, old) => { const s = L.scatter('lcx-map', 1);
            if (!s || s.plot.model.id === old) return null;
            const f = s.renderer.glyph.fill_color;
            return f && f.transform ? f.transform.type || f.transform.constructor.name : null; }""", before)
        if mapper:
            break
        dash.page.wait_for_timeout(250)  # polling interval of this bounded loop
    assert mapper and "ColorMapper" in mapper and "Categorical" not in mapper, mapper
    assert dash.wait_map_painted() >= 50
    shot(dash.page, "map-numeric-colour")
    select.select_option("label")
    dash.wait_map_settled()
    assert dash.wait_map_painted() >= 50
