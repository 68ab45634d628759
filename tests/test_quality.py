"""Map quality figures, label suggestions and the embed/map/quality command-line contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer.quality import knn_accuracy, map_quality, usable_labels
from explorer.suggest import suggest_labels


def blobs(n=300, dim=10, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, dim)) + 1.5 * np.eye(3, dim)[y] * 3
    X[:, 0] *= 100.0  # one wide column: standardisation matters
    return X, np.array(["a", "b", "c"])[y].astype(object)


def test_quality_equals_a_direct_sklearn_computation():
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs()
    xy = X[:, 1:3] + np.random.default_rng(1).normal(size=(len(X), 2))
    q = map_quality(y, X, xy)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    full = cross_val_score(make_pipeline(StandardScaler(), KNeighborsClassifier(5)), X, y.astype(str), cv=cv).mean()
    flat = cross_val_score(make_pipeline(StandardScaler(), KNeighborsClassifier(5)), xy, y.astype(str), cv=cv).mean()
    trust = trustworthiness(StandardScaler().fit_transform(X), xy, n_neighbors=10)
    assert q.knn_full == pytest.approx(full, abs=1e-12)
    assert q.knn_2d == pytest.approx(flat, abs=1e-12)
    assert q.trustworthiness == pytest.approx(trust, abs=1e-6)
    assert q.n_labelled == 300 and set(q.classes) == {"a", "b", "c"}
    assert "kNN5 full" in q.summary()


def test_unlabelled_excluded_and_small_classes_are_left_out_and_named():
    X, y = blobs()
    y = y.copy()
    y[:20] = None
    y[20:40] = ""
    y[40:43] = "rare"
    y[43:60] = "Other"
    ok, classes, excluded = usable_labels(y, exclude=["Other"])
    assert ok.sum() == 300 - 60 and "rare" not in classes
    assert excluded == {"Other": 17, "rare (fewer than 5)": 3}
    q = map_quality(y, X, None, exclude=["Other"])
    assert q.knn_2d is None and q.trustworthiness is None and q.n_labelled == 240
    expected = knn_accuracy(X[ok], y[ok].astype(str))
    assert q.knn_full == pytest.approx(expected)


def test_weights_apply_after_in_fold_standardisation():
    X, y = blobs()
    w = np.r_[np.full(5, 0.1), np.full(5, 1.0)]
    q = map_quality(y, X, None, column_weights=w)
    assert q.knn_full == pytest.approx(knn_accuracy(X, y.astype(str), column_weights=w))
    assert q.knn_full != pytest.approx(knn_accuracy(X, y.astype(str)))


def test_suggestions_come_from_labelled_neighbours():
    X, y = blobs(n=400, seed=3)
    truth = y.copy()
    y = y.copy()
    hidden = np.arange(0, 400, 2)
    y[hidden] = None
    s = suggest_labels(X, y, object_ids=[f"o{i}" for i in range(400)])
    assert len(s) == len(hidden) and set(s["row"]) == set(hidden)
    assert (s["suggestion"].to_numpy() == truth[s["row"]]).mean() > 0.9
    assert s["confidence"].is_monotonic_decreasing and s["confidence"].between(0, 1).all()
    top = s.head(50)
    assert (top["suggestion"].to_numpy() == truth[top["row"]]).all()
    assert s["object_id"].iloc[0] == f"o{s['row'].iloc[0]}"
    assert len(suggest_labels(X, [None] * 400)) == 0


def test_cli_embed_map_quality_contract(shared_data, lcx_home, tmp_path, capsys):
    from explorer.catalog import load_catalog
    from explorer.cli import main

    cat = load_catalog(shared_data / "eros1_lmc")
    rows = np.sort(cat.objects.groupby("label").head(40).index.to_numpy())
    small = cat.take(rows)
    small.objects.loc[3, "label"] = None  # one unlabelled object: not counted
    lc_path, obj_path = small.to_parquet(tmp_path / "cat", name="eros_small")
    emb = tmp_path / "f.parquet"
    assert main(["embed", str(tmp_path / "cat"), "--model", "features", "--bands", "R,B", "-o", str(emb)]) == 0
    table = pq.read_table(emb)
    assert table.column_names == ["object_id", "embedding"] and table.num_rows == len(small)
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[72]"
    assert table.column("object_id").to_pylist() == list(small.object_ids)
    xy = tmp_path / "xy.parquet"
    assert main(["map", str(emb), "-o", str(xy), "--n-neighbors", "10", "--seed", "7"]) == 0
    frame = pd.read_parquet(xy)
    assert list(frame.columns) == ["object_id", "x", "y"] and np.isfinite(frame[["x", "y"]]).all().all()
    meta = json.loads(pq.read_schema(xy).metadata[b"lcexplorer"])
    assert meta["projection"]["standardize"] is True and meta["projection"]["random_state"] == 7
    capsys.readouterr()
    assert main(["quality", str(emb), "--labels", str(obj_path), "--column", "label", "--map", str(xy), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n_labelled"] == len(small) - 1
    from explorer.projection import Projection
    from explorer.representations import read_vectors

    vec = read_vectors(emb)
    labels = small.objects["label"]
    direct = map_quality(labels, vec.matrix, frame[["x", "y"]].to_numpy())
    assert figures["knn_full"] == pytest.approx(direct.knn_full)
    assert figures["knn_2d"] == pytest.approx(direct.knn_2d)
    assert figures["trustworthiness"] == pytest.approx(direct.trustworthiness)
    again = Projection(n_neighbors=10, random_state=7).fit_transform(vec.matrix)
    np.testing.assert_array_equal(again, frame[["x", "y"]].to_numpy(np.float32))
    assert main(["quality", str(xy), "--labels", str(obj_path)]) == 0
    out = capsys.readouterr().out
    assert "2-D map:" in out and "full space: n/a" in out
    # label-guided map through the CLI
    guided = tmp_path / "g.parquet"
    assert main(["map", str(emb), "-o", str(guided), "--labels", str(obj_path), "--column", "label",
                 "--target-weight", "0.8"]) == 0
    assert json.loads(pq.read_schema(guided).metadata[b"lcexplorer"])["supervised"] is True
    assert main(["map", str(tmp_path / "none.parquet"), "-o", str(guided)]) == 2


def test_suggestion_confidence_is_calibrated_with_classes_of_one():
    """Three labelled objects per blob, plus a class with a single labelled object (its own region, and
    a stray one inside blob a): the confidence stays informative and is right where it is high."""
    X, y = blobs(n=400, seed=5)
    rng = np.random.default_rng(1)
    far = rng.normal(size=(30, X.shape[1])) + 12.0  # a fourth group, one of its objects labelled "d"
    far[:, 0] *= 100.0
    X = np.vstack([X, far])
    truth = np.r_[y, np.full(30, "d", dtype=object)]
    labels = np.array([None] * len(truth), dtype=object)
    for cls in ("a", "b", "c"):
        labels[np.flatnonzero(truth == cls)[:3]] = cls
    labels[400] = "d"
    labels[np.flatnonzero(truth == "a")[10]] = "stray"  # one-off label inside blob a: ambiguity there
    s = suggest_labels(X, labels)
    confident = s[s["confidence"] >= 0.8]
    ok = confident["suggestion"].to_numpy() == truth[confident["row"].to_numpy()]
    assert len(confident) > 0.4 * len(s) and ok.mean() > 0.85  # calibrated: 0.8+ means 8 in 10 or better
    in_d = s[s["row"] > 400]
    assert (in_d["suggestion"] == "d").all() and (in_d["confidence"] > 0.8).mean() > 0.8
    in_a = s[np.isin(s["row"], np.flatnonzero(truth == "a"))]
    assert in_a["confidence"].median() < 0.8  # a vs stray: honestly ambiguous


def test_large_label_sets_are_rated_on_a_seeded_sample():
    X, y = blobs(n=3000, seed=7)
    q = map_quality(y, X, None, max_objects=1000)
    assert q.n_labelled == 3000 and q.n_used == 1000 and "sample of 1000" in q.summary()
    again = map_quality(y, X, None, max_objects=1000)
    assert again.knn_full == q.knn_full  # same seed, same sample
    full = map_quality(y, X, None)
    assert full.n_used == 3000 and abs(full.knn_full - q.knn_full) < 0.05
