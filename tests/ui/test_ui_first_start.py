"""First start: ``panel serve app.py`` with no catalog chosen shows a populated map of the default catalog."""

from __future__ import annotations

import pytest

from explorer.catalog import load_catalog

pytestmark = pytest.mark.ui


def test_default_first_start_shows_map(ui_server_default, dash, shot, monkeypatch):
    from explorer.dashboard.sources import default_catalog

    monkeypatch.delenv("LCEXPLORER_CATALOG", raising=False)
    path = default_catalog()
    assert path, "the app has no default catalog (sample_catalogs/ is empty and no data folder is found)"
    catalog = load_catalog(path)
    expected = int((~catalog.objects["empty"]).sum())
    dash.open(ui_server_default)
    n = dash.wait_map(max(1, int(0.9 * expected)), timeout=180_000)
    assert n <= len(catalog)
    assert dash.page.locator(".lcx-tapped").count() == 1  # the light-curve side is there, waiting for a tap
    shot(dash.page, "first-start")
