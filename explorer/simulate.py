"""The light-curve simulator behind ``sample_catalogs/``: labelled classes on survey-like cadences.

Two catalogs, both deterministic from a seed (same command, same bytes):

* ``macho_like``: single-band (R) magnitudes, ~3000 objects in 30 LMC-like fields, 150-600 epochs
  over ~7 years with seasonal gaps; RR Lyrae ab/c, Cepheids, eclipsing binaries, Mira/LPV, constant
  stars, SN Ia-like transients and AGN (damped random walk).
* ``lsst_like``: ugrizY fluxes in nJy (zero point 31.4), ~600 objects, irregular LSST-like cadence with
  a nightly pair of visits in neighbouring filters; SN Ia-like transients with colour evolution, AGN,
  RR Lyrae ab, eclipsing binaries and constant stars.

``python -m explorer.simulate --out sample_catalogs`` (or ``lcexplorer simulate``) regenerates them.
The physics works on numpy arrays in long format; writing goes through ``Catalog.from_long(...).to_parquet``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SimulatedCatalog",
    "MACHO_CLASSES",
    "LSST_CLASSES",
    "LSST_BANDS",
    "ZERO_POINT_NJY",
    "DEFAULT_SAMPLE",
    "DEFAULT_SEED",
    "simulate_macho_like",
    "simulate_lsst_like",
    "write_catalog",
    "generate_samples",
    "mag_to_flux",
    "flux_to_mag",
    "main",
]

DEFAULT_SEED = 20240611
DEFAULT_SAMPLE = "macho_like"
ZERO_POINT_NJY = 31.4
LSST_BANDS = ("u", "g", "r", "i", "z", "Y")

# Class -> number of objects in the full-size catalogs (documented in sample_catalogs/README.md).
MACHO_CLASSES = {
    "RRab": 700,
    "RRc": 300,
    "Cepheid": 450,
    "EB": 500,
    "Mira": 250,
    "constant": 450,
    "SNIa": 150,
    "AGN": 200,
}
LSST_CLASSES = {"SNIa": 160, "AGN": 140, "RRab": 110, "EB": 90, "constant": 100}
PERIODIC = ("RRab", "RRc", "Cepheid", "EB", "Mira")


def mag_to_flux(mag, zero_point: float = ZERO_POINT_NJY):
    """AB magnitude -> flux in nJy (zero point 31.4)."""
    return 10.0 ** (0.4 * (zero_point - np.asarray(mag, dtype=np.float64)))


def flux_to_mag(flux, zero_point: float = ZERO_POINT_NJY):
    """Flux in nJy -> AB magnitude (NaN for non-positive flux)."""
    f = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, zero_point - 2.5 * np.log10(np.where(f > 0, f, 1.0)), np.nan)


@dataclass
class SimulatedCatalog:
    """A simulated catalog in long format plus its objects table (one row per object)."""

    name: str
    object_id: np.ndarray  # str [n_obs]
    time: np.ndarray  # float64 [n_obs]
    band: np.ndarray  # str [n_obs]
    value: np.ndarray  # float64 [n_obs] mag or flux (nJy)
    error: np.ndarray  # float64 [n_obs]
    objects: pd.DataFrame
    value_kind: str  # "mag" or "flux"

    def to_catalog(self):
        """The in-memory ``explorer.catalog.Catalog``."""
        from explorer.catalog import Catalog

        return Catalog.from_long(
            self.object_id, self.time, self.value, self.error, self.band,
            objects=self.objects, value_kind=self.value_kind, name=self.name,
        )


# ----------------------------------------------------------------------------------------------
# light-curve shapes (noise free). phase in [0, 1); all return magnitude offsets (positive = fainter)


def _fourier_template(rise: float, n_harmonics: int, bump: float = 0.0) -> np.ndarray:
    """Fourier coefficients (a_k, b_k) of a smoothed sawtooth in brightness with a quick rise.

    Brightness rises linearly over ``rise`` of the cycle and declines over the rest (RRab, Cepheids);
    ``bump`` adds a Hertzsprung-like secondary bump on the decline. Truncating the series smooths corners.
    """
    phi = np.arange(512) / 512.0
    brightness = np.where(phi < rise, phi / rise, (1.0 - phi) / (1.0 - rise))
    brightness += bump * np.exp(-0.5 * ((phi - 0.45) / 0.05) ** 2)
    shape = -brightness  # magnitudes: brighter = smaller
    coeffs = np.fft.rfft(shape)[1 : n_harmonics + 1] / 256.0
    return coeffs


def _eval_fourier(coeffs: np.ndarray, phase: np.ndarray) -> np.ndarray:
    coeffs = np.asarray(coeffs, dtype=np.complex128)
    arg = (2 * np.pi) * np.outer(phase, np.arange(1, len(coeffs) + 1))
    # Real part of sum c_k exp(i k x), in real arithmetic (complex exp is several times slower).
    return np.cos(arg) @ coeffs.real - np.sin(arg) @ coeffs.imag


def _unit_peak_to_peak(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.mean()) / span if span > 0 else values * 0


def _periodic_shape(kind: str, rng: np.random.Generator) -> tuple[float, float, callable]:
    """Draw a period, a peak-to-peak amplitude (R-like band) and a shape f(phase) of unit peak-to-peak."""
    grid = np.arange(256) / 256.0
    if kind == "RRab":
        period = float(np.clip(rng.normal(0.57, 0.07), 0.42, 0.85))
        # Bailey diagram: shorter-period RRab have larger amplitudes.
        amp = float(np.clip(1.6 - 1.6 * period + rng.normal(0, 0.12), 0.35, 1.2))
        coeffs = _fourier_template(rng.uniform(0.12, 0.2), 8)
    elif kind == "RRc":
        period = float(rng.uniform(0.24, 0.42))
        amp = float(rng.uniform(0.25, 0.5))
        a2 = rng.uniform(0.05, 0.15)
        coeffs = np.array([-0.5j, a2 * np.exp(1j * rng.uniform(0, 2 * np.pi))])
    elif kind == "Cepheid":
        period = float(np.exp(rng.uniform(np.log(2.0), np.log(40.0))))
        amp = float(rng.uniform(0.3, 0.8))
        bump = 0.15 if 6.0 < period < 16.0 else 0.0
        coeffs = _fourier_template(rng.uniform(0.25, 0.35), 6, bump=bump)
    elif kind == "Mira":
        period = float(rng.uniform(150.0, 500.0))
        amp = float(rng.uniform(2.0, 4.5))
        coeffs = _fourier_template(rng.uniform(0.4, 0.48), 3)
    elif kind == "EB":
        return _eclipsing_binary(rng)
    else:
        raise ValueError(f"unknown periodic class {kind!r}")
    norm = _eval_fourier(coeffs, grid)
    lo, span = norm.min(), norm.max() - norm.min()

    def shape(phase, coeffs=coeffs, lo=lo, span=span):
        return (_eval_fourier(coeffs, phase) - lo) / span - 0.5

    return period, amp, shape


def _eclipsing_binary(rng: np.random.Generator):
    """Detached (Algol-like) or contact (W UMa-like) binary; returns (period, amplitude, shape)."""
    contact = rng.random() < 0.35
    if contact:
        period = float(np.exp(rng.uniform(np.log(0.25), np.log(0.8))))
        depth1 = rng.uniform(0.2, 0.7)
        ratio = rng.uniform(0.7, 1.0)

        def flux_loss(phase):
            c = np.cos(2 * np.pi * phase)
            # Continuous light variation with unequal minima at phases 0 and 0.5.
            return 0.5 * (1 + np.cos(4 * np.pi * phase)) * np.where(c > 0, depth1, depth1 * ratio)
    else:
        period = float(np.exp(rng.uniform(np.log(0.8), np.log(12.0))))
        depth1 = rng.uniform(0.15, 0.9)
        ratio = rng.uniform(0.05, 0.8)
        width = rng.uniform(0.025, 0.07) * (2.0 / period) ** (1 / 3)
        width = float(np.clip(width, 0.012, 0.09))
        ellip = rng.uniform(0.0, 0.03)

        def flux_loss(phase):
            d0 = np.minimum(phase, 1 - phase)
            d1 = np.abs(phase - 0.5)
            ecl = depth1 * np.clip(1 - (d0 / width) ** 2, 0, None) ** 0.6
            ecl = ecl + depth1 * ratio * np.clip(1 - (d1 / width) ** 2, 0, None) ** 0.6
            return ecl + ellip * 0.5 * (1 - np.cos(4 * np.pi * phase))

    grid = np.arange(4096) / 4096.0
    mags = -2.5 * np.log10(1 - 0.999 * np.clip(flux_loss(grid), 0, 0.999))
    amp = float(mags.max() - mags.min())

    def shape(phase):
        m = -2.5 * np.log10(1 - 0.999 * np.clip(flux_loss(phase), 0, 0.999))
        return m / amp - 0.5  # unit peak-to-peak, eclipses fainter

    return period, amp, shape


def _bazin(t, t0, tau_rise, tau_fall):
    """Bazin et al. (2009) transient profile normalised to a peak of 1."""
    x = (t - t0)
    with np.errstate(over="ignore"):
        f = np.exp(-x / tau_fall) / (1 + np.exp(-x / tau_rise))
    tpk = t0 + tau_rise * np.log(tau_fall / tau_rise - 1) if tau_fall > tau_rise else t0
    fpk = np.exp(-(tpk - t0) / tau_fall) / (1 + np.exp(-(tpk - t0) / tau_rise))
    return np.nan_to_num(f / fpk)


def _drw(t: np.ndarray, tau: float, sf_inf: float, rng: np.random.Generator) -> np.ndarray:
    """Damped random walk (Ornstein-Uhlenbeck) sampled exactly at sorted times ``t``; mean 0."""
    sigma = sf_inf / np.sqrt(2.0)
    out = np.empty(len(t))
    if len(t) == 0:
        return out
    out[0] = rng.normal(0, sigma)
    decay = np.exp(-np.diff(t) / tau)
    kicks = rng.normal(0, 1, len(t) - 1) * sigma * np.sqrt(1 - decay**2)
    for i in range(1, len(t)):
        out[i] = out[i - 1] * decay[i - 1] + kicks[i - 1]
    return out


# ----------------------------------------------------------------------------------------------
# macho_like


def _macho_errors(mag: np.ndarray, m5: np.ndarray) -> np.ndarray:
    """Photometric 1-sigma errors in mag: photon + sky noise (LSST-style formula) plus a 0.01 floor."""
    x = 10.0 ** (0.4 * (mag - m5))
    gamma = 0.039
    rand2 = (0.04 - gamma) * x + gamma * x**2
    return np.sqrt(0.01**2 + rand2)


def _macho_field_epochs(rng: np.random.Generator, n_epochs: int, start: float, years: float) -> np.ndarray:
    """Night times over ``years`` with a ~3.5-month seasonal gap each year and weather losses."""
    nights = np.arange(int(years * 365.25)) + start
    doy = (nights - start + rng.uniform(0, 30)) % 365.25
    in_season = doy < 365.25 - 105  # the field is too close to the Sun for ~105 nights a year
    candidates = nights[in_season]
    # Weather and scheduling: observed nights are a random subset.
    chosen = np.sort(rng.choice(candidates, size=min(n_epochs, len(candidates)), replace=False))
    return chosen + 0.5 + rng.normal(0, 0.08, len(chosen))  # local midnight +- ~2 h


def simulate_macho_like(n_objects: int = 3000, seed: int = DEFAULT_SEED, n_fields: int = 30) -> SimulatedCatalog:
    """The single-band MACHO-like catalog (R magnitudes); class counts scale with ``n_objects``."""
    rng = np.random.default_rng([seed, 1])
    labels = _class_list(MACHO_CLASSES, n_objects, rng)
    n_fields = max(1, min(n_fields, n_objects // 20 or 1))
    start, years = 48800.0, 7.2
    fields = []
    for f in range(n_fields):
        frng = np.random.default_rng([seed, 1, 1000 + f])
        n_ep = int(np.clip(np.exp(frng.uniform(np.log(150), np.log(600))), 150, 600))
        times = np.round(_macho_field_epochs(frng, n_ep, start, years), 5)
        m5 = 21.0 + frng.normal(0, 0.3, len(times))  # per-epoch depth (seeing, sky)
        centre = (frng.uniform(76.0, 86.0), frng.uniform(-71.0, -67.5))
        fields.append((times, m5, centre))
    field_of = rng.integers(0, n_fields, len(labels))  # len(labels) >= n_objects: one of each class at least

    ids, parts, rows = [], [], []
    for i, label in enumerate(labels):
        orng = np.random.default_rng([seed, 1, 10_000 + i])
        times, m5, centre = fields[field_of[i]]
        keep = orng.random(len(times)) > orng.uniform(0.0, 0.12)  # bad pixels, edges: per-star losses
        t, depth = times[keep], m5[keep]
        model, meta = _macho_model(label, t, orng, start, years)
        err = _macho_errors(model, depth)
        mag = model + orng.normal(0, 1, len(t)) * err
        oid = f"macho_like_{i:05d}"
        ids.append(np.full(len(t), oid))
        parts.append((t, np.round(mag, 3), np.round(err * orng.uniform(0.9, 1.1, len(t)), 3)))
        ra = centre[0] + orng.normal(0, 0.25) / np.cos(np.radians(centre[1]))
        dec = centre[1] + orng.normal(0, 0.25)
        rows.append({"object_id": oid, "label": label, "period": meta["period"], "mean_mag": meta["mean_mag"],
                     "amplitude": meta["amplitude"], "ra": round(float(ra), 6), "dec": round(float(dec), 6),
                     "field": int(field_of[i])})
    objects = pd.DataFrame(rows)
    t = np.concatenate([p[0] for p in parts])
    return SimulatedCatalog(
        name="macho_like", object_id=np.concatenate(ids), time=t, band=np.full(len(t), "R"),
        value=np.concatenate([p[1] for p in parts]), error=np.concatenate([p[2] for p in parts]),
        objects=objects, value_kind="mag",
    )


def _macho_model(label: str, t: np.ndarray, rng: np.random.Generator, start: float, years: float):
    """Noise-free R magnitudes at times ``t`` and the object's metadata (period, mean_mag, amplitude)."""
    period = np.nan
    if label in PERIODIC:
        period, amp, shape = _periodic_shape(label, rng)
        base = {
            "RRab": lambda: rng.normal(18.9, 0.25),
            "RRc": lambda: rng.normal(19.0, 0.25),
            # Period-luminosity relation in an LMC-like distance.
            "Cepheid": lambda: 17.0 - 2.9 * np.log10(period) + rng.normal(0, 0.15),
            "EB": lambda: rng.uniform(15.5, 20.0),
            "Mira": lambda: rng.uniform(12.5, 15.0),
        }[label]()
        phase = ((t - start) / period + rng.random()) % 1.0
        model = base + amp * shape(phase)
        if label == "Mira":
            # Cycle-to-cycle changes of the mean brightness (slow, ~0.2 mag).
            model = model + _drw(t, 400.0, 0.3, rng)
    elif label == "constant":
        model = np.full(len(t), rng.uniform(14.0, 20.5))
    elif label == "AGN":
        tau = float(np.exp(rng.uniform(np.log(80), np.log(600))))
        model = rng.uniform(18.0, 20.0) + _drw(t, tau, rng.uniform(0.15, 0.4), rng)
    elif label == "SNIa":
        host = rng.uniform(19.5, 21.0)
        peak = rng.uniform(17.5, 19.5)
        t0 = start + rng.uniform(0.03, 0.93) * years * 365.25
        z = rng.uniform(0.02, 0.1)
        curve = _bazin(t, t0, rng.uniform(2.5, 4.5) * (1 + z), rng.uniform(25, 40) * (1 + z))
        flux = 10 ** (-0.4 * host) + 10 ** (-0.4 * peak) * curve
        model = -2.5 * np.log10(flux)
    else:
        raise ValueError(f"unknown class {label!r}")
    meta = {
        "period": float(round(period, 6)) if np.isfinite(period) else np.nan,
        "mean_mag": float(round(np.mean(model), 4)) if len(model) else np.nan,
        "amplitude": float(round(np.ptp(model), 4)) if len(model) else np.nan,
    }
    return model, meta


def _class_list(classes: dict, n_objects: int, rng: np.random.Generator) -> list[str]:
    """Labels in shuffled order with counts proportional to ``classes`` (at least one each)."""
    total = sum(classes.values())
    counts = {k: max(1, int(round(v * n_objects / total))) for k, v in classes.items()}
    diff = n_objects - sum(counts.values())
    biggest = max(counts, key=counts.get)
    counts[biggest] = max(1, counts[biggest] + diff)
    labels = np.array([k for k, v in counts.items() for _ in range(v)])
    return list(labels[rng.permutation(len(labels))])


# ----------------------------------------------------------------------------------------------
# lsst_like

# Single-visit 5-sigma depths (AB) and filter usage weights of an LSST-like survey.
_LSST_M5 = {"u": 23.9, "g": 25.0, "r": 24.7, "i": 24.0, "z": 23.3, "Y": 22.1}
_LSST_PAIRS = [("u", "g"), ("g", "r"), ("r", "i"), ("i", "z"), ("z", "Y"), ("g", "i"), ("r", "z")]
_LSST_PAIR_W = np.array([0.06, 0.14, 0.2, 0.2, 0.18, 0.1, 0.12])
# Effective wavelengths (micron), used for colour trends.
_LSST_WAVE = np.array([0.37, 0.48, 0.62, 0.75, 0.87, 0.97])


def _lsst_cadence(rng: np.random.Generator, start: float, years: float) -> tuple[np.ndarray, np.ndarray]:
    """Visit times and bands: nights with a pair of visits ~30 min apart in two filters, seasonal gaps."""
    n_nights = int(rng.uniform(45, 110))
    season_offset = rng.uniform(0, 365.25)
    nights = np.arange(int(years * 365.25)) + start
    visible = ((nights - start + season_offset) % 365.25) < 190  # ~6 months per year above the horizon
    chosen = np.sort(rng.choice(nights[visible], size=n_nights, replace=False))
    pair_idx = rng.choice(len(_LSST_PAIRS), size=n_nights, p=_LSST_PAIR_W / _LSST_PAIR_W.sum())
    t0 = chosen + rng.uniform(0.1, 0.35, n_nights)
    times = np.concatenate([t0, t0 + rng.uniform(0.015, 0.04, n_nights)])
    bands = np.concatenate([[_LSST_PAIRS[k][0] for k in pair_idx], [_LSST_PAIRS[k][1] for k in pair_idx]])
    # Some second visits are lost (weather, scheduler): keep ~85 % of them.
    keep = np.concatenate([np.ones(n_nights, bool), rng.random(n_nights) < 0.85])
    order = np.argsort(times[keep], kind="stable")
    return np.round(times[keep][order], 5), bands[keep][order]


def _lsst_flux_errors(flux: np.ndarray, band: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-sigma flux errors (nJy): sky noise at the visit depth, source photon noise, 0.5 % calibration."""
    m5 = np.array([_LSST_M5[b] for b in band]) + rng.normal(0, 0.25, len(band))
    sky = mag_to_flux(m5) / 5.0
    return np.sqrt(sky**2 + np.clip(flux, 0, None) * sky / 25.0 + (0.005 * flux) ** 2)


def simulate_lsst_like(n_objects: int = 600, seed: int = DEFAULT_SEED) -> SimulatedCatalog:
    """The multiband LSST-like catalog (ugrizY fluxes in nJy); class counts scale with ``n_objects``."""
    rng = np.random.default_rng([seed, 2])
    labels = _class_list(LSST_CLASSES, n_objects, rng)
    start, years = 60800.0, 3.0
    band_index = {b: k for k, b in enumerate(LSST_BANDS)}
    # Objects in one pointing share its visits (as in a survey field); chip gaps drop a few per object.
    n_fields = max(1, min(20, n_objects // 10 or 1))
    fields = [_lsst_cadence(np.random.default_rng([seed, 2, 1000 + f]), start, years) for f in range(n_fields)]
    field_of = rng.integers(0, n_fields, len(labels))  # len(labels) >= n_objects: one of each class at least
    sin_dec = (np.sin(np.radians(-65)), np.sin(np.radians(5)))  # uniform on the sphere, -65 < dec < 5
    centres = [(rng.uniform(0, 360), float(np.degrees(np.arcsin(rng.uniform(*sin_dec))))) for _ in range(n_fields)]
    ids, parts, rows = [], [], []
    for i, label in enumerate(labels):
        orng = np.random.default_rng([seed, 2, 10_000 + i])
        times, bands = fields[field_of[i]]
        keep = orng.random(len(times)) > orng.uniform(0.0, 0.1)
        t, band = times[keep], bands[keep]
        bidx = np.array([band_index[b] for b in band])
        mags, meta = _lsst_model(label, t, bidx, orng, start, years)
        flux_true = mag_to_flux(mags)
        err = _lsst_flux_errors(flux_true, band, orng)
        flux = flux_true + orng.normal(0, 1, len(t)) * err
        oid = f"lsst_like_{i:04d}"
        ids.append(np.full(len(t), oid))
        parts.append((t, band, np.round(flux, 1), np.round(err, 1)))
        ra_c, dec_c = centres[field_of[i]]
        dec = float(np.clip(dec_c + orng.uniform(-1.7, 1.7), -90, 90))
        ra = (ra_c + orng.uniform(-1.7, 1.7) / np.cos(np.radians(dec))) % 360.0
        rows.append({"object_id": oid, "label": label, **meta, "ra": round(float(ra), 6),
                     "dec": round(float(dec), 6), "field": int(field_of[i])})
    objects = pd.DataFrame(rows)
    return SimulatedCatalog(
        name="lsst_like", object_id=np.concatenate(ids), time=np.concatenate([p[0] for p in parts]),
        band=np.concatenate([p[1] for p in parts]), value=np.concatenate([p[2] for p in parts]),
        error=np.concatenate([p[3] for p in parts]), objects=objects, value_kind="flux",
    )


def _lsst_model(label, t, bidx, rng, start, years):
    """Noise-free AB magnitudes per visit and metadata (period, redshift, r-band mean_mag and amplitude)."""
    period, redshift = np.nan, np.nan
    rel_wave = _LSST_WAVE - _LSST_WAVE[2]
    if label in ("RRab", "EB"):
        period, amp, shape = _periodic_shape(label, rng)
        phase = ((t - start) / period + rng.random()) % 1.0
        if label == "RRab":
            base_r = rng.uniform(17.0, 21.5)  # halo RR Lyrae at various distances
            colour = np.array([1.15, 0.25, 0.0, -0.1, -0.13, -0.15])
            amp_scale = np.array([1.35, 1.25, 1.0, 0.8, 0.72, 0.68])  # larger in the blue
        else:
            base_r = rng.uniform(16.5, 22.0)
            gr = rng.uniform(-0.1, 1.2)
            colour = np.array([1.8, 1.0, 0.0, -0.45, -0.65, -0.75]) * gr
            amp_scale = np.ones(6)
        mags = base_r + colour[bidx] + amp * amp_scale[bidx] * shape(phase)
    elif label == "constant":
        gr = rng.uniform(-0.1, 1.4)
        colour = np.array([1.8, 1.0, 0.0, -0.45, -0.65, -0.75]) * gr
        mags = rng.uniform(16.5, 22.5) + colour[bidx]
    elif label == "AGN":
        redshift = rng.uniform(0.3, 2.5)
        tau = float(np.exp(rng.uniform(np.log(50), np.log(400)))) * (1 + redshift)
        walk = _drw(t, tau, rng.uniform(0.15, 0.35), rng)
        colour = np.array([0.25, 0.15, 0.0, -0.05, -0.1, -0.15]) + rng.normal(0, 0.05, 6)
        variability = np.exp(-rel_wave / 0.6)  # bluer bands vary more
        mags = rng.uniform(19.0, 22.5) + colour[bidx] + walk * variability[bidx]
    elif label == "SNIa":
        redshift = rng.uniform(0.05, 0.6)
        peak_r = 19.3 + 5 * np.log10(redshift / 0.1) * 0.95 + rng.normal(0, 0.15)
        t0 = start + rng.uniform(0.05, 0.92) * years * 365.25
        s = 1 + redshift
        # Colour evolution: redder bands peak later, fade more slowly and stay relatively brighter.
        peak_offset = (np.array([0.9, 0.15, 0.0, 0.25, 0.45, 0.6])
                       + 0.8 * redshift * np.array([1, 0.6, 0, -0.2, -0.3, -0.3]))
        lag = np.array([-2.0, -1.0, 0.0, 1.5, 2.5, 3.0]) * s
        tau_fall = np.array([14.0, 20.0, 28.0, 36.0, 40.0, 44.0]) * s * rng.uniform(0.85, 1.15)
        tau_rise = rng.uniform(2.5, 4.5) * s
        host_r = rng.uniform(21.5, 25.0)
        host_colour = np.array([1.6, 0.7, 0.0, -0.35, -0.55, -0.65])
        flux = np.zeros(len(t))
        for k in range(6):
            sel = bidx == k
            curve = _bazin(t[sel], t0 + lag[k], tau_rise, tau_fall[k])
            flux[sel] = mag_to_flux(peak_r + peak_offset[k]) * curve + mag_to_flux(host_r + host_colour[k])
        mags = flux_to_mag(flux)
    else:
        raise ValueError(f"unknown class {label!r}")
    r = bidx == 2
    meta = {
        "period": float(round(period, 6)) if np.isfinite(period) else np.nan,
        "redshift": float(round(redshift, 4)) if np.isfinite(redshift) else np.nan,
        "mean_mag": float(round(np.mean(mags[r]), 4)) if r.any() else np.nan,
        "amplitude": float(round(np.ptp(mags[r]), 4)) if r.any() else np.nan,
    }
    return mags, meta


# ----------------------------------------------------------------------------------------------
# writing


def write_catalog(sim: SimulatedCatalog, folder) -> tuple[Path, Path]:
    """Write ``<folder>/<name>.lightcurves.parquet`` and ``<name>.objects.parquet`` (the shared layout).

    Goes through ``Catalog.from_long(...).to_parquet``, whose writer settings are fixed (zstd, no
    timestamps in the files), so the same simulation gives byte-identical files.
    """
    return sim.to_catalog().to_parquet(Path(folder), sim.name)


def generate_samples(out="sample_catalogs", *, seed: int = DEFAULT_SEED, scale: float = 1.0,
                     names=("macho_like", "lsst_like")) -> list[Path]:
    """Simulate and write ``out/<name>/<name>.{lightcurves,objects}.parquet``; returns the file paths.

    ``scale`` shrinks the documented object counts (tests use small versions).
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    makers = {
        "macho_like": lambda: simulate_macho_like(max(8, int(round(3000 * scale))), seed=seed),
        "lsst_like": lambda: simulate_lsst_like(max(5, int(round(600 * scale))), seed=seed),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown sample catalog(s) {unknown}; known: {sorted(makers)}")
    paths: list[Path] = []
    for name in names:
        # One folder per catalog, as in ../shared/data: load_catalog(out / name) reads it directly.
        paths.extend(write_catalog(makers[name](), Path(out) / name))
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``python -m explorer.simulate`` and ``lcexplorer simulate``."""
    parser.add_argument("--out", default="sample_catalogs", help="output folder (default: sample_catalogs)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the documented object counts")
    parser.add_argument("--only", choices=["macho_like", "lsst_like"], action="append",
                        help="generate only this catalog (repeatable)")


def run(args) -> int:
    """Generate the catalogs described by parsed ``args``; prints one line per file."""
    names = tuple(args.only) if args.only else ("macho_like", "lsst_like")
    for path in generate_samples(args.out, seed=args.seed, scale=args.scale, names=names):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def main(argv=None) -> int:
    """``python -m explorer.simulate``: regenerate the sample catalogs."""
    parser = argparse.ArgumentParser(prog="python -m explorer.simulate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
