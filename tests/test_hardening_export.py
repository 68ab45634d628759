"""Exports keep the labels' origin, refuse an empty selection, and name both seeds (issue 18, item 13).

Real state with the stand-in ONNX model, real UMAP map, real labels file.
"""

from __future__ import annotations

import pytest

from explorer.dashboard.export import ExportError, export_labels, export_selection, read_export
from explorer.dashboard.state import ExplorerState, ResultCache

from test_dashboard_state import MODEL, env, make_catalog  # noqa: F401  (env is a fixture)


@pytest.fixture(scope="module")
def state(env):  # noqa: F811
    st = ExplorerState(make_catalog(n=24, seed=3), model=MODEL, embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=env / "hardening" / "labels.csv")
    st.refresh_models()
    st.run()
    return st


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_labels_export_keeps_the_origin(state, fmt):
    store = state.label_store
    store.assign(["obj0001", "obj0002"], "RR Lyrae")
    store.assign(["obj0003"], "Cepheid", origin="suggested")
    frame, prov = read_export(export_labels(store, state.provenance(), fmt)[0])
    by_id = frame.set_index("object_id")
    assert list(frame.columns) == ["object_id", "label", "updated_at", "origin"]
    assert by_id.loc["obj0003", "origin"] == "suggested" and by_id.loc["obj0001", "origin"] == "manual"
    assert by_id.loc["obj0003", "label"] == "Cepheid" and len(frame) == 3
    # a Series of labels (what the state hands over today) still exports, without origin
    frame, _ = read_export(export_labels(state.labels, prov, fmt)[0])
    assert list(frame.columns) == ["object_id", "label"] and len(frame) == 3


def test_an_empty_selection_is_refused_not_a_header_only_file(state):
    state.clear_selection()
    with pytest.raises(ExportError, match="nothing is selected"):
        state.export("selection", "csv")
    with pytest.raises(ExportError, match="nothing is selected"):
        export_selection(state.selection, state.provenance(), "parquet")
    state.select_ids(["obj0004"])
    frame, _ = read_export(state.export("selection", "csv")[0])
    assert list(frame["object_id"]) == ["obj0004"]


def test_provenance_names_the_embedding_seed_and_umaps_random_state(state):
    prov = state.provenance()
    assert "seed" not in prov and prov["embedding_seed"] == 0
    assert prov["umap"]["random_state"] == 42
    data, _ = state.export("coordinates", "csv")
    text = data.decode()
    assert "# embedding_seed: 0\n" in text and "\n# seed:" not in text and '"random_state": 42' in text


def test_features_have_no_embedding_seed(state):
    from explorer.dashboard.export import build_provenance

    umap = {"n_neighbors": 15, "random_state": 42}
    # what the state passes for the features alone (its provenance() must hand the representation over)
    prov = build_provenance(state.catalog, embedding_meta={}, projection=umap, seed=0, representation="features")
    assert prov["embedding_seed"] is None and prov["umap"]["random_state"] == 42
    prov = build_provenance(state.catalog, embedding_meta={"representation": "features", "seed": 0}, projection=umap)
    assert prov["embedding_seed"] is None
    assert build_provenance(state.catalog, seed=0, representation="hybrid")["embedding_seed"] == 0
