"""ATCAT: multiband fluxes, 243 positions, 384-d (light-curve/atcat ``atcat_f32.onnx`` / ``atcat_fp16.onnx``).

All bands of a band group share one window (observations in catalog order); per window, time minus
the window's first time, fluxes and errors at AB zero point 27.5 (``mag_zp`` says the zero point of
the input fluxes; 31.4 = nJy), channel index per observation. Magnitude catalogs are converted to
fluxes at ``mag_zp`` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.engine.base import CurveArrays, InputTensors, MultiBandModel
from explorer.families import FAMILIES
from explorer.engine.windows import band_segments

__all__ = ["ATCATInputs", "ATCAT", "flux_scale"]

FLUX_ZP = 27.5   # the zero point ATCAT and ATAT were trained on (ELAsTiCC / SNANA FLUXCAL)


def flux_scale(mag_zp: float) -> float | None:
    """Factor from fluxes at ``mag_zp`` to fluxes at 27.5 (None when they are the same, as light_curve)."""
    return None if abs(mag_zp - FLUX_ZP) < 1e-4 else 10 ** (-0.4 * (mag_zp - FLUX_ZP))


@dataclass
class ATCATInputs(InputTensors):
    """flux, flux_err, time [w, 243] (float32 or float16), mask bool, channel_index int64."""

    flux: np.ndarray = field(kw_only=True)
    flux_err: np.ndarray = field(kw_only=True)
    time: np.ndarray = field(kw_only=True)
    mask: np.ndarray = field(kw_only=True)
    channel_index: np.ndarray = field(kw_only=True)


class ATCAT(MultiBandModel):
    """ATCAT multiband flux model; outputs ``last``, ``mean`` [.., 384] and ``sequence`` [.., 243, 384]."""

    family = FAMILIES["atcat"]
    tensors_type = ATCATInputs

    def __init__(self, model, *, output="last", reduction="non-overlapping-windows", band_groups=None,
                 allow_extra_bands=False, mag_zp=31.4, seed=0, bands=None, reduction_kwargs=None):
        super().__init__(model, output=output, reduction=reduction, band_groups=band_groups,
                         allow_extra_bands=allow_extra_bands, seed=seed, bands=bands,
                         reduction_kwargs=reduction_kwargs, mag_zp=mag_zp)
        self.flux_scale = flux_scale(self.mag_zp)

    @classmethod
    def from_hf(cls, output="last", use_fp16=False, *, band_groups=None, allow_extra_bands=False,
                reduction="non-overlapping-windows", reduction_kwargs=None, mag_zp=31.4, ort_session_kwargs=None,
                **kwargs):
        """``atcat_f32.onnx`` (or ``atcat_fp16.onnx``) from the Hub, as ``light_curve.embed.ATCAT.from_hf``."""
        model = cls._hf_model("atcat-fp16" if use_fp16 else "atcat", ort_session_kwargs)
        return cls(model, output=output, band_groups=band_groups, allow_extra_bands=allow_extra_bands,
                   reduction=reduction, reduction_kwargs=reduction_kwargs, mag_zp=mag_zp, **kwargs)

    def windows(self, data, rng=None, whole=False):
        """One window sequence per (object, band group); the plan keeps the model band of each catalog band."""
        plan = super().windows(data, rng, whole)
        plan.channel = self.groups_for(data, whole)[1]
        return plan

    def segments(self, data, whole=False):
        """One segment per (object, band group)."""
        groups, _ = self.groups_for(data, whole)
        labels = [str(b) for b in data.bands]
        code_groups = [np.array([i for i, lab in enumerate(labels) if lab in g], np.int16) for g in groups]
        return band_segments(data.offsets, data.band, code_groups), self._group_labels(groups)

    def model_arrays(self, data, plan=None) -> dict:
        """Fluxes and errors at zero point 27.5 (float64), times, and channel indices per observation."""
        flux, error = self._values(data, "flux")
        error = np.nan_to_num(error, nan=0.0)
        # magnitudes were converted to fluxes at mag_zp: the same rescaling brings them to 27.5
        if self.flux_scale is not None:
            flux, error = flux * self.flux_scale, error * self.flux_scale
        band = np.asarray(data.band, np.int64)
        channel = plan.channel if plan is not None and plan.channel is not None else self.groups_for(data)[1]
        return {"time": np.asarray(data.time, np.float64), "flux": flux, "flux_err": error,
                "channel": channel[band] if len(band) else np.zeros(0, np.int64)}

    def prepare(self, obs, arrays, buffers):
        """Gather; time minus the window's first valid time (float64); bool mask; int64 channel index."""
        b = len(obs)
        mask = obs >= 0
        idx = np.where(mask, obs, 0)
        t = np.where(mask, arrays["time"][idx], 0.0)
        buffers.time[:b] = np.where(mask, t - t[:, :1], 0.0)   # windows are left-aligned: column 0 is the first valid
        buffers.flux[:b] = np.where(mask, arrays["flux"][idx], 0.0)
        buffers.flux_err[:b] = np.where(mask, arrays["flux_err"][idx], 0.0)
        buffers.mask[:b] = mask
        buffers.bool_mask[:b] = mask
        buffers.channel_index[:b] = np.where(mask, arrays["channel"][idx], 0)
        return buffers.head(b)

    def _curve(self, time, flux, flux_err, band, preprocess=False) -> CurveArrays:
        return CurveArrays.single(time, flux, flux_err, band, value_kind="flux")

    def __call__(self, time, flux, flux_err, band) -> np.ndarray:
        """Embed one light curve: ``(n_band_groups, n_subsamples, seq or 1, 384)``."""
        return self._embed_curve(self._curve(time, flux, flux_err, band))
