"""Every widget shows the state that produced it (issue 21), in Chromium against ``panel serve app.py``:
Cancel puts back the last complete map, the period field never reads NaN, "Clear filters" empties the
filter box, the hover preview forgets the previous catalog, the label-guided tick says what changes, the
Compare tab offers its choice first, counts follow the filters, an empty fine-tune name is said (not
logged as a traceback), and the map is the largest thing on the page.

Screenshots in test-artifacts/screenshots/truth-*.png.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from uitext import READ_TIMEOUT_MS, pane_text, wait_for, wait_text

pytestmark = pytest.mark.ui

N_POINTS = 150  # objects of the small UI catalog (conftest.SMALL_N_OBJECTS)


def input_value(page, css: str) -> str:
    """The value of the first <input> inside ``.css``."""
    return page.locator(f".{css} input").first.input_value(timeout=READ_TIMEOUT_MS)


def ready(dash, server) -> None:
    dash.open(server)
    dash.wait_map(N_POINTS)
    wait_text(dash, "lcx-status", "Map ready", timeout_s=240)


CANCEL_N_OBJECTS = 1200  # a UMAP of this many lasts seconds on a quiet machine: Cancel lands in its run


def test_cancel_puts_back_the_last_complete_map(ui_server, ui_data_root, catalog_writer, dash, shot):
    # a catalog of its own, large enough that a UMAP run outlasts the click on a quiet machine (on the
    # 150-object catalog a whole map took 1.4 s: once every try ended before Cancel reached it)
    catalog_writer(ui_data_root / "ui_cancel", n_objects=CANCEL_N_OBJECTS, seed=11)
    ready(dash, ui_server)
    page = dash.page
    label = next(o for o in page.locator(".lcx-catalog-select select option").all_inner_texts()
                 if o.endswith("ui_cancel"))
    page.locator(".lcx-catalog-select select").select_option(label=label)
    wait_text(dash, "lcx-status", f"{CANCEL_N_OBJECTS} of {CANCEL_N_OBJECTS} objects mapped", timeout_s=300)
    # each try asks for a map not computed yet (the distance first: no features to compute); a try whose
    # UMAP ends before the click lands is retried with the next
    tries = [("lcx-metric-select", "cosine")]
    reductions = page.locator(".lcx-reduction-select select option").all_inner_texts()
    current = page.locator(".lcx-reduction-select select").first.evaluate("s => s.options[s.selectedIndex].text")
    metric = "cosine"
    for other in [r for r in reductions if r != current][:2]:
        metric = "euclidean" if metric == "cosine" else "cosine"
        tries += [("lcx-reduction-select", other), ("lcx-metric-select", metric)]
    tries += [("lcx-representation-select", "hybrid: embedding + features")]
    status = ""
    for css, option in tries:
        # the complete map on screen before this try: what a cancel must put back
        before_note = wait_text(dash, "lcx-map-note", "UMAP of")
        before_quality = pane_text(page, "lcx-quality")
        old = pane_text(page, "lcx-status")
        page.locator(f".{css} select").first.select_option(label=option)
        said = wait_for(dash, lambda: (lambda t: t if t != old and ("Press Embed" in t or "Computing" in t
                                                                    or "Map ready" in t) else "")(
            pane_text(page, "lcx-status")), "the choice was not taken up", 60)
        if "Press Embed" in said:  # not computed yet (a combination in memory is shown at once)
            page.locator(".lcx-embed-button button").first.click()
        seen = wait_for(dash, lambda: (lambda t: t if "PCA preview shown" in t or "Map ready" in t else "")(
            pane_text(page, "lcx-status")), "the run never showed its preview", 240, 50)
        if "PCA preview shown" not in seen:
            continue  # finished before the click could land: the next try asks for another map
        try:
            page.locator(".lcx-cancel-button button").first.click(timeout=5_000)
        except Exception:  # noqa: BLE001  the run ended meanwhile (Cancel disabled): next try
            continue
        status = wait_for(dash, lambda: (lambda t: t if "cancelled" in t or "Map ready" in t else "")(
            pane_text(page, "lcx-status")), "the run neither ended nor was cancelled", 240)
        if "cancelled" in status:
            break
    shot(page, "truth-cancelled")
    assert "cancelled" in status, f"every try finished before Cancel reached it: {status!r}"
    assert "previous complete map is shown" in status, status
    note = wait_text(dash, "lcx-map-note", "UMAP of")
    assert "PCA preview" not in note and note.split(" Tap:")[0] == before_note.split(" Tap:")[0], (note, before_note)
    assert pane_text(page, "lcx-quality") == before_quality  # the figures of the map on screen, not of another


def test_period_field_shows_the_period_in_use_never_nan(ui_server, dash, shot):
    ready(dash, ui_server)
    page = dash.page
    dash.tap(dash.isolated_point())
    page.locator(".lcx-fold input").first.check()
    page.locator(".lcx-period-search button").first.click()
    wait_text(dash, "lcx-status", "Lomb-Scargle period of")
    searched = input_value(page, "lcx-period")
    assert searched and float(searched) > 0
    assert "Lomb-Scargle" in pane_text(page, "lcx-tapped")
    button = page.locator(".lcx-neighbour-button button").first
    button.wait_for(timeout=60_000)
    neighbour = button.inner_text().split()[0]
    button.click()
    page.locator(".lcx-tapped").get_by_text(neighbour).first.wait_for(timeout=30_000)
    value = wait_for(dash, lambda: (lambda v: v if v != searched else "")(input_value(page, "lcx-period")) or
                     ("(empty)" if input_value(page, "lcx-period") == "" else ""), "the period field kept the "
                     "previous object's period")
    shot(page, "truth-period")
    assert "nan" not in value.lower(), f"the period field reads {value!r}"
    # the small catalog has no period column: the field is empty and the header says so
    assert value == "(empty)" and "no period known" in pane_text(page, "lcx-tapped")


def test_clear_filters_empties_the_filter_box(ui_server, dash, shot):
    ready(dash, ui_server)
    page = dash.page
    box = page.locator(".lcx-filter input").first
    box.fill("label == 'constant'")
    box.press("Enter")
    wait_text(dash, "lcx-filter-note", "pass")
    # the legend counts follow the filter: "constant (75 of 75)", "RRL-like (0 of 75)"
    legend = wait_for(dash, lambda: (lambda t: t if " of " in t else "")(pane_text(page, "lcx-legend")),
                      "the legend counts never followed the filter")
    assert re.search(r"RRL-like \(0 of 75\)", legend) and re.search(r"constant \(75 of 75\)", legend), legend
    page.locator(".lcx-filter-clear button").first.click()
    wait_text(dash, "lcx-filter-note", "No filter")
    shot(page, "truth-filters-cleared")
    assert box.input_value() == "", "Clear filters left the condition in the filter box"
    # the legend is another pane: its update may come a few event-loop turns after the note's
    wait_for(dash, lambda: " of " not in pane_text(page, "lcx-legend"), "the legend kept the filter's counts")


def test_selection_count_is_shown(ui_server, dash, shot):
    ready(dash, ui_server)
    assert "No selection" in pane_text(dash.page, "lcx-selected-count")
    dash.activate_tool("BoxSelectTool")
    inside = dash.drag_box()
    text = wait_text(dash, "lcx-selected-count", "selected")
    shot(dash.page, "truth-selection-count")
    n = int(text.split()[0])
    assert 0 < n <= N_POINTS and abs(n - inside) <= 2, (text, inside)


def test_filter_placeholder_comes_from_the_open_catalog(ui_server, dash):
    ready(dash, ui_server)
    placeholder = dash.page.locator(".lcx-filter input").first.get_attribute("placeholder")
    assert "RRL-like" in placeholder or "constant" in placeholder, placeholder
    assert "RRL'" not in placeholder.replace("RRL-like'", "") and "CEP" not in placeholder, placeholder


def test_label_guided_tick_says_what_changes(ui_server, dash):
    ready(dash, ui_server)
    dash.page.locator(".lcx-guided input").first.check()
    status = wait_for(dash, lambda: (lambda t: t if "guid" in t.lower() else "")(pane_text(dash.page, "lcx-status")),
                      "ticking the label-guided map said nothing about label guidance")
    if "Press Embed" in status:
        wanted, shown = status.split("; the map shows ")
        assert "guided by your labels" in wanted and wanted.replace("Press Embed to compute ", "") != shown, status
    else:
        assert "label a few objects" in status, status
    dash.page.locator(".lcx-guided input").first.uncheck()


def test_compare_tab_offers_the_choice_before_computing(ui_server, dash, shot):
    ready(dash, ui_server)
    page = dash.page
    dash.show_tab("Compare")
    chooser = page.locator(".lcx-compare-representation select").first
    chooser.wait_for(timeout=30_000)
    assert page.locator(".lcx-compare-model select").first.is_visible()
    chooser.select_option(label="model embedding")
    page.locator(".lcx-compare-start button").first.click()
    status = wait_text(dash, "lcx-compare-status", "Map ready", timeout_s=240)
    shot(page, "truth-compare")
    assert "light_curve features" not in status, f"the second map ignored the choice: {status!r}"


def test_hover_preview_forgets_the_previous_catalog(ui_server, dash, shot, tmp_path):
    ready(dash, ui_server)
    page = dash.page
    point = dash.isolated_point()
    dash.scroll_map_into_view()
    for _ in range(5):  # bounded: the pointer must rest on the point for the server to resolve it
        page.mouse.move(point["sx"] + 3, point["sy"] + 3)
        page.mouse.move(point["sx"], point["sy"], steps=3)
        try:
            page.locator(".lcx-hover-text").get_by_text(point["object_id"]).first.wait_for(timeout=5_000)
            break
        except Exception:  # noqa: BLE001  moved during a redraw: move again
            continue
    assert point["object_id"] in pane_text(page, "lcx-hover-text")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"object_id": np.repeat([f"h{i:02d}" for i in range(12)], 40),
                          "time": np.tile(np.linspace(50000, 50100, 40), 12),
                          "mag": rng.normal(17, 0.2, 480), "mag_err": 0.02})
    path = tmp_path / "hover_switch.csv"
    frame.to_csv(path, index=False)
    page.mouse.move(5, 5)
    page.locator(".lcx-catalog-upload input[type=file]").set_input_files(str(path))
    wait_text(dash, "lcx-status", "12 of 12 objects", timeout_s=180)
    text = wait_for(dash, lambda: (lambda t: t if point["object_id"] not in t else "")(
        pane_text(page, "lcx-hover-text")), "the hover pane still shows the previous catalog's object")
    shot(page, "truth-hover-after-switch")
    assert "Hover over the map" in text


def test_an_empty_fine_tune_name_is_said_not_logged(ui_server, dash):
    ready(dash, ui_server)
    page = dash.page
    dash.show_tab("Fine-tune")
    page.locator(".lcx-finetune-name input").first.fill("")
    before = len(dash.server.log_tail(1_000_000))
    page.locator(".lcx-finetune button").first.click()
    wait_text(dash, "lcx-status", "type a name for the fine-tuned model")
    written = dash.server.log_tail(1_000_000)[before:]
    assert "Traceback" not in written, written[-2000:]


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_the_map_is_the_largest_thing_on_the_page(ui_server, dash, shot, width, height):
    dash.page.set_viewport_size({"width": width, "height": height})
    ready(dash, ui_server)
    dash.tap(dash.isolated_point())
    dash.bokeh.wait("(L) => L.plots('lcx-lightcurve', true).length > 0", timeout=20_000)
    dash.page.locator(".lcx-neighbour-button").first.wait_for(timeout=60_000)
    areas = dash.bokeh.js("""(L) => {
        const area = el => { const r = el.getBoundingClientRect();
                             return {w: r.width, h: r.height, a: r.width * r.height}; };
        const out = {map: area(L.plots('lcx-map', true)[0].el), curve: area(L.plots('lcx-lightcurve', true)[0].el)};
        const nb = document.querySelector('.lcx-neighbours');
        out.neighbours = nb ? area(nb) : {w: 0, h: 0, a: 0};
        return out; }""")
    shot(dash.page, f"truth-map-area-{width}x{height}")
    assert areas["map"]["a"] > areas["curve"]["a"] and areas["map"]["a"] > areas["neighbours"]["a"], areas
    assert areas["map"]["w"] >= 500 and areas["map"]["h"] >= 500, areas


def test_a_huge_number_in_the_url_is_refused_and_the_page_builds(ui_server, dash, shot):
    dash.server = ui_server
    dash.page.goto(ui_server.url + "?n_neighbors=" + "9" * 5000 + "&min_dist=0.2")
    dash.bokeh.wait("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    status = wait_text(dash, "lcx-status", "Not applied from the shared link", timeout_s=240)
    assert "n_neighbors" in status and "9" * 20 not in status, status  # named by its key, the value not echoed
    wait_for(dash, lambda: dash.bokeh.js("(L) => { const s = L.scatter('lcx-map', 1); return s ? s.n : 0; }")
             >= N_POINTS, "the map never appeared after the refused value", timeout_s=240)
    wait_for(dash, lambda: "min_dist=0.2" in dash.page.url and "9" * 50 not in dash.page.url,
             "the page's URL was not rewritten from the state")
    shot(dash.page, "truth-huge-url-number")


@pytest.fixture(scope="module")
def first_look_server(panel_server_factory, app_path, ui_home, ui_data_root):
    """The small catalog served with a first look for catalogs above 100 objects (default: 1,000)."""
    catalog = ui_data_root / "ui_small"
    return panel_server_factory(app_path, {"LCEXPLORER_HOME": ui_home, "LCEXPLORER_CATALOG": catalog,
                                           "LCEXPLORER_DATA_DIRS": ui_data_root,
                                           "LCEXPLORER_FIRST_LOOK_ABOVE": 100,
                                           # the first look takes in the objects of every batch of the model
                                           "LCEXPLORER_FIRST_LOOK_GROW_S": 0}, catalog=catalog)


def test_points_appear_before_the_whole_catalog_is_embedded(first_look_server, dash, shot, tmp_path):
    dash.open(first_look_server)
    dash.wait_map(N_POINTS)
    page = dash.page
    # every text the map note takes from now on (it changes faster than any polling)
    # every text the map note takes from now on (it changes faster than any polling), with the sizes of
    # the map point sources in the page at that moment (the points are written before the note; a map
    # figure being replaced may still be listed)
    page.evaluate("""() => { window.__noteLog = [];
        const points = () => { const n = [];
          for (const d of Bokeh.documents) for (const x of d.all_models)
            if (x.data !== undefined && typeof x.get_length === 'function' && x.data.object_id && x.data.row
                && x.data.x) n.push(x.get_length());
          return n; };
        for (const doc of Bokeh.documents) for (const m of doc.all_models)
          if ((m.css_classes || []).includes('lcx-map-note') && m.properties && m.properties.text)
            m.properties.text.change.connect(() => window.__noteLog.push([String(m.text).slice(0, 300), points()])); }""")
    rng = np.random.default_rng(9)
    n = 160
    t = np.tile(np.linspace(50000, 50300, 50), n)
    frame = pd.DataFrame({"object_id": np.repeat([f"fl{i:03d}" for i in range(n)], 50), "time": t,
                          "mag": 17 + 0.3 * np.sin(t / rng.uniform(0.3, 3, n).repeat(50)), "mag_err": 0.02})
    path = tmp_path / "first_look.csv"
    frame.to_csv(path, index=False)
    page.locator(".lcx-catalog-upload input[type=file]").set_input_files(str(path))
    wait_text(dash, "lcx-status", f"{n} of {n} objects mapped", timeout_s=240)
    log = page.evaluate("() => window.__noteLog")
    notes = [t for t, _ in log]
    shot(page, "truth-first-look")
    first = next((i for i, t in enumerate(notes) if "First look" in t and f"of {n} objects embedded" in t), None)
    final = next((i for i, t in enumerate(notes) if f"UMAP of {n} objects" in t), None)
    assert first is not None and final is not None and first < final, notes
    # the first look fills while the rest is embedded: more points on the map, each growth said in its note
    def counted(text):
        found = re.search(r"(\d+) of \d+ objects embedded", text)
        return int(found.group(1)) if found else None

    summary = [(counted(t), "placed beside" in t, "UMAP of" in t, shown) for t, shown in log]
    # the points on the map are the ones the note counts (the note's text may reach the page just before
    # the points it counts: seen at that moment or at the next change)
    grown = [(counted(t), shown + (log[i + 1][1] if i + 1 < len(log) else []))
             for i, (t, shown) in enumerate(log) if first < i < final and "placed beside their nearest" in t]
    sample = counted(notes[first])
    assert grown and any(sample < k < n for k, _ in grown), summary
    assert all(k in shown for k, shown in grown), summary


def write_sky_catalog(folder, n: int = 60):
    """A small catalog with RA/Dec spread over the sky (two classes)."""
    rng = np.random.default_rng(21)
    folder.mkdir(parents=True, exist_ok=True)
    rows, objects = [], []
    for i in range(n):
        oid = f"sky-{i:03d}"
        t = np.sort(rng.uniform(50000, 50400, 60))
        periodic = i % 2 == 0
        mag = 16 + (0.5 * np.sin(2 * np.pi * t / rng.uniform(0.3, 0.9)) if periodic else 0) + rng.normal(0, 0.03, 60)
        rows.append(pd.DataFrame({"object_id": oid, "time": t, "mag": mag, "mag_err": 0.03}))
        objects.append({"object_id": oid, "label": "pulsating" if periodic else "flat",
                        "ra": rng.uniform(0, 360), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1)))})
    pd.concat(rows).to_parquet(folder / f"{folder.name}.lightcurves.parquet", index=False)
    pd.DataFrame(objects).to_parquet(folder / f"{folder.name}.objects.parquet", index=False)


def test_the_sky_and_the_map_share_taps_and_selections(ui_server, ui_data_root, dash, shot):
    write_sky_catalog(ui_data_root / "ui_sky")
    ready(dash, ui_server)
    page = dash.page
    label = next(o for o in page.locator(".lcx-catalog-select select option").all_inner_texts() if o.endswith("ui_sky"))
    page.locator(".lcx-catalog-select select").select_option(label=label)
    wait_text(dash, "lcx-status", "60 of 60 objects mapped", timeout_s=240)
    dash.show_tab("Sky")
    n_sky = wait_for(dash, lambda: dash.bokeh.js(
        "(L) => { const s = L.scatter('lcx-sky-map', 60); return s ? s.n : 0; }"), "no sky map with 60 points")
    assert n_sky == 60
    # a tap on the sky taps the object on the map
    for _ in range(4):  # bounded: a click landing during a re-layout is lost
        point = dash.bokeh.js("""(L) => { const s = L.scatter('lcx-sky-map', 60);
            s.plot.el.scrollIntoView({block: 'center'});
            const d = s.source.data; const i = 7; const p = L.screenOf(s.plot, d.x[i], d.y[i]);
            return {x: p.x, y: p.y, id: String(d.object_id[i]), on: L.onPlot(s.plot, p.x, p.y)}; }""")
        if point["on"]:
            page.mouse.click(point["x"], point["y"])
            try:
                page.locator(".lcx-tapped").get_by_text(point["id"]).first.wait_for(timeout=10_000)
                break
            except Exception:  # noqa: BLE001  click again
                continue
        page.wait_for_timeout(500)  # the tab is still laying out: bounded retry
    assert point["id"] in pane_text(page, "lcx-tapped"), "a tap on the sky did not tap the object"
    shot(page, "truth-sky-tap")
    # a box on the map selects on the sky
    dash.activate_tool("BoxSelectTool")
    dash.drag_box()
    text = wait_text(dash, "lcx-selected-count", "selected")
    n_selected = int(text.split()[0])
    on_sky = wait_for(dash, lambda: dash.bokeh.js("""(L) => { for (const p of L.plots('lcx-sky-map', true))
        for (const r of p.model.renderers) if (r.name === 'lcx-selection-marks') return r.data_source.get_length();
        return 0; }"""), "the selection never showed on the sky")
    dash.show_tab("Sky")
    shot(page, "truth-sky-selection")
    assert on_sky == n_selected > 0
