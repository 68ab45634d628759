"""Issue 19, inputs: FITS (long, gzip, per object, Kepler/TESS layout), astropy, lightkurve, nested-pandas, LSDB.

Every input is built from the real EROS-1 catalog in ../shared (the first 120 objects, to keep the
CPU cost small) and compared with the Parquet load of the same data: the same objects, the same
observations and the same catalog content hash.
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.catalog import CatalogLimits, load_catalog, load_catalog_bytes
from explorer.errors import CatalogError

astropy_table = pytest.importorskip("astropy.table")
from astropy import units as u  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.table import QTable, Table  # noqa: E402
from astropy.time import Time  # noqa: E402
from astropy.timeseries import TimeSeries  # noqa: E402

N_OBJECTS = 120


@pytest.fixture(scope="module")
def eros(shared_data):
    """(long DataFrame of the first objects, path of its Parquet, the Parquet load)."""
    path = shared_data / "eros1_lmc" / "eros1_lmc.lightcurves.parquet"
    if not path.exists():
        pytest.skip(f"{path} is not there (../shared/data/eros1_lmc)")
    full = pd.read_parquet(path)
    keep = pd.unique(full["object_id"])[:N_OBJECTS]
    lc = full[full["object_id"].isin(keep)].reset_index(drop=True)
    return lc


def parquet_load(frame: pd.DataFrame, tmp_path, name="ref"):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return load_catalog(path)


def same(cat, ref):
    assert cat.object_ids.tolist() == ref.object_ids.tolist()
    assert cat.n_obs.tolist() == ref.n_obs.tolist()
    assert cat.bands == ref.bands and cat.value_kind == ref.value_kind
    assert cat.content_hash() == ref.content_hash()


# ---------------------------------------------------------------------- FITS
def test_fits_long_table_plain_gzip_and_upload(eros, tmp_path):
    ref = parquet_load(eros, tmp_path)
    Table.from_pandas(eros).write(tmp_path / "eros.fits")
    Table.from_pandas(eros).write(tmp_path / "eros.fits.gz")
    for cat in (load_catalog(tmp_path / "eros.fits"), load_catalog(tmp_path / "eros.fits.gz"),
                load_catalog_bytes((tmp_path / "eros.fits.gz").read_bytes(), "eros.fits.gz"),
                load_catalog_bytes((tmp_path / "eros.fits").read_bytes(), "eros.fits")):
        same(cat, ref)
    assert load_catalog(tmp_path / "eros.fits").name == "eros"


def test_fits_limits_from_the_header_and_clear_errors(eros, tmp_path):
    Table.from_pandas(eros).write(tmp_path / "eros.fits")
    rows = len(eros)
    with pytest.raises(CatalogError, match=r"eros.fits is too large: its number of rows \(from its header\)"):
        load_catalog(tmp_path / "eros.fits", limits=CatalogLimits(max_rows=rows - 1))
    with pytest.raises(CatalogError, match="max_cells"):
        load_catalog(tmp_path / "eros.fits", limits=CatalogLimits(max_cells=rows))
    with pytest.raises(CatalogError, match="over the limit of 10 objects"):
        load_catalog(tmp_path / "eros.fits", limits=CatalogLimits(max_objects=10))
    (tmp_path / "broken.fits").write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    with pytest.raises(CatalogError, match="cannot read FITS file .*broken.fits"):
        load_catalog(tmp_path / "broken.fits")
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(tmp_path / "image.fits")
    with pytest.raises(CatalogError, match="image.fits holds no FITS table"):
        load_catalog(tmp_path / "image.fits")
    with pytest.raises(CatalogError, match="no time column in .*notime.fits"):
        Table({"object_id": ["a"], "mag": [1.0]}).write(tmp_path / "notime.fits")
        load_catalog(tmp_path / "notime.fits")


def test_folder_of_per_object_fits_files(eros, tmp_path):
    ref = parquet_load(eros, tmp_path)
    folder = tmp_path / "per_object"
    folder.mkdir()
    for k, (oid, g) in enumerate(eros.groupby("object_id", sort=False)):
        table = Table.from_pandas(g.drop(columns=["object_id"]).reset_index(drop=True))
        if k % 2:                       # the target in the header, any file name
            table.meta["OBJECT"] = oid
            table.write(folder / f"file{k:04d}.fits")
        else:                           # no header target: the file stem is the id
            table.write(folder / f"{oid}.fits")
    (folder / ".hidden.fits").write_bytes(b"not fits")
    cat = load_catalog(folder)
    assert len(cat) == N_OBJECTS and cat.n_observations == len(eros)
    same(cat, ref.take(ref.indices_of(cat.object_ids)))   # the folder's order: by file name


def tess_file(path, *, tic, sector, time, pdcsap, sap, quality, mag=False):
    """A TESS-style light-curve file: primary header with the target, LIGHTCURVE extension."""
    primary = fits.PrimaryHDU()
    primary.header.update({"TELESCOP": "TESS", "OBJECT": f"TIC {tic}", "TICID": tic, "SECTOR": sector})
    cols = [fits.Column("TIME", "D", unit="BJD - 2457000, days", array=time),
            fits.Column("SAP_FLUX", "E", unit="e-/s", array=sap),
            fits.Column("PDCSAP_FLUX", "E", unit="e-/s", array=pdcsap),
            fits.Column("PDCSAP_FLUX_ERR", "E", unit="e-/s", array=np.full(len(time), 2.0, np.float32)),
            fits.Column("QUALITY", "J", array=quality)]
    ext = fits.BinTableHDU.from_columns(cols, name="LIGHTCURVE")
    ext.header.update({"BJDREFI": 2457000, "BJDREFF": 0.0, "TIMEUNIT": "d"})
    fits.HDUList([primary, ext]).writeto(path)


def test_tess_style_files_pdcsap_quality_and_bjd(eros, tmp_path):
    folder = tmp_path / "tess"
    folder.mkdir()
    expected = []
    ids = pd.unique(eros["object_id"])[:6]
    for k, oid in enumerate(ids):
        g = eros[(eros["object_id"] == oid) & (eros["band"] == "R")]
        time = g["time"].to_numpy()
        pdcsap = (10 ** (-0.4 * (g["mag"].to_numpy() - 20.0))).astype(np.float32)
        quality = np.zeros(len(time), np.int32)
        quality[::7] = 1          # attitude tweak: in the TESS default mask, dropped
        quality[3::11] = 2048     # stray light: not in the default mask, kept
        quality[0] = 2048 | 4     # coarse point: dropped whatever else is set
        half = len(time) // 2     # two sectors of one target make one object
        for sector, part in ((1, slice(0, half)), (2, slice(half, None))):
            tess_file(folder / f"tess-s{sector:04d}-{1000 + k}.fits", tic=1000 + k, sector=sector, time=time[part],
                      pdcsap=pdcsap[part], sap=pdcsap[part] * 3, quality=quality[part])
        keep = (quality & 17087) == 0
        expected.append(pd.DataFrame({"object_id": f"TIC {1000 + k}", "time": time[keep] + 56999.5,
                                      "flux": pdcsap[keep].astype(np.float64), "flux_err": 2.0, "band": "TESS"}))
    cat = load_catalog(folder)
    ref = parquet_load(pd.concat(expected, ignore_index=True), tmp_path, "tess_ref")
    same(cat, ref)
    notes = " ".join(cat.report.notes)
    assert "'PDCSAP_FLUX' used" in notes and "default quality flags (17087)" in notes and "BJD - 2457000" in notes


# ---------------------------------------------------------------------- astropy
def test_astropy_table_qtable_and_timeseries(eros, tmp_path):
    ref = parquet_load(eros, tmp_path)
    same(load_catalog(Table.from_pandas(eros)), ref)
    q = QTable.from_pandas(eros)
    q["time"] = q["time"] * u.day
    q["mag"] = q["mag"] * u.mag
    q["mag_err"] = q["mag_err"] * u.mag
    same(load_catalog(q), ref)
    ts = TimeSeries(time=Time(eros["time"].to_numpy(), format="mjd"),
                    data={c: eros[c].to_numpy() for c in ("object_id", "band", "mag", "mag_err")})
    cat = load_catalog(ts)
    same(cat, ref)
    assert any("astropy Time" in n and "MJD" in n for n in cat.report.notes)


def test_astropy_units_are_respected(eros, tmp_path):
    """Hours become days, mJy become nJy (the engine's AB zero point), electrons per second stay as given."""
    flux_mjy = 10 ** (-0.4 * (eros["mag"].to_numpy() - 16.4))      # mJy: AB 16.4 = 1 mJy
    frame = pd.DataFrame({"object_id": eros["object_id"], "time": eros["time"], "flux": flux_mjy * 1e6,
                          "flux_err": 0.1 * 1e6, "band": eros["band"]})
    ref = parquet_load(frame, tmp_path, "njy")
    q = QTable({"object_id": eros["object_id"].to_numpy(), "time": eros["time"].to_numpy() * u.day,
                "flux": flux_mjy * u.mJy, "flux_err": np.full(len(eros), 0.1) * u.mJy,
                "band": eros["band"].to_numpy()})
    cat = load_catalog(q)
    assert cat.value_kind == "flux"
    np.testing.assert_allclose(cat.value, ref.value, rtol=1e-12)
    assert any("from mJy to nJy" in n for n in cat.report.notes)
    hours = QTable({"object_id": ["a"] * 3, "time": [0.0, 12.0, 48.0] * u.hour, "mag": [1.0, 2.0, 3.0] * u.mag})
    assert load_catalog(hours).time.tolist() == [0.0, 0.5, 2.0]
    electrons = QTable({"object_id": ["a"] * 2, "time": [1.0, 2.0], "flux": [5.0, 6.0] * u.electron / u.s})
    cat = load_catalog(electrons)
    assert cat.value_kind == "flux" and cat.value.tolist() == [5.0, 6.0]
    assert any("electron" in n and "as given" in n for n in cat.report.notes)
    with pytest.raises(CatalogError, match="not a time unit"):
        load_catalog(QTable({"object_id": ["a"], "time": [1.0] * u.m, "mag": [1.0]}))


# ---------------------------------------------------------------------- lightkurve
def test_lightkurve_light_curves_and_collection(eros, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk = pytest.importorskip("lightkurve")
    assert pd.__version__.startswith("3."), "installing lightkurve must not downgrade pandas"
    flux = 10 ** (-0.4 * (eros["mag"].to_numpy() - 31.4))             # nJy
    frame = pd.DataFrame({"object_id": eros["object_id"], "time": eros["time"], "flux": flux,
                          "flux_err": eros["mag_err"].to_numpy() * flux, "band": eros["band"]})
    ref = parquet_load(frame, tmp_path, "lk_ref")
    curves = []
    for (oid, band), g in frame.groupby(["object_id", "band"], sort=False):
        curves.append(lk.LightCurve(time=Time(g["time"].to_numpy(), format="mjd"), flux=g["flux"].to_numpy() * u.nJy,
                                    flux_err=g["flux_err"].to_numpy() * u.nJy,
                                    meta={"OBJECT": oid, "FILTER": band, "MISSION": "EROS"}))
    cat = load_catalog(lk.LightCurveCollection(curves))
    same(cat, ref.take(ref.indices_of(cat.object_ids)))
    one = load_catalog(curves[0])
    assert one.object_ids.tolist() == [frame["object_id"].iloc[0]] and one.bands == (frame["band"].iloc[0],)
    assert len(load_catalog(curves[:4])) == len({c.meta["OBJECT"] for c in curves[:4]})


# ---------------------------------------------------------------------- nested-pandas and LSDB
def test_nested_frame_and_lsdb_catalog(eros, tmp_path, shared_data):
    npd = pytest.importorskip("nested_pandas")
    lsdb = pytest.importorskip("lsdb")
    ref = parquet_load(eros, tmp_path)
    objects = pd.read_parquet(shared_data / "eros1_lmc" / "eros1_lmc.objects.parquet")
    objects = objects[objects["object_id"].isin(ref.object_ids)].set_index("object_id").loc[ref.object_ids]
    nested = npd.NestedFrame(objects).join_nested(eros.set_index("object_id"), "lc")
    cat = load_catalog(nested)
    same(cat, ref)
    assert cat.objects.set_index("object_id")["label"].to_dict() == objects["label"].to_dict()
    sky = lsdb.from_dataframe(nested.reset_index(), ra_column="ra", dec_column="dec")
    whole = load_catalog(sky)
    same(whole, ref.take(ref.indices_of(whole.object_ids)))   # LSDB orders objects by sky position
    sample = load_catalog(sky, sample=30, seed=3)
    assert len(sample) == 30 and set(sample.object_ids) <= set(ref.object_ids)
    assert any("random sample of 30" in n for n in sample.report.notes)
    with pytest.raises(CatalogError, match="number of objects is 120, over the limit of 50"):
        load_catalog(sky, limits=CatalogLimits(max_objects=50))


def test_unknown_objects_are_refused_with_a_clear_message():
    with pytest.raises(CatalogError, match="cannot load a catalog from dict"):
        load_catalog({"time": [1, 2]})
    with pytest.raises(CatalogError, match="unsupported file type .*FITS"):
        load_catalog_bytes(gzip.compress(b"x"), "a.gz")


def test_hats_folder_by_path_whole_or_sample(eros, tmp_path, shared_data):
    pytest.importorskip("lsdb")
    from explorer.scale import write_hats

    ref = load_catalog(shared_data / "eros1_lmc").take(np.arange(N_OBJECTS))   # with its objects table: ra, dec
    same(ref, parquet_load(eros, tmp_path))
    write_hats(ref, tmp_path / "hats")
    whole = load_catalog(tmp_path / "hats")
    same(whole, ref.take(ref.indices_of(whole.object_ids)))
    sample = load_catalog(tmp_path / "hats", sample=25, seed=4)
    assert len(sample) == 25 and any("random sample of 25 of 120" in n for n in sample.report.notes)
    with pytest.raises(CatalogError, match="sample must be a positive number"):
        load_catalog(tmp_path / "hats", sample=0)


def test_folder_notes_fits_files_it_does_not_read(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    pd.DataFrame({"time": [1.0, 2.0], "mag": [10.0, 11.0]}).to_csv(folder / "a.csv", index=False)
    Table({"time": [1.0, 2.0], "mag": [10.0, 11.0]}).write(folder / "b.fits")
    cat = load_catalog(folder)
    assert cat.object_ids.tolist() == ["a"]
    assert any("1 FITS file(s)" in n and "b.fits" in n for n in cat.report.notes)
    (folder / "a.csv").unlink()
    Table({"time": [1.0], "mag": [3.0]}).write(folder / ".c.fits")
    cat = load_catalog(folder)
    assert cat.object_ids.tolist() == ["b"] and any(".c.fits" in n and "hidden" in n for n in cat.report.notes)
