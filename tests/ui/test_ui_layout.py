"""Layout on laptop and desktop screens: nothing clipped, map and light curve side by side, both whole.

Screenshots: test-artifacts/screenshots/layout-<width>x<height>.png.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui

N_POINTS = 150


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_no_pane_is_clipped(ui_server, dash, shot, width, height):
    dash.page.set_viewport_size({"width": width, "height": height})
    dash.open(ui_server)
    dash.wait_map(N_POINTS)
    dash.tap(dash.isolated_point())
    dash.bokeh.wait("(L) => L.plots('lcx-lightcurve', true).length > 0", timeout=20_000)
    boxes = dash.bokeh.js("""(L) => {
        const out = {};
        for (const cls of ['lcx-map', 'lcx-lightcurve']) {
          out[cls] = L.plots(cls, true).map(p => {
            const r = p.el.getBoundingClientRect();
            return {left: r.left, right: r.right, width: r.width};
          });
        }
        out.page = {inner: window.innerWidth, scroll: document.documentElement.scrollWidth};
        return out; }""")
    shot(dash.page, f"layout-{width}x{height}")
    inner = boxes["page"]["inner"]
    assert boxes["page"]["scroll"] <= inner + 1, f"the page scrolls sideways at {width} px: {boxes['page']}"
    for cls in ("lcx-map", "lcx-lightcurve"):
        assert boxes[cls], f"no {cls} plot on the page"
        for box in boxes[cls]:
            assert box["left"] >= 0 and box["right"] <= inner + 1, f"{cls} is cut off at {width} px: {box}"
            assert box["width"] >= 300, f"{cls} is squeezed to {box['width']:.0f} px at {width} px"
    # the map and the light curve share the row: the map is not pushed below the light curve
    assert boxes["lcx-map"][0]["right"] <= boxes["lcx-lightcurve"][0]["left"] + 1
    # the find / filter bar above the map stays in the map's column (at 1366 px it once ran under the
    # light curve's fold checkbox)
    for css in ("lcx-search", "lcx-filter", "lcx-filter-clear"):
        box = dash.page.locator(f".{css}").first.bounding_box()
        assert box is not None, f"no .{css} on the page"
        assert box["x"] + box["width"] <= boxes["lcx-lightcurve"][0]["left"] + 1, f".{css} runs into the light curve"
