"""Period search: extreme inputs give a clear CatalogError, and the candidates hold an EB's true period
(issue 18, items 5 and 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog, load_catalog
from explorer.dashboard.state import ExplorerState, ResultCache
from explorer.errors import CatalogError
from explorer.representations import best_period, period_candidates
from explorer.representations.periods import MAX_SPAN_CYCLES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_catalogs"


@pytest.fixture(scope="module")
def macho():
    return load_catalog(SAMPLES / "macho_like")


def _sine(n=60, period=3.7, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 200, n))
    return t, 17 + 0.4 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.02, n)


def test_eclipsing_binary_true_period_is_among_the_candidates(macho):
    part = macho.light_curve("macho_like_01500")
    true = float(macho.objects.set_index("object_id").loc["macho_like_01500", "period"])
    assert true == pytest.approx(2.144, abs=1e-3)
    best = best_period(part["time"], part["value"])
    assert best == pytest.approx(true / 4, rel=0.01)  # the strongest peak is a quarter: why candidates exist
    cands = period_candidates(part["time"], part["value"])
    assert list(cands.columns) == ["period", "power", "peak", "factor", "label"]
    assert cands["period"].iloc[0] == pytest.approx(best) and cands["label"].iloc[0] == "peak 1"
    hit = cands[np.isclose(cands["period"], true, rtol=0.01)]
    assert len(hit) == 1 and hit["label"].iloc[0] == "2 x peak 2" and np.isfinite(hit["power"].iloc[0])
    assert (cands["peak"] <= 3).all() and cands["period"].round(6).is_unique


def test_candidates_of_a_sine_start_with_its_period():
    t, m = _sine()
    cands = period_candidates(t, m, peaks=2, multiples=(2.0, 0.5, 3.0))
    assert cands["period"].iloc[0] == pytest.approx(3.7, rel=0.01)
    assert set(cands.loc[cands["peak"] == 1, "label"]) == {"peak 1", "2 x peak 1", "1/2 x peak 1", "3 x peak 1"}
    with pytest.raises(ValueError, match="peaks must be an integer"):
        period_candidates(t, m, peaks=0)


@pytest.mark.parametrize("shift, scale", [(1e12, 1.0), (0.0, 1e295), (1e12, 1e295), (0.0, -1e-300)])
def test_extreme_but_searchable_values_give_the_same_period(shift, scale):
    t, m = _sine()
    assert best_period(t + shift, (m - 17) * scale) == pytest.approx(best_period(t, m), rel=1e-3)


@pytest.mark.parametrize("time_far, value, message", [
    (1e300, 17.0, "spans 1e\\+300 time units"),
    (1e18, 17.0, f"more than {MAX_SPAN_CYCLES:.0e}".replace("+", "\\+")),
    (None, 1e308, None),   # one huge value among ordinary ones: searched (scaled), no error
])
def test_out_of_range_times_are_catalog_errors_not_panics(time_far, value, message):
    t, m = _sine()
    tt = np.r_[t, time_far] if time_far is not None else np.r_[t, 250.0]
    mm = np.r_[m, value]
    if message is None:
        assert np.isfinite(best_period(tt, mm))
        return
    with pytest.raises(CatalogError, match=message):
        best_period(tt, mm)
    with pytest.raises(CatalogError, match=message):
        period_candidates(tt, mm)


def test_values_too_far_apart_and_constant_curves_are_named():
    t, _ = _sine()
    with pytest.raises(CatalogError, match="too far apart"):
        best_period(t, np.r_[np.full(31, -1.7e308), np.full(29, 1.7e308)])
    with pytest.raises(CatalogError, match="constant"):
        best_period(t, np.full(len(t), 1e295))
    with pytest.raises(CatalogError, match="at least 5"):
        best_period(t[:3], t[:3])


def test_the_state_names_the_object_when_its_times_are_out_of_range(tmp_path):
    t, m = _sine(n=30)
    ids = np.repeat(["fine", "far"], 30)
    time = np.r_[t, t[:-1], 1e300]
    cat = Catalog.from_long(ids, time, np.r_[m, m], objects=pd.DataFrame({"object_id": ["fine", "far"]}), name="p")
    s = ExplorerState(cat, embed_cache=ResultCache(), map_cache=ResultCache(), labels_path=tmp_path / "l.csv")
    assert s.lomb_scargle_period("fine") == pytest.approx(3.7, rel=0.01)
    with pytest.raises(CatalogError, match="object 'far'.*spans 1e\\+300"):
        s.lomb_scargle_period("far")
