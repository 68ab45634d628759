"""ExplorerState without a browser: real catalog, real stand-in ONNX model, real UMAP."""

from __future__ import annotations

import numpy as np
import param
import pandas as pd
import pytest

from explorer.catalog import Catalog
from explorer.dashboard.spatial import NeighbourIndex, PointIndex
from explorer.dashboard.state import USER_LABEL, ExplorerState, ResultCache, default_model
from explorer.errors import CatalogError, ExplorerError, ModelError

from conftest import isolated_store
from standin_models import build_astromer_standin

N_OBJECTS = 200
MODEL = "standin-astromer1"


def make_catalog(n=N_OBJECTS, seed=1) -> Catalog:
    """Three kinds of variables (short/long period sines, noise), 40-260 points each, one empty object."""
    rng = np.random.default_rng(seed)
    ids, ts, ms, es = [], [], [], []
    kinds, periods = [], []
    for i in range(n):
        kind = ("short", "long", "noise")[i % 3]
        period = {"short": rng.uniform(0.3, 0.8), "long": rng.uniform(20, 60), "noise": np.nan}[kind]
        m = int(rng.integers(40, 260))
        t = np.sort(rng.uniform(0, 400, m))
        amp = 0.0 if kind == "noise" else rng.uniform(0.3, 1.0)
        phase = 0.0 if kind == "noise" else 2 * np.pi * t / period
        mag = 17 + amp * np.sin(phase) + rng.normal(0, 0.05, m)
        ids += [f"obj{i:04d}"] * m
        ts.append(t)
        ms.append(mag)
        es.append(np.full(m, 0.05))
        kinds.append(kind)
        periods.append(period)
    objects = pd.DataFrame({"object_id": [f"obj{i:04d}" for i in range(n)] + ["empty0"], "label": kinds + ["noise"],
                            "period": periods + [np.nan], "amp_rank": np.arange(n + 1, dtype=float)})
    return Catalog.from_long(np.array(ids), np.concatenate(ts), np.concatenate(ms), np.concatenate(es),
                             objects=objects, name="synthetic")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An isolated store (with the stand-in model installed) and no Hub cache."""
    with isolated_store(tmp_path_factory, MODEL, build_astromer_standin, "astromer1") as home:
        yield home


@pytest.fixture(scope="module")
def state(env):
    """A state that has embedded the synthetic catalog and projected it with UMAP."""
    st = ExplorerState(make_catalog(), model=MODEL, embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=env / "labels" / "synthetic.labels.csv")
    st.refresh_models()
    st.run()
    return st


def test_embeds_and_projects_with_umap(state):
    assert state.result is not None and state.inference_runs == 1 and not state.last_embed_cached
    assert state.map.stage == "umap"
    n = len(state.catalog)
    assert state.map.coords.shape == (n, 2) and state.matrix.shape[0] == n
    empty = state.catalog.objects["empty"].to_numpy()
    assert np.isfinite(state.map.coords[~empty]).all()
    assert np.isnan(state.map.coords[empty]).all()  # the empty object has no point, and no crash
    assert state.jobs.progress == 100 and "Map ready" in state.status
    assert "user_label" in state.points_frame().columns


def test_tap_selects_nearest_and_gives_light_curve(state):
    xy = state.map.coords[16]
    row = state.select_at(xy[0] + 1e-6, xy[1] - 1e-6)
    assert row == 16 and state.selected_id == "obj0016"
    lc = state.light_curve_frame()
    raw = state.catalog.light_curve(16)
    np.testing.assert_array_equal(lc["time"].to_numpy(), raw["time"].to_numpy())
    used = state.result.observations_used(16) - state.catalog.offsets[16]
    assert set(np.flatnonzero(lc["used"].to_numpy())) == set(used.tolist()) and lc["used"].any()
    # the catalog's period column folds the curve
    assert np.isclose(state.period_of(16), state.catalog.objects["period"][16])
    assert lc["phase"].between(0, 1).all()


def test_box_and_lasso_select_match_brute_force(state):
    coords = state.map.coords
    ok = np.isfinite(coords).all(axis=1)
    cx, cy = np.nanmedian(coords, axis=0)
    sx, sy = np.nanstd(coords, axis=0)
    ids = state.select_box(cx + sx, cy + sy, cx - sx, cy - sy)  # corners in any order
    inside = ok & (np.abs(coords[:, 0] - cx) <= sx) & (np.abs(coords[:, 1] - cy) <= sy)
    assert set(ids) == set(state.catalog.object_ids[inside]) and len(ids) > 0
    sel = state.selection
    assert list(sel["object_id"]) == ids and {"label", "period", USER_LABEL}.issubset(sel.columns)

    # lasso: a triangle; brute force with half-plane signs (convex polygon)
    tri = np.array([[cx - 2 * sx, cy - 2 * sy], [cx + 2 * sx, cy - 2 * sy], [cx, cy + 2 * sy]])
    ids = state.select_lasso(tri[:, 0], tri[:, 1])

    def side(a, b, p):
        return (b[0] - a[0]) * (p[:, 1] - a[1]) - (b[1] - a[1]) * (p[:, 0] - a[0])

    p = np.where(ok[:, None], coords, 1e9)
    s = [side(tri[i], tri[(i + 1) % 3], p) for i in range(3)]
    expected = (s[0] > 0) & (s[1] > 0) & (s[2] > 0)
    assert set(ids) == set(state.catalog.object_ids[expected]) and 0 < len(ids) < ok.sum()


def test_neighbours_are_true_nearest_in_the_standardised_space(state):
    from sklearn.preprocessing import StandardScaler

    X = state.matrix.astype(np.float64)
    ok = np.isfinite(X).all(axis=1)
    Z = np.zeros_like(X)
    Z[ok] = StandardScaler().fit_transform(X[ok])  # the space the map is drawn from
    q = 5
    assert state.metric == "euclidean"
    nb = state.neighbours("obj0005", k=7)
    dist = np.sqrt(((Z - Z[q]) ** 2).sum(axis=1))
    dist[~ok] = np.inf
    dist[q] = np.inf
    brute = np.argsort(dist, kind="stable")[:7]
    assert list(nb["row"]) == list(brute)
    np.testing.assert_allclose(nb["distance"], dist[brute], rtol=1e-4, atol=1e-4)
    assert list(nb["object_id"]) == list(state.catalog.object_ids[brute])


def test_cosine_neighbour_index():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6)).astype(np.float32)
    from explorer.dashboard.spatial import NeighbourIndex as Index

    rows, dist = Index(X, metric="cosine").query(5, 7)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    d = 1 - unit @ unit[5]
    d[5] = np.inf
    brute = np.argsort(d, kind="stable")[:7]
    assert list(rows) == list(brute)
    np.testing.assert_allclose(dist, d[brute], atol=1e-5)


def test_colour_options_and_labels(state):
    opts = state.color_options
    assert opts[0] == USER_LABEL and {"label", "period", "amp_rank", "n_obs"}.issubset(opts)
    assert "empty" not in opts and "object_id" not in opts  # internal columns are not colours
    assert state.display.param.color_by.objects == opts
    values, kind = state.color_values("period")
    assert kind == "numeric" and values.shape == (len(state.catalog),)
    values, kind = state.color_values("label")
    assert kind == "categorical" and set(values) == {"short", "long", "noise"}
    with pytest.raises(CatalogError, match="nonexistent"):
        state.color_values("nonexistent")

    state.selected_id = "obj0003"
    state.add_label("my class")
    assert "my class" in state.label_set
    state.assign_label("my class", "tapped")
    state.select_ids(["obj0010", "obj0011"])
    state.assign_label("pair", "selection")
    labels = state.labels
    assert labels["obj0003"] == "my class" and labels["obj0010"] == "pair" and pd.isna(labels["obj0004"])
    values, kind = state.color_values(USER_LABEL)
    assert kind == "categorical" and values[3] == "my class" and values[11] == "pair"
    assert list(state.selection[USER_LABEL]) == ["pair", "pair"]
    state.selected_id = ""
    with pytest.raises(ExplorerError, match="nothing to label"):
        state.assign_label("x", "tapped")


def test_switching_back_uses_the_cache_and_keeps_the_selection(state):
    state.select_ids(["obj0001", "obj0002", "obj0100"])
    state.selected_id = "obj0002"
    runs = state.inference_runs
    first_key = state.embedding_key()
    state.reduction = "beginning"
    assert not state.cached_combination() and "Press Embed" in state.status
    state.run()
    assert state.inference_runs == runs + 1 and not state.last_embed_cached
    state.reduction = "non-overlapping-windows"  # cached: the state recomputes the view by itself
    assert state.embedding_key() == first_key and state.cached_combination()
    assert state.wait(60)
    assert state.inference_runs == runs + 1 and state.last_embed_cached and state.last_map_cached
    assert state.map.spec.reduction == "non-overlapping-windows" and state.map.stage == "umap"
    # nothing the user made is lost
    assert state.selection_ids == ["obj0001", "obj0002", "obj0100"] and state.selected_id == "obj0002"
    assert state.labels["obj0003"] == "my class"


def test_url_query_round_trips_as_strings(state, env):
    """A shared URL restores model, output, reduction, colour, UMAP parameters and the object; ids stay strings."""
    state.selected_id = "obj0007"
    query = state.url_query()
    assert query["object"] == "obj0007" and query["model"] == MODEL and query["color"] == state.color_by
    assert all(isinstance(v, str) for v in query.values())
    other = ExplorerState(state.catalog, embed_cache=ResultCache(), map_cache=ResultCache(),
                          labels_path=env / "labels" / "synthetic.labels.csv")
    other.refresh_models()
    problems = other.apply_url_query({**query, "n_neighbors": "12", "min_dist": "0.25"})
    assert problems == []
    assert (other.model, other.output, other.reduction, other.color_by, other.selected_id) == \
        (state.model, state.output, state.reduction, state.color_by, "obj0007")
    assert other.n_neighbors == 12 and other.min_dist == 0.25
    # unknown values are named, never applied, and a model is never a path
    problems = other.apply_url_query({"model": "/tmp/evil.onnx", "color": "<b>x</b>", "object": "nope"})
    assert len(problems) == 3 and other.model == state.model and other.selected_id == "obj0007"
    assert any("/tmp/evil.onnx" in p for p in problems)


def test_lomb_scargle_recovers_period(state):
    row = 1  # a "long" sine
    true = state.catalog.objects["period"][row]
    found = state.lomb_scargle_period(row)
    assert abs(found - true) / true < 0.02


def test_default_model_and_no_model_message(env):
    from explorer.engine import list_models

    assert default_model(list_models()) == MODEL  # no Hub cache here: the store model
    st = ExplorerState(make_catalog(n=6), embed_cache=ResultCache(), map_cache=ResultCache())
    st.model = ""
    with pytest.raises(ModelError, match="lcexplorer models import ../shared/models/checkpoints/macho.zip"):
        st.embed()
    assert len(st.light_curve_frame("obj0001")) > 0  # light curves work without a model


def test_point_index_queries_match_brute_force():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(5000, 2))
    xy[::50] = np.nan
    idx = PointIndex(xy)
    for q in rng.normal(size=(20, 2)):
        d = np.where(np.isfinite(xy[:, 0]), np.hypot(*(xy - q).T), np.inf)
        assert idx.nearest(*q) == int(np.argmin(d))
    assert idx.nearest(100.0, 100.0, max_distance=1.0) is None
    # non-convex lasso (an L shape) against a direct cell test
    poly = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], dtype=float)
    rows = idx.in_polygon(poly[:, 0], poly[:, 1])
    x, y = xy[:, 0], xy[:, 1]
    expected = ((x > 0) & (x < 2) & (y > 0) & (y < 1)) | ((x > 0) & (x < 1) & (y >= 1) & (y < 2))
    assert set(rows) == set(np.flatnonzero(expected))


def test_neighbour_index_skips_missing_rows():
    m = np.array([[1, 0], [0.9, 0.1], [np.nan, np.nan], [0, 1], [0, 0]], dtype=np.float32)
    rows, dist = NeighbourIndex(m).query(0, 10)
    assert list(rows) == [1, 3] and dist[0] < dist[1]


def test_catalog_paths_are_confined(tmp_path, monkeypatch):
    from explorer.dashboard.sources import resolve_catalog_path

    outside = tmp_path / "cat.csv"
    outside.write_text("object_id,time,mag\na,1,2\n")
    # one answer outside the allowed folders, whether the file exists or not (no existence oracle)
    refusals = set()
    for path in (outside, tmp_path / "nope.csv", tmp_path, "/etc/shadow", "/etc/nothing-here"):
        with pytest.raises(CatalogError, match="not inside the allowed folders") as err:
            resolve_catalog_path(path)
        refusals.add(str(err.value).replace(str(path), "PATH"))
    assert len(refusals) == 1
    with pytest.raises(CatalogError, match="null byte"):
        resolve_catalog_path("sample_catalogs/\0x")
    monkeypatch.setenv("LCEXPLORER_DATA_DIRS", str(tmp_path))
    assert resolve_catalog_path(outside) == outside.resolve()
    with pytest.raises(CatalogError, match="does not exist"):
        resolve_catalog_path(tmp_path / "nope.parquet")


def test_uploads_read_like_paths_with_ids_as_written(env, tmp_path, monkeypatch):
    """An upload goes through the loader of paths and the CLI: '001' and '1' stay two objects."""
    from explorer.catalog import load_catalog

    csv = "object_id,time,mag\n" + "".join(f"{oid},{t},{17 + t % 3}\n" for oid in ("001", "1", "01")
                                          for t in range(1, 8))
    (tmp_path / "ids.csv").write_text(csv)
    st = ExplorerState(None, embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=env / "labels" / "ids.labels.csv")
    cat = st.open_upload("ids.csv", csv.encode())
    assert sorted(cat.object_ids) == ["001", "01", "1"]
    assert cat.content_hash() == load_catalog(tmp_path / "ids.csv").content_hash()
    with pytest.raises(CatalogError, match="empty"):
        st.open_upload("none.csv", b"")
    monkeypatch.setenv("LCEXPLORER_MAX_UPLOAD_BYTES", "100")
    with pytest.raises(CatalogError, match="ids.csv"):
        st.open_upload("ids.csv", csv.encode())
    assert st.catalog is cat  # a refused upload leaves the open catalog as it was


def test_map_is_keyed_by_the_embedding_it_projects(state):
    """Widgets changed between embed and project must not file one embedding's map under another's key."""
    state.reduction = "non-overlapping-windows"
    state.wait(60)
    state.embed()
    embedded = state.embedding
    state.reduction = "end"  # the user changes the reduction while the map is still being computed
    m = state.project("pca")
    assert state.embedding is embedded and m.spec.reduction == "non-overlapping-windows"
    state.run()  # now "end" is embedded and mapped: a different map, not the previous one from the cache
    assert state.embedding.spec.reduction == "end" and state.map.spec.reduction == "end"
    pca_key = embedded.key + state.pipeline.map_settings("pca").key()
    assert not np.array_equal(state.map.coords, state.pipeline.map_cache.get(pca_key).coords)
    state.reduction = "non-overlapping-windows"
    state.wait(60)


def test_a_typed_period_stays_with_its_object(state):
    state.selected_id = "obj0005"
    state.period = 0.123
    assert state.period_source == "typed"
    state.selected_id = "obj0006"
    # the field shows the period in use for the new object (the catalog's), never the typed one
    assert state.period == state.catalog_period("obj0006") != 0.123 and state.period_source == "catalog"
    assert state.period_of("obj0006") != 0.123
    state.selected_id = "obj0005"
    assert state.period == 0.123 and state.period_of("obj0005") == 0.123 and state.period_source == "typed"
    state.period = None  # clearing the field goes back to the catalog's period
    expected = state.catalog_period("obj0005")
    assert state.period == expected and state.period_source == ("catalog" if expected else "")


def test_open_catalog_with_column_overrides(tmp_path, monkeypatch):
    from explorer.dashboard.state import open_catalog

    folder = tmp_path / "data"
    source = make_catalog(n=5)
    source.to_parquet(folder / "five")
    monkeypatch.setenv("LCEXPLORER_DATA_DIRS", str(folder))
    cat = open_catalog(folder / "five", columns={"time": "time"})
    assert cat.content_hash() == source.content_hash()
    assert open_catalog(folder / "five", columns={"time": "time"}) is cat  # memoised


def test_a_model_replaced_in_the_store_is_not_served_from_memory(env, tmp_path):
    from explorer.store import install_model

    st = ExplorerState(make_catalog(n=30), model=MODEL, embed_cache=ResultCache(), map_cache=ResultCache())
    st.refresh_models()
    first = st.embed().embeddings
    runs = st.inference_runs
    other = build_astromer_standin(tmp_path / "other.onnx", seed=5)
    install_model(MODEL, other, {"kind": "astromer1", "source": "tests/standin_models.py"}, overwrite=True)
    st.refresh_models()
    second = st.embed().embeddings
    assert st.inference_runs == runs + 1 and not np.allclose(first, second)


def test_a_second_session_shows_the_cached_map_of_the_same_content(state, env):
    """Caches are keyed by content: another Catalog object with the same content gets the map, bound to itself."""
    state.reduction = "non-overlapping-windows"
    state.wait(60)
    state.run()  # the chosen combination is in the caches now, whatever earlier tests left
    twin = make_catalog()  # same content, a new object (another browser session, a re-upload)
    assert twin is not state.catalog and twin.content_hash() == state.catalog.content_hash()
    other = ExplorerState(twin, embed_cache=state.pipeline.embed_cache, map_cache=state.pipeline.map_cache,
                          labels_path=env / "labels" / "synthetic.labels.csv")
    other.refresh_models()
    for part in ("models", "pipeline"):  # the same combination, whatever earlier tests chose
        mine, theirs = getattr(state, part), getattr(other, part)
        for name, value in mine.param.values().items():
            if name != "name" and not mine.param[name].constant and not isinstance(value, param.Parameterized):
                setattr(theirs, name, value)
    other.wait(60)
    assert other.embedding_key() == state.embedding_key(), (other.embedding_key(), state.embedding_key())
    other.run()
    assert other.inference_runs == 0 and other.last_embed_cached and other.last_map_cached
    assert other.map is not None and other.map.catalog is twin and other.embedding.catalog is twin
    assert len(other.points_frame()) == len(state.points_frame()) > 0
