"""Discovery on a real catalog: classifier probabilities and accuracy estimate, strategies, anomaly ranking
with feedback, the feedback and labels files, and the ``next`` / ``classify`` / ``anomalies`` CLI contract.

Vectors are the ``light_curve`` features R||B of 240 EROS-1 objects (60 per class), computed once per
session (the whole catalog takes minutes on 2 cores).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from explorer.discover import (AnomalyRanker, Classifier, DiverseMargin, make_strategy, estimate_accuracy,
                               feedback_path, label_vector, load_vectors, rank_anomalies, read_feedback,
                               read_label_table, save_feedback, suggest_next)
from explorer.discover.active import margins
from explorer.errors import CatalogError, ExplorerError

PER_CLASS = 60


@pytest.fixture(scope="session")
def eros_vectors(shared_data, tmp_path_factory):
    """(vectors Parquet path, true labels by object id) for 60 objects of each EROS-1 class."""
    from explorer.catalog import load_catalog
    from explorer.representations import Features

    catalog = load_catalog(shared_data / "eros1_lmc")
    objects = catalog.objects
    rows = np.concatenate([np.flatnonzero(objects["label"].to_numpy() == c)[:PER_CLASS]
                           for c in sorted(objects["label"].unique())])
    small = catalog.take(np.sort(rows), name="eros_small")
    result = Features(bands=["R", "B"]).compute(small, cache=False)
    path = result.to_parquet(tmp_path_factory.mktemp("discover") / "eros_small.vectors.parquet")
    truth = pd.Series(small.objects["label"].to_numpy(), index=small.object_ids.astype(str))
    return path, truth


@pytest.fixture(scope="session")
def data(eros_vectors):
    return load_vectors(eros_vectors[0])


@pytest.fixture(scope="session")
def truth(eros_vectors, data):
    return eros_vectors[1].loc[data.object_ids].to_numpy().astype(object)


def _some_labels(truth, per_class, seed=0):
    """``per_class`` true labels of each class, the rest unlabelled."""
    rng = np.random.default_rng(seed)
    labels = np.full(len(truth), None, object)
    for c in np.unique(truth.astype(str)):
        rows = rng.choice(np.flatnonzero(truth == c), per_class, replace=False)
        labels[rows] = truth[rows]
    return labels


@pytest.mark.parametrize("per_class", [2, 8])   # 8 labels: forest frequencies; 32: temperature-calibrated
def test_probabilities_for_every_object_sum_to_one(data, truth, per_class):
    labels = _some_labels(truth, per_class)
    model = Classifier(seed=1).fit(data.X, labels)
    assert model.calibrated_ == ("temperature" if per_class == 8 else "none")
    assert model.temperature_ != 1.0 or per_class == 2
    proba = model.predict_proba(data.X)
    assert proba.shape == (len(data), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (proba >= 0).all()
    frame = model.classify(data.X, data.object_ids)
    assert list(frame.columns[:3]) == ["object_id", "prediction", "probability"]
    p_cols = [f"p_{c}" for c in model.classes_]
    assert list(frame.columns[3:]) == p_cols
    np.testing.assert_allclose(frame["probability"], frame[p_cols].max(axis=1))
    assert (frame["prediction"] == np.asarray(model.classes_)[frame[p_cols].to_numpy().argmax(axis=1)]).all()
    # a classifier on 32 labels of features R||B is well above chance (0.25) on the rest
    if per_class == 8:
        rest = ~np.isin(np.arange(len(truth)), np.flatnonzero(labels != None))  # noqa: E711
        assert (frame["prediction"].to_numpy()[rest] == truth[rest]).mean() > 0.6


def test_rows_without_vector_get_nan_and_empty_prediction(data, truth):
    X = data.X.copy()
    X[5] = np.nan
    labels = _some_labels(truth, 3)
    labels[5] = truth[5]   # a label on an object without a vector is left out, and said
    model = Classifier(seed=0, calibration="none").fit(X, labels)
    assert model.unusable_labels_.tolist() == [5] and model.n_labels_ == int((labels != None).sum()) - 1  # noqa
    frame = model.classify(X, data.object_ids)
    assert frame.loc[5, "prediction"] == "" and np.isnan(frame.loc[5, "probability"])
    assert frame.drop(index=5)["probability"].notna().all()


@pytest.mark.parametrize("calibration", ["none", "sigmoid"])
def test_accuracy_estimate_equals_direct_sklearn(data, truth, calibration):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = _some_labels(truth, 10, seed=2)
    est = estimate_accuracy(data.X, labels, classifier=Classifier(seed=3, calibration=calibration), seed=4)
    mask = labels != None  # noqa: E711
    X, y = data.X[mask], labels[mask].astype(str)
    forest = ExtraTreesClassifier(n_estimators=200, random_state=3)
    # every training fold has 32 labels, 8 per class: the sigmoid applies, with 3 folds inside
    direct = CalibratedClassifierCV(forest, method="sigmoid", cv=3) if calibration == "sigmoid" else forest
    pred = cross_val_predict(direct, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=4))
    acc = float(np.mean(pred == y))
    assert est.accuracy == pytest.approx(acc, abs=1e-12)
    assert est.stderr == pytest.approx(np.sqrt(acc * (1 - acc) / len(y)))
    assert est.n_labels == 40 and est.n_folds == 5
    assert est.per_class == {c: 10 for c in np.unique(y)}
    assert "estimated accuracy" in est.summary()


def test_classifier_refuses_one_class(data, truth):
    labels = np.full(len(truth), None, object)
    labels[:3] = "Mira"
    with pytest.raises(ExplorerError, match="at least 2 classes"):
        Classifier().fit(data.X, labels)
    with pytest.raises(ExplorerError, match="one label entry per vector"):
        Classifier().fit(data.X, labels[:10])


@pytest.mark.parametrize("name", ["cluster-margin", "margin", "entropy", "diverse-margin", "random"])
def test_strategies_propose_distinct_unlabelled_objects(data, truth, name):
    labels = _some_labels(truth, 1)
    rows = suggest_next(data.X, labels, 12, strategy=name, seed=5)
    assert len(rows) == 12 == len(set(rows.tolist()))
    assert all(labels[r] is None for r in rows)
    again = suggest_next(data.X, labels, 12, strategy=name, seed=5)
    assert rows.tolist() == again.tolist()   # a seed fixes the choice


def test_margin_asks_for_the_least_certain(data, truth):
    labels = _some_labels(truth, 4)
    proba = Classifier(seed=0).fit(data.X, labels).predict_proba(data.X)
    rows = make_strategy("margin").select(data.X, labels, 10, proba=proba, seed=0)
    open_rows = np.flatnonzero(labels == None)  # noqa: E711
    assert margins(proba[rows]).max() <= np.sort(margins(proba[open_rows]))[9] + 1e-12
    diverse = DiverseMargin(pool=5).select(data.X, labels, 10, proba=proba, seed=0)
    pool = open_rows[np.argsort(margins(proba[open_rows]), kind="stable")][:60]
    assert set(diverse.tolist()) <= set(pool.tolist())


def test_cluster_margin_asks_for_representatives_of_unlabelled_clusters_first(data, truth):
    strategy = make_strategy("cluster-margin", n_clusters=8)
    cluster, _ = strategy.clusters(data.X)
    labels = np.full(len(truth), None, object)
    labels[np.flatnonzero(cluster == np.bincount(cluster).argmax())[0]] = truth[0]  # the largest is covered
    rows = strategy.select(data.X, labels, 7, seed=0)
    assert sorted(cluster[rows].tolist()) == sorted(set(range(8)) - {int(np.bincount(cluster).argmax())})
    sizes = np.bincount(cluster)[cluster[rows]]
    assert (np.diff(sizes) <= 0).all()   # largest cluster first
    # every cluster covered: margin takes over (falls back to random without a classifier)
    labels[rows] = "x"
    more = strategy.select(data.X, labels, 3, seed=0)
    assert len(more) == 3 and strategy.notes


def test_anomaly_scores_and_feedback_reranks(data):
    base = rank_anomalies(data.X, data.object_ids, seed=0)
    assert sorted(base["rank"]) == list(range(1, len(data) + 1))
    assert (np.diff(base.sort_values("rank")["score"].to_numpy()) <= 0).all()   # higher score, better rank
    order = base.sort_values("rank").index.to_numpy()
    up, down = order[len(order) // 2], order[0]
    fb = np.full(len(data), np.nan)
    fb[up], fb[down] = 1, 0
    for method in ("aad", "pine"):
        new = rank_anomalies(data.X, data.object_ids, fb, method=method, seed=0)
        assert new.loc[up, "rank"] < base.loc[up, "rank"], method     # marked anomaly: moves up
        assert new.loc[down, "rank"] > base.loc[down, "rank"], method  # not interesting: moves down


def test_anomaly_ranker_checks_its_input(data):
    with pytest.raises(ExplorerError, match="1 \\(anomaly\\) or 0"):
        AnomalyRanker().fit(data.X, np.full(len(data), 2.0))
    with pytest.raises(ExplorerError, match="method"):
        AnomalyRanker(method="nope").fit(data.X)
    X = data.X.copy()
    X[3] = np.nan
    frame = rank_anomalies(X, data.object_ids, seed=0)
    assert np.isnan(frame.loc[3, "score"]) and frame.loc[3, "rank"] == len(data)


def test_feedback_file_merges_and_never_loses_input(tmp_path):
    labels_file = tmp_path / "cat.labels.csv"
    path = feedback_path(labels_file)
    assert path.name == "cat.anomaly-feedback.csv"
    save_feedback(path, {"a": 1, "b": 0})
    current = save_feedback(path, {"c": 1, "a": None})   # a withdrawn, kept as a tombstone
    assert current.to_dict() == {"b": 0, "c": 1}
    text = path.read_text()
    assert text.splitlines()[0] == "object_id,anomaly,updated_at,origin"
    assert "a,," in text and text.count("anomaly-feedback") == 3
    minimal = tmp_path / "fb.csv"
    minimal.write_text("object_id,anomaly\n001,1\n1,0\n")
    assert read_feedback(minimal).to_dict() == {"001": 1, "1": 0}   # ids stay text
    minimal.write_text("object_id,anomaly\nx,maybe\n")
    with pytest.raises(CatalogError, match="line 2"):
        save_feedback(minimal, {"y": 1})
    assert minimal.read_text() == "object_id,anomaly\nx,maybe\n"   # a file we cannot read is not rewritten


def test_labels_file_of_the_dashboard_works_as_is(tmp_path, data):
    ids = data.object_ids
    path = tmp_path / "cat.labels.csv"
    pd.DataFrame({"object_id": [ids[0], ids[1], ids[2], ids[3], "not-there"],
                  "label": ["Mira", "Cepheid", "", "RR Lyrae", "Mira"],
                  "updated_at": ["2026-01-01T00:00:00+00:00"] * 5,
                  "origin": ["manual", "manual", "manual", "suggested", "manual"]}).to_csv(path, index=False)
    table = read_label_table(path, "label")
    y = label_vector(ids, table)
    assert y[0] == "Mira" and y[1] == "Cepheid" and y[2] is None and y[3] is None
    notes = " ".join(table.notes())
    assert "not-there" in notes and "empty label" in notes and "origin" in notes
    assert label_vector(ids, read_label_table(path, "label", origins=None))[3] == "RR Lyrae"
    with pytest.raises(CatalogError, match="'klass'"):
        read_label_table(path, "klass")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def labels_csv(tmp_path_factory, data, truth):
    labels = _some_labels(truth, 3, seed=7)
    mask = labels != None  # noqa: E711
    path = tmp_path_factory.mktemp("cli") / "eros_small.labels.csv"
    pd.DataFrame({"object_id": data.object_ids[mask], "label": labels[mask], "updated_at": "2026-01-01T00:00:00",
                  "origin": "manual"}).to_csv(path, index=False)
    return path


def test_cli_next_prints_only_ids(eros_vectors, labels_csv, data):
    done = _cli("next", eros_vectors[0], "--labels", labels_csv, "--column", "label", "-n", 7, "--strategy",
                "margin", "--seed", 2)
    assert done.returncode == 0, done.stderr
    ids = done.stdout.splitlines()
    assert len(ids) == 7 == len(set(ids)) and done.stdout.endswith("\n")
    labelled = set(pd.read_csv(labels_csv, dtype=str)["object_id"])
    assert set(ids) <= set(data.object_ids.tolist()) - labelled
    default = _cli("next", eros_vectors[0], "--labels", labels_csv, "--column", "label", "-n", 3)
    assert default.returncode == 0 and len(default.stdout.splitlines()) == 3


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_cli_classify_writes_every_object(eros_vectors, labels_csv, data, tmp_path, suffix):
    out = tmp_path / f"pred{suffix}"
    done = _cli("classify", eros_vectors[0], "--labels", labels_csv, "--column", "label", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "estimated accuracy" in done.stdout
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"object_id": str})
    classes = sorted(pd.read_csv(labels_csv)["label"].unique())
    assert list(frame.columns) == ["object_id", "prediction", "probability", *(f"p_{c}" for c in classes)]
    assert frame["object_id"].tolist() == data.object_ids.tolist()
    np.testing.assert_allclose(frame[[f"p_{c}" for c in classes]].sum(axis=1), 1.0, atol=1e-6)


def test_cli_classify_one_class_is_a_clear_error(eros_vectors, data, tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"object_id": data.object_ids[:3], "label": "Mira"}).to_csv(path, index=False)
    done = _cli("classify", eros_vectors[0], "--labels", path, "--column", "label", "-o", tmp_path / "x.parquet")
    assert done.returncode == 2 and "at least 2 classes" in done.stderr


def test_cli_anomalies_with_feedback(eros_vectors, data, tmp_path):
    out = tmp_path / "anom.parquet"
    done = _cli("anomalies", eros_vectors[0], "-o", out)
    assert done.returncode == 0, done.stderr
    base = pd.read_parquet(out)
    assert list(base.columns) == ["object_id", "score", "rank"]
    assert sorted(base["rank"]) == list(range(1, len(data) + 1))
    middle = base.sort_values("rank")["object_id"].iloc[len(base) // 2]
    fb = tmp_path / "fb.csv"
    fb.write_text(f"object_id,anomaly\n{middle},1\n")
    out2 = tmp_path / "anom2.csv"
    done = _cli("anomalies", eros_vectors[0], "-o", out2, "--feedback", fb)
    assert done.returncode == 0, done.stderr
    after = pd.read_csv(out2, dtype={"object_id": str}).set_index("object_id")
    assert after.loc[middle, "rank"] < base.set_index("object_id").loc[middle, "rank"]


def test_learning_curve_labels_in_batches_and_scores_the_rest(data, truth):
    from explorer.discover.curves import learning_curve

    curve = learning_curve(data.X, truth, "cluster-margin", budgets=(8, 16), seed=1)
    assert curve["labels"].tolist() == [8, 16]
    assert ((curve["accuracy"] > 0.25) & (curve["accuracy"] <= 1)).all()   # better than chance on 4 classes
    again = learning_curve(data.X, truth, "cluster-margin", budgets=(8, 16), seed=1)
    assert again.equals(curve)
