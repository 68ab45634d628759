"""The sample-catalog simulator: determinism, documented classes, recoverable periods, committed files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer.simulate import (
    LSST_BANDS,
    LSST_CLASSES,
    MACHO_CLASSES,
    flux_to_mag,
    generate_samples,
    mag_to_flux,
    simulate_lsst_like,
    simulate_macho_like,
)

SAMPLES = Path(__file__).resolve().parents[1] / "sample_catalogs"
FILES = [f"{n}/{n}.{part}.parquet" for n in ("macho_like", "lsst_like") for part in ("lightcurves", "objects")]


def table_hash(path: Path) -> str:
    """Hash of a Parquet table's schema and values (independent of writer metadata)."""
    table = pq.read_table(path)
    h = hashlib.sha256(str(table.schema.remove_metadata()).encode())
    for name in table.column_names:
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(table[name].to_pandas(), index=False).to_numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory) -> Path:
    """A full-size regeneration with the documented command's defaults (once per session)."""
    out = tmp_path_factory.mktemp("regenerated")
    generate_samples(out)
    return out


@pytest.fixture(scope="session")
def macho():
    return (pd.read_parquet(SAMPLES / "macho_like" / "macho_like.lightcurves.parquet"),
            pd.read_parquet(SAMPLES / "macho_like" / "macho_like.objects.parquet"))


@pytest.fixture(scope="session")
def lsst():
    return (pd.read_parquet(SAMPLES / "lsst_like" / "lsst_like.lightcurves.parquet"),
            pd.read_parquet(SAMPLES / "lsst_like" / "lsst_like.objects.parquet"))


def test_regeneration_is_byte_identical(tmp_path):
    a = generate_samples(tmp_path / "a", scale=0.02)
    b = generate_samples(tmp_path / "b", scale=0.02)
    assert [p.relative_to(tmp_path / "a").as_posix() for p in a] == FILES
    for pa_, pb in zip(a, b):
        assert pa_.read_bytes() == pb.read_bytes(), pa_.name
    c = generate_samples(tmp_path / "c", scale=0.02, seed=1)
    assert c[0].read_bytes() != a[0].read_bytes()


def test_committed_files_equal_a_fresh_regeneration(regenerated):
    for name in FILES:
        assert (SAMPLES / name).is_file(), f"{name} is missing from sample_catalogs/"
        assert table_hash(SAMPLES / name) == table_hash(regenerated / name), (
            f"sample_catalogs/{name} differs from `python -m explorer.simulate --out sample_catalogs`"
        )


def test_committed_files_are_small():
    total = sum((SAMPLES / n).stat().st_size for n in FILES)
    assert total < 8e6, f"sample catalogs take {total / 1e6:.1f} MB"


def test_readme_documents_both_catalogs_and_the_default():
    text = (SAMPLES / "README.md").read_text()
    for word in ("macho_like", "lsst_like", "lcexplorer simulate --out sample_catalogs",
                 "python -m explorer.simulate", "default-catalog: macho_like"):
        assert word in text
    for label, count in {**MACHO_CLASSES, **LSST_CLASSES}.items():
        assert f"`{label}`" in text


def test_macho_like_classes_cadence_and_columns(macho):
    lc, objects = macho
    assert objects["label"].value_counts().to_dict() == MACHO_CLASSES
    assert len(objects) == 3000
    for col in ("object_id", "label", "period", "ra", "dec", "mean_mag", "amplitude", "n_obs"):
        assert col in objects.columns
    assert set(lc["band"]) == {"R"}
    assert list(lc.columns) == ["object_id", "time", "band", "mag", "mag_err"]
    assert objects["n_obs"].between(130, 600).all()
    span = lc.groupby("object_id")["time"].agg(np.ptp)
    assert span.between(6.0 * 365, 7.5 * 365).all()
    # Seasonal gaps: every light curve has gaps longer than two months.
    ordered = lc.sort_values(["object_id", "time"])
    step = np.diff(ordered["time"].to_numpy(), prepend=np.nan)
    step[(ordered["object_id"] != ordered["object_id"].shift()).to_numpy()] = np.nan
    gaps = pd.Series(step, index=ordered.index).groupby(ordered["object_id"]).max()
    assert len(gaps) == 3000 and (gaps > 60).all()
    periodic = objects["label"].isin(["RRab", "RRc", "Cepheid", "EB", "Mira"])
    assert objects.loc[periodic, "period"].gt(0).all() and objects.loc[~periodic, "period"].isna().all()
    assert objects.loc[objects.label == "Mira", "period"].between(100, 600).all()
    assert objects.loc[objects.label == "Mira", "amplitude"].median() > 2.0
    assert objects.loc[objects.label == "constant", "amplitude"].eq(0).all()
    # Errors grow with magnitude.
    bright, faint = lc["mag"] < 16, lc["mag"] > 20
    assert lc.loc[faint, "mag_err"].median() > 5 * lc.loc[bright, "mag_err"].median()
    # Catalog-level consistency: n_obs counts rows; mean_mag matches the data for constant stars.
    assert (lc.groupby("object_id").size().reindex(objects.object_id).to_numpy() == objects.n_obs.to_numpy()).all()
    const = objects[objects.label == "constant"].head(30)
    med = lc[lc.object_id.isin(const.object_id)].groupby("object_id")["mag"].median().reindex(const.object_id)
    assert np.allclose(med.to_numpy(), const["mean_mag"].to_numpy(), atol=0.05)


def test_sn_ia_peaks_mostly_inside_the_baseline(macho):
    lc, objects = macho
    sn = objects[objects.label == "SNIa"]
    d = lc[lc.object_id.isin(sn.object_id)]
    brightening = d.groupby("object_id").apply(lambda g: g.mag.median() - g.mag.min(), include_groups=False)
    assert (brightening > 0.5).mean() > 0.8


@pytest.mark.parametrize("label", ["RRab", "RRc", "Cepheid"])
def test_periods_are_recoverable(macho, label):
    from astropy.timeseries import LombScargle

    lc, objects = macho
    picks = objects[objects.label == label].head(4)
    for _, obj in picks.iterrows():
        d = lc[lc.object_id == obj.object_id]
        # Search a factor-4 frequency range around the true one (a blind search is just slower).
        freq, power = LombScargle(d.time, d.mag, d.mag_err).autopower(
            minimum_frequency=0.5 / obj.period, maximum_frequency=2.0 / obj.period, samples_per_peak=10)
        found = 1 / freq[np.argmax(power)]
        assert abs(found - obj.period) / obj.period < 0.005, (obj.object_id, found, obj.period)


def test_lsst_like_bands_fluxes_and_classes(lsst):
    lc, objects = lsst
    assert objects["label"].value_counts().to_dict() == LSST_CLASSES
    assert set(lc["band"]) == set(LSST_BANDS)
    assert list(lc.columns) == ["object_id", "time", "band", "flux", "flux_err"]
    assert (lc["flux_err"] > 0).all()
    # Cadence cycles through filters: each object is seen in at least 4 bands.
    assert (lc.groupby("object_id")["band"].nunique() >= 4).all()
    # Fluxes (nJy, zero point 31.4) and the objects' r-band mean magnitudes agree for constant stars.
    const = objects[objects.label == "constant"]
    r = lc[(lc.band == "r") & lc.object_id.isin(const.object_id)]
    mags = flux_to_mag(r.groupby("object_id")["flux"].median().reindex(const.object_id).to_numpy())
    ok = np.isfinite(mags) & (const["mean_mag"].to_numpy() < 22)
    assert ok.sum() > 50
    assert np.allclose(mags[ok], const["mean_mag"].to_numpy()[ok], atol=0.05)
    assert np.allclose(flux_to_mag(mag_to_flux([20.0, 31.4])), [20.0, 31.4])
    assert mag_to_flux(31.4) == pytest.approx(1.0)


def test_lsst_sn_ia_colour_evolution(lsst):
    """After peak, SN Ia-like transients get redder: g fades faster than i."""
    lc, objects = lsst
    sn = objects[(objects.label == "SNIa") & (objects.redshift < 0.25)]
    reddening = []
    for oid in sn.object_id:
        d = lc[lc.object_id == oid]
        g, i = d[d.band == "g"], d[d.band == "i"]
        if len(g) < 3 or len(i) < 3 or g.flux.max() < 10 * g.flux_err.median():
            continue
        tpk = g.time.iloc[g.flux.argmax()]
        late_g = g[(g.time > tpk + 20) & (g.time < tpk + 60)]
        late_i = i[(i.time > tpk + 20) & (i.time < tpk + 60)]
        if len(late_g) and len(late_i):
            reddening.append(late_i.flux.mean() / i.flux.max() > late_g.flux.mean() / g.flux.max())
    assert len(reddening) >= 5
    assert np.mean(reddening) > 0.7


def test_small_versions_scale_class_counts():
    sim = simulate_macho_like(80, seed=3)
    assert len(sim.objects) == 80 and set(sim.objects.label) == set(MACHO_CLASSES)
    sim = simulate_lsst_like(25, seed=3)
    assert len(sim.objects) == 25 and set(sim.objects.label) == set(LSST_CLASSES)
    cat = sim.to_catalog()
    assert cat.value_kind == "flux" and len(cat) == 25


def test_catalog_loader_reads_the_samples():
    from explorer.catalog import load_catalog

    cat = load_catalog(SAMPLES / "macho_like")
    assert len(cat) == 3000 and cat.value_kind == "mag" and cat.bands == ("R",)
    assert "label" in cat.objects.columns
    cat = load_catalog(SAMPLES / "lsst_like")
    assert len(cat) == 600 and cat.value_kind == "flux" and set(cat.bands) == set(LSST_BANDS)


def test_cli_simulate(tmp_path):
    from explorer.cli import main

    assert main(["simulate", "--out", str(tmp_path), "--scale", "0.01", "--only", "lsst_like"]) == 0
    assert sorted(p.name for p in (tmp_path / "lsst_like").iterdir()) == [
        "lsst_like.lightcurves.parquet", "lsst_like.objects.parquet"]
    from explorer.simulate import main as module_main

    assert module_main(["--out", str(tmp_path / "m"), "--scale", "0.005", "--only", "macho_like"]) == 0
    assert (tmp_path / "m" / "macho_like" / "macho_like.objects.parquet").is_file()


@pytest.mark.parametrize("n", [1, 5, 10])
def test_tiny_catalogs_have_one_object_of_each_class_at_least(n):
    for simulate, classes in ((simulate_macho_like, MACHO_CLASSES), (simulate_lsst_like, LSST_CLASSES)):
        sim = simulate(n)
        assert set(sim.objects["label"]) == set(classes) and len(sim.objects) >= n
