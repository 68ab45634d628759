"""The six families added to the three first ones equal light_curve.embed driving the same session, to 1e-6.

Stand-in ONNX files with exactly each public interface (tests/standin_models.py) and real light
curves from ../shared/data: ZTF BTS for the ZTF models (Astromer 1 ZTF, AstraCLR), ELAsTiCC for ATAT
(LSST bands), MACHO / EROS single bands for the series models (MOMENT-1, Chronos-Bolt, Chronos 2).
Ours embeds the whole catalog in batches; light_curve is called once per object. Where light_curve
refuses an object (non-overlapping windows with different window counts per band), ours must
report it as failed (a NaN row), never invent numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog
from explorer.engine import ATAT, AstraCLR, Astromer1ZTF, Chronos2, ChronosBolt, Moment1, load_model
from explorer.errors import ModelError
from standin_models import STANDIN_BUILDERS

lce = pytest.importorskip("light_curve.embed")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

LSST = {"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5}
ZTF = {"g": 0, "r": 1, "i": 2}


def subset(shared_data, name, n, kind="mag", band=None, need_bands=()):
    """The first ``n`` objects of a shared catalog (only ``band`` when given; objects with every ``need_bands``)."""
    lc = pd.read_parquet(shared_data / name / f"{name}.lightcurves.parquet")
    if band is not None:
        lc = lc[lc.band == band]
    if need_bands:
        have = lc.groupby("object_id").band.agg(set)
        lc = lc[lc.object_id.isin(have[have.map(lambda b: set(need_bands) <= b)].index)]
    ids = lc.object_id.drop_duplicates().iloc[:n]
    lc = lc[lc.object_id.isin(ids)]
    col = "mag" if kind == "mag" else "flux"
    return Catalog.from_long(lc.object_id.values, lc.time.values, lc[col].values, lc[col + "_err"].values,
                             lc.band.values, objects=pd.DataFrame({"object_id": list(ids)}), value_kind=kind,
                             name=name)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family_standins")
    return {kind: load_model(build(folder / f"{kind}.onnx"), kind=kind, threads=2)
            for kind, build in STANDIN_BUILDERS.items() if kind not in ("astromer1", "astromer2", "atcat")}


@pytest.fixture(scope="module")
def ztf(shared_data):
    return subset(shared_data, "ztf_bts", 30)


@pytest.fixture(scope="module")
def ztf_gr(shared_data):
    """ZTF objects observed in g and r: per-band embeddings of a band without data differ on purpose
    (light_curve embeds an all-padding window, ours gives NaN), so both bands must be there."""
    return subset(shared_data, "ztf_bts", 30, need_bands=("g", "r"))


@pytest.fixture(scope="module")
def elasticc(shared_data):
    return subset(shared_data, "elasticc_sim_fink", 60, kind="flux")


@pytest.fixture(scope="module")
def macho_r(shared_data):
    cat = subset(shared_data, "macho_alcock_sample", 6, band="R")
    assert cat.objects.n_obs.min() > 512   # MOMENT needs several windows
    return cat


def compare(cat, ours, theirs, call, *, min_compared):
    """Our whole-catalog rows against light_curve per object; objects light_curve refuses must fail in ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ours.embed_catalog(cat, cache=False)
        matrix = res.matrix()
        seq = res.embeddings.shape[1] if res.embeddings.ndim == 3 else 1
        shape = (len(res.block_bands), len(res.block_strategies), seq, -1)
        compared = refused = 0
        for i in range(len(cat)):
            lc = cat.light_curve(i)
            try:
                want = call(theirs, lc)
            except ValueError:
                # light_curve refuses the whole object when one band cannot be windowed; ours leaves that
                # band (or band group) out: its block is NaN and, when it had observations, reported failed
                blocks = matrix[i].reshape(shape[0] * shape[1], -1)
                assert np.isnan(blocks).all(axis=1).any(), f"light_curve refuses {cat.object_ids[i]}, ours embedded it"
                refused += 1
                continue
            got = matrix[i].reshape(shape)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"object {cat.object_ids[i]}")
            compared += 1
    assert compared >= min_compared, (compared, refused)
    return res, compared, refused


REDUCTIONS = ["non-overlapping-windows", "beginning", "end", "middle", "random-subsample",
              "beginning,random-subsample,end"]


def lc_args(reduction, seed):
    return dict(reduction=reduction.split(","), reduction_kwargs={"rng": seed})


# -- Astromer 1 ZTF: ZTF g (and g, r per band) ----------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("output", ["mean", "max", "sequence"])
def test_astromer1_ztf(models, ztf, ztf_gr, reduction, output):
    for cat, bands in ((ztf, ["g"]), (ztf_gr, ["g", "r"])):
        ours = Astromer1ZTF(models["astromer1-ztf"], output=output, reduction=reduction, bands=bands, seed=3)
        theirs = lce.Astromer1ZTF(models["astromer1-ztf"].session, output=output, bands=bands, **lc_args(reduction, 3))
        compare(cat, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, band=lc.band.values),
                min_compared=25)


# -- ATAT: ELAsTiCC fluxes, six LSST bands ---------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("output", ["token", "mean", "sequence"])
def test_atat_elasticc(models, elasticc, reduction, output):
    ours = ATAT(models["atat"], output=output, reduction=reduction, band_groups=LSST, seed=5)
    theirs = lce.ATAT(models["atat"].session, output=output, band_groups=LSST, **lc_args(reduction, 5))
    _, compared, refused = compare(elasticc, ours, theirs,
                                   lambda m, lc: m(lc.time.values, lc.value.values, lc.band.values), min_compared=3)
    if reduction == "non-overlapping-windows":
        assert refused > 0   # objects lacking a band, or with a band past 65 observations
    else:
        assert refused == 0 and compared == len(elasticc)


def test_atat_zero_point_groups_and_magnitudes(models, elasticc, shared_data):
    """The same fluxes given at zero point 27.5 (mag_zp=27.5) embed like the nJy ones; groups; LSST labels."""
    scale = 10 ** (-0.4 * (31.4 - 27.5))
    ids = np.repeat(elasticc.object_ids, elasticc.n_obs)
    at_275 = Catalog.from_long(ids, elasticc.time, elasticc.value * scale, elasticc.error * scale,
                               np.asarray(elasticc.bands)[elasticc.band], value_kind="flux", name="elasticc-zp27.5")
    ours = ATAT(models["atat"], output="mean", reduction="end", mag_zp=27.5)   # LSST labels mapped automatically
    theirs = lce.ATAT(models["atat"].session, output="mean", band_groups=LSST, reduction="end", mag_zp=27.5)
    res, _, _ = compare(at_275, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.band.values),
                        min_compared=60)
    njy = ATAT(models["atat"], output="mean", reduction="end").embed_catalog(elasticc, cache=False)
    np.testing.assert_allclose(res.embeddings, njy.embeddings, rtol=1e-5, atol=1e-5)
    groups = [{"g": 1, "r": 2}, {"i": 3, "z": 4}]
    ours = ATAT(models["atat"], output="token", reduction="beginning", band_groups=groups, allow_extra_bands=True)
    theirs = lce.ATAT(models["atat"].session, output="token", band_groups=groups, allow_extra_bands=True,
                      reduction="beginning")
    res, _, _ = compare(elasticc, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.band.values),
                        min_compared=55)
    assert res.block_bands == ("g,r", "i,z")


# -- AstraCLR: ZTF magnitudes in MJD ------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_astraclr_ztf(models, ztf, reduction):
    ours = AstraCLR(models["astraclr"], reduction=reduction, band_groups=ZTF, seed=9)
    theirs = lce.AstraCLR(models["astraclr"].session, band_groups=ZTF, **lc_args(reduction, 9))
    _, compared, refused = compare(
        ztf, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.error.values, lc.band.values),
        min_compared=0 if reduction == "non-overlapping-windows" else 30)
    if reduction == "non-overlapping-windows":   # ZTF BTS has no i band: light_curve cannot window it
        assert refused == len(ztf)


def test_astraclr_default_groups_and_flux_catalogs(models, ztf):
    """ZTF labels map by default; a flux catalog at mag_zp gives the magnitudes' embedding."""
    ours = AstraCLR(models["astraclr"])
    theirs = lce.AstraCLR(models["astraclr"].session, band_groups=ZTF)
    compare(ztf, ours, theirs, lambda m, lc: m(lc.time.values, lc.value.values, lc.error.values, lc.band.values),
            min_compared=30)
    flux = 10 ** (-0.4 * (ztf.value - 31.4))
    ids = np.repeat(ztf.object_ids, ztf.n_obs)
    fcat = Catalog.from_long(ids, ztf.time, flux, flux * ztf.error * np.log(10) / 2.5,
                             np.asarray(ztf.bands)[ztf.band], value_kind="flux", name="ztf-flux")
    np.testing.assert_allclose(ours.embed_catalog(fcat, cache=False).embeddings,
                               ours.embed_catalog(ztf, cache=False).embeddings, rtol=1e-5, atol=1e-5)


# -- series models: one magnitude series -------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_moment1_mean(models, macho_r, reduction):
    ours = Moment1(models["moment1"], output="mean", reduction=reduction, seed=4)
    theirs = lce.Moment1(models["moment1"].session, size="small", output="mean", **lc_args(reduction, 4))
    compare(macho_r, ours, theirs, lambda m, lc: m(lc.value.values), min_compared=6)


@pytest.mark.parametrize("reduction", ["beginning", "end", "middle", "random-subsample"])
def test_moment1_sequence(models, macho_r, reduction):
    ours = Moment1(models["moment1"], output="sequence", reduction=reduction, seed=4)
    theirs = lce.Moment1(models["moment1"].session, size="small", output="sequence", **lc_args(reduction, 4))
    res, _, _ = compare(macho_r, ours, theirs, lambda m, lc: m(lc.value.values), min_compared=6)
    assert res.embeddings.shape[1:] == (64, 512)


@pytest.mark.parametrize("kind", ["chronos-bolt", "chronos2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_chronos_mean(models, shared_data, macho_r, kind, reduction):
    eros = subset(shared_data, "eros1_lmc", 25, band="R")   # ~120 observations: contexts of 112 and 128
    for cat in (macho_r, eros):
        if kind == "chronos-bolt":
            ours = ChronosBolt(models[kind], reduction=reduction, seed=8)
            theirs = lce.ChronosBolt(models[kind].session, size="tiny", **lc_args(reduction, 8))
        else:
            ours = Chronos2(models[kind], reduction=reduction, seed=8)
            theirs = lce.Chronos2(models[kind].session, **lc_args(reduction, 8))
        compare(cat, ours, theirs, lambda m, lc: m(lc.value.values), min_compared=len(cat))


def test_chronos_sequence_one_light_curve_at_a_time(models, macho_r, shared_data):
    """Per-patch states have a length per light curve: __call__ gives them; a mixed catalog says why it cannot."""
    eros = subset(shared_data, "eros1_lmc", 25, band="R")
    for kind, ours, theirs in (
        ("chronos-bolt", ChronosBolt(models["chronos-bolt"], output="sequence"),
         lce.ChronosBolt(models["chronos-bolt"].session, size="tiny", output="sequence")),
        ("chronos2", Chronos2(models["chronos2"], output="sequence", reduction="beginning"),
         lce.Chronos2(models["chronos2"].session, output="sequence", reduction="beginning")),
    ):
        for cat in (macho_r, eros):
            for i in range(0, len(cat), 5):
                mag = cat.light_curve(i).value.values
                want = theirs(mag)
                got = ours(mag)
                assert got.shape == want.shape == (1, 1, -(-min(len(mag), ours.max_obs) // 16), ours.dim)
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        with pytest.raises(ModelError, match="different count for light curves of different lengths"):
            ours.embed_catalog(eros, cache=False)
    with pytest.raises(ModelError, match="needs one single-window reduction"):
        Moment1(models["moment1"], output="sequence", reduction="non-overlapping-windows")


class CountingSession:
    """The real session, counting ``run`` calls."""

    def __init__(self, session):
        self.session, self.calls, self.rows = session, 0, []

    def __getattr__(self, name):
        return getattr(self.session, name)

    def run(self, outputs, feed):
        self.calls += 1
        self.rows.append(len(next(iter(dict(feed).values()))))
        return self.session.run(outputs, feed)


@pytest.mark.parametrize("kind,options", [
    ("astromer1-ztf", {}), ("atat", {"reduction": "beginning"}), ("astraclr", {}),
    ("moment1", {"reduction": "non-overlapping-windows"}), ("chronos-bolt", {}), ("chronos2", {}),
])
def test_whole_catalog_batches_not_one_call_per_object(models, shared_data, kind, options):
    """A catalog runs in batches of windows: at most one session call per batch and input shape."""
    import dataclasses

    name, kwargs = {"astromer1-ztf": ("ztf_bts", {}), "atat": ("elasticc_sim_fink", {"kind": "flux"}),
                    "astraclr": ("ztf_bts", {})}.get(kind, ("eros1_lmc", {"band": "R"}))
    cat = subset(shared_data, name, 120, **kwargs)
    counting = CountingSession(models[kind].session)
    from explorer.engine import model_class

    ours = model_class(kind)(dataclasses.replace(models[kind], session=counting), **options)
    res = ours.embed_catalog(cat, batch_size=32, cache=False)
    n_windows = res.meta["n_windows"]
    lengths = 1
    if kind.startswith("chronos"):   # one call per context length within a batch
        lengths = len(np.unique(-(-cat.objects.n_obs.to_numpy() // 16)))
    assert counting.calls <= -(-n_windows // 32) + lengths, (counting.calls, n_windows)
    assert counting.calls < len(cat) / 2 and max(counting.rows) > 1
    assert np.isfinite(res.embeddings).all() and len(res.embeddings) == len(cat)


@pytest.mark.parametrize("kind,options", [
    ("chronos-bolt", {}),                                   # context lengths: batch breaks and a window order
    ("atat", {"reduction": "beginning"}),                   # multiband channels
    ("moment1", {"reduction": "random-subsample,end"}),     # seeded draws
])
def test_pipelined_batches_equal_sequential_batches(models, shared_data, kind, options):
    """Preparing batch n+1 in a producer thread while the session runs batch n changes no bit."""
    from explorer.engine import model_class

    name, kwargs = {"atat": ("elasticc_sim_fink", {"kind": "flux"})}.get(kind, ("eros1_lmc", {"band": "R"}))
    cat = subset(shared_data, name, 90, **kwargs)
    runs = {}
    for pipeline in (False, True):
        calls = []
        runs[pipeline] = (model_class(kind)(models[kind], seed=3, **options).embed_catalog(
            cat, batch_size=7, cache=False, pipeline=pipeline, progress=lambda d, t: calls.append((d, t))), calls)
    (serial, serial_calls), (piped, piped_calls) = runs[False], runs[True]
    assert serial.meta["pipelined"] is False and piped.meta["pipelined"] is True
    assert serial.meta["n_windows"] > 7 * 3   # several batches, so the producer runs ahead
    np.testing.assert_array_equal(piped.embeddings, serial.embeddings)
    np.testing.assert_array_equal(piped.object_index, serial.object_index)
    np.testing.assert_array_equal(piped.window_obs, serial.window_obs)
    assert piped.meta["failed"] == serial.meta["failed"] and piped_calls == serial_calls
