"""Every loader on small files made in tmp_path, the real ../shared catalogs, and the error messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.catalog import Catalog, load_catalog
from explorer.catalog.columns import detect_columns
from explorer.errors import CatalogError


def _long_frame():
    """Two objects, two bands, one NaN magnitude; rows deliberately unsorted."""
    return pd.DataFrame(
        {
            "oid": ["s1", "s2", "s1", "s1", "s2", "s1"],
            "MJD": [58002.0, 58001.0, 58000.0, 58003.0, 58000.5, 58001.0],
            "Mag": [17.2, 18.1, 17.0, np.nan, 18.0, 17.1],
            "MagErr": [0.02, 0.05, 0.01, 0.02, 0.04, 0.02],
            "Filter": ["g", "r", "g", "r", "r", "r"],
        }
    )


def _check_long(cat: Catalog, *, value_kind="mag"):
    assert cat.objects.object_id.tolist() == ["s1", "s2"]
    assert cat.bands == ("g", "r")
    assert cat.value_kind == value_kind
    assert cat.n_observations == 5
    s1 = cat.light_curve("s1")
    assert s1.time.tolist() == [58000.0, 58001.0, 58002.0]
    assert s1.value.tolist() == [17.0, 17.1, 17.2]
    assert s1.band.tolist() == ["g", "r", "g"]
    assert s1.error.tolist() == [0.01, 0.02, 0.02]
    assert cat.report.per_object.set_index("object_id").n_nonfinite.to_dict() == {"s1": 1, "s2": 0}


# ---------------------------------------------------------------- column detection
def test_detect_columns_common_names_case_insensitive():
    m = detect_columns(["OID", "HMJD", "MAG", "sigma", "FID"])
    assert (m.object_id, m.time, m.value, m.error, m.band, m.value_kind) == ("OID", "HMJD", "MAG", "sigma", "FID", "mag")
    m = detect_columns(["objectId", "jd", "FLUXCAL", "FLUXCALERR", "passband"])
    assert (m.value, m.error, m.value_kind) == ("FLUXCAL", "FLUXCALERR", "flux")
    m = detect_columns(["id", "time", "mag", "mag_err", "flux", "flux_err"], value_kind="flux")
    assert (m.value, m.error) == ("flux", "flux_err")
    m = detect_columns(["id", "time", "mag", "flux"])
    assert m.value == "mag" and m.error is None and m.band is None
    m = detect_columns(["star", "t_obs", "psf", "e", "b"],
                       columns={"object_id": "star", "time": "t_obs", "flux": "psf", "error": "e", "band": "b"})
    assert (m.object_id, m.time, m.value, m.error, m.band, m.value_kind) == ("star", "t_obs", "psf", "e", "b", "flux")


def test_detect_columns_errors_list_what_was_found():
    with pytest.raises(CatalogError, match=r"no time column in x\.csv.*columns found: id, mag"):
        detect_columns(["id", "mag"], source="x.csv")
    with pytest.raises(CatalogError, match=r"no object_id column.*columns found: time, mag"):
        detect_columns(["time", "mag"])
    with pytest.raises(CatalogError, match=r"column 'hjd' given for 'time' is not in"):
        detect_columns(["id", "time", "mag"], columns={"time": "hjd"})
    with pytest.raises(CatalogError, match="unknown key 'tmie'"):
        detect_columns(["id", "time", "mag"], columns={"tmie": "time"})
    with pytest.raises(CatalogError, match="value_kind"):
        detect_columns(["id", "time", "mag"], value_kind="counts")


# ---------------------------------------------------------------- loaders on small files
def test_long_csv(tmp_path):
    path = tmp_path / "obs.csv"
    _long_frame().to_csv(path, index=False)
    cat = load_catalog(path)
    _check_long(cat)
    assert cat.name == "obs" and cat.source == str(path)


def test_long_parquet_with_flux_and_override(tmp_path):
    df = _long_frame().rename(columns={"Mag": "psFlux", "MagErr": "psFluxErr", "MJD": "when"})
    path = tmp_path / "obs.parquet"
    df.to_parquet(path)
    with pytest.raises(CatalogError, match=r"no time column.*columns found: oid, when, psFlux"):
        load_catalog(path)
    cat = load_catalog(path, columns={"time": "when"})
    _check_long(cat, value_kind="flux")
    forced = load_catalog(path, columns={"time": "when", "value": "psFlux"}, value_kind="mag")
    assert forced.value_kind == "mag" and forced.value.tolist() == cat.value.tolist()
    with pytest.raises(CatalogError, match=r"no mag column in .*obs\.parquet.*columns found: oid, when, psFlux"):
        load_catalog(path, columns={"time": "when"}, value_kind="mag")


def test_long_format_objects_table_joined_from_file(tmp_path):
    path = tmp_path / "obs.parquet"
    _long_frame().to_parquet(path)
    objects = tmp_path / "meta.csv"
    pd.DataFrame({"object_id": ["s2", "s9", "s1"], "label": ["RR", "EB", "Cep"], "period": [0.5, 1.5, 3.0]}).to_csv(
        objects, index=False
    )
    cat = load_catalog(path, objects=objects)
    assert cat.objects.object_id.tolist() == ["s2", "s9", "s1"]
    assert cat.objects.label.tolist() == ["RR", "EB", "Cep"]
    assert cat.objects.n_obs.tolist() == [2, 0, 3]
    assert cat.objects["empty"].tolist() == [False, True, False]
    assert cat.report.added_object_ids == []


def test_observations_missing_from_objects_table_are_added_and_reported(tmp_path):
    path = tmp_path / "obs.parquet"
    _long_frame().to_parquet(path)
    cat = load_catalog(path, objects=pd.DataFrame({"object_id": ["s1"], "label": ["Cep"]}))
    assert cat.objects.object_id.tolist() == ["s1", "s2"]
    assert cat.report.added_object_ids == ["s2"]
    assert "objects missing from the objects table, added: 1 (s2)" in str(cat.report)


def _write_csv_folder(folder):
    """The light-curve/test-data layout: one CSV per object, id = file stem."""
    folder.mkdir()
    (folder / "1013184.csv").write_text(
        "time,mag,magerr,band\n51081.346189,17.236,0.005,r\n51081.347022,17.124,0.006,i\n"
        "51081.346189,17.236,0.005,r\n51000.0,17.5,0.01,r\n"
    )
    (folder / "13350.csv").write_text("band,time,magerr,mag\ng,51001.5,0.01,16.0\ng,51001.0,0.02,nan\n")
    (folder / "99.csv").write_text("time,mag,magerr,band\n")
    (folder / "notes.md").write_text("not a light curve")


def test_folder_of_per_object_csv(tmp_path):
    folder = tmp_path / "light-curves"
    _write_csv_folder(folder)
    cat = load_catalog(folder)
    assert cat.name == "light-curves"
    assert cat.objects.object_id.tolist() == ["1013184", "13350", "99"]
    assert cat.objects.n_obs.tolist() == [3, 1, 0]
    assert cat.objects["empty"].tolist() == [False, False, True]
    assert cat.bands == ("g", "i", "r")
    lc = cat.light_curve("1013184")
    assert lc.time.tolist() == [51000.0, 51081.346189, 51081.347022]
    assert lc.band.tolist() == ["r", "r", "i"]
    po = cat.report.per_object.set_index("object_id")
    assert po.n_duplicates.to_dict() == {"1013184": 1, "13350": 0, "99": 0}
    assert po.n_nonfinite.to_dict() == {"1013184": 0, "13350": 1, "99": 0}
    assert cat.report.n_input == 6


def test_folder_of_per_object_csv_ignores_the_labels_saved_beside_it(tmp_path):
    from explorer.dashboard.labels import LabelStore

    folder = tmp_path / "light-curves"
    _write_csv_folder(folder)
    before = load_catalog(folder)
    store = LabelStore(before)
    store.assign(["13350"], "RR Lyrae")
    assert store.path.parent == folder  # labels live beside the light curves...
    after = load_catalog(folder)  # ...and are not read as one of them
    assert after.content_hash() == before.content_hash()
    assert LabelStore(after).labels["13350"] == "RR Lyrae"


def test_folder_of_per_object_csv_with_objects_table_inside(tmp_path):
    folder = tmp_path / "lcs"
    _write_csv_folder(folder)
    meta = folder / "periods.csv"
    pd.DataFrame({"id": [13350, 1013184], "period": [0.3, 0.6]}).to_csv(meta, index=False)
    cat = load_catalog(folder, objects=meta)
    assert cat.objects.object_id.tolist() == ["13350", "1013184", "99"]
    assert cat.objects.period.tolist()[:2] == [0.3, 0.6]
    assert cat.report.added_object_ids == ["99"]


def test_folder_csv_non_numeric_names_file_column_and_object(tmp_path):
    folder = tmp_path / "lcs"
    folder.mkdir()
    (folder / "a.csv").write_text("time,mag\n1,2\n")
    (folder / "b7.csv").write_text("time,mag\n1,17.0\n2,bad!\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(folder)
    msg = str(err.value)
    assert "b7.csv" in msg and "'mag'" in msg and "'bad!'" in msg and "object 'b7'" in msg


def _nested_table():
    return pa.table(
        {
            "object_id": ["x", "y", "z"],
            "label": ["RR", "EB", "none"],
            "mjd": pa.array([[3.0, 1.0, 2.0], [5.0], []], type=pa.list_(pa.float64())),
            "mag": pa.array([[13.0, 11.0, np.nan], [15.0], []], type=pa.list_(pa.float64())),
            "magerr": pa.array([[0.3, 0.1, 0.2], [0.5], []], type=pa.list_(pa.float64())),
            "band": pa.array([["g", "g", "r"], ["r"], []], type=pa.list_(pa.string())),
        }
    )


def _check_nested(cat: Catalog):
    assert cat.objects.object_id.tolist() == ["x", "y", "z"]
    assert cat.objects.label.tolist() == ["RR", "EB", "none"]
    assert cat.objects.n_obs.tolist() == [2, 1, 0]
    assert cat.objects["empty"].tolist() == [False, False, True]
    x = cat.light_curve("x")
    assert x.time.tolist() == [1.0, 3.0] and x.value.tolist() == [11.0, 13.0] and x.band.tolist() == ["g", "g"]
    assert cat.report.n_nonfinite == 1


def test_nested_parquet_list_columns(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(_nested_table(), path)
    _check_nested(load_catalog(path))


def test_nested_parquet_struct_of_lists(tmp_path):
    t = _nested_table()
    lc = pa.StructArray.from_arrays([t["mjd"].combine_chunks(), t["mag"].combine_chunks(), t["magerr"].combine_chunks(),
                                     t["band"].combine_chunks()], names=["mjd", "mag", "magerr", "band"])
    path = tmp_path / "struct.parquet"
    pq.write_table(pa.table({"object_id": t["object_id"], "label": t["label"], "lc": lc}), path)
    _check_nested(load_catalog(path))


def test_nested_parquet_list_of_structs(tmp_path):
    rows = [
        [{"time": 3.0, "mag": 13.0, "band": "g"}, {"time": 1.0, "mag": 11.0, "band": "g"},
         {"time": 2.0, "mag": None, "band": "r"}],
        [{"time": 5.0, "mag": 15.0, "band": "r"}],
        [],
    ]
    path = tmp_path / "los.parquet"
    pq.write_table(pa.table({"object_id": ["x", "y", "z"], "label": ["RR", "EB", "none"], "obs": rows}), path)
    cat = load_catalog(path)
    _check_nested(cat)
    assert np.isnan(cat.error).all()


def test_nested_pandas_style_index_as_id_and_objects_merge(tmp_path):
    t = _nested_table()
    df = t.to_pandas().set_index("object_id")
    path = tmp_path / "np.parquet"
    df.to_parquet(path)
    cat = load_catalog(path, objects=pd.DataFrame({"object_id": ["y", "x"], "period": [2.0, 1.0]}))
    assert cat.objects.set_index("object_id").period.to_dict() == pytest.approx({"x": 1.0, "y": 2.0, "z": np.nan},
                                                                                nan_ok=True)
    assert cat.objects.set_index("object_id").n_obs.to_dict() == {"x": 2, "y": 1, "z": 0}


def test_nested_mismatched_list_lengths_named(tmp_path):
    path = tmp_path / "bad_nested.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "time": [[1.0, 2.0], [1.0]], "mag": [[1.0, 2.0], [1.0, 2.0]]}), path)
    with pytest.raises(CatalogError, match=r"'time' and 'mag' of .*bad_nested.parquet.*row 1"):
        load_catalog(path)


def test_list_of_arrays_astromer_input():
    rng = np.random.default_rng(0)
    arrays = [np.column_stack([np.sort(rng.uniform(0, 10, n)), rng.normal(size=n), rng.uniform(size=n)])
              for n in (5, 8, 3)]
    arrays[1] = arrays[1][::-1]  # unsorted input gets sorted
    cat = load_catalog(arrays, object_ids=["m1", "m2", "m3"])
    assert cat.objects.object_id.tolist() == ["m1", "m2", "m3"]
    assert cat.objects.n_obs.tolist() == [5, 8, 3]
    assert cat.bands == ("default",) and cat.value_kind == "mag"
    np.testing.assert_array_equal(cat.light_curve("m2").to_numpy()[:, :3].astype(float), arrays[1][::-1])
    assert load_catalog([a[:, :2] for a in arrays]).objects.object_id.tolist() == ["0", "1", "2"]


def test_list_of_arrays_bad_shape_names_object():
    with pytest.raises(CatalogError, match=r"object 'b' has shape \(4,\)"):
        load_catalog([np.zeros((3, 3)), np.zeros(4)], object_ids=["a", "b"])
    with pytest.raises(CatalogError, match="2 arrays but 1 object ids"):
        load_catalog([np.zeros((3, 3)), np.zeros((2, 3))], object_ids=["a"])


def test_dataframe_long_and_nested():
    _check_long(load_catalog(_long_frame()))
    nested = pd.DataFrame({"object_id": ["x", "y", "z"], "label": ["RR", "EB", "none"],
                           "mjd": [[3.0, 1.0, 2.0], [5.0], []], "mag": [[13.0, 11.0, np.nan], [15.0], []],
                           "band": [["g", "g", "r"], ["r"], []]})
    _check_nested(load_catalog(nested))


def test_dataframe_with_non_numeric_values_names_column_and_object():
    df = _long_frame()
    df["Mag"] = df["Mag"].astype(object)
    df.loc[4, "Mag"] = "n/a?"
    with pytest.raises(CatalogError, match=r"'Mag' in the DataFrame is not numeric: first bad value 'n/a\?'.*object 's2'"):
        load_catalog(df)


def test_ztf_fid_codes_become_band_names(tmp_path):
    path = tmp_path / "ztf.csv"
    pd.DataFrame({"objectId": ["Z1", "Z1", "Z1"], "jd": [1.0, 2.0, 3.0], "magpsf": [18.0, 18.5, 19.0],
                  "sigmapsf": [0.1, 0.1, 0.1], "fid": [1, 2, 1]}).to_csv(path, index=False)
    cat = load_catalog(path, columns={"mag": "magpsf", "error": "sigmapsf"})
    assert cat.bands == ("g", "r") and cat.light_curve("Z1").band.tolist() == ["g", "r", "g"]


def test_shared_layout_folder_and_file(tmp_path):
    cat = load_catalog(_long_frame(), name="mini")
    cat.to_parquet(tmp_path / "mini")
    back = load_catalog(tmp_path / "mini")
    assert back.name == "mini" and back.content_hash() == cat.content_hash()
    again = load_catalog(tmp_path / "mini" / "mini.lightcurves.parquet")
    assert again.content_hash() == cat.content_hash()
    assert load_catalog(back) is back


# ---------------------------------------------------------------- error messages
def test_missing_required_column_names_file_and_lists_columns(tmp_path):
    path = tmp_path / "nomag.csv"
    pd.DataFrame({"object_id": ["a"], "time": [1.0], "colour": [0.3]}).to_csv(path, index=False)
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    msg = str(err.value)
    assert "nomag.csv" in msg and "mag or flux" in msg and "columns found: object_id, time, colour" in msg


def test_non_numeric_time_in_csv_names_file_column_object_value(tmp_path):
    path = tmp_path / "badtime.csv"
    path.write_text("object_id,mjd,mag\nA,1.0,10\nB,2.0,11\nB,yesterday,12\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    msg = str(err.value)
    assert "badtime.csv" in msg and "'mjd'" in msg and "object 'B'" in msg and "'yesterday'" in msg


def test_unreadable_files_are_named(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"this is not parquet at all")
    with pytest.raises(CatalogError, match=r"cannot read Parquet file .*broken\.parquet"):
        load_catalog(bad)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("object_id,time,mag\na,1,2\nb,1,2,3,4\n")
    with pytest.raises(CatalogError, match=r"cannot read CSV file .*ragged\.csv"):
        load_catalog(ragged)
    with pytest.raises(CatalogError, match=r"does not exist"):
        load_catalog(tmp_path / "nowhere.parquet")
    other = tmp_path / "data.json"
    other.write_text("{}")
    with pytest.raises(CatalogError, match=r"unsupported file type .*data\.json"):
        load_catalog(other)
    empty_dir = tmp_path / "emptydir"
    empty_dir.mkdir()
    with pytest.raises(CatalogError, match=r"emptydir holds neither"):
        load_catalog(empty_dir)
    with pytest.raises(CatalogError, match="cannot load a catalog from int"):
        load_catalog(42)


def test_zero_objects_names_file(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("object_id,time,mag\n")
    with pytest.raises(CatalogError, match=r"no objects in .*header_only\.csv"):
        load_catalog(path)
    with pytest.raises(CatalogError, match="no objects"):
        load_catalog([])


def test_duplicate_ids_in_objects_file_are_named(tmp_path):
    path = tmp_path / "obs.parquet"
    _long_frame().to_parquet(path)
    meta = tmp_path / "meta.parquet"
    pd.DataFrame({"object_id": ["s1", "s2", "s1"], "label": ["a", "b", "c"]}).to_parquet(meta)
    with pytest.raises(CatalogError, match=r"duplicate object ids in .*meta\.parquet.*'s1'"):
        load_catalog(path, objects=meta)
    with pytest.raises(CatalogError, match=r"no object_id column in .*meta2\.csv.*columns found: name2, label"):
        pd.DataFrame({"name2": ["s1"], "label": ["a"]}).to_csv(tmp_path / "meta2.csv", index=False)
        load_catalog(path, objects=tmp_path / "meta2.csv")


# ---------------------------------------------------------------- the real ../shared catalogs
# (name, objects, observations, rows per band, value kind, label column, objects per class) from data/README.md
REAL = [
    ("eros1_lmc", 2549, 603144, {"B": 303331, "R": 299813}, "mag", "label",
     {"RR Lyrae": 1562, "Cepheid": 515, "Eclipsing binary": 307, "Mira": 165}),
    ("elasticc_sim_fink", 240, 10434, {"Y": 2182, "g": 927, "i": 2403, "r": 2390, "u": 676, "z": 1856}, "flux",
     "label", {"SN Ia": 175, "AGN": 65}),
    ("ztf_bts", 1896, 66308, {"g": 30347, "r": 35961}, "mag", "label_coarse",
     {"SN Ia": 1399, "SN II": 292, "SN Ibc": 112, "SN IIn": 43, "SLSN": 27, "Other": 17, "TDE": 6}),
]


@pytest.mark.parametrize("name,n_obj,n_obs,per_band,kind,label,classes", REAL, ids=[r[0] for r in REAL])
def test_real_shared_catalogs(shared_data, name, n_obj, n_obs, per_band, kind, label, classes):
    cat = load_catalog(shared_data / name)
    assert cat.name == name
    assert len(cat) == n_obj and cat.n_observations == n_obs
    assert cat.value_kind == kind
    assert cat.bands == tuple(sorted(per_band))
    counts = np.bincount(cat.band, minlength=len(cat.bands))
    assert dict(zip(cat.bands, counts.tolist())) == per_band
    assert cat.objects[label].value_counts().to_dict() == classes
    assert cat.report.clean and cat.report.n_input == n_obs
    assert not cat.objects["empty"].any()
    # the README's n_obs column agrees with the grouping
    src = pd.read_parquet(shared_data / name / f"{name}.objects.parquet")
    assert cat.objects.object_id.tolist() == src.object_id.tolist()
    assert cat.objects.n_obs.tolist() == src.n_obs.tolist()
    # within each object times are sorted
    t_diff = np.diff(cat.time)
    same_obj = np.diff(np.repeat(np.arange(len(cat)), cat.n_obs)) == 0
    assert (t_diff[same_obj] >= 0).all()
    assert len(cat.content_hash()) == 64
