"""Our whole-catalog embeddings equal light_curve.embed's, driving the same onnxruntime session.

Real light curves from ../shared/data, stand-in models with the exact public interfaces. For
random-subsample both sides use np.random.default_rng(seed) and draw per object in catalog order
(see explorer.engine.reductions.RandomSubsample).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog
from explorer.engine import ATCAT, Astromer1, Astromer2, load_model
from standin_models import build_astromer_standin, build_atcat_standin

lce = pytest.importorskip("light_curve.embed")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

LSST = {"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5}


def subset(shared_data, name, n, kind="mag", extra_empty=False):
    """The first ``n`` objects of a shared catalog (optionally plus an object without observations)."""
    lc = pd.read_parquet(shared_data / name / f"{name}.lightcurves.parquet")
    ids = lc.object_id.drop_duplicates().iloc[:n]
    lc = lc[lc.object_id.isin(ids)]
    col = "mag" if kind == "mag" else "flux"
    objects = pd.DataFrame({"object_id": list(ids) + (["no-observations"] if extra_empty else [])})
    return Catalog.from_long(lc.object_id.values, lc.time.values, lc[col].values, lc[col + "_err"].values,
                             lc.band.values, objects=objects, value_kind=kind, name=name)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standins")
    return {
        "astromer1": load_model(build_astromer_standin(folder / "a1.onnx", kind="astromer1"), threads=2),
        "astromer2": load_model(build_astromer_standin(folder / "a2.onnx", kind="astromer2"), kind="astromer2",
                                threads=2),
        "atcat": load_model(build_atcat_standin(folder / "atcat.onnx"), threads=2),
    }


@pytest.fixture(scope="module")
def eros(shared_data):
    cat = subset(shared_data, "eros1_lmc", 30, extra_empty=True)
    assert (cat.objects.n_obs > 200).sum() > 10  # several objects need more than one window / a random draw
    return cat


def compare(cat, ours, theirs, call):
    """Max abs difference between our matrix() rows and light_curve per object (in catalog order)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ours.embed_catalog(cat, cache=False)
        matrix = res.matrix()
        s = ours.seq_len if ours.output == "sequence" else 1
        nb, ns = len(res.block_bands), len(res.block_strategies)
        compared = 0
        for i in range(len(cat)):
            lc = cat.light_curve(i)
            if len(lc) == 0:
                assert np.isnan(matrix[i]).all()
                assert i not in res.object_index
                continue
            want = call(theirs, lc)
            got = matrix[i].reshape(nb, ns, s, -1)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"object {cat.object_ids[i]}")
            compared += 1
    assert compared >= min(len(cat) - 1, 20)
    return res


REDUCTIONS = ["non-overlapping-windows", "beginning", "end", "middle", "random-subsample",
              "beginning,random-subsample,end"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("output", ["mean", "max", "sequence"])
def test_astromer1_whole_light_curve(models, eros, reduction, output):
    ours = Astromer1(models["astromer1"], output=output, reduction=reduction, seed=11)
    theirs = lce.Astromer1(models["astromer1"].session, output=output, reduction=reduction.split(","),
                           reduction_kwargs={"rng": 11})
    res = compare(eros, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values))
    if reduction == "non-overlapping-windows":
        assert len(res.window_row) > len(res.embeddings)  # objects with > 200 observations had 2 windows


@pytest.mark.parametrize("reduction", ["non-overlapping-windows", "random-subsample", "middle,end"])
@pytest.mark.parametrize("output", ["mean", "sequence"])
def test_astromer1_r_band_and_per_band(models, eros, reduction, output):
    for bands in (["R"], ["R", "B"]) if output == "mean" else (["R", "B"],):
        ours = Astromer1(models["astromer1"], output=output, reduction=reduction, bands=bands, seed=2)
        theirs = lce.Astromer1(models["astromer1"].session, output=output, bands=bands,
                               reduction=reduction.split(","), reduction_kwargs={"rng": 2})
        res = compare(eros, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, band=lc.band.values))
        assert set(res.band) == set(bands)


@pytest.mark.parametrize("reduction", ["non-overlapping-windows", "random-subsample", "beginning,end"])
def test_astromer2_per_band_sdss(models, shared_data, reduction):
    cat = subset(shared_data, "sdss_s82_rrlyrae", 12)
    bands = ["u", "g", "r", "i", "z"]
    for output in ("mean", "max"):
        ours = Astromer2(models["astromer2"], output=output, reduction=reduction, bands=bands, seed=7)
        theirs = lce.Astromer2(models["astromer2"].session, output=output, bands=bands,
                               reduction=reduction.split(","), reduction_kwargs={"rng": 7})
        compare(cat, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, band=lc.band.values))


@pytest.mark.parametrize("reduction", ["non-overlapping-windows", "random-subsample", "beginning,middle,end"])
@pytest.mark.parametrize("output", ["last", "mean", "sequence"])
def test_atcat_elasticc(models, shared_data, reduction, output):
    cat = subset(shared_data, "elasticc_sim_fink", 30, kind="flux")
    assert cat.objects.n_obs.max() > 243
    ours = ATCAT(models["atcat"], output=output, reduction=reduction, band_groups=LSST, seed=5)
    theirs = lce.ATCAT(models["atcat"].session, output=output, band_groups=LSST, reduction=reduction.split(","),
                       reduction_kwargs={"rng": 5})
    compare(cat, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.error.values, lc.band.values))


def test_atcat_zero_point_and_default_groups(models, shared_data):
    cat = subset(shared_data, "elasticc_sim_fink", 20, kind="flux")
    ours = ATCAT(models["atcat"], output="mean", mag_zp=27.5)   # LSST labels are mapped automatically
    theirs = lce.ATCAT(models["atcat"].session, output="mean", band_groups=LSST, mag_zp=27.5)
    compare(cat, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.error.values, lc.band.values))
    shifted = ATCAT(models["atcat"], output="mean").embed_catalog(cat, cache=False).embeddings
    assert not np.allclose(shifted, ours.embed_catalog(cat, cache=False).embeddings)


def test_single_light_curve_call_matches(models, eros):
    """The model classes' __call__ gives light_curve's numbers and shape for one light curve."""
    lc = eros.light_curve(int(np.argmax(eros.objects.n_obs)))
    for output in ("mean", "sequence"):
        ours = Astromer1(models["astromer1"], output=output, reduction="beginning,end", bands=["R", "B"])
        theirs = lce.Astromer1(models["astromer1"].session, output=output, bands=["R", "B"],
                               reduction=["beginning", "end"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = theirs(lc.time.values, lc.value.values, band=lc.band.values)
        got = ours(lc.time.values, lc.value.values, band=lc.band.values)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
