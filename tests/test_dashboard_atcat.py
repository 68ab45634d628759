"""ExplorerState driving ATCAT (multiband flux model) without a browser.

Real parts only: the project's simulated LSST-like flux catalog (``sample_catalogs/lsst_like``, cut to
150 objects plus one object left empty by cleaning), a stand-in ATCAT ONNX file with the public
interface installed in a temporary store, real onnxruntime, real projection.

The map is the dashboard's PCA map (``project("pca")``): UMAP's numba compilation alone takes ~30 s on
two cores, and the UMAP path (``run``) does not depend on the model kind; test_dashboard_state covers it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog, load_catalog
from explorer.dashboard.state import ExplorerState, ResultCache

from conftest import isolated_store
from standin_models import build_atcat_standin

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LSST = PROJECT_ROOT / "sample_catalogs" / "lsst_like"
MODEL = "standin-atcat"
EMPTY_ID = "lsst_like_empty"
EMPTY_ROW = 75  # the empty object sits in the middle, so row alignment is checked on both sides of it


def lsst_catalog() -> Catalog:
    """Every 4th object of lsst_like (150), plus one object whose only observations have no flux."""
    full = load_catalog(LSST)
    assert full.value_kind == "flux" and set(full.bands) == {"u", "g", "r", "i", "z", "Y"}
    sub = full.take(np.arange(0, len(full), 4))
    objects = sub.objects.drop(columns=["n_obs", "empty"])
    extra = pd.DataFrame({"object_id": [EMPTY_ID], "label": [objects["label"].iloc[0]]})
    objects = pd.concat([objects.iloc[:EMPTY_ROW], extra, objects.iloc[EMPTY_ROW:]], ignore_index=True)
    ids = np.concatenate([np.repeat(sub.object_ids.astype(str), sub.n_obs), [EMPTY_ID] * 2])
    band = np.concatenate([np.asarray(sub.bands, dtype=object)[sub.band], ["r", "g"]])
    time = np.concatenate([sub.time, [61000.0, 61001.0]])
    flux = np.concatenate([sub.value, [np.nan, np.inf]])  # dropped by cleaning: the object ends up empty
    err = np.concatenate([sub.error, [1.0, 1.0]])
    return Catalog.from_long(ids, time, flux, err, band, objects=objects, value_kind="flux", name="lsst_like_cut")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    cat = lsst_catalog()
    assert len(cat) == 151 and cat.object_ids[EMPTY_ROW] == EMPTY_ID
    assert cat.objects["empty"].sum() == 1 and bool(cat.objects["empty"][EMPTY_ROW])
    return cat


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An isolated store holding only the ATCAT stand-in, and an empty offline Hub cache."""
    with isolated_store(tmp_path_factory, MODEL, lambda path: build_atcat_standin(path, seed=7), "atcat") as home:
        yield home


def new_state(catalog, env) -> ExplorerState:
    return ExplorerState(catalog, embed_cache=ResultCache(), map_cache=ResultCache(),
                         labels_path=env / "labels" / "lsst_like_cut.labels.csv")


@pytest.fixture(scope="module")
def state(catalog, env):
    """A state that picked the ATCAT stand-in by itself, embedded the catalog and mapped it."""
    st = new_state(catalog, env)
    st.output = "max"  # an Astromer-only output, left over from a previous model
    st.refresh_models()
    show(st)
    return st


def show(st: ExplorerState) -> None:
    """What the dashboard's Run button does, with the PCA map instead of UMAP."""
    st.embed()
    st.project("pca")


def direct_matrix(catalog, output: str) -> np.ndarray:
    """The engine's embedding of the catalog with the store model, no cache, no dashboard."""
    from explorer.engine import embed_catalog, load_model

    return embed_catalog(catalog, load_model(MODEL), output=output, cache=False).matrix()


def test_only_atcat_in_store_is_picked_with_its_outputs(catalog, env):
    from explorer.engine import list_models

    available = [m for m in list_models() if m.available]
    assert [(m.name, m.kind, m.source) for m in available] == [(MODEL, "atcat", "store")]
    st = new_state(catalog, env)
    assert st.bands == list(catalog.bands)  # a multiband catalog: every band chosen
    st.output = "max"
    st.refresh_models()
    assert st.model == MODEL and st.model_kind() == "atcat"
    assert st.output_options() == ["last", "mean"] and "max" not in st.output_options()
    assert st.output == "last"  # the Astromer-only output was replaced by ATCAT's first one
    st.output = "mean"
    st.model = MODEL  # setting it explicitly keeps a valid output
    assert st.output == "mean"


def test_embeds_every_observed_object_and_maps_it(state, catalog):
    assert state.model == MODEL and state.output == "last"
    assert state.inference_runs == 1 and not state.last_embed_cached
    meta = state.result.meta
    assert meta["kind"] == "atcat" and meta["output"] == "last" and not meta.get("failed")
    assert state.result.block_bands == ("",)  # one group: all six LSST bands in one sequence
    n = len(catalog)
    empty = catalog.objects["empty"].to_numpy()
    assert state.matrix.shape == (n, 384) and state.matrix.dtype == np.float32
    assert np.isfinite(state.matrix[~empty]).all()
    assert np.isnan(state.matrix[empty]).all()
    assert list(state.result.object_ids) == list(catalog.object_ids)
    # the model sees the data: embeddings differ between objects (the stand-in's tanh saturates for
    # a few very bright objects, ~1e6 nJy, so a handful coincide)
    assert len(np.unique(state.matrix[~empty].round(5), axis=0)) >= 0.9 * (n - 1)

    assert state.map.stage == "pca" and state.map.coords.shape == (n, 2)
    assert np.isfinite(state.map.coords[~empty]).all() and np.isnan(state.map.coords[empty]).all()
    assert len(state.map.index) == n - 1
    points = state.points_frame("label")
    assert len(points) == n - 1 and EMPTY_ID not in set(points["object_id"])
    assert state.provenance()  # provenance builds for an ATCAT view


def test_state_embedding_equals_direct_engine_embedding(state, catalog):
    direct = direct_matrix(catalog, "last")
    assert direct.shape == state.matrix.shape
    np.testing.assert_array_equal(state.matrix, direct)  # NaN rows compare equal


def test_output_switch_back_is_served_from_the_cache(state, catalog, monkeypatch):
    import explorer.engine.runner as runner

    calls = []
    real = runner.run_embedding

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_embedding", counting)  # every real inference goes through it

    assert state.output == "last"
    runs = state.inference_runs
    last = state.matrix.copy()
    last_coords = state.map.coords.copy()

    state.output = "mean"
    show(state)
    assert state.inference_runs == runs + 1 and not state.last_embed_cached and len(calls) == 1
    mean = state.matrix.copy()
    assert state.result.meta["output"] == "mean"
    ok = np.isfinite(last).all(axis=1)
    assert not np.allclose(mean[ok], last[ok])  # a different output, different numbers
    np.testing.assert_array_equal(mean, direct_matrix(catalog, "mean"))
    calls.clear()

    state.output = "last"
    show(state)
    assert state.inference_runs == runs + 1 and state.last_embed_cached and state.last_map_cached
    assert calls == []  # no inference at all: memory cache
    np.testing.assert_array_equal(state.matrix, last)
    np.testing.assert_array_equal(state.map.coords, last_coords)


def test_tapped_light_curve_is_flux_and_neighbours_are_cosine_nearest(state, catalog):
    from explorer.dashboard import plots

    row = 40
    oid = str(catalog.object_ids[row])
    xy = state.map.coords[row]
    assert state.select_at(xy[0], xy[1]) == row and state.selected_id == oid

    lc = state.light_curve_frame()
    assert state.catalog.value_kind == "flux"
    # the values are the file's fluxes in nJy, not magnitudes
    raw = pd.read_parquet(LSST / "lsst_like.lightcurves.parquet", filters=[("object_id", "==", oid)])
    raw = raw.sort_values("time", kind="stable").reset_index(drop=True)
    assert len(lc) == len(raw) > 0
    np.testing.assert_array_equal(lc["time"].to_numpy(), raw["time"].to_numpy())
    np.testing.assert_array_equal(lc["value"].to_numpy(), raw["flux"].to_numpy())
    np.testing.assert_array_equal(lc["error"].to_numpy(), raw["flux_err"].to_numpy())
    assert list(lc["band"].astype(str)) == list(raw["band"].astype(str))
    assert lc["band"].nunique() > 1
    # fewer observations than ATCAT's 243 positions: one window, every band, all fed to the model
    assert lc["used"].all()
    used = state.result.observations_used(row) - catalog.offsets[row]
    assert sorted(used.tolist()) == list(range(len(lc)))

    # the plots the view draws from this frame: flux axis, not inverted (brighter = higher)
    fig = plots.light_curve_figure(lc, value_kind=state.catalog.value_kind, title=oid)
    assert fig.yaxis[0].axis_label == "flux"
    assert not (hasattr(fig.y_range, "start") and fig.y_range.start is not None and fig.y_range.end is not None
                and fig.y_range.start > fig.y_range.end)
    svg = plots.light_curve_svg(lc, value_kind=state.catalog.value_kind, title=oid)
    bands = lc["band"].astype(str).to_numpy()
    values = np.concatenate([lc["value"].to_numpy()[bands == b] for b in pd.unique(bands)])
    cy = np.array([float(v) for v in re.findall(r'<circle cx="[^"]+" cy="([^"]+)"', svg)])
    assert len(cy) == len(values) and np.corrcoef(values, cy)[0, 1] < -0.9  # larger flux drawn higher

    # neighbours: brute-force cosine on the state's standardised matrix (metric chosen: cosine)
    k = 8
    state.metric = "cosine"
    state.wait(120)
    state.run()  # the neighbours are those of the map on screen: its own vectors, its own distance
    nb = state.neighbours(k=k)
    X = state.matrix.astype(np.float64)
    ok = np.isfinite(X).all(axis=1)
    Z = np.zeros_like(X)
    Z[ok] = (X[ok] - X[ok].mean(axis=0)) / np.where(X[ok].std(axis=0) > 0, X[ok].std(axis=0), 1.0)
    unit = Z / np.where(ok, np.linalg.norm(Z, axis=1), 1.0)[:, None]
    dist = 1.0 - unit @ unit[row]
    dist[~ok] = np.inf
    dist[row] = np.inf
    brute = np.argsort(dist, kind="stable")[:k]
    assert list(nb["row"]) == list(brute) and EMPTY_ROW not in set(nb["row"])
    assert list(nb["object_id"]) == list(catalog.object_ids[brute].astype(str))
    np.testing.assert_allclose(nb["distance"].to_numpy(), dist[brute], atol=1e-5)

    # the empty object: no neighbours, an empty light curve, no crash
    assert state.neighbours(EMPTY_ID).empty
    lc_empty = state.light_curve_frame(EMPTY_ID)
    assert len(lc_empty) == 0 and not lc_empty["used"].any()
