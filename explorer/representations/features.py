"""Classic light-curve features from the ``light-curve`` package, one vector per object and band.

The extractor set is the field's standard one (amplitude, Anderson-Darling, beyond-N-std, Cusum, Eta,
EtaE, inter-percentile ranges, kurtosis, linear fit and trend, magnitude percentage ratios, maximum
slope, mean, MAD, median buffer range, percent amplitude, percent difference, reduced chi2, skew,
std, Stetson K, weighted mean, median) plus a Lomb-Scargle periodogram whose three highest peaks are
reported as log10 period and signal-to-noise. All objects of a band go to the package's own parallel
batch call (``Extractor.many``, Rust, multi-threaded) in chunks, so progress can be reported.
"""

from __future__ import annotations

import time as _time

import numpy as np

from explorer import offload
from explorer.errors import CatalogError
from explorer.representations.base import Params, check_concat_bands
from explorer.representations.grid import MIN_OBSERVATIONS, PeriodogramGrid

__all__ = ["Features", "FEATURE_VERSION", "MIN_OBSERVATIONS", "PeriodogramGrid", "best_period", "feature_extractor",
           "feature_names", "extract_band_features"]

# Bump when the feature set or how it is computed changes: part of every cache key.
FEATURE_VERSION = 2
# Objects per call of the parallel batch extractor: large enough to keep both cores busy, small
# enough to report progress every fraction of a second.
CHUNK = 256


def feature_extractor(grid: PeriodogramGrid, *, peaks: int = 3):
    """The ``light_curve`` Rust extractor of the standard set with the periodogram on ``grid``."""
    import light_curve.light_curve_ext as lc

    return lc.Extractor(
        lc.Amplitude(),
        lc.AndersonDarlingNormal(),
        lc.BeyondNStd(1.0),
        lc.BeyondNStd(2.0),
        lc.Cusum(),
        lc.Eta(),
        lc.EtaE(),
        lc.InterPercentileRange(0.1),
        lc.InterPercentileRange(0.25),
        lc.Kurtosis(),
        lc.LinearFit(),
        lc.LinearTrend(),
        lc.MagnitudePercentageRatio(0.4, 0.05),
        lc.MagnitudePercentageRatio(0.2, 0.1),
        lc.MaximumSlope(),
        lc.Mean(),
        lc.MedianAbsoluteDeviation(),
        lc.MedianBufferRangePercentage(0.1),
        lc.PercentAmplitude(),
        lc.PercentDifferenceMagnitudePercentile(0.1),
        lc.ReducedChi2(),
        lc.Skew(),
        lc.StandardDeviation(),
        lc.StetsonK(),
        lc.WeightedMean(),
        lc.Median(),
        lc.Periodogram(peaks=peaks, freqs=grid.freqs, fast=True),
    )


def _many(grid: PeriodogramGrid, peaks: int, lcs: list, n_jobs: int) -> np.ndarray:
    """Features of a chunk of prepared light curves (module-level: it may run in a worker process)."""
    with np.errstate(all="ignore"):
        return feature_extractor(grid, peaks=peaks).many(lcs, fill_value=np.nan, sorted=True, check=False,
                                                         n_jobs=n_jobs)


def feature_names(*, peaks: int = 3) -> list[str]:
    """Names of the feature vector, periodogram periods renamed ``..._log10_period_i``."""
    grid = PeriodogramGrid(max_freq=1.0, n_log2=4, span=1.0, min_period=1.0, capped=False)
    names = list(feature_extractor(grid, peaks=peaks).names)
    return [n.replace("periodogram_period_", "periodogram_log10_period_") if _is_period(n) else n for n in names]


def _is_period(name: str) -> bool:
    return name.startswith("periodogram_period_") and "s_to_n" not in name


def _clean_errors(err: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Errors usable as weights: missing or non-positive ones take the object's median positive error.

    Catalogs without errors (all NaN) get unit errors, so weighted features become unweighted ones.
    """
    out = err.astype(np.float64, copy=True)
    bad = ~(np.isfinite(out) & (out > 0))
    if not bad.any():
        return out
    obj = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    good_vals = np.where(bad, np.nan, out)
    import pandas as pd

    med = pd.Series(good_vals).groupby(obj).median().reindex(range(len(offsets) - 1)).to_numpy()
    fill = np.where(np.isfinite(med), med, 1.0)
    out[bad] = fill[obj[bad]]
    return out


def extract_band_features(time: np.ndarray, value: np.ndarray, error: np.ndarray, offsets: np.ndarray, *,
                          grid: PeriodogramGrid | None = None, peaks: int = 3, n_jobs: int = -1,
                          progress=None) -> tuple[np.ndarray, dict[int, str], PeriodogramGrid]:
    """Features of every light curve ``[offsets[i]:offsets[i+1]]`` of one band (magnitudes, time sorted).

    Returns ``(features float32 [n_objects, n_features], failures {object index: reason}, grid)``.
    An object that cannot be measured (too few observations, a constant curve, an error inside the
    package) gets a NaN row and a reason; one bad light curve never stops the others.
    ``progress(done_objects, total_objects)`` is called after each chunk.
    """
    n_obj = len(offsets) - 1
    grid = grid or PeriodogramGrid.for_observations(time, offsets)
    extractor = feature_extractor(grid, peaks=peaks)
    n_feat = len(extractor.names)
    out = np.full((n_obj, n_feat), np.nan, np.float64)
    failures: dict[int, str] = {}
    t = np.ascontiguousarray(time, np.float64)
    m = np.ascontiguousarray(value, np.float64)
    s = _clean_errors(np.asarray(error, np.float64), offsets)
    counts = np.diff(offsets)
    todo = []
    for i in range(n_obj):
        a, b = int(offsets[i]), int(offsets[i + 1])
        if counts[i] < MIN_OBSERVATIONS:
            failures[i] = f"{counts[i]} observations (features need {MIN_OBSERVATIONS})"
            continue
        tt, mm = t[a:b], m[a:b]
        if not (np.isfinite(tt).all() and np.isfinite(mm).all()):
            failures[i] = "non-finite time or value"
            continue
        if np.ptp(mm) == 0:
            failures[i] = "constant light curve"
            continue
        if not (np.diff(tt) > 0).all():
            # the package needs strictly increasing times: average repeated epochs (same band)
            tt, inverse = np.unique(tt, return_inverse=True)
            if len(tt) < MIN_OBSERVATIONS:
                failures[i] = f"{len(tt)} distinct epochs (features need {MIN_OBSERVATIONS})"
                continue
            w = 1.0 / s[a:b] ** 2
            mm = np.bincount(inverse, w * m[a:b]) / np.bincount(inverse, w)
            ss = 1.0 / np.sqrt(np.bincount(inverse, w))
            todo.append((i, (tt, mm, ss)))
            continue
        todo.append((i, (tt, mm, s[a:b])))
    if progress is not None:
        progress(0, n_obj)
    done = n_obj - len(todo)
    for c0 in range(0, len(todo), CHUNK):
        chunk = todo[c0:c0 + CHUNK]
        rows = [i for i, _ in chunk]
        lcs = [x for _, x in chunk]
        with np.errstate(all="ignore"):
            try:
                # in a worker process when the served app runs one: the extractor holds the GIL for
                # seconds per chunk (measured: 5-7 s stalls of every other session)
                vals = offload.call(_many, grid, peaks, lcs, n_jobs)
            except Exception:  # one object raised inside the package: isolate it, keep the rest
                vals = np.full((len(chunk), n_feat), np.nan)
                for j, x in enumerate(lcs):
                    try:
                        vals[j] = extractor(*x, fill_value=np.nan, sorted=True, check=False)
                    except Exception as exc:  # noqa: PERF203
                        failures[rows[j]] = f"light_curve: {type(exc).__name__}: {exc}"
        out[rows] = vals
        done += len(chunk)
        if progress is not None:
            progress(done, n_obj)
    names = list(extractor.names)
    for j, name in enumerate(names):
        if _is_period(name):
            with np.errstate(all="ignore"):
                out[:, j] = np.log10(np.where(out[:, j] > 0, out[:, j], np.nan))
    bad = ~np.isfinite(out).all(axis=1)
    for i in np.flatnonzero(bad):
        if int(i) not in failures:
            cols = [names[j] for j in np.flatnonzero(~np.isfinite(out[i]))]
            failures[int(i)] = "non-finite " + ", ".join(cols[:4]) + ("..." if len(cols) > 4 else "")
    return out.astype(np.float32), failures, grid


class Features(Params):
    """The standard ``light_curve`` feature set per band, bands concatenated (R||B).

    Parameters
    ----------
    bands : list of str or None
        Bands to measure, in block order; ``None`` = every band of the catalog.
    peaks : int
        Lomb-Scargle peaks reported (log10 period and signal-to-noise each).
    resolution : float
        Periodogram grid resolution: the frequency step resolves ``resolution`` times the catalog's
        typical time span (see :class:`PeriodogramGrid`; the grid follows each band's span and cadence).
    min_period : float or None
        Shortest period searched, in the catalog's time unit; None derives it from the cadence.
    flux_zp : float
        Flux catalogs are measured as AB magnitudes ``flux_zp - 2.5 log10(flux)`` (31.4 for nJy);
        non-positive fluxes are left out (and counted).
    n_jobs : int
        Threads of the package's parallel batch call (-1 = all cores).
    """

    _params = ("bands", "peaks", "resolution", "min_period", "flux_zp", "n_jobs")
    name = "features"

    def __init__(self, bands=None, peaks=3, resolution=5.0, min_period=None, flux_zp=31.4, n_jobs=-1):
        self.bands = bands
        self.peaks = peaks
        self.resolution = resolution
        self.min_period = min_period
        self.flux_zp = flux_zp
        self.n_jobs = n_jobs

    def _bands(self, catalog) -> list[str]:
        if self.bands is None:
            return [str(b) for b in catalog.bands]
        bands = [str(b) for b in ([self.bands] if isinstance(self.bands, str) else self.bands)]
        unknown = [b for b in bands if b not in catalog.bands]
        if unknown:
            raise CatalogError(f"band(s) {unknown} are not in catalog {catalog.name!r} (it has {list(catalog.bands)})")
        if not bands:
            raise CatalogError("features need at least one band")
        return bands

    def _checked_bands(self, catalog) -> list[str]:
        """``_bands`` within the side-by-side limit (``LCEXPLORER_MAX_CONCAT_BANDS``)."""
        bands = self._bands(catalog)
        check_concat_bands(bands, f"the features of catalog {catalog.name!r} (one block per band)")
        return bands

    def _validate(self) -> None:
        if isinstance(self.peaks, bool) or not isinstance(self.peaks, (int, np.integer)) or not 1 <= self.peaks <= 10:
            raise ValueError(f"peaks must be an integer from 1 to 10, got {self.peaks!r}")
        if not isinstance(self.resolution, (int, float)) or not self.resolution > 0:
            raise ValueError(f"resolution must be a positive number, got {self.resolution!r}")
        if self.min_period is not None and not (isinstance(self.min_period, (int, float)) and self.min_period > 0):
            raise ValueError(f"min_period must be a positive number or None, got {self.min_period!r}")

    def key_parts(self, catalog) -> dict:
        """Everything that changes the result, for the cache key."""
        import light_curve

        return {"representation": "features", "version": FEATURE_VERSION, "light_curve": light_curve.__version__,
                "bands": self._bands(catalog), "peaks": int(self.peaks), "resolution": float(self.resolution),
                "min_period": self.min_period, "flux_zp": float(self.flux_zp)}

    def _band_arrays(self, catalog, band: str):
        """time, magnitude, error, offsets of one band (flux catalogs as AB magnitudes) and dropped counts."""
        sub = catalog.band_subset([band])
        t, v, e, off = sub.time, sub.value, sub.error, sub.offsets
        dropped = np.zeros(len(sub), np.int64)
        if catalog.value_kind == "flux":
            keep = v > 0
            obj = np.repeat(np.arange(len(sub)), np.diff(off))
            dropped = np.bincount(obj[~keep], minlength=len(sub))
            with np.errstate(all="ignore"):
                e = (2.5 / np.log(10)) * e[keep] / v[keep]
                v = float(self.flux_zp) - 2.5 * np.log10(v[keep])
            t = t[keep]
            off = np.r_[0, np.cumsum(np.bincount(obj[keep], minlength=len(sub)))].astype(np.int64)
        return t, v, e, off, dropped

    def _grid(self, band: str, time: np.ndarray, offsets: np.ndarray) -> PeriodogramGrid:
        """The periodogram grid of one band (a subclass may fix it, e.g. for one partition of a catalog)."""
        return PeriodogramGrid.for_observations(time, offsets, resolution=float(self.resolution),
                                                min_period=self.min_period)

    def compute(self, catalog, *, progress=None, cache=True):
        """One feature vector per object (bands concatenated); cached by catalog content and parameters."""
        from explorer.representations.base import RepresentationCache, _compute_cached

        self._validate()
        self._checked_bands(catalog)  # before the cache key: it hashes the catalog
        return _compute_cached(self, catalog, progress, cache, RepresentationCache)

    def _compute(self, catalog, progress):
        import pandas as pd

        from explorer.representations.base import Block, RepresentationResult

        bands = self._checked_bands(catalog)
        names = feature_names(peaks=int(self.peaks))
        width = len(names)
        ids = np.asarray(catalog.object_ids).astype(str)
        matrix = np.full((len(catalog), width * len(bands)), np.nan, np.float32)
        blocks, missing, grids = [], [], {}
        t0 = _time.perf_counter()
        for k, band in enumerate(bands):
            t, v, e, off, dropped = self._band_arrays(catalog, band)

            def report(done, total, k=k, band=band):
                if progress is not None:
                    progress((k + done / max(total, 1)) / len(bands), f"features {band}: {done}/{total} objects")

            grid = self._grid(band, t, off)
            feats, failures, grid = extract_band_features(t, v, e, off, grid=grid, peaks=int(self.peaks),
                                                          n_jobs=int(self.n_jobs), progress=report)
            matrix[:, k * width:(k + 1) * width] = feats
            blocks.append(Block(f"features:{band}", k * width, (k + 1) * width))
            n_band = np.diff(off)
            for i, reason in failures.items():
                if n_band[i] == 0:
                    reason = f"no observation in band {band}"
                else:
                    reason = f"band {band}: {reason}"
                if dropped[i]:
                    reason += f" ({dropped[i]} non-positive fluxes left out)"
                missing.append((ids[i], f"features:{band}", reason))
            grids[band] = {"max_freq": grid.max_freq, "n_points": 2 ** grid.n_log2 + 1, "span": grid.span,
                           "min_period": grid.min_period, "capped": grid.capped}
        seconds = _time.perf_counter() - t0
        meta = {"representation": "features", "params": self.get_params(), "bands": bands,
                "n_features_per_band": width, "periodogram_grids": grids,
                "ms_per_object_band": round(1000 * seconds / max(len(catalog) * len(bands), 1), 3),
                "value_kind": catalog.value_kind}
        return RepresentationResult(
            matrix=matrix, object_ids=ids, blocks=tuple(blocks), meta=meta,
            missing=pd.DataFrame(missing, columns=["object_id", "block", "reason"]),
            column_names=tuple(f"{b}:{n}" for b in bands for n in names),
        )


def best_period(time, value, *, min_period: float = 0.05, max_period: float | None = None,
                resolution: float = 5.0, max_log2: int = 20) -> float:
    """Best Lomb-Scargle period of one light curve: :func:`explorer.representations.periods.best_period`."""
    from explorer.representations.periods import best_period as search

    return search(time, value, min_period=min_period, max_period=max_period, resolution=resolution,
                  max_log2=max_log2)
