"""The UI harness itself, checked on a tiny throwaway Panel app (independent of the dashboard)."""

from __future__ import annotations

import textwrap

import pytest

MINI_APP = textwrap.dedent('''
    import numpy as np
    import panel as pn
    from bokeh.models import ColumnDataSource, TapTool
    from bokeh.plotting import figure

    rng = np.random.default_rng(0)
    src = ColumnDataSource({"x": rng.normal(size=500), "y": rng.normal(size=500),
                            "object_id": [f"o{i}" for i in range(500)]})
    fig = figure(width=500, height=400, tools="tap,box_select,reset", css_classes=["lcx-map"])
    fig.scatter("x", "y", source=src, size=8)
    status = pn.pane.Markdown("nothing selected", css_classes=["lcx-status"])

    def on_select(attr, old, new):
        status.object = f"selected {len(new)}: " + ", ".join(src.data["object_id"][i] for i in new[:3])

    src.selected.on_change("indices", on_select)
    pn.Column(pn.pane.Bokeh(fig), status).servable()
''')


@pytest.fixture(scope="module")
def mini_server(panel_server_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mini_app")
    app = folder / "mini_app.py"
    app.write_text(MINI_APP)
    return panel_server_factory(app, {"LCEXPLORER_HOME": folder})


def test_harness_serves_and_reads_bokeh(mini_server, page, bokeh, shot):
    page.goto(mini_server.url)
    n = bokeh.wait("(L) => L.scatter('lcx-map', 500) && L.scatter('lcx-map', 500).n", what="scatter")
    assert n == 500
    assert bokeh.js("(L) => L.maxRows()") >= 500
    # click on point 0 through the plot's scales: the server sees the selection
    x, y = bokeh.js("(L) => { const s = L.scatter('lcx-map', 500); return [s.source.data.x[0], s.source.data.y[0]]; }")
    pos = bokeh.js("(L, a) => L.screenOf(L.scatter('lcx-map', 500).plot, a[0], a[1])", [x, y])
    page.mouse.click(pos["x"], pos["y"])
    page.locator(".lcx-status").get_by_text("o0").wait_for(timeout=15_000)
    shot(page, "harness-tap")
    assert bokeh.js("(L) => L.plots('lcx-map', true).length") == 1
