"""Projection: real UMAP runs on small clustered matrices (determinism, caching, transform, NaN rows)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.projection import Projection, clear_memory_cache, pca_preview, projection_cache_dir

# Few epochs keep each real UMAP fit to a second or two once numba is compiled.
FAST = {"n_epochs": 60}


def clustered(n=400, dim=64, k=4, seed=0, spread=8.0):
    """Gaussian clusters; returns (X float32, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(k, dim))
    labels = rng.integers(0, k, n)
    return (centres[labels] + rng.normal(size=(n, dim))).astype(np.float32), labels


def knn_purity(coords, labels, k=10):
    """Fraction of each point's k nearest map neighbours that share its label."""
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


def test_same_seed_same_map_and_clusters_separate(tmp_path):
    X, labels = clustered()
    a = Projection(random_state=7, cache=False, **FAST).fit_transform(X)
    b = Projection(random_state=7, cache=False, **FAST).fit_transform(X)
    c = Projection(random_state=8, cache=False, **FAST).fit_transform(X)
    assert a.shape == (len(X), 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert knn_purity(a, labels) > 0.95


def test_exact_neighbour_path_above_umaps_own_threshold(tmp_path):
    """4096 < n <= EXACT_NEIGHBOURS_MAX: our exact neighbour graph is handed to UMAP (no NN-descent)."""
    from explorer.projection import EXACT_NEIGHBOURS_MAX

    X, labels = clustered(n=4300, dim=32, k=5)
    assert 4096 < len(X) <= EXACT_NEIGHBOURS_MAX
    a = Projection(random_state=3, cache=False, n_epochs=30).fit_transform(X)
    b = Projection(random_state=3, cache=False, n_epochs=30).fit_transform(X)
    assert np.array_equal(a, b)
    sample = np.random.default_rng(0).choice(len(X), 800, replace=False)
    assert knn_purity(a[sample], labels[sample]) > 0.95
    proj = Projection(random_state=3, cache=False, n_epochs=30).fit(X)
    placed = proj.transform(X[:50] + 0.01)
    assert np.nanmax(np.linalg.norm(placed - a[:50], axis=1)) < 0.25 * np.ptp(a, axis=0).max()


def test_cache_memory_then_disk(tmp_path):
    X, _ = clustered(seed=1)
    first = Projection(cache_dir=tmp_path, **FAST)
    emb = first.fit_transform(X)
    assert first.cache_hit_ is None
    files = list(tmp_path.glob("umap-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))

    again = Projection(cache_dir=tmp_path, **FAST)
    assert np.array_equal(again.fit_transform(X), emb)
    assert again.cache_hit_ == "memory"

    clear_memory_cache()
    from_disk = Projection(cache_dir=tmp_path, **FAST)
    assert np.array_equal(from_disk.fit_transform(X), emb)
    assert from_disk.cache_hit_ == "disk"

    # Any parameter or content change is a different entry.
    other = Projection(cache_dir=tmp_path, min_dist=0.5, **FAST)
    other.fit(X)
    assert other.cache_hit_ is None
    X2 = X.copy()
    X2[0, 0] += 1.0
    changed = Projection(cache_dir=tmp_path, **FAST)
    changed.fit(X2)
    assert changed.cache_hit_ is None
    assert len(list(tmp_path.glob("umap-*.npz"))) == 3


def test_default_cache_dir_is_under_the_store(lcx_home):
    assert projection_cache_dir() == lcx_home / "projections"
    X, _ = clustered(n=200, seed=2)
    Projection(**FAST).fit(X)
    assert len(list((lcx_home / "projections").glob("umap-*.npz"))) == 1


def test_corrupt_cache_file_is_recomputed(tmp_path):
    X, _ = clustered(n=200, seed=3)
    p = Projection(cache_dir=tmp_path, **FAST)
    emb = p.fit_transform(X)
    (path,) = tmp_path.glob("umap-*.npz")
    path.write_bytes(b"not a numpy file")
    clear_memory_cache()
    q = Projection(cache_dir=tmp_path, **FAST)
    assert np.array_equal(q.fit_transform(X), emb)
    assert q.cache_hit_ is None


def test_transform_places_new_points_near_their_neighbours(tmp_path):
    X, labels = clustered(n=500, seed=4)
    p = Projection(cache_dir=tmp_path, **FAST)
    emb = p.fit_transform(X)
    rng = np.random.default_rng(5)
    new = X[:40] + rng.normal(scale=0.05, size=(40, X.shape[1])).astype(np.float32)
    placed = p.transform(new)
    extent = np.ptp(emb, axis=0).max()
    # Each new point lands next to the object it was copied from, far closer than the map size.
    assert np.median(np.linalg.norm(placed - emb[:40], axis=1)) < 0.05 * extent
    # ... and in the cluster of its label.
    centroids = np.stack([emb[labels == k].mean(0) for k in range(4)])
    nearest = np.argmin(((placed[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels[:40]).mean() >= 0.95
    # Same placement whether the fitted map came from the cache or not.
    clear_memory_cache()
    q = Projection(cache_dir=tmp_path, **FAST).fit(X)
    assert q.cache_hit_ == "disk"
    assert np.allclose(q.transform(new), placed, atol=1e-5)
    with pytest.raises(ValueError, match="X_new has 3 dimensions"):
        p.transform(np.zeros((2, 3)))


def test_transform_before_fit_is_an_error():
    with pytest.raises(ValueError, match="not fitted"):
        Projection().transform(np.zeros((2, 3)))


def test_cosine_metric_groups_by_direction():
    rng = np.random.default_rng(6)
    directions = rng.normal(size=(3, 32))
    labels = rng.integers(0, 3, 300)
    norms = rng.uniform(1.0, 20.0, 300)  # euclidean distance is dominated by the norm, cosine ignores it
    X = (directions[labels] * norms[:, None] + rng.normal(scale=0.05, size=(300, 32))).astype(np.float32)
    cos = Projection(metric="cosine", cache=False, **FAST).fit_transform(X)
    euc = Projection(metric="euclidean", cache=False, **FAST).fit_transform(X)
    assert knn_purity(cos, labels) > 0.95
    assert knn_purity(cos, labels) > knn_purity(euc, labels) - 1e-9
    assert not np.allclose(cos, euc)


@pytest.mark.parametrize(
    "dim, kwargs, expected",
    [
        (64, {}, True),  # auto: above 50 dimensions
        (40, {}, False),
        (64, {"pca": False}, False),
        (40, {"pca": True, "pca_components": 10}, True),
        (40, {"pca_components": 30}, True),  # auto threshold follows pca_components
    ],
)
def test_pca_auto_switch(dim, kwargs, expected):
    X, _ = clustered(n=150, dim=dim, seed=7)
    p = Projection(cache=False, **FAST, **kwargs).fit(X)
    assert p.pca_used_ is expected
    assert np.isfinite(p.embedding_).all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_neighbors": 1}, "n_neighbors"),
        ({"n_neighbors": 2.5}, "n_neighbors"),
        ({"n_neighbors": True}, "n_neighbors"),
        ({"min_dist": -0.1}, "min_dist"),
        ({"min_dist": 1.5}, "min_dist"),
        ({"min_dist": "0.1"}, "min_dist"),
        ({"metric": "manhattan"}, "metric"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": 1.5}, "random_state"),
        ({"pca": "yes"}, "pca"),
        ({"pca_components": 1}, "pca_components"),
        ({"cache_dir": 3}, "cache_dir"),
        ({"n_epochs": 0}, "n_epochs"),
        ({"init": "tsne"}, "init"),
        ({"cache": "no"}, "cache"),
        ({"standardize": "yes"}, "standardize"),
        ({"target_weight": 2.0}, "target_weight"),
    ],
)
def test_parameter_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        Projection(**kwargs)


def test_parameters_changed_after_construction_are_checked_on_fit():
    p = Projection()
    p.metric = "hamming"
    with pytest.raises(ValueError, match="metric must"):
        p.fit(np.zeros((10, 3)))


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        Projection().fit(np.zeros(10))
    with pytest.raises(ValueError, match="numeric"):
        Projection().fit([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="no finite row"):
        Projection().fit(np.full((5, 3), np.nan))


def test_nan_rows_get_nan_coordinates(tmp_path):
    X, labels = clustered(n=300, seed=8)
    Xn = X.copy()
    missing = np.array([0, 17, 150, 299])
    Xn[missing] = np.nan
    Xn[5, 3] = np.inf  # without standardisation one bad value marks the object as not embedded
    missing = np.sort(np.append(missing, 5))
    p = Projection(cache_dir=tmp_path, standardize=False, **FAST)
    emb = p.fit_transform(Xn)
    assert np.isnan(emb[missing]).all()
    keep = np.setdiff1d(np.arange(len(X)), missing)
    assert np.isfinite(emb[keep]).all()
    assert np.array_equal(p.valid_, np.isin(np.arange(len(X)), keep))
    # The valid rows get exactly the map of the valid rows alone.
    alone = Projection(cache=False, standardize=False, **FAST).fit_transform(X[keep])
    assert np.array_equal(emb[keep], alone)
    placed = p.transform(Xn[:6])
    assert np.isnan(placed[[0, 5]]).all() and np.isfinite(placed[1:5]).all()


def test_standardised_map_places_rows_missing_a_block(tmp_path):
    X, labels = clustered(n=300, seed=8)
    Xn = X.copy()
    empty = np.array([0, 17, 150, 299])
    Xn[empty] = np.nan
    Xn[5, :32] = np.nan  # one block missing: mapped on the other block, counted as imputed
    p = Projection(cache_dir=tmp_path, **FAST)
    emb = p.fit_transform(Xn)
    assert np.isnan(emb[empty]).all()
    assert np.isfinite(np.delete(emb, empty, axis=0)).all()
    assert np.flatnonzero(p.imputed_).tolist() == [5]
    # the prepared row 5 has the column mean (0 after z-scoring) where it had no value
    prepared = p.prepare(Xn)
    assert np.all(prepared[5, :32] == 0) and np.isnan(prepared[empty]).all()


def test_prepare_matrix_is_zscore_times_weights():
    from sklearn.preprocessing import StandardScaler

    from explorer.projection import prepare_matrix

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 6)) * [1, 10, 100, 0.1, 5, 2] + [0, 3, -7, 1, 2, 9]
    X[:, 5] = 4.0  # a constant column stays finite (0)
    w = np.array([1, 1, 0.5, 0.5, 0.25, 1.0])
    prepared, ok = prepare_matrix(X, column_weights=w)
    expected = StandardScaler().fit_transform(X) * w
    assert ok.all()
    np.testing.assert_allclose(prepared, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="column_weights"):
        prepare_matrix(X, column_weights=[1, 2])
    raw, ok = prepare_matrix(np.vstack([X, np.full(6, np.nan)]), standardize=False)
    assert not ok[-1] and np.array_equal(raw[:-1], X.astype(np.float32))


def test_projection_standardises_with_the_same_weights():
    from explorer.projection import prepare_matrix

    X, _ = clustered(n=300, dim=8, seed=4)
    X[:, 0] *= 1000.0
    w = np.linspace(0.5, 2.0, 8)
    by_hand = Projection(cache=False, standardize=False, **FAST).fit_transform(prepare_matrix(X, column_weights=w)[0])
    built_in = Projection(cache=False, column_weights=w, **FAST).fit_transform(X)
    np.testing.assert_allclose(built_in, by_hand, atol=1e-5)


def test_labels_guide_the_map(tmp_path):
    # two label groups that cut across the geometric clusters: with labels the map follows the labels
    X, clusters = clustered(n=400, dim=16, k=4, seed=12, spread=3.0)
    rng = np.random.default_rng(0)
    y = np.where(rng.random(400) < 0.5, "a", "b").astype(object)
    y[::4] = None  # unlabelled objects are free
    plain = Projection(cache_dir=tmp_path, **FAST).fit(X)
    guided = Projection(cache_dir=tmp_path, target_weight=0.9, **FAST).fit(X, y)
    assert guided.supervised_ and not plain.supervised_
    assert guided.cache_key_ != plain.cache_key_
    labelled = np.array([v is not None for v in y])
    purity_plain = knn_purity(plain.embedding_[labelled], y[labelled].astype(str))
    purity_guided = knn_purity(guided.embedding_[labelled], y[labelled].astype(str))
    assert purity_guided > purity_plain + 0.2
    again = Projection(cache_dir=tmp_path, target_weight=0.9, **FAST).fit(X, y)
    assert again.cache_hit_ == "memory" and np.array_equal(again.embedding_, guided.embedding_)
    with pytest.raises(ValueError, match="y has"):
        Projection(cache=False, **FAST).fit(X, y[:10])


def test_tiny_inputs_still_map():
    X, _ = clustered(n=6, dim=8, seed=9)
    emb = Projection(cache=False, **FAST).fit_transform(X)
    assert emb.shape == (6, 2) and np.isfinite(emb).all()
    emb = Projection(cache=False).fit_transform(X[:2])
    assert emb.shape == (2, 2) and np.isfinite(emb).all()


def test_pca_preview():
    X, labels = clustered(n=300, seed=10)
    X[3] = np.nan
    a = pca_preview(X)
    assert a.shape == (300, 2) and np.isnan(a[3]).all()
    assert np.array_equal(a, pca_preview(X), equal_nan=True)
    ok = np.isfinite(a).all(1)
    # First component carries at least as much variance as the second.
    assert a[ok, 0].var() >= a[ok, 1].var()
    from sklearn.decomposition import PCA

    ref = PCA(2).fit_transform(X[ok].astype(np.float64))
    assert np.allclose(np.abs(a[ok]), np.abs(ref), atol=1e-3 * np.abs(ref).max())
    single = pca_preview(np.arange(5.0)[:, None])
    assert single.shape == (5, 2) and np.all(single[:, 1] == 0)
    assert np.isnan(pca_preview(np.full((3, 4), np.nan))).all()


def test_sample_fit_places_the_rest_with_transform(tmp_path):
    """Above `sample` usable rows UMAP sees a seeded sample; the others are placed by transform."""
    X, labels = clustered(n=300, dim=16, k=3)
    X[5] = np.nan   # an unusable row stays NaN and is never sampled
    proj = Projection(random_state=4, sample=120, cache_dir=tmp_path, **FAST).fit(X)
    sampled = proj.sampled_
    assert len(sampled) == 120 and 5 not in sampled
    assert np.isnan(proj.embedding_[5]).all() and np.isfinite(np.delete(proj.embedding_, 5, axis=0)).all()
    # the same map by hand: the sample alone, then transform for the rest (same standardisation)
    prepared = proj.prepare(X)
    alone = Projection(random_state=4, sample=None, standardize=False, cache=False, **FAST).fit(prepared[sampled])
    np.testing.assert_array_equal(proj.embedding_[sampled], alone.embedding_)
    rest = np.setdiff1d(np.flatnonzero(proj.valid_), sampled)
    np.testing.assert_array_equal(proj.embedding_[rest], alone.transform(prepared[rest]))
    assert knn_purity(proj.embedding_[rest], labels[rest]) > 0.9
    # seeded: the same sample and map again (from the disk cache too); another sample size, another key
    again = Projection(random_state=4, sample=120, cache_dir=tmp_path, **FAST)
    clear_memory_cache()
    np.testing.assert_array_equal(again.fit_transform(X), proj.embedding_)
    assert again.cache_hit_ == "disk"
    assert Projection(random_state=4, sample=150, cache_dir=tmp_path, **FAST).fit(X).cache_key_ != proj.cache_key_
    # below the sample size nothing changes: no sample, the key of an ordinary map
    small = Projection(random_state=4, sample=1000, cache=False, **FAST).fit(X)
    assert small.sampled_ is None


@pytest.mark.slow
def test_neighbour_choice_is_validated_and_exact_can_be_forced():
    """NN-descent (approximate) vs brute force at 4200 points (the first NN-descent call compiles: slow)."""
    X, labels = clustered(n=4200, dim=8, k=3)
    with pytest.raises(ValueError, match="neighbours"):
        Projection(neighbours="fast")
    with pytest.raises(ValueError, match="sample"):
        Projection(sample=3)
    a = Projection(random_state=1, cache=False, neighbours="approximate", n_epochs=20).fit(X)
    b = Projection(random_state=1, cache=False, neighbours="exact", n_epochs=20).fit(X)
    assert not np.array_equal(a.embedding_, b.embedding_)   # two different neighbour graphs
    pick = np.random.default_rng(0).choice(len(X), 600, replace=False)
    assert knn_purity(a.embedding_[pick], labels[pick]) > 0.95 and knn_purity(b.embedding_[pick], labels[pick]) > 0.95
