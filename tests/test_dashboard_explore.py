"""Exploring without a browser: filters, search, linked charts, hover, neighbour lines, two linked maps.

Real catalog, real stand-in ONNX model, real PCA/UMAP maps, real Bokeh models of the panes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.dashboard.filters import FilterError, QueryFilter, column_summary, is_skewed
from explorer.dashboard.state import ExplorerState, ResultCache

from test_dashboard_state import MODEL, env, make_catalog  # noqa: F401  (env is a fixture)


@pytest.fixture(scope="module")
def explorer(env):  # noqa: F811
    from explorer.dashboard.explorer import Explorer

    state = ExplorerState(make_catalog(n=90, seed=5), model=MODEL, embed_cache=ResultCache(), map_cache=ResultCache(),
                          labels_path=env / "explore" / "labels.csv")
    ex = Explorer(state=state, autorun=False)
    state.embed()
    state.project("pca")
    ex.layout.get_root()  # every Bokeh model is built
    return ex


@pytest.fixture(autouse=True)
def _no_filters(explorer):
    explorer.state.clear_filters()
    explorer.state.clear_selection()
    yield


# ---------------------------------------------------------------------------- the query grammar
def test_query_grammar_is_closed_and_vectorised():
    cols = {"period": np.array([0.5, 30.0, np.nan]), "label": np.array(["RRL", "CEP", "RRL"], dtype=object),
            "mean mag": np.array([17.0, 18.5, 19.0])}
    assert QueryFilter("period > 1").mask(cols).tolist() == [False, True, False]  # NaN never passes
    assert QueryFilter("label = 'RRL' and not period < 1").mask(cols).tolist() == [False, False, True]
    assert QueryFilter("label in ['CEP'] or `mean mag` >= 19").mask(cols).tolist() == [False, True, True]
    assert QueryFilter("0.1 < period <= 30").mask(cols).tolist() == [True, True, False]
    for evil in ("__import__('os').system('true')", "period.__class__", "[c for c in label]", "period + 1"):
        with pytest.raises(FilterError):
            QueryFilter(evil).mask(cols)
    with pytest.raises(FilterError, match="unknown column.*'nope'"):
        QueryFilter("nope > 1").mask(cols)
    with pytest.raises(FilterError, match="cannot read the filter"):
        QueryFilter("period >")


def test_column_summary_counts_match_pandas():
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], 500)
    pick = rng.random(500) < 0.3
    frame = column_summary(labels, "categorical", pick)
    ref = pd.Series(labels).value_counts()
    assert dict(zip(frame["category"], frame["total"])) == ref.to_dict()
    assert dict(zip(frame["category"], frame["picked"])) == pd.Series(labels[pick]).value_counts().to_dict()
    period = 10 ** rng.uniform(-0.7, 2.8, 500)
    hist = column_summary(period, "numeric", pick, bins=20, log=True)
    assert hist["total"].sum() == 500 and hist["picked"].sum() == pick.sum()
    assert np.allclose(hist["right"] / hist["left"], hist["right"].iloc[0] / hist["left"].iloc[0])  # log bins
    assert is_skewed(period) and not is_skewed(rng.normal(17, 1, 500))


# ---------------------------------------------------------------------------- filters on the state and the view
def test_filter_greys_the_map_and_filters_table_and_charts(explorer):
    s = explorer.state
    ref = s.catalog.objects["label"].eq("short") & (s.catalog.objects["period"] < 0.6)
    assert explorer.filter("label == 'short' and period < 0.6") == int(ref.sum())
    np.testing.assert_array_equal(s.filter_mask, ref.to_numpy())
    frame = s.points_frame()
    np.testing.assert_array_equal(frame["passes"].to_numpy(), ref.to_numpy()[frame["row"].to_numpy()])
    assert "pass the filters" in explorer.map.note.object
    from explorer.dashboard.plots import FILTERED

    shown = explorer.map.map_pane.object[()]  # the points the map draws now (its DynamicMap evaluated)
    greyed = shown.data.set_index("object_id")["color"].astype(str) == FILTERED
    np.testing.assert_array_equal(greyed.reindex(frame["object_id"]).to_numpy(), ~frame["passes"].to_numpy())
    assert set(explorer.objects.table.value["object_id"]) == set(s.catalog.objects["object_id"][ref])
    chart = explorer.summaries.charts["label"]
    data = dict(zip(chart.source.data["category"], chart.source.data["picked"]))
    assert data == {"short": int(ref.sum()), "long": 0, "noise": 0}
    assert f"{int(ref.sum())} of {len(s.catalog)} highlighted" in chart.figure.title.text
    # a box over the whole map selects only the objects that pass (greyed points are not picked)
    xy = s.map.coords[np.isfinite(s.map.coords).all(axis=1)]
    ids = s.select_box(*(xy.min(axis=0) - 1), *(xy.max(axis=0) + 1))
    valid = s.map.index.valid_rows
    assert ids and set(ids) == set(s.catalog.object_ids[valid][ref.to_numpy()[valid]])
    explorer.filter("")
    assert s.filter_mask is None and len(explorer.objects.table.value) == len(s.catalog)


def test_bar_click_and_brush_cross_filter(explorer):
    s = explorer.state
    chart = explorer.summaries.charts["label"]
    chart.source.selected.indices = [chart.categories.index("long")]  # what a click on the bar sends
    assert s.filters.categories == {"label": frozenset({"long"})}
    assert s.filter_mask.sum() == (s.catalog.objects["label"] == "long").sum()
    assert chart.source.selected.indices == []  # ready for the next click
    period = explorer.summaries.charts["period"]
    from bokeh.events import SelectionGeometry

    period._on_brush(SelectionGeometry(period.figure, geometry={"type": "rect", "x0": 20.0, "x1": 40.0}, final=True))
    expected = (s.catalog.objects["label"] == "long") & s.catalog.objects["period"].between(20, 40)
    np.testing.assert_array_equal(s.filter_mask, expected.to_numpy())
    picked = explorer.summaries.charts["label"].source.data["picked"]
    assert int(np.sum(picked)) == int(expected.sum())  # the other chart follows
    chart.source.selected.indices = [chart.categories.index("long")]  # a second click drops the category
    assert "label" not in s.filters.categories
    period._on_clear(None)
    assert s.filter_mask is None and "No filter" in s.status  # the status no longer counts an old filter


def test_charts_are_drawn_in_the_figures_already_on_the_page(explorer):
    """Another choice of columns reuses the charts' figures (the same column's, else one of the same kind and
    axis, retitled; the rest hidden) and another order is each chart's CSS order: the grid's children change
    only for a new figure, since each change makes Bokeh walk the whole document (400-1,100 ms at an upload)."""
    from explorer.dashboard.panes.summaries import SummariesPane

    s = explorer.state
    before = (list(s.summary_columns), list(s.log_columns))
    try:
        s.log_columns = []
        s.summary_columns = ["label", "period"]
        pane = SummariesPane(state=s)  # its first charts: these two
        views, period_figure = list(pane.grid.objects), pane.charts["period"].figure
        assert pane.shown_order() == ["label", "period"]
        s.summary_columns = ["label", "amp_rank"]
        assert list(pane.grid.objects) == views  # no new figure, no new grid
        chart = pane.charts["amp_rank"]
        assert chart.figure is period_figure and chart.figure.title.text.startswith("amp_rank: ")
        values = s.catalog.objects["amp_rank"].dropna()
        assert int(np.sum(chart.source.data["total"])) == len(values)  # its own counts, not period's
        assert chart.source.data["right"][-1] >= values.max()
        s.summary_columns = ["label"]
        assert list(pane.grid.objects) == views and list(pane.charts) == ["label"]
        assert [v.visible for v in views] == [True, False]  # the spare is hidden, not removed
        s.summary_columns = ["n_obs", "label"]  # another order: drawn by the charts' order, same children
        assert list(pane.grid.objects) == views and [v.visible for v in views] == [True, True]
        assert list(pane.charts) == ["n_obs", "label"] and pane.shown_order() == ["n_obs", "label"]
        assert pane.charts["n_obs"].view.styles["order"] == "0" and pane.charts["label"].view.styles["order"] == "1"
        assert pane.charts["n_obs"].figure is period_figure  # still the same figure
        s.summary_columns = ["label", "period", "amp_rank"]  # one more than the page has: a new figure
        assert len(pane.grid.objects) == 3 and all(v.visible for v in pane.grid.objects)
        assert list(pane.grid.objects[:2]) == views  # added after the others, placed by its order
        assert pane.shown_order() == ["label", "period", "amp_rank"]
        assert {c: pane.charts[c].figure.title.text.split(":")[0] for c in pane.charts} == \
            {"label": "label", "period": "period", "amp_rank": "amp_rank"}
    finally:
        s.log_columns, s.summary_columns = before[1], before[0]


def test_selection_highlights_in_charts_and_bad_filter_is_named(explorer):
    s = explorer.state
    ids = list(s.catalog.objects["object_id"][:10])
    explorer.select(ids)
    assert s.selection_ids == ids
    chart = explorer.summaries.charts["label"]
    assert int(np.sum(chart.source.data["picked"])) == 10
    before = s.filter_mask
    s.filter("nonsense_column > 3")
    assert "nonsense_column" in s.status and s.filter_mask is before  # refused, named, nothing changed


def test_find_taps_an_object_by_id(explorer):
    s = explorer.state
    assert explorer.find_object("obj0007") == ["obj0007"] and s.selected_id == "obj0007"
    found = explorer.find_object("OBJ001")  # part of an id, any case
    assert found[0] == "obj0010" and s.selected_id == "obj0010" and len(found) == 10
    assert "10 match" in explorer.find.found.object
    assert explorer.find_object("no-such") == [] and "No object id contains" in s.status


def test_hover_preview_and_neighbour_lines(explorer):
    s = explorer.state
    x, y = s.map.coords[12]
    assert s.hover_at(float(x), float(y)) == "obj0012"
    assert "<svg" in explorer.hover.picture.object and "obj0012" in explorer.hover.text.object
    explorer.hover.fields.value = ["period"]  # the preview shows the fields chosen
    assert "period:" in explorer.hover.text.object and "label:" not in explorer.hover.text.object
    far = s.map.coords[np.isfinite(s.map.coords).all(axis=1)].max(axis=0) + 100
    assert s.hover_at(*far) == ""  # nothing under the pointer far from every point
    # neighbour lines: one segment per neighbour, from the tapped object to each neighbour's position
    from explorer.dashboard import plots
    from bokeh.plotting import figure

    fig = figure()
    explorer.map._marks = []
    explorer.map._add_marks(type("P", (), {"state": fig})(), None)
    s.selected_id = "obj0003"
    lines = explorer.map._marks[0][0].data
    nb = s.neighbours()
    assert len(lines["x1"]) == len(nb) == s.k_neighbours
    np.testing.assert_allclose(lines["x0"], s.map.coords[3, 0])
    np.testing.assert_allclose(np.sort(lines["x1"]), np.sort(s.map.coords[nb["row"].to_numpy(), 0]))
    assert plots  # the module the layer helpers live in


# ---------------------------------------------------------------------------- two linked maps
def test_compare_view_links_tap_selection_filters_and_labels(explorer):
    s = explorer.state
    twin = explorer.compare("features")
    assert twin.wait(300)
    assert twin.map is not None and twin.representation == "features" and twin.catalog is s.catalog
    # a selection made in the second map shows in the first (and back)
    xy = twin.map.coords[np.isfinite(twin.map.coords).all(axis=1)]
    lo, hi = np.percentile(xy, 25, axis=0), np.percentile(xy, 75, axis=0)
    picked = twin.select_box(lo[0], lo[1], hi[0], hi[1])
    assert picked and s.selection_ids == picked
    s.selected_id = "obj0005"
    assert twin.selected_id == "obj0005"
    # filters and colours follow the main map
    s.filter("label == 'noise'")
    np.testing.assert_array_equal(twin.filter_mask, s.filter_mask)
    assert not twin.points_frame()["passes"].all()
    s.color_by = "period"
    assert twin.color_by == "period"
    # labels given in the main map colour the second one
    s.add_label("odd")
    s.label_choice = "odd"
    s.assign_label("odd", target="tapped")
    assert twin.labels.get("obj0005") == "odd"
    # both maps are rated
    explorer.compare_pane.refresh()
    assert explorer.compare_pane.twin_quality.object.startswith("Second map")


def test_dashboard_opens_a_scale_out_job_folder_without_recomputing(explorer, tmp_path):
    """What a cluster job wrote (part files + map file) is shown as is; objects it lacks are named."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.scale import MAP_FILE

    s = explorer.state
    ids = s.catalog.object_ids.astype(str)
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(len(ids), 6)).astype(np.float32)
    kept = ids[:-3]  # the job lacks the last three objects
    for k, part in enumerate(np.array_split(np.arange(len(kept)), 3)):
        emb = pa.FixedSizeListArray.from_arrays(pa.array(vectors[part].ravel()), 6)
        pq.write_table(pa.table({"object_id": kept[part], "embedding": emb, "partition": [k] * len(part)}),
                       tmp_path / f"part-{k:05d}.parquet")
    xy = rng.normal(size=(len(kept), 2))
    pd.DataFrame({"object_id": kept, "x": xy[:, 0], "y": xy[:, 1]}).to_parquet(tmp_path / MAP_FILE)
    runs = s.inference_runs
    lacking = explorer.open_embeddings(tmp_path)
    assert lacking == list(ids[-3:]) and s.inference_runs == runs  # nothing recomputed
    np.testing.assert_allclose(s.map.coords[: len(kept)], xy, rtol=1e-6)
    assert np.isnan(s.map.coords[-3:]).all() and "3 objects" in s.status and ids[-1] in s.status
    np.testing.assert_array_equal(s.embedding.matrix[:5], vectors[:5])
