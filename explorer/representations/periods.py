"""Period search of one light curve: the best Lomb-Scargle period and the candidates a person picks from.

The periodogram runs on the bounded grid of :class:`~explorer.representations.features.PeriodogramGrid`.
Inputs are checked before the package's Rust code sees them (it panics on times spanning ~1e18 shortest
periods): times are shifted to start at 0 and their span bounded, values centred and scaled (Lomb-Scargle
peaks do not depend on the values' offset or scale), so magnitudes of 1e295 are searched like any others.

Why candidates: for an eclipsing binary the strongest peak is usually half the true period (two eclipses
per cycle) and sometimes a quarter; measured on ``sample_catalogs/macho_like`` object ``macho_like_01500``
(catalog period 2.144 d) the best peaks are 0.536 d and 1.072 d, and twice the second is the true period.
So the few strongest peaks are offered with twice and half each, for the user to fold and pick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import CatalogError
from explorer.representations.grid import MIN_OBSERVATIONS, PeriodogramGrid

__all__ = ["period_candidates", "best_period", "periodogram", "MAX_SPAN_CYCLES"]

# Longest span searched, in shortest periods: far beyond any survey (a century at 0.05 d is 7.3e5),
# far below where the package's FFT overflows (measured: it panics from ~2e19).
MAX_SPAN_CYCLES = 1e15


def _prepared(time, value, min_period: float) -> tuple[np.ndarray, np.ndarray]:
    """Finite, time-sorted epochs (repeated epochs averaged), times from 0, values centred and scaled to 1."""
    t = np.asarray(time, np.float64).ravel()
    m = np.asarray(value, np.float64).ravel()
    if t.shape != m.shape:
        raise CatalogError(f"time and value differ in length ({len(t)} and {len(m)})")
    ok = np.isfinite(t) & np.isfinite(m)
    t, m = t[ok], m[ok]
    order = np.argsort(t, kind="stable")
    t, inverse = np.unique(t[order], return_inverse=True)
    if len(t) < MIN_OBSERVATIONS:
        raise CatalogError(f"{len(t)} distinct epochs: a period search needs at least {MIN_OBSERVATIONS}")
    m = m[order]
    with np.errstate(all="ignore"):
        centre = float(np.median(m))
        dev = m - centre
        scale = float(np.max(np.abs(dev)))
        if not np.isfinite(scale):
            raise CatalogError(f"values from {m.min():.3g} to {m.max():.3g} are too far apart for a period search")
        if not scale > 0:
            raise CatalogError("the light curve is constant: it has no period")
        dev = dev / scale
        counts = np.bincount(inverse)
        m = np.bincount(inverse, dev) / counts
    if not np.ptp(m) > 0:
        raise CatalogError("the light curve is constant: it has no period")
    span = float(t[-1] - t[0])
    if not np.isfinite(span) or span / min_period > MAX_SPAN_CYCLES:
        raise CatalogError(f"the light curve spans {span:.3g} time units (from {t[0]:.6g} to {t[-1]:.6g}): more than "
                           f"{MAX_SPAN_CYCLES:.0e} shortest periods ({min_period:g}); check the time column")
    return t - t[0], m - m.mean()


def periodogram(time, value, *, min_period: float = 0.05, max_period: float | None = None,
                resolution: float = 5.0, max_log2: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``(periods, power)`` of one light curve from ``max_period`` (default half the span) down to
    ``min_period``, longest first, on at most ``2**max_log2 + 1`` frequencies (power: light_curve's
    normalised Lomb-Scargle). CatalogError when no period can be searched (too few epochs, constant
    values, a span no search can resolve)."""
    import light_curve.light_curve_ext as lc

    if not (isinstance(min_period, (int, float, np.number)) and min_period > 0):
        raise CatalogError(f"min_period must be a positive number, got {min_period!r}")
    t, m = _prepared(time, value, float(min_period))
    span = float(t[-1])
    max_period = float(max_period) if max_period else span / 2
    if not max_period > min_period:
        raise CatalogError(f"the light curve spans {span:.3g} days: too short for periods above {min_period} d")
    grid = PeriodogramGrid.for_observations(t, np.array([0, len(t)]), resolution=resolution, min_period=min_period,
                                            max_log2=max_log2)
    try:
        freq, power = lc.Periodogram(peaks=1, freqs=grid.freqs, fast=True).freq_power(t, m)
    except BaseException as exc:  # the Rust code panics (PanicException is a BaseException), never kill the caller
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise CatalogError(f"the period search failed on this light curve ({type(exc).__name__}: "
                           f"{str(exc)[:200]})") from None
    usable = (freq >= 2 * np.pi / max_period) & (freq > 0) & np.isfinite(power)
    if not usable.any():
        raise CatalogError("no usable frequency in the period search grid")
    return 2 * np.pi / freq[usable], power[usable]


def best_period(time, value, *, min_period: float = 0.05, max_period: float | None = None,
                resolution: float = 5.0, max_log2: int = 20) -> float:
    """Best Lomb-Scargle period of one light curve, on a bounded grid (the dashboard's period search).

    The grid is the catalog grid of :class:`PeriodogramGrid` for this one curve (periods from
    ``min_period`` to ``max_period``, default half the span), at most ``2**max_log2 + 1`` frequencies:
    a 101-point curve spanning 20,000 days costs 0.2 s and tens of MB, not 12 s and 2 GB (measured). Repeated
    epochs are averaged. CatalogError when no period can be searched (too few epochs, constant values,
    values or times out of any usable range).
    """
    periods, power = periodogram(time, value, min_period=min_period, max_period=max_period, resolution=resolution,
                                 max_log2=max_log2)
    return float(periods[int(np.argmax(power))])


def period_candidates(time, value, *, peaks: int = 3, multiples=(2.0, 0.5), min_period: float = 0.05,
                      max_period: float | None = None, resolution: float = 5.0, max_log2: int = 20) -> pd.DataFrame:
    """The ``peaks`` strongest Lomb-Scargle peaks of one light curve and ``multiples`` of each period.

    Returns a DataFrame, strongest peak first, one row per candidate: ``period``, ``power`` (the
    periodogram at that period, NaN outside the searched range), ``peak`` (rank of the peak it comes
    from, 1 = strongest), ``factor`` (1 for the peak itself, else the multiple) and ``label``
    (``"peak 1"``, ``"2 x peak 1"``, ``"1/2 x peak 1"``...). Peaks are distinct local maxima of the
    periodogram. A multiple equal (within 1 %) to a peak or to a multiple listed before is left out. Errors as
    :func:`best_period`.
    """
    if isinstance(peaks, bool) or not isinstance(peaks, (int, np.integer)) or not 1 <= peaks <= 20:
        raise ValueError(f"peaks must be an integer from 1 to 20, got {peaks!r}")
    factors = [float(f) for f in multiples]
    if not all(np.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"multiples must be positive numbers, got {multiples!r}")
    periods, power = periodogram(time, value, min_period=min_period, max_period=max_period, resolution=resolution,
                                 max_log2=max_log2)
    if len(power) >= 3:
        inner = np.flatnonzero((power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:])) + 1
        ends = [i for i, ok in ((0, power[0] >= power[1]), (len(power) - 1, power[-1] >= power[-2])) if ok]
        local = np.concatenate([inner, np.asarray(ends, int)])
    else:
        local = np.arange(len(power))
    top = local[np.argsort(power[local], kind="stable")[::-1][:peaks]]
    # periods are in decreasing order along the grid: search the reversed (increasing) array
    ascending, asc_power = periods[::-1], power[::-1]

    def power_at(p: float) -> float:
        if not ascending[0] <= p <= ascending[-1]:
            return float("nan")
        k = int(np.clip(np.searchsorted(ascending, p), 1, len(ascending) - 1))
        k = k if abs(ascending[k] - p) < abs(ascending[k - 1] - p) else k - 1
        return float(asc_power[k])

    bases = [float(periods[idx]) for idx in top]
    rows: list[tuple] = []
    for rank, (idx, base) in enumerate(zip(top, bases), start=1):
        rows.append((base, float(power[idx]), rank, 1.0, f"peak {rank}"))
        for factor in factors:
            p = base * factor
            if any(abs(p - q) <= 0.01 * q for q in [*bases, *(r[0] for r in rows)]):
                continue  # already offered (another peak, or a multiple of one)
            rows.append((p, power_at(p), rank, factor, f"{_factor_text(factor)} x peak {rank}"))
    return pd.DataFrame(rows, columns=["period", "power", "peak", "factor", "label"])


def _factor_text(factor: float) -> str:
    if factor < 1 and float(1 / factor).is_integer():
        return f"1/{int(1 / factor)}"
    return f"{factor:g}"
