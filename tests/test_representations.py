"""Representations on real shared catalogs: light_curve features, per-band concatenation, hybrid, cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog, load_catalog
from explorer.projection import prepare_matrix
from explorer.representations import (
    Embedding,
    Features,
    Hybrid,
    PeriodogramGrid,
    compute_representation,
    feature_names,
    make_representation,
    read_vectors,
    representation_choices,
)


@pytest.fixture(scope="module")
def eros(shared_data):
    """A class-balanced slice of EROS-1 (B and R bands): 30 objects per class."""
    cat = load_catalog(shared_data / "eros1_lmc")
    rows = cat.objects.groupby("label").head(30).index.to_numpy()
    return cat.take(np.sort(rows))


@pytest.fixture(scope="module")
def atlas_store(tmp_path_factory, shared_models):
    """A private store holding the ATLAS checkpoint converted by our converter (real weights)."""
    from explorer.convert import import_checkpoint

    home = tmp_path_factory.mktemp("lcx_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCEXPLORER_HOME", str(home))
        import_checkpoint(shared_models / "checkpoints" / "atlas.zip", name="astromer1-atlas", verify=False)
        yield home


def _by_hand_extractor(grid):
    """The issue's feature list written out independently of explorer.representations.features."""
    import light_curve.light_curve_ext as lc

    return lc.Extractor(
        lc.Amplitude(), lc.AndersonDarlingNormal(), lc.BeyondNStd(1.0), lc.BeyondNStd(2.0), lc.Cusum(), lc.Eta(),
        lc.EtaE(), lc.InterPercentileRange(0.1), lc.InterPercentileRange(0.25), lc.Kurtosis(), lc.LinearFit(),
        lc.LinearTrend(), lc.MagnitudePercentageRatio(0.4, 0.05), lc.MagnitudePercentageRatio(0.2, 0.1),
        lc.MaximumSlope(), lc.Mean(), lc.MedianAbsoluteDeviation(), lc.MedianBufferRangePercentage(0.1),
        lc.PercentAmplitude(), lc.PercentDifferenceMagnitudePercentile(0.1), lc.ReducedChi2(), lc.Skew(),
        lc.StandardDeviation(), lc.StetsonK(), lc.WeightedMean(), lc.Median(),
        lc.Periodogram(peaks=3, freqs=np.linspace(0.0, grid.max_freq, 2 ** grid.n_log2 + 1), fast=True),
    )


def test_features_equal_light_curves_own_call(eros, lcx_home):
    result = Features(bands=["R", "B"]).compute(eros)
    names = feature_names()
    assert result.matrix.shape == (len(eros), 2 * len(names)) and len(names) == 36
    assert [b.name for b in result.blocks] == ["features:R", "features:B"]
    assert np.isfinite(result.matrix).all() and len(result.missing) == 0
    for k, band in enumerate(["R", "B"]):
        sub = eros.band_subset([band])
        grid = PeriodogramGrid.for_observations(sub.time, sub.offsets, resolution=5.0)
        ext = _by_hand_extractor(grid)
        period_cols = [j for j, n in enumerate(ext.names) if n.startswith("periodogram_period_") and "s_to_n" not in n]
        for label in ["RR Lyrae", "Cepheid", "Mira"]:  # one hand-checked light curve per class
            i = int(np.flatnonzero(eros.objects["label"].to_numpy() == label)[0])
            a, b = sub.offsets[i], sub.offsets[i + 1]
            expected = ext(sub.time[a:b], sub.value[a:b], sub.error[a:b])
            expected[period_cols] = np.log10(expected[period_cols])
            got = result.matrix[i, k * 36:(k + 1) * 36]
            np.testing.assert_allclose(got, expected.astype(np.float32), rtol=2e-6, atol=1e-6)
    # RR Lyrae periods (0.4-0.8 d) are found among the 3 peaks despite a ~1 day cadence (the grid
    # reaches 0.05 d); measured on all of EROS-1 B: 93 % within 2 %
    rr = np.flatnonzero(eros.objects["label"].to_numpy() == "RR Lyrae")
    cols = [36 + names.index(f"periodogram_log10_period_{j}") for j in range(3)]
    peaks = 10 ** result.matrix[np.ix_(rr, cols)]
    true = eros.objects["period"].to_numpy()[rr]
    assert np.mean((np.abs(peaks / true[:, None] - 1) < 0.02).any(axis=1)) > 0.75


def test_periodogram_grid_follows_span_and_cadence_with_a_cap():
    t = np.concatenate([np.sort(np.random.default_rng(0).uniform(0, 900, 200)),
                        np.sort(np.random.default_rng(1).uniform(0, 20000, 101))])  # one absurd span
    off = np.array([0, 200, 301])
    g = PeriodogramGrid.for_observations(t, off)
    assert g.min_period == 0.05 and g.max_freq == pytest.approx(2 * np.pi / 0.05)
    assert g.freqs[1] <= 2 * np.pi / (5 * 900) * 1.05 or g.capped
    dense = np.arange(0, 10, 0.001)  # 1.4-minute cadence: periods down to twice the interval
    g2 = PeriodogramGrid.for_observations(dense, np.array([0, len(dense)]))
    assert g2.min_period == pytest.approx(0.002, rel=0.01)
    # empty objects first and last (the flat arrays hold no observation for them)
    edge = PeriodogramGrid.for_observations(dense, np.array([0, 0, len(dense), len(dense)]))
    assert edge.min_period == pytest.approx(0.002, rel=0.01)
    huge = PeriodogramGrid.for_observations(np.array([0.0, 1e-6, 1e6]), np.array([0, 3]), max_log2=12)
    assert huge.capped and len(huge.freqs) == 2 ** 12 + 1


def test_bad_light_curves_give_nan_and_a_reason_not_a_crash(lcx_home):
    rng = np.random.default_rng(3)
    ids, t, m = [], [], []
    for name, n in [("good1", 80), ("const", 50), ("three", 3), ("good2", 60)]:
        tt = np.sort(rng.uniform(0, 300, n))
        mm = np.full(n, 17.0) if name == "const" else 17 + np.sin(tt / 3) + rng.normal(0, 0.05, n)
        ids += [name] * n
        t.append(tt)
        m.append(mm)
    cat = Catalog.from_long(np.array(ids), np.concatenate(t), np.concatenate(m), np.full(len(ids), 0.05))
    ticks = []
    result = Features().compute(cat, progress=lambda f, msg: ticks.append(f), cache=False)
    rows = {o: i for i, o in enumerate(cat.object_ids)}
    assert np.isfinite(result.matrix[[rows["good1"], rows["good2"]]]).all()
    assert np.isnan(result.matrix[[rows["const"], rows["three"]]]).all()
    reasons = dict(zip(result.missing["object_id"], result.missing["reason"]))
    assert reasons["const"] == "band default: constant light curve" and "3 observations" in reasons["three"]
    assert sorted(result.unmapped()["object_id"]) == ["const", "three"]
    assert ticks and ticks[-1] == pytest.approx(1.0)


def test_flux_catalog_and_missing_bands_are_kept_and_named(shared_data, lcx_home):
    cat = load_catalog(shared_data / "elasticc_sim_fink")
    assert cat.value_kind == "flux"
    result = Features().compute(cat)
    assert result.matrix.shape == (len(cat), 36 * len(cat.bands))
    has_any = np.isfinite(result.matrix).any(axis=1)
    # objects lacking a band keep their other bands (never dropped whole) and the gap is named
    partial = result.partial()
    assert len(partial) and partial["reason"].str.contains("band").all()
    # an object gets a vector when at least one band has 5 positive-flux observations
    enough = np.zeros(len(cat), bool)
    for k in range(len(cat.bands)):
        for i in range(len(cat)):
            a, b = cat.offsets[i], cat.offsets[i + 1]
            enough[i] |= ((cat.band[a:b] == k) & (cat.value[a:b] > 0)).sum() >= 5
    assert np.array_equal(has_any, enough)
    unmapped = result.unmapped()
    assert len(unmapped) == int((~has_any).sum()) > 0
    assert unmapped["reason"].str.contains("features need 5|no observation in band").all()
    assert result.meta["value_kind"] == "flux"


def test_feature_cache_is_keyed_by_content_and_parameters(eros, lcx_home):
    first = Features(bands=["R"]).compute(eros)
    again = Features(bands=["R"]).compute(eros)
    assert again.meta["from_cache"] and np.array_equal(first.matrix, again.matrix, equal_nan=True)
    other = Features(bands=["R"], peaks=2).compute(eros)
    assert not other.meta["from_cache"] and other.dim == 34
    fewer = Features(bands=["R"]).compute(eros.take(np.arange(10)))
    assert not fewer.meta["from_cache"] and fewer.matrix.shape[0] == 10
    np.testing.assert_array_equal(fewer.matrix, first.matrix[:10])
    with pytest.raises(Exception, match="not in catalog"):
        Features(bands=["V"]).compute(eros)


def test_concatenated_bands_equal_per_band_embeddings(eros, atlas_store):
    from explorer.engine import embed_catalog

    rep = compute_representation(eros, "astromer1-atlas", bands=["R", "B"])
    assert [b.name for b in rep.blocks] == ["astromer1-atlas:R", "astromer1-atlas:B"] and rep.dim == 512
    for k, band in enumerate(["R", "B"]):
        alone = embed_catalog(eros, "astromer1-atlas", bands=[band]).matrix()
        np.testing.assert_array_equal(rep.matrix[:, k * 256:(k + 1) * 256], alone)
    assert rep.embedding is not None and len(rep.embedding.observations_used(0)) > 0
    # the default on a multi-band catalog is the concatenation of every band
    default = compute_representation(eros, "astromer1-atlas")
    assert [b.name for b in default.blocks] == ["astromer1-atlas:B", "astromer1-atlas:R"]
    mixed = Embedding("astromer1-atlas", concat_bands=False).compute(eros)
    assert mixed.dim == 256


def test_hybrid_blocks_are_zscored_and_weighted_exactly(eros, atlas_store):
    hyb = compute_representation(eros, "hybrid:astromer1-atlas", bands=["R", "B"])
    emb = compute_representation(eros, "astromer1-atlas", bands=["R", "B"])
    feat = Features(bands=["R", "B"]).compute(eros)
    np.testing.assert_array_equal(hyb.matrix, np.hstack([emb.matrix, feat.matrix]))
    w = hyb.column_weights()
    assert np.all(w[:512] == 1 / np.sqrt(512)) and np.all(w[512:] == 1 / np.sqrt(72))
    prepared, ok = prepare_matrix(hyb.matrix, column_weights=w)

    def z(a):
        a = a.astype(np.float64)
        sd = a.std(axis=0)
        return (a - a.mean(axis=0)) / np.where(sd > 0, sd, 1)

    expected = np.hstack([z(emb.matrix) / np.sqrt(512), z(feat.matrix) / np.sqrt(72)])
    np.testing.assert_allclose(prepared, expected, atol=2e-6)
    # each part contributes the same total variance to distances
    assert prepared[:, :512].var(axis=0).sum() == pytest.approx(prepared[:, 512:].var(axis=0).sum(), rel=0.05)
    assert isinstance(make_representation("hybrid:astromer1-atlas"), Hybrid)


def test_parquet_round_trip_keeps_blocks_and_weights(eros, atlas_store, tmp_path):
    hyb = compute_representation(eros, "hybrid:astromer1-atlas", bands=["R", "B"])
    path = hyb.to_parquet(tmp_path / "h.parquet")
    back = read_vectors(path)
    np.testing.assert_array_equal(back.matrix, hyb.matrix)
    np.testing.assert_array_equal(back.column_weights(), hyb.column_weights())
    assert list(back.object_ids) == list(eros.object_ids)


def test_per_band_rows_are_pivoted_into_one_vector_per_object(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    vec = np.arange(5 * 4, dtype=np.float32).reshape(5, 4)
    table = pa.table({"object_id": ["a", "a", "b", "c", "c"], "band": ["R", "B", "R", "R", "B"],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vec.ravel()), 4)})
    pq.write_table(table, tmp_path / "e.parquet")
    res = read_vectors(tmp_path / "e.parquet")
    assert list(res.object_ids) == ["a", "b", "c"] and res.matrix.shape == (3, 8)
    np.testing.assert_array_equal(res.matrix[0], np.r_[vec[0], vec[1]])
    assert np.isnan(res.matrix[1, 4:]).all()
    assert res.missing.values.tolist() == [["b", "B", "no row in the file"]]


def test_representation_specs():
    assert representation_choices(["m1"]) == ["features", "m1", "hybrid:m1"]
    assert isinstance(make_representation("features"), Features)
    assert isinstance(make_representation("m1"), Embedding)
    with pytest.raises(ValueError, match="hybrid"):
        make_representation("hybrid:")
    with pytest.raises(ValueError, match="representation"):
        make_representation("")
    f = Features()
    assert f.get_params()["peaks"] == 3 and f.set_params(peaks=2).peaks == 2
    with pytest.raises(ValueError, match="no parameter"):
        f.set_params(colour=1)
    with pytest.raises(ValueError, match="peaks"):
        Features(peaks=0).compute(Catalog.from_long(np.array(["a"] * 6), np.arange(6.0), np.arange(6.0)))


def test_cli_concat_bands_and_hybrid(eros, atlas_store, tmp_path):
    import pyarrow.parquet as pq

    from explorer.cli import main

    folder = tmp_path / "cat"
    eros.to_parquet(folder, name="eros_small")
    out = tmp_path / "a.parquet"
    assert main(["embed", str(folder), "--model", "astromer1-atlas", "--bands", "R,B", "--concat-bands",
                 "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names == ["object_id", "embedding"] and table.num_rows == len(eros)
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[512]"
    direct = compute_representation(eros, "astromer1-atlas", bands=["R", "B"])
    np.testing.assert_array_equal(read_vectors(out).matrix, direct.matrix)
    out_h = tmp_path / "h.parquet"
    assert main(["embed", str(folder), "--model", "hybrid:astromer1-atlas", "--bands", "R,B", "-o", str(out_h)]) == 0
    back = read_vectors(out_h)
    assert back.dim == 584 and back.column_weights()[0] == pytest.approx(1 / np.sqrt(512))
    assert main(["embed", str(folder), "--model", "hybrid:", "-o", str(out_h)]) == 2


def test_period_search_is_bounded_and_refuses_what_has_no_period():
    import tracemalloc

    from explorer.errors import CatalogError
    from explorer.representations import features

    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 20000, 101))  # the probe's worst case: 101 points over 20,000 days
    m = np.sin(2 * np.pi * t / 3.7) + rng.normal(0, 0.1, 101)
    tracemalloc.start()
    found = features.best_period(t, m)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert abs(found - 3.7) / 3.7 < 0.001 and peak < 200e6
    t2 = np.sort(rng.uniform(0, 400, 200))
    assert abs(features.best_period(t2, np.sin(2 * np.pi * t2 / 0.61)) - 0.61) < 0.002
    for bad in (np.full(20, 3.0), np.full(20, 1e-310), np.r_[np.full(19, 1e-310), 2e-310]):
        with pytest.raises(CatalogError):
            features.best_period(np.arange(20.0), bad) if bad[-1] != 2e-310 else features.best_period(
                np.zeros(20), bad)


def test_an_object_lacking_a_band_keeps_its_other_band_and_the_gap_is_named(eros, atlas_store):
    drop = set(eros.object_ids[:2])  # these two lose every B observation
    obj = np.repeat(eros.object_ids, eros.n_obs)
    bands = np.asarray(eros.bands)[eros.band]
    keep = ~(np.isin(obj, list(drop)) & (bands == "B"))
    cat = Catalog.from_long(obj[keep], eros.time[keep], eros.value[keep], eros.error[keep], bands[keep],
                            objects=eros.objects.drop(columns=["n_obs", "empty"]), name="eros_gap")
    rep = compute_representation(cat, "astromer1-atlas", bands=["R", "B"])
    rows = [cat.index_of(i) for i in sorted(drop)]
    assert np.isnan(rep.matrix[rows, 256:]).all() and np.isfinite(rep.matrix[rows, :256]).all()
    gaps = rep.missing.set_index("object_id")
    assert set(gaps.index) == drop
    assert (gaps["block"] == "astromer1-atlas:B").all() and (gaps["reason"] == "no observation in band B").all()
    assert len(rep.unmapped()) == 0 and set(rep.partial()["object_id"]) == drop
