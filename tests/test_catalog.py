"""Catalog core: grouping, cleaning report, access, band subsets, hashing, Parquet round trip."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog, CleaningReport, load_catalog
from explorer.errors import CatalogError


def _messy():
    """Three objects in shuffled order with NaNs, infs, duplicates and an unsorted time axis."""
    rows = [
        # object, time, value, error, band
        ("a", 3.0, 10.3, 0.1, "g"),
        ("b", 1.0, 20.1, 0.2, "r"),
        ("a", 1.0, 10.1, 0.1, "g"),
        ("a", 2.0, np.nan, 0.1, "g"),      # non-finite value: dropped
        ("a", 1.0, 10.1, 0.1, "g"),        # exact duplicate: dropped
        ("a", 1.0, 10.2, 0.1, "r"),        # same time, other band: kept
        ("c", np.inf, 30.0, 0.3, "g"),     # non-finite time: dropped (c left empty)
        ("b", 0.5, 20.0, np.inf, "g"),     # non-finite error: kept, error NaN
        ("b", 1.0, 20.1, 0.2, "r"),        # duplicate
        ("b", 1.0, 20.1, 0.2, "r"),        # duplicate again
        ("a", 0.5, 10.0, np.nan, "r"),     # NaN error: kept
        ("a", 0.5, 10.0, np.nan, "r"),     # duplicate with NaN error: dropped (NaN == NaN here)
    ]
    df = pd.DataFrame(rows, columns=["object_id", "time", "value", "error", "band"])
    return df


def _from_df(df, **kw):
    return Catalog.from_long(df.object_id, df.time, df.value, df.error, df.band, **kw)


def test_from_long_groups_sorts_and_cleans_with_exact_counts():
    cat = _from_df(_messy(), name="messy")
    assert len(cat) == 3
    assert list(cat.objects.object_id) == ["a", "b", "c"]  # order of first appearance
    assert cat.objects.index.equals(pd.RangeIndex(3))
    assert cat.bands == ("g", "r")
    assert cat.offsets.tolist() == [0, 4, 6, 6]
    assert cat.n_observations == 6
    assert cat.time.dtype == np.float64 and cat.band.dtype == np.int16 and cat.offsets.dtype == np.int64

    a = cat.light_curve("a")
    assert a.time.tolist() == [0.5, 1.0, 1.0, 3.0]
    assert a.band.tolist() == ["r", "g", "r", "g"]  # tie at t=1 ordered by band
    assert a.value.tolist() == [10.0, 10.1, 10.2, 10.3]
    assert np.isnan(a.error.iloc[0])
    b = cat.light_curve(1)
    assert b.time.tolist() == [0.5, 1.0] and np.isnan(b.error.iloc[0])

    assert cat.objects.n_obs.tolist() == [4, 2, 0]
    assert cat.objects["empty"].tolist() == [False, False, True]

    rep = cat.report
    assert isinstance(rep, CleaningReport)
    po = rep.per_object.set_index("object_id")
    assert po.n_input.to_dict() == {"a": 7, "b": 4, "c": 1}
    assert po.n_nonfinite.to_dict() == {"a": 1, "b": 0, "c": 1}
    assert po.n_duplicates.to_dict() == {"a": 2, "b": 2, "c": 0}
    assert rep.n_input == 12 and rep.n_kept == 6
    assert rep.n_nonfinite == 2 and rep.n_duplicates == 4 and rep.n_dropped == 6
    assert rep.n_error_nan == 3  # inf error of b plus the two NaN errors of a (one of them a duplicate)
    assert rep.empty_object_ids == ["c"]
    text = str(rep)
    assert "2 with non-finite time/value" in text and "4 exact duplicates" in text and "c" in text
    assert set(rep.issues.object_id) == {"a", "b", "c"}


def test_input_arrays_are_not_modified():
    df = _messy()
    before = df.copy()
    _from_df(df)
    pd.testing.assert_frame_equal(df, before)
    t = np.array([2.0, 1.0, 1.0])
    v = np.array([1.0, 2.0, 1.5])
    Catalog.from_long(np.array(["x", "x", "x"]), t, v)
    assert t.tolist() == [2.0, 1.0, 1.0] and v.tolist() == [1.0, 2.0, 1.5]


def test_objects_table_order_kept_missing_rows_added_and_unobserved_flagged():
    df = pd.DataFrame({"object_id": ["b", "b", "x", "a"], "time": [1.0, 2, 3, 4], "value": [1.0, 2, 3, 4]})
    objects = pd.DataFrame({"object_id": ["a", "b", "z"], "label": ["A", "B", "Z"], "n_obs": [99, 99, 99]})
    cat = Catalog.from_long(df.object_id, df.time, df.value, objects=objects)
    assert cat.objects.object_id.tolist() == ["a", "b", "z", "x"]
    assert cat.objects.label.tolist()[:3] == ["A", "B", "Z"] and pd.isna(cat.objects.label.iloc[3])
    assert cat.objects.n_obs.tolist() == [1, 2, 0, 1]  # recomputed, the stale 99 is replaced
    assert cat.objects["empty"].tolist() == [False, False, True, False]
    assert cat.report.added_object_ids == ["x"]
    assert cat.report.n_without_input == 1
    assert "added: 1 (x)" in str(cat.report)
    assert cat.light_curve("x").time.tolist() == [3.0]


def test_objects_table_with_other_id_column_and_int_ids():
    objects = pd.DataFrame({"oid": [10, 20], "ra": [1.0, 2.0]})
    cat = Catalog.from_long(np.array([20, 10, 20]), [1.0, 2.0, 0.5], [5.0, 6.0, 7.0], objects=objects)
    assert cat.objects.object_id.tolist() == ["10", "20"]
    assert cat.objects.ra.tolist() == [1.0, 2.0]
    assert cat.light_curve("20").time.tolist() == [0.5, 1.0]
    assert cat.index_of(20) == 1
    # many ids at once, in the order given, as index_of one by one
    assert cat.indices_of(["20", 10, "20"]).tolist() == [1, 0, 1]
    with pytest.raises(KeyError, match="'30'"):
        cat.indices_of(["10", "30"])
    assert cat.indices_of(["30", "20"], skip_missing=True).tolist() == [1]
    assert cat.indices_of([]).tolist() == []


def test_duplicate_ids_in_objects_table_are_named():
    objects = pd.DataFrame({"object_id": ["a", "b", "a", "c", "c"]})
    with pytest.raises(CatalogError, match=r"duplicate object ids.*'a', 'c'"):
        Catalog.from_long(["a"], [1.0], [1.0], objects=objects, source="cat.parquet")


def test_zero_objects_is_an_error_naming_the_source():
    with pytest.raises(CatalogError, match="no objects in empty.csv"):
        Catalog.from_long(np.array([], dtype=object), np.array([]), np.array([]), source="empty.csv")


def test_non_numeric_value_names_column_object_and_value():
    with pytest.raises(CatalogError) as err:
        Catalog.from_long(["a", "b", "b"], [1.0, 2.0, 3.0], np.array(["1.5", "2.5", "oops"], dtype=object),
                          source="lc.csv", column_names={"value": "mag"})
    msg = str(err.value)
    assert "'mag'" in msg and "lc.csv" in msg and "'oops'" in msg and "object 'b'" in msg


def test_non_numeric_time_names_column_and_object():
    with pytest.raises(CatalogError, match=r"'mjd'.*'2020-x'.*object 'q'"):
        Catalog.from_long(["p", "q"], np.array([1.0, "2020-x"], dtype=object), [1.0, 2.0],
                          column_names={"time": "mjd"})


def test_numeric_strings_and_missing_markers_are_accepted():
    cat = Catalog.from_long(["a", "a", "a"], np.array(["1.0", "2", "nan"], dtype=object), [1.0, 2.0, 3.0])
    assert cat.time.tolist() == [1.0, 2.0] and cat.report.n_nonfinite == 1


def test_datetime_time_becomes_mjd():
    t = pd.to_datetime(["1858-11-17 00:00", "2000-01-01 12:00"])
    cat = Catalog.from_long(["a", "a"], t, [1.0, 2.0])
    assert cat.time.tolist() == pytest.approx([0.0, 51544.5])


def test_missing_object_ids_are_dropped_and_counted():
    cat = Catalog.from_long(np.array(["a", None, "a"], dtype=object), [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert cat.report.n_missing_id == 1 and cat.n_observations == 2 and cat.report.n_input == 3


def test_no_band_gives_default_band_and_missing_band_goes_to_default():
    cat = Catalog.from_long(["a", "a"], [1.0, 2.0], [1.0, 2.0])
    assert cat.bands == ("default",) and cat.band.tolist() == [0, 0]
    cat = Catalog.from_long(["a", "a"], [1.0, 2.0], [1.0, 2.0], band=np.array(["r", None], dtype=object))
    assert cat.bands == ("default", "r")
    assert cat.light_curve("a").band.tolist() == ["r", "default"]


def test_light_curve_keys_and_errors():
    cat = _from_df(_messy())
    assert cat.light_curve(-1).empty and list(cat.light_curve(-1).columns) == ["time", "value", "error", "band"]
    assert cat.light_curve(np.int64(0)).equals(cat.light_curve("a"))
    with pytest.raises(KeyError, match="'nope'"):
        cat.light_curve("nope")
    with pytest.raises(IndexError, match="row 3"):
        cat.light_curve(3)
    assert cat.object_ids.tolist() == ["a", "b", "c"]
    assert cat.n_obs.tolist() == [4, 2, 0]


def test_band_subset_is_consistent_with_light_curves():
    rng = np.random.default_rng(1)
    n = 5000
    ids = rng.integers(0, 300, n).astype(str)
    cat = Catalog.from_long(ids, rng.uniform(0, 100, n), rng.normal(18, 1, n), rng.uniform(0.01, 0.1, n),
                            rng.choice(["g", "r", "i"], n), name="rand")
    sub = cat.band_subset(["r", "g"])
    assert sub.bands == ("g", "r")  # the catalog's order, not the argument's
    assert len(sub) == len(cat) and sub.objects.object_id.equals(cat.objects.object_id)
    for key in (0, 17, 299):
        full = cat.light_curve(key)
        expect = full[full.band.isin(["g", "r"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(sub.light_curve(key), expect)
    assert sub.n_observations == int(np.isin(cat.band, [cat.bands.index("g"), cat.bands.index("r")]).sum())
    only_i = cat.band_subset("i")
    assert only_i.bands == ("i",) and (only_i.objects.n_obs == np.diff(only_i.offsets)).all()
    assert sub.content_hash() != cat.content_hash()
    with pytest.raises(CatalogError, match=r"\['u'\].*available: g, i, r"):
        cat.band_subset(["g", "u"])


def test_band_subset_flags_objects_without_those_bands_empty():
    cat = Catalog.from_long(["a", "b"], [1.0, 1.0], [1.0, 1.0], band=["g", "r"])
    sub = cat.band_subset("g")
    assert sub.objects["empty"].tolist() == [False, True]
    assert "1 empty" in sub.summary()


def test_content_hash_depends_on_content_and_is_stable_across_processes(tmp_path):
    df = _messy()
    h1 = _from_df(df).content_hash()
    assert len(h1) == 64 and h1 == _from_df(df).content_hash()
    # Row order of the input does not matter once the object order is fixed by an objects table.
    objects = pd.DataFrame({"object_id": ["a", "b", "c"]})
    assert _from_df(df.sample(frac=1.0, random_state=3), objects=objects).content_hash() == h1
    df2 = df.copy()
    df2.loc[0, "value"] = 10.31
    assert _from_df(df2).content_hash() != h1
    assert _from_df(df, value_kind="flux").content_hash() != h1
    df3 = df.copy()
    df3["object_id"] = df3.object_id.replace({"b": "bb"})
    assert _from_df(df3).content_hash() != h1

    path = tmp_path / "messy.parquet"
    df.to_parquet(path)
    code = (
        "from explorer.catalog import load_catalog;"
        f"print(load_catalog({str(path)!r}, columns={{'value': 'value', 'error': 'error'}}).content_hash())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = load_catalog(path, columns={"value": "value", "error": "error"}).content_hash()
    assert out.stdout.strip() == here == h1


def test_to_parquet_round_trip_keeps_hash_objects_and_empties(tmp_path):
    objects = pd.DataFrame({"object_id": ["c", "b", "a"], "label": ["C", "B", "A"]})
    cat = _from_df(_messy(), objects=objects, name="messy")
    lc_path, obj_path = cat.to_parquet(tmp_path / "out")
    assert lc_path.name == "messy.lightcurves.parquet" and obj_path.name == "messy.objects.parquet"
    back = load_catalog(tmp_path / "out")
    assert back.name == "messy"
    assert back.content_hash() == cat.content_hash()
    assert back.objects.object_id.tolist() == ["c", "b", "a"]
    assert back.objects.label.tolist() == ["C", "B", "A"]
    assert back.objects["empty"].tolist() == [True, False, False]
    assert back.report.clean is False and back.report.n_empty == 1
    written = pd.read_parquet(lc_path)
    assert list(written.columns) == ["object_id", "time", "band", "mag", "mag_err"]
    flux = _from_df(_messy(), value_kind="flux", name="f")
    flux.to_parquet(tmp_path / "f")
    assert list(pd.read_parquet(tmp_path / "f" / "f.lightcurves.parquet").columns)[3:] == ["flux", "flux_err"]
    assert load_catalog(tmp_path / "f").value_kind == "flux"


def test_summary_is_one_line():
    s = _from_df(_messy(), name="messy").summary()
    assert s == "messy: 3 objects (1 empty), 6 observations, bands g, r, values mag"


def test_constructor_checks_consistency():
    objects = pd.DataFrame({"object_id": ["a"]})
    with pytest.raises(CatalogError, match="offsets"):
        Catalog(objects, np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), ("x",), np.array([0, 1]))
    with pytest.raises(CatalogError, match="value_kind"):
        Catalog(objects, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), ("x",), np.array([0, 1]), value_kind="Jy")
    cat = Catalog(objects, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), ("x",), np.array([0, 1]))
    assert cat.report.n_kept == 1 and cat.objects.n_obs.tolist() == [1]


def test_scales_without_per_object_python_work():
    """200k objects / 2M observations group correctly (timings: benchmarks/bench_catalog.py, 1M / 50M)."""
    rng = np.random.default_rng(0)
    n_obj, n = 200_000, 2_000_000
    codes = rng.integers(0, n_obj, n)
    ids = pd.Index(np.char.add("obj", np.arange(n_obj).astype(str)))
    cat = Catalog.from_long(pd.Categorical.from_codes(codes, ids), rng.uniform(0, 1000, n), rng.normal(size=n),
                            rng.uniform(size=n), rng.integers(0, 2, n))
    assert cat.n_observations == n and len(cat) == len(np.unique(codes))
    assert np.all(np.diff(cat.time)[np.diff(np.repeat(np.arange(len(cat)), cat.n_obs)) == 0] >= 0)


def test_cleaning_matches_a_pandas_reference_on_random_messy_data():
    """Many ties, duplicates and NaNs: grouping equals sort + drop_duplicates done row-wise by pandas."""
    rng = np.random.default_rng(7)
    n = 20_000
    df = pd.DataFrame({
        "object_id": rng.choice([f"o{i}" for i in range(150)], n),
        "time": rng.integers(0, 40, n).astype(float),      # few distinct times: many ties
        "value": rng.integers(0, 3, n).astype(float),
        "error": rng.choice([0.1, 0.2, np.nan], n),
        "band": rng.choice(["g", "r"], n),
    })
    df.loc[rng.choice(n, 300, replace=False), "value"] = np.nan
    df.loc[rng.choice(n, 200, replace=False), "time"] = -np.inf
    cat = _from_df(df)

    finite = df[np.isfinite(df.time) & np.isfinite(df.value)]
    ref = finite.drop_duplicates().sort_values(["object_id", "time", "band", "value", "error"])
    assert cat.n_observations == len(ref)
    assert cat.report.n_nonfinite == n - len(finite)
    assert cat.report.n_duplicates == len(finite) - len(ref)
    expect_dups = (finite.groupby("object_id").size() - ref.groupby("object_id").size()).to_dict()
    got_dups = cat.report.per_object.set_index("object_id").n_duplicates.to_dict()
    assert got_dups == expect_dups
    for oid in ("o0", "o77", "o149"):
        lc = cat.light_curve(oid)
        r = ref[ref.object_id == oid].reset_index(drop=True)
        np.testing.assert_array_equal(lc.time, r.time)
        np.testing.assert_array_equal(lc.band, r.band)
        np.testing.assert_array_equal(lc.value, r.value)
        np.testing.assert_array_equal(lc.error, r.error)


def test_take_subsets_objects_in_order():
    cat = Catalog.from_long(
        np.array(["a", "a", "b", "c", "c", "c"]), np.array([1.0, 2, 1, 3, 1, 2]), np.arange(6.0),
        band=np.array(["g", "r", "g", "r", "g", "g"]), objects=pd.DataFrame({"object_id": ["a", "b", "c", "d"],
                                                                             "label": ["x", "y", "z", "w"]}),
    )
    sub = cat.take([2, 3, 0])
    assert list(sub.object_ids) == ["c", "d", "a"]
    assert list(sub.objects["label"]) == ["z", "w", "x"]
    assert list(sub.objects["n_obs"]) == [3, 0, 2] and list(sub.objects["empty"]) == [False, True, False]
    for key in ("c", "a"):
        pd.testing.assert_frame_equal(sub.light_curve(key), cat.light_curve(key))
    assert list(sub.report.per_object["object_id"]) == ["c", "d", "a"]
    assert list(cat.take(np.array([False, True, False, False])).object_ids) == ["b"]
    with pytest.raises(CatalogError, match="out of range"):
        cat.take([7])
