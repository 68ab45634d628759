"""The dashboard state with representations: features / hybrid / concatenated bands, the quality readout,
label-guided maps and the suggestion workflow (real catalogs, real models, real UMAP, no browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.state import SUGGESTION, USER_LABEL, ExplorerState, ResultCache
from explorer.errors import ExplorerError
from explorer.quality import map_quality

from conftest import isolated_store
from standin_models import build_astromer_standin
from test_dashboard_state import MODEL, make_catalog


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An isolated store with a stand-in Astromer model and no Hub cache."""
    with isolated_store(tmp_path_factory, MODEL, build_astromer_standin, "astromer1") as home:
        yield home


def new_state(env, catalog, name, **kw):
    st = ExplorerState(catalog, embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=env / "labels" / f"{name}.labels.csv", **kw)
    st.refresh_models()
    return st


@pytest.fixture(scope="module")
def eros(shared_data):
    cat = load_catalog(shared_data / "eros1_lmc")
    rows = np.sort(cat.objects.groupby("label").head(40).index.to_numpy())
    return cat.take(rows)


def test_features_need_no_model_and_the_map_is_rated(env, eros):
    st = new_state(env, eros, "eros-features")
    st.representation = "features"
    assert st.can_compute() and st.quality_column == "label"
    st.run()
    assert st.embedding.spec.name == "features" and st.embedding.result is None
    assert st.matrix.shape == (len(eros), 72) and st.map.stage == "umap"
    assert st.map.params["standardize"] is True and st.map.params["metric"] == "euclidean"
    q = st.quality
    direct = map_quality(eros.objects["label"], st.matrix, st.map.coords)
    assert q.knn_full == pytest.approx(direct.knn_full) and q.knn_2d == pytest.approx(direct.knn_2d)
    assert q.trustworthiness == pytest.approx(direct.trustworthiness)
    assert "kNN5 full" in st.quality_text() and "Map ready" in st.status
    # rating by another column (user labels: none yet) gives no figures rather than wrong ones
    st.quality_column = USER_LABEL
    st.wait(60)
    assert st.quality is not None and st.quality.knn_full is None and st.quality.n_labelled == 0


def test_hybrid_and_concatenated_bands_in_the_state(env, eros):
    st = new_state(env, eros, "eros-hybrid", model=MODEL)
    st.representation = "embedding"
    st.bands = ["R", "B"]
    st.run()
    names = [b.name for b in st.embedding.representation.blocks]
    assert names == [f"{MODEL}:B", f"{MODEL}:R"] and st.matrix.shape[1] == 512
    # rings: the observations fed to the model are catalog indices of the tapped object
    used = st.result.observations_used(0)
    assert len(used) and used.min() >= eros.offsets[0] and used.max() < eros.offsets[1]
    st.concat_bands = False
    st.run()
    assert st.matrix.shape[1] == 256
    st.representation = "hybrid"
    st.concat_bands = True
    st.run()
    w = st.embedding.weights
    assert st.matrix.shape[1] == 512 + 72 and w[0] == pytest.approx(1 / np.sqrt(512))
    assert w[-1] == pytest.approx(1 / np.sqrt(72))
    assert st.embedding.spec.name == f"hybrid:{MODEL}"
    st.representation = "features"
    st.run()
    assert "Best 2-D kNN so far for 'label'" in st.quality_text()


def test_objects_lacking_a_band_are_mapped_and_named(env, shared_data):
    cat = load_catalog(shared_data / "elasticc_sim_fink")
    st = new_state(env, cat, "elasticc")
    st.representation = "features"
    st.run()
    rep = st.embedding.representation
    unmapped = rep.unmapped()
    has_pos = np.isfinite(st.map.coords).all(axis=1)
    assert int((~has_pos).sum()) == len(unmapped) > 0
    assert f"{len(unmapped)} without a position: {unmapped['object_id'].iloc[0]}" in st.status
    partial_ids = set(rep.partial()["object_id"])
    rows = [cat.index_of(i) for i in partial_ids]
    assert len(rows) > 0 and has_pos[rows].all()  # lacking a band: still on the map
    assert "lack a block" in st.status


def test_label_guided_map_and_suggestions(env):
    cat = make_catalog(seed=3)
    st = new_state(env, cat, "guided")
    st.representation = "features"
    st.run()
    plain = st.map
    truth = cat.objects["label"].to_numpy()
    labelled = np.arange(0, 120, 4)  # a few labels per class, given by hand
    for kind in ("short", "long", "noise"):
        ids = [cat.object_ids[i] for i in labelled if truth[i] == kind]
        st.selection_ids = ids
        st.add_label(kind)
        st.assign_label(kind, target="selection")
    st.guided = True
    st.target_weight = 0.8
    st.run()
    assert st.map is not plain and st.map.params["label_guided"] is True
    assert st.map.params["target_weight"] == 0.8
    table = st.suggest()
    assert SUGGESTION in st.display.param.color_by.objects
    values, kind = st.color_values(SUGGESTION)
    assert kind == "categorical" and (values[table["row"]] == table["suggestion"].to_numpy()).all()
    top = st.suggestion_gallery(20)
    assert (top["confidence"] >= st.min_confidence).all()
    right = (top["suggestion"].to_numpy() == truth[top["row"].to_numpy()]).mean()
    assert right >= 0.9
    accepted = st.accept_suggestions(top["object_id"].head(5))
    assert len(accepted) == 5
    assert not set(accepted) & set(st.suggestions["object_id"])
    origins = pd.read_csv(env / "labels" / "guided.labels.csv", dtype=str).set_index("object_id")["origin"]
    assert (origins[accepted] == "suggested").all() and (origins.drop(accepted) == "manual").all()
    with pytest.raises(ExplorerError, match="has a suggestion"):
        st.accept_suggestions(["not-an-object"])


def test_url_carries_the_representation_and_map_options(env, eros):
    st = new_state(env, eros, "eros-url", model=MODEL)
    st.representation = "hybrid"
    st.metric = "cosine"
    st.guided = True
    st.target_weight = 0.3
    st.concat_bands = False
    q = st.url_query()
    assert q["rep"] == "hybrid" and q["metric"] == "cosine" and q["guided"] == "1" and q["tw"] == "0.3"
    assert q["concat"] == "0" and q["rate"] == "label"
    other = new_state(env, eros, "eros-url2", model=MODEL)
    assert other.apply_url_query(q) == []
    assert (other.representation, other.metric, other.guided, other.target_weight, other.concat_bands) == \
        ("hybrid", "cosine", True, 0.3, False)
    problems = other.apply_url_query({"rep": "<img src=x>", "guided": "maybe"})
    assert len(problems) == 2 and other.representation == "hybrid"


def test_a_damaged_labels_file_is_named_and_its_good_rows_kept(env, tmp_path):
    cat = make_catalog(n=30, seed=5)
    path = env / "labels" / "damaged.labels.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("object_id,label,updated_at,origin\nobj0001,short,2026-01-01T00:00:00Z,manual\n"
                    "obj0002,long,not-a-time,manual\n\"unclosed,oops\n")
    st = ExplorerState(cat, embed_cache=ResultCache(), map_cache=ResultCache(), labels_path=path)
    assert st.labels.get("obj0001") == "short"
    assert "labels" in st.status.lower() and "row" in st.status.lower()
