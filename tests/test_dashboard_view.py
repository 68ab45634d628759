"""The Explorer page and its panes without a browser: widgets from the state, streams, labels, export, robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.dashboard.export import read_export
from explorer.dashboard.state import ExplorerState, ResultCache
from explorer.errors import ExplorerError

from test_dashboard_state import MODEL, env, make_catalog  # noqa: F401  (env is a fixture)

CSS = ["lcx-map", "lcx-lightcurve", "lcx-neighbours", "lcx-selection-table", "lcx-label-input", "lcx-label-apply",
       "lcx-export", "lcx-embed-button", "lcx-status", "lcx-model-select", "lcx-catalog-select", "lcx-color-select",
       "lcx-tapped", "lcx-objects-table", "lcx-label-select", "lcx-bands-select", "lcx-reduction-select"]


def new_state(env, n=60, seed=3, name="labels.csv", catalog=None):  # noqa: F811
    return ExplorerState(catalog if catalog is not None else make_catalog(n=n, seed=seed), model=MODEL,
                         embed_cache=ResultCache(), map_cache=ResultCache(), labels_path=env / "view" / name)


@pytest.fixture(scope="module")
def explorer(env):  # noqa: F811
    from explorer.dashboard.explorer import Explorer

    ex = Explorer(state=new_state(env), autorun=False)
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


def test_widgets_are_made_from_state_parameters(explorer):
    s, c = explorer.state, explorer.controls
    c.reduction_select.value = "end"
    assert s.reduction == "end"
    s.reduction = "non-overlapping-windows"
    assert c.reduction_select.value == "non-overlapping-windows"
    # the state updates the options: outputs follow the model kind, colours follow the catalog
    assert list(c.output_select.options) == s.output_options() == ["mean", "max"]
    assert "empty" not in explorer.map.color_select.options and "label" in explorer.map.color_select.options
    assert new_state(explorer.state.labelling.labels_path.parent.parent, n=5).color_by == "label"  # a class column first


def test_tap_stream_updates_light_curve_and_neighbours(explorer):
    tap, box, lasso, _hover = explorer.map._streams
    xy = explorer.state.map.coords[4]
    tap.event(x=float(xy[0]), y=float(xy[1]))
    assert explorer.state.selected_id == "obj0004"
    assert explorer.lightcurve.lc_pane.object.title.text == "obj0004"
    cards = explorer.neighbours.cards.objects
    assert len(cards) == explorer.state.k_neighbours
    nb = explorer.state.neighbours()
    cards[0].objects[1].clicks += 1  # clicking a neighbour card's button selects that object
    assert explorer.state.selected_id == nb["object_id"][0]


def test_box_and_lasso_streams_fill_the_selection(explorer):
    tap, box, lasso, _hover = explorer.map._streams
    box.event(bounds=(-1e9, -1e9, 1e9, 1e9))
    n = len(explorer.state.map.index)
    assert len(explorer.selection) == n == len(explorer.selection_pane.table.value)
    assert len(explorer.selection_pane.multiples.objects) == 13  # 12 light curves + "and N more"
    lasso.event(geometry=np.array([[-1e9, -1e9], [1e9, -1e9], [0, 1e9]]))
    assert 0 < len(explorer.selection) <= n


def test_labelling_buttons_and_colour_option(explorer):
    lp = explorer.labels_pane
    explorer.state.selected_id = "obj0007"
    lp.label_input.value = "odd one"
    lp.label_add.clicks += 1
    assert lp.label_select.value == "odd one" and lp.label_input.value == ""
    lp.label_apply.clicks += 1
    explorer.state.select_ids(["obj0001", "obj0002"])
    lp.label_apply_sel.clicks += 1
    labels = explorer.labels
    assert labels["obj0007"] == "odd one" and labels["obj0001"] == "odd one"
    assert "odd one" in explorer.lightcurve.tapped.object  # the header follows the label at once
    explorer.map.color_select.value = "user_label"
    assert explorer.state.color_by == "user_label"
    frame = explorer.state.points_frame()
    assert frame.set_index("object_id").loc["obj0007", "user_label"] == "odd one"


def test_empty_label_is_refused_and_says_why(env):  # noqa: F811
    """Failure 2: with no label chosen (e.g. after a catalog switch), labelling applies nothing and says so."""
    from explorer.dashboard.explorer import Explorer

    ex = Explorer(state=new_state(env, n=8, name="empty-label.csv"), autorun=False)
    s = ex.state
    s.selected_id = "obj0001"
    s.labelling.param.label_choice.objects = []
    s.label_choice = None  # what a blank chooser holds
    ex.labels_pane.label_apply.clicks += 1
    assert pd.isna(s.labels["obj0001"])
    assert "no label chosen" in s.status and s.alert[0] >= 1
    ex.labels_pane.label_add.clicks += 1  # nothing typed
    assert "no label typed" in s.status
    with pytest.raises(ExplorerError, match="no label chosen"):
        s.assign_label("   ")
    # after opening a catalog the chooser shows the label set and holds one of its labels
    s.open_catalog(make_catalog(n=5, seed=9))
    assert s.label_choice in s.labelling.param.label_choice.objects and ex.labels_pane.label_select.value == s.label_choice


def test_exports_carry_provenance_and_no_internal_columns(explorer):
    explorer.state.select_ids(["obj0001", "obj0002"])
    for what in ("labels", "selection", "embeddings", "coordinates"):
        explorer.export.fmt = "parquet" if what == "embeddings" else "csv"
        data = explorer.export.exports[what].callback().getvalue()
        table, prov = read_export(data)
        assert prov["model"] == MODEL and prov["catalog"] == "synthetic", what
        assert "object_id" in table.columns and len(table) > 0, what
        assert "empty" not in table.columns, what
    assert "empty" not in explorer.objects.table.value.columns


def test_bad_light_curve_shows_a_message(explorer):
    from explorer.dashboard.panes.neighbours import thumbnail

    svg = thumbnail(explorer.state, "empty0", title="empty0").object
    assert "no data" in svg or "cannot plot" in svg
    fig = explorer.lightcurve.figure("no-such-object")
    texts = [str(t) for r in fig.renderers for t in r.data_source.data.get("text", [])]
    assert any("cannot plot no-such-object" in t for t in texts)


def test_switching_back_to_cached_combination_is_automatic(explorer):
    s = explorer.state
    s.project("umap")
    runs = s.inference_runs
    explorer.controls.reduction_select.value = "beginning"  # not cached: waits for Embed
    assert "Press Embed" in s.status and s.inference_runs == runs
    explorer.controls.reduction_select.value = "non-overlapping-windows"  # cached: re-applied at once
    assert explorer.wait(60)
    assert s.last_embed_cached and s.inference_runs == runs and s.map.stage == "umap"


def test_no_model_shows_how_to_get_one(env, tmp_path, monkeypatch):  # noqa: F811
    from explorer.dashboard.explorer import Explorer

    monkeypatch.setenv("LCEXPLORER_HOME", str(tmp_path / "empty_home"))  # an empty store, no Hub cache
    state = ExplorerState(make_catalog(n=5), embed_cache=ResultCache(), map_cache=ResultCache(),
                          labels_path=tmp_path / "labels.csv")
    ex = Explorer(state=state, autorun=False)
    assert not state.model
    assert ex.map.no_model.visible and not ex.map.map_pane.visible
    assert "lcexplorer models import ../shared/models/checkpoints/macho.zip --name astromer1-macho" in ex.map.no_model.object
    ex.objects.table.selection = [2]
    assert state.selected_id == "obj0002" and ex.lightcurve.lc_pane.object.title.text == "obj0002"
    # a map that needs no model (a given embedding) is shown all the same
    state.use_embedding(np.random.default_rng(0).normal(size=(len(state.catalog), 4)).astype(np.float32))
    assert ex.map.map_pane.visible and not ex.map.no_model.visible and "Map of" in ex.map.note.object


def test_unavailable_model_is_marked_and_refused_never_replaced(env):  # noqa: F811
    """Failure 1: choosing a Hub model that is not cached says why and never embeds with another model."""
    from explorer.dashboard.explorer import Explorer

    ex = Explorer(state=new_state(env, n=12, name="unavailable.csv"), autorun=False)
    s = ex.state
    options = ex.controls.model_select.options
    unavailable = [name for label, name in options.items() if label.endswith("unavailable")]
    assert "astromer2" in unavailable and f"{MODEL} [store]" in options  # listed, marked, choosable
    runs = s.inference_runs
    ex.controls.model_select.value = "astromer2"
    assert s.model == "astromer2" and ex.controls.model_select.value == "astromer2"  # the chooser tells the truth
    assert "astromer2" in s.status and "unavailable" in s.status and s.alert[0] >= 1
    assert s.start() is False and "unavailable" in s.status
    ex.controls.embed_button.clicks += 1
    assert s.wait(30) and s.inference_runs == runs and s.map is None  # nothing was embedded with another model
    with pytest.raises(ExplorerError, match="astromer2"):
        s.run()
    assert "unavailable" in ex.map.note.object


def test_text_from_data_is_never_html(env):  # noqa: F811
    """Object ids, labels and column names reach the page as text panes or escaped HTML only."""
    from explorer.catalog import Catalog
    from explorer.dashboard.explorer import Explorer

    evil = "<img src=x onerror=alert(1)>"
    rng = np.random.default_rng(0)
    ids = np.repeat([evil, "b&b", "c"], 50)
    cat = Catalog.from_long(ids, np.tile(np.arange(50.0), 3), rng.normal(17, 0.2, 150), np.full(150, 0.05),
                            objects=pd.DataFrame({"object_id": [evil, "b&b", "c"], evil: ["x", "y", "z"]}), name=evil)
    ex = Explorer(state=new_state(env, catalog=cat, name="evil.csv"), autorun=False)
    ex.state.selected_id = evil
    ex.state.add_label(evil)
    ex.state.assign_label(evil)
    from html import unescape

    assert evil in ex.lightcurve.tapped.object
    for pane in (ex.lightcurve.tapped, ex.controls.status, ex.map.note):
        # what the browser renders: the transported HTML, un-escaped once (as Panel's HTML model does)
        rendered = unescape(pane._transform_object(pane.object)["object"])
        assert "<img" not in rendered, rendered


def test_light_curve_does_not_take_the_mouse_wheel(explorer):
    """Wheel zoom is active only on the map: scrolling the page over the light curve scrolls the page."""
    import holoviews as hv

    explorer.state.selected_id = "obj0004"
    fig = explorer.lightcurve.lc_pane.object
    assert fig.toolbar.active_scroll is None
    assert any(type(t).__name__ == "WheelZoomTool" for t in fig.tools)  # offered, not active
    plot = hv.render(explorer.map.map_pane.object)
    assert type(plot.toolbar.active_scroll).__name__ == "WheelZoomTool"


def test_large_map_is_datashaded_and_tap_is_fast():
    from explorer.dashboard import plots
    from explorer.dashboard.spatial import PointIndex

    import holoviews as hv

    rng = np.random.default_rng(0)
    n = 150_000
    xy = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "row": np.arange(n), "object_id": np.arange(n).astype(str),
                          "user_label": "(none)", "color": rng.normal(size=n)})
    assert plots.DATASHADE_ABOVE < 100_000  # 100k glyphs are never handed to the browser
    element, source, _ = plots.map_element(frame, "numeric", "value")
    assert type(source).__name__ == "DynamicMap"  # rasterised on the server, not 150k glyphs
    # a categorical map is shaded with visible pixels (one category included)
    element, source, _ = plots.map_element(frame.assign(color="(none)"), "categorical", "user_label")
    fig = hv.render(element)
    # objects under the pointer are named by the server-side hover preview (PointerXY), not a raster tooltip
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


def test_a_growing_map_keeps_its_colours_and_its_figure():
    """The colour scale comes from every catalog object: a first look whose sample lacks a class (or the
    extremes of a column) takes the rest of the catalog in place, each class keeping its colour."""
    from explorer.dashboard import plots

    rng = np.random.default_rng(5)
    classes = np.array(["EB"] * 200 + ["RRab"] * 90 + ["rare"] * 3 + ["(none)"] * 7, dtype=object)
    values = rng.normal(size=len(classes))

    def frame(rows, colour):
        return pd.DataFrame({"x": rng.normal(size=len(rows)), "y": rng.normal(size=len(rows)), "row": rows,
                             "object_id": rows.astype(str), "user_label": "(none)", "color": colour[rows]})

    first, everything = np.arange(100), np.arange(len(classes))  # the first 100: no "rare", no "(none)"
    for kind, colour in (("categorical", classes), ("numeric", values)):
        grown = plots.MapPoints(frame(first, colour), kind, domain=colour)
        assert grown.update(frame(everything, colour)), kind
        # the frame's own scale cannot: a new class, or values outside the first limits
        assert not plots.MapPoints(frame(first, colour), kind).update(frame(everything, colour)), kind
    first_cmap = plots.MapPoints(frame(first, classes), "categorical", domain=classes).cmap
    assert first_cmap == plots.MapPoints(frame(everything, classes), "categorical", domain=classes).cmap
    # the legend names each class with the colour the map uses, counting the objects on the map
    legend = plots.legend_html(classes[first], "label", cmap=first_cmap)
    assert "rare (0)" in legend and "EB (100)" in legend and first_cmap["rare"] in legend


def test_a_growing_first_look_sends_only_its_new_points(env):  # noqa: F811
    """A first look that takes in more objects writes only the new points into the figure on the page (a
    stream of its source: each step once re-sent all of its 3,000 points, 0.3-0.5 s of the served event
    loop under load); the points already there keep their place and their values, and unchanged selection
    and tapped marks are not sent again.  Another map of the same objects still replaces them all."""
    from dataclasses import replace

    import panel as pn
    from bokeh.document import Document
    from bokeh.document.events import ColumnDataChangedEvent, ColumnsStreamedEvent, ModelChangedEvent

    from explorer.dashboard.panes.map import MapPane
    from explorer.dashboard.spatial import PointIndex

    s = new_state(env, n=60, seed=19, name="grow.csv")
    s.refresh_models()
    s.embed()
    full = s.project("pca")

    def look(on_map):
        coords = full.coords.copy()
        coords[~on_map] = np.nan
        return replace(full, coords=coords, index=PointIndex(coords), stage="sample")

    rows = np.arange(len(full.coords))
    s.pipeline._out(map=look(rows % 2 == 0))  # the sample: every other object
    pane = MapPane(state=s)
    doc = Document()
    doc.add_root(pn.panel(pane).get_root(doc))
    fig = pane._figs[0]
    renderer, x_first, _ = _map_points(fig)
    source = renderer.data_source
    first_rows = list(source.data["row"])
    events = []
    doc.on_change(lambda event: events.append(event))
    s.pipeline._out(map=look((rows % 2 == 0) | (rows < 20)))  # the odd rows below 20 join it
    assert pane._figs == [fig], "a new figure was built for a growing first look"
    added = sorted(set(rows[(rows % 2 == 1) & (rows < 20)]) & set(s.pipeline.map.index.valid_rows))
    streamed = [e for e in events if isinstance(e, ColumnsStreamedEvent) and e.model is source]
    replaced = [e for e in events if isinstance(e, (ColumnDataChangedEvent, ModelChangedEvent))
                and e.model is source]
    assert len(streamed) == 1 and not replaced, f"the points were sent again: {events}"
    assert sorted(streamed[0].data["row"]) == added, "not exactly the new points were sent"
    assert list(source.data["row"]) == first_rows + list(streamed[0].data["row"]), "the points on screen moved"
    on_screen = np.asarray(source.data["row"])
    np.testing.assert_allclose(source.data["x"], s.pipeline.map.coords[on_screen, 0])
    marks = [e for e in events if getattr(e, "model", None) in {m for ms in pane._marks for m in ms[1:]}]
    assert not marks, f"unchanged selection / tapped marks were sent again: {marks}"
    events.clear()
    moved = full.coords + 1.0
    s.pipeline._out(map=replace(full, coords=moved, index=PointIndex(moved)))  # the final map: every point moves
    assert any(isinstance(e, (ColumnDataChangedEvent, ModelChangedEvent)) and e.model is source for e in events)
    on_screen = np.asarray(source.data["row"])
    assert sorted(on_screen) == list(full.index.valid_rows)
    np.testing.assert_allclose(source.data["x"], moved[on_screen, 0])


def test_status_tells_the_truth_while_the_map_is_computed(env):  # noqa: F811
    """Failure 5: while the first embedding runs the map says it is being computed, never "Press Embed"."""
    from explorer.dashboard.explorer import Explorer

    ex = Explorer(state=new_state(env, n=40, seed=11, name="truth.csv"), autorun=False)
    s = ex.state
    assert "press Embed" in ex.map.note.object and not ex.controls.embed_button.disabled
    assert s.start()
    assert s.jobs.busy and ex.controls.embed_button.disabled
    assert ex.map.note.object.startswith("Computing the map"), ex.map.note.object
    assert s.wait(120)
    assert ex.map.note.object.startswith("UMAP of 40 objects") and not ex.controls.embed_button.disabled
    assert "Map ready" in ex.controls.status.object


def _map_points(fig):
    """The map's point layer in a Bokeh figure: (renderer, x, y)."""
    for r in fig.renderers:
        data = getattr(r.data_source, "data", {})
        if "object_id" in data and "row" in data:
            return r, np.asarray(data["x"], float), np.asarray(data["y"], float)
    raise AssertionError("no point layer in the map figure")


def test_pca_to_umap_moves_the_points_in_place(env):  # noqa: F811
    """The UMAP map replaces the PCA preview in the figure already drawn (a new figure under load was
    sometimes left unpainted by Chromium); a colour column of another kind still builds a new figure."""
    import panel as pn

    from explorer.dashboard.panes.map import MapPane

    s = new_state(env, n=80, seed=11, name="move.csv")
    s.refresh_models()
    s.embed()
    pca = s.project("pca")
    pane = MapPane(state=s)
    pn.panel(pane).get_root()
    fig, holo = pane._figs[0], pane.map_pane
    _, x_pca, _ = _map_points(fig)
    rows = pca.index.valid_rows
    np.testing.assert_allclose(x_pca, pca.coords[rows, 0])
    s.selected_id = str(s.catalog.object_ids[rows[0]])
    umap = s.project("umap")
    pane.refresh()
    assert pane.map_pane is holo and pane._figs == [fig], "a new figure was built for the same objects"
    _, x, y = _map_points(fig)
    np.testing.assert_allclose(x, umap.coords[rows, 0])
    np.testing.assert_allclose(y, umap.coords[rows, 1])
    assert fig.x_range.start < x.min() and fig.x_range.end > x.max(), "the axes do not show the new map"
    assert fig.y_range.start < y.min() and fig.y_range.end > y.max()
    tapped = pane._marks[0][2].data  # (neighbour lines, selection, tapped)
    np.testing.assert_allclose([tapped["x"][0], tapped["y"][0]], umap.coords[rows[0]])
    assert "UMAP of 80 objects" in pane.note.object
    numeric = next(c for c in s.display.param.color_by.objects if c not in ("user_label", "label"))
    s.color_by = numeric
    pane.refresh()
    assert pane.map_pane is not holo and pane._figs and pane._figs[0] is not fig


def _pca_map_by_label(env, seed: int, name: str):
    """A state with its PCA map coloured by label, drawn by a map pane: (state, pane, figure, point layer,
    colour mapper)."""
    import panel as pn

    from explorer.dashboard.panes.map import MapPane

    s = new_state(env, n=60, seed=seed, name=name)
    s.refresh_models()
    s.embed()
    s.project("pca")
    s.color_by = "label"
    pane = MapPane(state=s)
    pn.panel(pane).get_root()
    fig = pane._figs[0]
    renderer, _, _ = _map_points(fig)
    return s, pane, fig, renderer, renderer.glyph.fill_color["transform"]


def test_a_catalog_switch_draws_into_the_figure_on_screen(env):  # noqa: F811
    """Another catalog coloured the same way is written into the figure already on the page (a new figure
    held the served event loop up to 0.9 s under load): emptied while the new catalog has no map, then its
    points on its own colour scale, which a filter redrawn by HoloViews keeps."""
    import panel as pn

    from explorer.catalog.core import Catalog

    s, pane, fig, renderer, mapper = _pca_map_by_label(env, seed=14, name="switch.csv")
    holo = pane.map_pane
    assert {"short", "long", "noise"} <= set(mapper.factors)

    other = make_catalog(n=45, seed=15)
    objects = other.objects.assign(label=other.objects["label"].map({"short": "EB", "long": "RRab", "noise": "LPV"}))
    other = Catalog(objects, other.time, other.value, other.error, other.band, other.bands, other.offsets,
                    value_kind=other.value_kind, name="switched")
    s.open_catalog(other)
    assert pane.map_pane is holo and pane._figs == [fig], "a new figure was built for an empty map"
    assert len(_map_points(fig)[1]) == 0, "the previous catalog's points stayed on the map"
    s.embed()
    view = s.project("pca")
    assert pane.map_pane is holo and pane._figs == [fig], "a new figure was built for the new catalog"
    _, x, y = _map_points(fig)
    rows = view.index.valid_rows
    np.testing.assert_allclose(x, view.coords[rows, 0])
    assert fig.x_range.start < x.min() and fig.x_range.end > x.max(), "the axes do not show the new map"
    want = dict(pane._points.cmap)
    assert {"EB", "RRab", "LPV"} <= set(want) and not {"short", "long"} & set(want)
    assert dict(zip(mapper.factors, mapper.palette)) == want, "the colour mapper kept the old classes"
    assert set(renderer.data_source.data["color"]) <= set(want)
    pn.panel(pane).get_root()  # drawn again, as a dynamic tab reopened: the points of now, not HoloViews' cache
    _, x_again, _ = _map_points(pane._figs[-1])
    np.testing.assert_allclose(x_again, view.coords[rows, 0])
    assert s.filter("label == 'EB'") is not None  # HoloViews redraws the points: the new scale stays
    assert dict(zip(mapper.factors, mapper.palette)) == want
    assert "(filtered out)" in set(renderer.data_source.data["color"])
    assert "EB" in pane.legend.object and "short" not in pane.legend.object


def test_a_map_not_drawn_yet_follows_a_switch_in_place(env):  # noqa: F811
    """A map pane nothing has drawn yet (the sky's tab never opened) takes another catalog's points without a
    new HoloViews pane (one per switch held the served event loop 0.4-0.9 s under load); drawn later, its
    figure shows the new catalog on the new catalog's colour scale."""
    import panel as pn

    from explorer.catalog.core import Catalog
    from explorer.dashboard.panes.map import MapPane

    s = new_state(env, n=60, seed=17, name="undrawn.csv")
    s.refresh_models()
    s.embed()
    s.project("pca")
    s.color_by = "label"
    pane = MapPane(state=s)
    holo = pane.map_pane
    assert not pane._figs, "the pane was drawn"
    other = make_catalog(n=45, seed=18)
    objects = other.objects.assign(label=other.objects["label"].map({"short": "EB", "long": "RRab", "noise": "LPV"}))
    other = Catalog(objects, other.time, other.value, other.error, other.band, other.bands, other.offsets,
                    value_kind=other.value_kind, name="undrawn-other")
    s.open_catalog(other)
    assert pane.map_pane is holo, "a new pane was built to empty a map nobody has drawn"
    s.embed()
    view = s.project("pca")
    assert pane.map_pane is holo, "a new pane was built for a map nobody has drawn"
    pn.panel(pane).get_root()  # the tab is opened
    renderer, x, _ = _map_points(pane._figs[0])
    np.testing.assert_allclose(x, view.coords[view.index.valid_rows, 0])
    mapper = renderer.glyph.fill_color["transform"]
    assert {"EB", "RRab", "LPV"} <= set(mapper.factors) and not {"short", "long"} & set(mapper.factors), \
        f"the figure drawn later has the previous catalog's colours: {mapper.factors}"
    assert set(renderer.data_source.data["color"]) <= set(mapper.factors)


def test_another_colouring_is_drawn_into_the_figure_on_screen(env):  # noqa: F811
    """Colouring by another column of the same kind writes its scale and its name (hover tool) into the
    figure on screen and keeps the zoom (a new figure held the served event loop 360 ms and more); a filter
    redrawn by HoloViews keeps both; a column of another kind gets a figure of its own."""
    from bokeh.models import ColorBar, HoverTool

    s, pane, fig, renderer, mapper = _pca_map_by_label(env, seed=17, name="recolour.csv")
    holo = pane.map_pane
    assert len(fig.select(HoverTool)) == 1
    hover = fig.select_one(HoverTool)
    assert hover.tooltips[-1] == ("label", "@color")
    fig.x_range.update(start=-0.5, end=0.5)  # the user's zoom
    s.selected_id = str(s.catalog.object_ids[0])
    s.labelling.add_label("picked")
    s.assign_label("picked")
    s.color_by = "user_label"
    assert pane.map_pane is holo and pane._figs == [fig], "a new figure was built for another colouring"
    assert hover.tooltips[-1] == ("user_label", "@color")
    want = dict(pane._points.cmap)
    assert "picked" in want and not {"short", "long"} & set(want)
    assert dict(zip(mapper.factors, mapper.palette)) == want, "the colour mapper kept the old column's classes"
    colours = renderer.data_source.data["color"]
    assert colours.count("picked") == 1 and set(colours) <= set(want)
    assert (fig.x_range.start, fig.x_range.end) == (-0.5, 0.5), "another colouring reset the zoom"
    assert "picked" in pane.legend.object and "short" not in pane.legend.object
    assert s.filter("label == 'short'") is not None  # HoloViews redraws the points: name and scale stay
    assert hover.tooltips[-1] == ("user_label", "@color")
    assert dict(zip(mapper.factors, mapper.palette)) == want
    s.filter("")
    s.log_columns = []  # linear numbers below: one kind of scale
    s.color_by = "period"  # numbers: another kind of scale, its own figure
    numeric = pane._figs[-1]
    assert numeric is not fig and numeric.select_one(HoverTool).tooltips[-1] == ("period", "@color")
    assert [bar.title for bar in numeric.select(ColorBar)] == ["period"]
    s.color_by = "amp_rank"  # numbers again: the same figure, its colour bar renamed
    assert pane._figs[-1] is numeric and [bar.title for bar in numeric.select(ColorBar)] == ["amp_rank"]
    assert numeric.select_one(HoverTool).tooltips[-1] == ("amp_rank", "@color")


def test_the_selection_table_follows_a_moving_map_only_when_something_is_selected(env):  # noqa: F811
    """A map that moves (a first look growing, PCA -> UMAP) or a label added refills the selection table only
    when objects are selected, and then with their new x and y; the thumbnails stay (they depend on the objects)."""
    import panel as pn

    from explorer.dashboard.panes.selection import SelectionPane

    s = new_state(env, n=50, seed=16, name="selmove.csv")
    s.refresh_models()
    s.embed()
    s.project("pca")
    pane = SelectionPane(state=s)
    pn.panel(pane).get_root()
    empty = pane.table.value
    s.project("umap")
    assert pane.table.value is empty, "the table was refilled for a map change with nothing selected"
    version = s.labels_version
    s.labelling.add_label("looked-at")  # a label added (a round trip the user waits for) with nothing selected
    assert s.labels_version > version and pane.table.value is empty, "the empty table was refilled for a label"
    s.selection_ids = [str(i) for i in s.catalog.object_ids[:3]]
    thumbs = list(pane.multiples.objects)
    assert len(thumbs) == 3
    view = s.project("pca")
    np.testing.assert_allclose(pane.table.value["x"], view.coords[:3, 0])
    assert list(pane.multiples.objects) == thumbs, "the thumbnails were drawn again for a map change"


def test_a_pane_update_never_reads_a_half_switched_catalog(env):  # noqa: F811
    """A pane update asked from another thread while a catalog switch is under way (a job thread switches,
    the served event loop updates the panes) runs once the switch has ended: it sees the new catalog with
    choices of the new catalog.  It once ran in the middle and coloured the new catalog by the previous
    one's column ("cannot colour by 'label': not a metadata column of the objects table of 'lcx_beta'")."""
    import sys
    import threading
    import time

    from explorer.catalog.core import Catalog
    from explorer.dashboard.parts.display import color_options_of

    s, pane, *_ = _pca_map_by_label(env, seed=21, name="halfswitch.csv")
    other = make_catalog(n=40, seed=22)
    beta = Catalog(other.objects.drop(columns=["label"]), other.time, other.value, other.error, other.band,
                   other.bands, other.offsets, value_kind=other.value_kind, name="beta")
    seen, ran, asked = [], threading.Event(), []

    def update():  # what a queued pane update does: draw, and read the state it drew from
        pane.refresh()
        seen.append((s.catalog.name, s.color_by, s.status))
        ran.set()

    def mid_switch(*_):  # on the switching thread, once the new catalog is set and before the parts follow it
        if asked:
            return
        reader = threading.Thread(target=pane._call("test", pane.guarded, "updating MapPane", update), daemon=True)
        asked.append(reader)
        reader.start()
        # until the update has run (what the old code did, mid-switch) or waits for the switch to end
        deadline = time.monotonic() + 60
        while not ran.is_set() and time.monotonic() < deadline:
            frame = sys._current_frames().get(reader.ident)
            if frame is not None and frame.f_code.co_name == "_steadily":  # blocked taking the switch lock
                break
            time.sleep(0.005)  # polling interval of this bounded loop

    s.session.param.watch(mid_switch, ["catalog"])
    switcher = threading.Thread(target=s.open_catalog, args=(beta,), daemon=True)
    switcher.start()
    switcher.join(60)
    assert not switcher.is_alive(), "the catalog switch did not end"
    asked[0].join(60)
    assert seen, "the pane update never ran"
    name, colour, status = seen[0]
    assert name == "beta" and colour in color_options_of(beta), \
        f"a pane update read the catalog {name!r} coloured by {colour!r}: a half-switched state"
    assert "Error" not in status, status


def test_a_served_update_asked_during_a_switch_is_deferred_not_waited_for(env):  # noqa: F811
    """On the served event loop a pane update never waits for a catalog switch (a wait held every tab 250 ms
    under load): asked while the switch runs on another thread, it is refused at once and asked again when
    the switch has ended, then sees the new catalog with its own choices."""
    import threading

    from explorer.dashboard.parts.display import color_options_of

    s = new_state(env, n=30, seed=23, name="defer.csv")
    s.color_by = "label"
    beta = make_catalog(n=25, seed=24)
    beta = type(beta)(beta.objects.drop(columns=["label"]), beta.time, beta.value, beta.error, beta.band,
                      beta.bands, beta.offsets, value_kind=beta.value_kind, name="beta")
    session, outcome, retried = s.session, {}, []

    def retry():
        retried.append((s.catalog.name, s.color_by, session.enter_or_defer(lambda: None)))
        session.leave()

    def mid_switch(*_):  # on the switching thread, the new catalog set and the parts not yet following
        if outcome:
            return
        asker = threading.Thread(target=lambda: outcome.update(entered=session.enter_or_defer(retry)))
        asker.start()
        asker.join(60)
        outcome["answered"] = not asker.is_alive()

    session.param.watch(mid_switch, ["catalog"])
    switcher = threading.Thread(target=s.open_catalog, args=(beta,), daemon=True)
    switcher.start()
    switcher.join(120)
    assert not switcher.is_alive(), "the switch did not end"
    assert outcome == {"entered": False, "answered": True}, f"asked mid-switch: {outcome}"
    assert len(retried) == 1, "the refused update was not asked again after the switch"
    name, colour, entered = retried[0]
    assert name == "beta" and colour in color_options_of(beta) and entered
    assert session.enter_or_defer(lambda: None), "no switch runs: the lock is free"
    session.leave()
    # held by a reader that is not a switch: waited for, never deferred (no switch end would call it back)
    held, release = threading.Event(), threading.Event()

    def reader():
        with session.steady():
            held.set()
            release.wait(60)

    other = threading.Thread(target=reader, daemon=True)
    other.start()
    assert held.wait(60)
    threading.Timer(0.2, release.set).start()
    lost = []
    assert session.enter_or_defer(lambda: lost.append("deferred")) and not lost
    session.leave()
    other.join(60)


def test_a_typed_new_label_survives_a_catalog_switch(env):  # noqa: F811
    """A label typed in the new-label box and not yet added is the user's: a catalog switch landing between the
    typing and "Add label" (an upload finishing) keeps it, and Add gives it to the catalog now open (the box
    once emptied itself and Add said "no label typed")."""
    s = new_state(env, n=20, seed=25, name="typed.csv")
    s.new_label = "candidate-EB"
    s.open_catalog(make_catalog(n=15, seed=26))
    assert s.new_label == "candidate-EB"
    assert s.labelling.add_label() == "candidate-EB"
    assert "candidate-EB" in s.labelling.param.label_choice.objects and s.new_label == ""


def test_numeric_colour_greys_filtered_points(env):  # noqa: F811
    """A numeric colour column renders (it once raised on an unknown option) and filtered-out points
    take the colour mapper's grey NaN colour."""
    import panel as pn

    from explorer.dashboard.panes.map import MapPane
    from explorer.dashboard.plots import FILTERED_COLOUR

    s = new_state(env, n=60, seed=12, name="numeric.csv")
    s.refresh_models()
    s.embed()
    s.project("pca")
    s.color_by = next(c for c in s.display.param.color_by.objects if c not in ("user_label", "label"))
    pane = MapPane(state=s)
    pn.panel(pane).get_root()
    renderer, _, _ = _map_points(pane._figs[0])
    assert renderer.glyph.fill_color["transform"].nan_color == FILTERED_COLOUR


def test_log_colour_survives_a_filter_that_greys_every_point(env):  # noqa: F811
    """A skewed column on a log colour scale, then a query no object passes: every point grey, the
    scale kept (HoloViews failed on a log scale without finite values, and the failure reached the
    state's filter call), no error shown."""
    import panel as pn

    from explorer.dashboard.panes.map import MapPane
    from explorer.dashboard.plots import FILTERED_COLOUR

    s = new_state(env, n=60, seed=13, name="logfilter.csv")
    s.refresh_models()
    s.embed()
    s.project("pca")
    s.color_by = "period"
    s.log_columns = ["period"]
    pane = MapPane(state=s)
    pn.panel(pane).get_root()
    assert s.filter("period < 0") is not None and not s.passes().any()
    renderer, _, _ = _map_points(pane._figs[0])
    mapper = renderer.glyph.fill_color["transform"]
    assert type(mapper).__name__ == "LogColorMapper" and mapper.nan_color == FILTERED_COLOUR
    finite = s.catalog.objects["period"].to_numpy(float)
    assert mapper.low == pytest.approx(np.nanmin(finite[finite > 0])) and mapper.high == pytest.approx(np.nanmax(finite))
    colours = np.asarray(renderer.data_source.data["color"], float)
    assert np.isnan(colours).all()
    assert s.alert is None or "Error" not in str(s.alert), s.alert
    s.clear_filters()
    assert np.isfinite(np.asarray(renderer.data_source.data["color"], float)).any()
