"""The periodogram's frequency grid, shared by the light-curve features and the period search (kept
below both so that neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this many observations in a band the extractor set is not defined (LinearFit needs 3,
# Kurtosis 4, the periodogram a few more to be meaningful): such objects get NaN and a reason.
MIN_OBSERVATIONS = 5


@dataclass(frozen=True)
class PeriodogramGrid:
    """The Lomb-Scargle frequency grid shared by every object of one catalog band.

    The grid is ``linspace(0, max_freq, 2**k + 1)`` (the form the package's FFT periodogram needs) in
    angular frequency (radians per time unit). It follows the catalog:

    - the *lowest* frequency step resolves ``resolution`` times the typical time span (95th percentile
      of the objects' spans, so one object observed over 20,000 days cannot inflate the grid);
    - the *highest* frequency corresponds to ``min_period``: 0.05 days (20 cycles a day, the usual
      limit for variable stars from ground surveys, reachable despite a ~1 day cadence because the
      sampling is irregular), or twice the catalog's typical interval (median of the intervals
      between consecutive observations) when the cadence is finer than that. The median, not the
      smallest intervals: surveys taking several exposures in a row (ASAS) would otherwise push the
      grid to minutes and cost resolution where the periods are (measured: ASAS kNN5 0.88 -> 0.91);
    - the number of grid points is capped at ``2**max_log2`` (memory and time bounded for any input);
      when the cap bites, the resolution is lowered and ``capped`` says so.
    """

    max_freq: float
    n_log2: int
    span: float
    min_period: float
    capped: bool

    @property
    def freqs(self) -> np.ndarray:
        """The angular frequency grid, float64 ``[2**n_log2 + 1]``."""
        return np.linspace(0.0, self.max_freq, 2 ** self.n_log2 + 1)

    @classmethod
    def for_observations(cls, time: np.ndarray, offsets: np.ndarray, *, resolution: float = 10.0,
                         min_period: float | None = None, max_log2: int = 18) -> "PeriodogramGrid":
        """The grid for the light curves ``time[offsets[i]:offsets[i+1]]`` (time sorted within each)."""
        n = np.diff(offsets)
        has = n >= 2
        if not has.any():
            return cls(max_freq=2 * np.pi / 0.05, n_log2=10, span=1.0, min_period=0.05, capped=False)
        first, last = time[offsets[:-1][has]], time[offsets[1:][has] - 1]
        span = float(np.percentile(last - first, 95))
        span = span if np.isfinite(span) and span > 0 else 1.0
        if min_period is None:
            dt = np.diff(time)
            # intervals inside objects only (the flat array also holds jumps between objects)
            inside = np.ones(len(dt), bool)
            joins = offsets[1:-1] - 1
            inside[joins[(joins >= 0) & (joins < len(dt))]] = False  # empty objects at either end
            dt = dt[inside & (dt > 0)]
            dense = 2 * float(np.median(dt)) if len(dt) else 0.05
            min_period = min(0.05, dense) if dense > 0 else 0.05
            # a grid finer than 1e-4 of the span cannot be resolved by the FFT cap anyway
            min_period = max(min_period, span * 1e-6)
        max_freq = 2 * np.pi / float(min_period)
        step = 2 * np.pi / (float(resolution) * span)
        need = int(np.ceil(np.log2(max(max_freq / step, 16))))
        return cls(max_freq=max_freq, n_log2=min(need, max_log2), span=span, min_period=float(min_period),
                   capped=need > max_log2)
