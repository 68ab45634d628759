"""Shared URLs, escaping and page resources in a real browser against a real ``panel serve app.py``.

The module writes a catalog whose ids look like numbers (``530_3267``, ``007``, ``1e5``) or like HTML
(``<img ... onerror=...>``) into ui_server's data folder, then opens views of it by URL.
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

import pytest

READ_TIMEOUT_MS = 30_000  # reading a pane waits generously: a loaded 2-core machine stalls for seconds

from test_ui_catalogs import long_light_curves

pytestmark = pytest.mark.ui

IDS_CATALOG = "lcx_ids"
EVIL = "<img src=x onerror=window.__xss=1>"
TRICKY = ["530_3267", "007", "1e5", EVIL]


@pytest.fixture(scope="module")
def ids_catalog(ui_data_root):
    """``lcx_ids``: 36 objects, 4 of them with tricky ids, in the allowed data folder."""
    folder = ui_data_root / IDS_CATALOG
    folder.mkdir(parents=True, exist_ok=True)
    lcs, objects = long_light_curves("530", 36, None, seed=31)
    rename = {f"530-{i:04d}": (TRICKY[i] if i < len(TRICKY) else f"530_{1000 + i}") for i in range(36)}
    lcs["object_id"] = lcs["object_id"].map(rename)
    objects["object_id"] = objects["object_id"].map(rename)
    lcs.to_parquet(folder / f"{IDS_CATALOG}.lightcurves.parquet", index=False)
    objects.to_parquet(folder / f"{IDS_CATALOG}.objects.parquet", index=False)
    yield folder
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def wait_for(dash, predicate, what: str, timeout_s: float = 90.0):
    """Poll ``predicate()`` (bounded) until truthy; fails naming ``what`` with the status pane and log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        dash.page.wait_for_timeout(250)  # polling interval of the bounded loop above
    dash.fail(f"{what} within {timeout_s:.0f} s")


def tapped_text(dash) -> str:
    """Text of the tapped-object pane (Panel renders it in a shadow root)."""
    loc = dash.page.locator(".lcx-tapped")
    if not loc.count():
        return ""
    return loc.first.evaluate("e => (e.shadowRoot || e).textContent || ''", timeout=READ_TIMEOUT_MS)


def fed_rings(dash, oid: str) -> bool:
    """True when the light-curve plot of ``oid`` has its "fed to the model" rings."""
    return dash.bokeh.js("""(L, oid) => L.plots().some(p => p.model.title && String(p.model.title.text) === oid
        && p.model.center.some(c => c.items && c.items.some(i => JSON.stringify(i.label).includes('fed to the model'))))""",
                         oid)


@pytest.mark.parametrize("oid", ["530_3267", EVIL])
def test_url_restores_catalog_object_neighbours_and_rings(ui_server, ui_data_root, ids_catalog, dash, shot, oid):
    """Failure 4: catalog, colour, UMAP parameters and the object come from the URL, ids stay strings,
    neighbours and rings appear; an id made of HTML is shown as text and runs nothing."""
    label = f"{ui_data_root.name}/{IDS_CATALOG}"
    query = {"catalog": label, "object": oid, "color": "shape", "n_neighbors": "9", "min_dist": "0.2"}
    dash.server = ui_server
    dash.page.goto(f"{ui_server.url}?{urlencode(query, quote_via=quote)}")
    wait_for(dash, lambda: oid in tapped_text(dash), f"the tapped pane never named {oid!r}")
    assert "5303267" not in tapped_text(dash)
    wait_for(dash, lambda: dash.page.locator(".lcx-neighbour-button").count() == 8, "no 8 neighbour cards")
    wait_for(dash, lambda: fed_rings(dash, oid), f"the light curve of {oid!r} has no 'fed to the model' rings")
    select = dash.page.locator(".lcx-catalog-select select")
    assert select.evaluate("e => e.options[e.selectedIndex].text") == label
    assert dash.page.locator(".lcx-color-select select").input_value() == "shape"
    search = wait_for(dash, lambda: "object=" in dash.page.evaluate("location.search")
                      and dash.page.evaluate("location.search"), "the page URL never carried the view")
    assert "catalog=" in search and "n_neighbors=9" in search
    dash.show_tab("Objects")  # the tables show ids too
    dash.page.locator(".lcx-objects-table .tabulator-row").first.wait_for(timeout=20_000)
    assert dash.page.evaluate("window.__xss === undefined"), "an object id ran as HTML"
    shot(dash.page, f"url-restore-{'html-id' if oid == EVIL else oid}")


def test_page_requests_nothing_from_other_hosts(ui_server, dash, shot):
    """Failure 5: every script, stylesheet and font comes from the Panel server itself (works offline)."""
    requests = []
    dash.page.on("request", lambda req: requests.append(req.url))
    dash.open(ui_server)
    dash.wait_map(150)
    foreign = sorted({u for u in requests if not u.startswith(ui_server.base) and not u.startswith(("data:", "blob:"))
                      and not u.startswith(ui_server.base.replace("http", "ws"))})
    assert not foreign, f"the page asked other hosts for: {foreign}"
    shot(dash.page, "offline-resources")
