"""Representations in a real browser: a features map rated beside the map, the label-guided map, and the
suggestion workflow (label a few objects, suggest, accept one), against a real ``panel serve app.py``."""

from __future__ import annotations

import pandas as pd
import pytest

from uitext import wait_text


N_POINTS = 150  # objects of the small UI catalog (conftest.SMALL_N_OBJECTS)
pytestmark = pytest.mark.ui


def tap_object(dash, oid: str, tries: int = 4) -> None:
    """Click ``oid`` on the map until the tapped pane names it (bounded: the map may be re-rendering
    after a label change when the first click lands)."""
    for _ in range(tries):
        dash.scroll_map_into_view()
        point = dash.point_of(oid)
        if point and point.get("visible", True):
            dash.page.mouse.click(point["sx"], point["sy"])
            try:
                dash.page.locator(".lcx-tapped").get_by_text(oid).first.wait_for(timeout=10_000)
                return
            except Exception:  # noqa: BLE001  clicked during a re-render: click again
                pass
        dash.page.wait_for_timeout(500)  # let the re-render finish before the next bounded try
    dash.fail(f"tapping {oid} never showed it ({tries} clicks)")


def open_with(dash, server, query: str) -> None:
    dash.server = server
    dash.page.goto(server.url + query)
    dash.bokeh.wait("() => window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)


def test_features_map_is_rated_and_suggestions_are_accepted(ui_server, dash, shot, ui_data_root):
    open_with(dash, ui_server, "?rep=features&rate=label")
    dash.wait_map(N_POINTS, timeout=240_000)
    # the shared view is restored as one job: wait for its map, not an earlier one of the session
    wait_text(dash, "lcx-status", "mapped with light_curve features", timeout_s=240)
    quality = wait_text(dash, "lcx-quality", "kNN5 full")
    assert "trustworthiness@10" in quality and "2 classes" in quality
    shot(dash.page, "features-map-rated")

    # objects of each class labelled by tapping them, then suggestions for the others, one accepted
    dash.show_tab("Suggestions")
    dash.scroll_map_into_view()  # the tabs sit below the map: opening one may scroll the map away
    # the three most isolated points of each catalog class (colour = label), labelled "mine-<class>"
    picks = dash.bokeh.js("""(L) => {
        const s = L.scatter('lcx-map', 1), d = s.source.data, n = s.n, pts = [];
        for (let i = 0; i < n; i++) { const p = L.screenOf(s.plot, d.x[i], d.y[i]); pts.push([p.x, p.y]); }
        const gap = pts.map((p, i) => Math.min(...pts.map((q, j) => j === i ? Infinity
                                                            : Math.hypot(p[0] - q[0], p[1] - q[1]))));
        const byClass = {};
        for (let i = 0; i < n; i++) { const c = String(d.color[i]).replace(/ \\([0-9,]+\\)$/, '');  // legend count
          if (!L.onPlot(s.plot, pts[i][0], pts[i][1])) continue;
          (byClass[c] = byClass[c] || []).push([gap[i], String(d.object_id[i])]); }
        const out = [];
        for (const c in byClass) byClass[c].sort((a, b) => b[0] - a[0]).slice(0, 3).forEach(x => out.push([x[1], c]));
        return out; }""")
    assert len(picks) == 6, picks
    tapped = {}
    added = set()
    for oid, cls in picks:
        label = f"mine-{cls}"
        if label not in added:
            dash.page.locator(".lcx-label-input input").first.fill(label)
            dash.page.locator(".lcx-label-add button").first.click()
            added.add(label)
        else:
            dash.page.locator(".lcx-label-select select").first.select_option(label)
        tap_object(dash, oid)
        dash.page.locator(".lcx-label-apply button").first.click()
        wait_text(dash, "lcx-status", f"Label '{label}' given to 1 object")
        tapped[oid] = label
    dash.page.locator(".lcx-suggest button").first.click()
    wait_text(dash, "lcx-status", "label suggestions")
    card_button = dash.page.locator(".lcx-accept-suggestion button").first
    card_button.wait_for(timeout=30_000)
    shot(dash.page, "suggestions-gallery")
    card_button.click()
    wait_text(dash, "lcx-status", "Accepted 1 suggested label")
    labels = pd.read_csv(next((ui_data_root / "ui_small").glob("*.labels.csv")), dtype=str)
    assert set(tapped) <= set(labels["object_id"])
    assert (labels.set_index("object_id").loc[list(tapped), "origin"] == "manual").all()
    assert (labels["origin"] == "suggested").sum() >= 1
    assert "RuntimeError" not in dash.server.log_tail(400), dash.server.log_tail(60)
