"""The Explorer viewer without a browser: widgets wired to the state, streams, labels, export, robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.dashboard.export import read_export
from explorer.dashboard.state import ExplorerState, ResultCache

from test_dashboard_state import MODEL, env, make_catalog  # noqa: F401  (env is a fixture)

CSS = ["lcx-map", "lcx-lightcurve", "lcx-neighbours", "lcx-selection-table", "lcx-label-input", "lcx-label-apply",
       "lcx-export", "lcx-embed-button", "lcx-status", "lcx-model-select", "lcx-catalog-select", "lcx-color-select"]


@pytest.fixture(scope="module")
def explorer(env):  # noqa: F811
    from explorer.dashboard.explorer import Explorer

    state = ExplorerState(make_catalog(n=60, seed=3), model=MODEL, embed_cache=ResultCache(),
                          map_cache=ResultCache(), labels_path=env / "view" / "labels.csv")
    ex = Explorer(state=state, autorun=False)
    ex.state.embed()
    ex.state.project("pca")  # the view code is the same for PCA and UMAP maps; PCA keeps this fast
    ex.layout.get_root()  # builds every Bokeh model: the page renders without error
    return ex


def _classes(layout):
    found = set()
    for obj in layout.select(lambda o: True):
        found.update(getattr(obj, "css_classes", []) or [])
    return found


def test_stable_css_classes_exist(explorer):
    assert set(CSS) <= _classes(explorer.layout)


def test_tap_stream_updates_light_curve_and_neighbours(explorer):
    tap, box, lasso = explorer._streams
    xy = explorer.state.map.coords[4]
    tap.event(x=float(xy[0]), y=float(xy[1]))
    assert explorer.state.selected_id == "obj0004"
    assert explorer.lc_pane.object.title.text == "obj0004"
    cards = explorer.neighbours.objects
    assert len(cards) == explorer.state.k_neighbours
    nb = explorer.state.neighbours()
    # clicking a neighbour card's button selects that object
    cards[0].objects[1].clicks += 1
    assert explorer.state.selected_id == nb["object_id"][0]


def test_box_and_lasso_streams_fill_the_selection(explorer):
    tap, box, lasso = explorer._streams
    box.event(bounds=(-1e9, -1e9, 1e9, 1e9))
    n = len(explorer.state.map.index)
    assert len(explorer.selection) == n == len(explorer.selection_table.value)
    assert len(explorer.multiples.objects) == 13  # 12 light curves + "and N more"
    lasso.event(geometry=np.array([[-1e9, -1e9], [1e9, -1e9], [0, 1e9]]))
    assert 0 < len(explorer.selection) <= n


def test_labelling_buttons_and_colour_option(explorer):
    explorer.state.selected_id = "obj0007"
    explorer.label_input.value = "odd one"
    explorer.label_add.clicks += 1
    assert explorer.label_select.value == "odd one"
    explorer.label_apply.clicks += 1
    explorer.state.select_ids(["obj0001", "obj0002"])
    explorer.label_apply_sel.clicks += 1
    labels = explorer.labels
    assert labels["obj0007"] == "odd one" and labels["obj0001"] == "odd one"
    explorer.color_select.value = "user_label"
    assert explorer.state.color_by == "user_label"
    frame = explorer.state.points_frame()
    assert frame.set_index("object_id").loc["obj0007", "user_label"] == "odd one"


def test_exports_carry_provenance(explorer):
    for what in ("labels", "selection", "embeddings", "coordinates"):
        explorer.export_format.value = "parquet" if what == "embeddings" else "csv"
        data = explorer.exports[what].callback().getvalue()
        table, prov = read_export(data)
        assert prov["model"] == MODEL and prov["catalog"] == "synthetic", what
        assert "object_id" in table.columns and len(table) > 0, what


def test_bad_light_curve_shows_a_message(explorer):
    svg = explorer._thumbnail("empty0", title="empty0").object
    assert "no data" in svg or "cannot plot" in svg
    fig = explorer._lc_figure("no-such-object", title="x")
    texts = [str(t) for r in fig.renderers for t in r.data_source.data.get("text", [])]
    assert any("cannot plot no-such-object" in t for t in texts)


def test_switching_back_to_cached_combination_is_automatic(explorer):
    s = explorer.state
    s.project("umap") if s.map.stage != "umap" else None
    runs = s.inference_runs
    explorer.reduction_select.value = "beginning"  # not cached: waits for Embed
    assert "Embed" in s.status and s.inference_runs == runs
    explorer.reduction_select.value = "non-overlapping-windows"  # cached: re-applied at once
    explorer.wait(60)
    assert s.last_embed_cached and s.inference_runs == runs and s.map.stage == "umap"


def test_no_model_shows_how_to_get_one(env, tmp_path, monkeypatch):  # noqa: F811
    from explorer.dashboard.explorer import Explorer

    monkeypatch.setenv("LCEXPLORER_HOME", str(tmp_path / "empty_home"))  # an empty store, no Hub cache
    state = ExplorerState(make_catalog(n=5), embed_cache=ResultCache(), map_cache=ResultCache(),
                          labels_path=tmp_path / "labels.csv")
    ex = Explorer(state=state, autorun=False)
    assert state.model == ""
    assert ex.no_model.visible and not ex.map_pane.visible
    assert "lcexplorer models import ../shared/models/checkpoints/macho.zip --name astromer1-macho" in ex.no_model.object
    ex.objects_table.selection = [2]
    assert state.selected_id == "obj0002" and ex.lc_pane.object.title.text == "obj0002"


def test_large_map_is_datashaded_and_tap_is_fast():
    import time

    from explorer.dashboard import plots
    from explorer.dashboard.spatial import PointIndex

    import holoviews as hv

    rng = np.random.default_rng(0)
    n = 150_000
    xy = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "row": np.arange(n), "object_id": np.arange(n).astype(str),
                          "user_label": "(none)", "color": rng.normal(size=n)})
    element, source = plots.map_element(frame, "numeric", "value")
    assert type(source).__name__ == "DynamicMap"  # rasterised on the server, not 150k glyphs
    # a categorical map is shaded with visible pixels (one category included)
    element, source = plots.map_element(frame.assign(color="(none)"), "categorical", "user_label")
    fig = hv.render(element)
    # hover still names objects: the raster carries a server-side selector (one object per pixel)
    assert any(type(t).__name__ == "HoverTool" for t in fig.tools)
    assert str(source.callback.operation_kwargs["selector"]) == "min('row')"
    images = [r.data_source.data["image"][0] for r in fig.renderers if "image" in r.data_source.data]
    assert images and (np.asarray(images[0]) != 0).sum() > 1000
    # ... drawn in that category's colour (datashader ignores a one-entry colour key)
    rgba = np.asarray(images[0]).astype(np.uint32)
    painted = rgba[rgba != 0]
    rgb = {(int(v) & 0xFF, (int(v) >> 8) & 0xFF, (int(v) >> 16) & 0xFF) for v in painted[:2000]}
    expected = plots.NO_LABEL_COLOUR.lstrip("#")
    assert rgb == {tuple(int(expected[i:i + 2], 16) for i in (0, 2, 4))}
    # taps are resolved on the server: the index finds the true nearest point (timing: bench_dashboard.py)
    idx = PointIndex(xy)
    for q in rng.normal(size=(50, 2)):
        assert idx.nearest(*q) == int(np.argmin(((xy - q) ** 2).sum(axis=1)))
