"""ATAT: six LSST bands side by side, 65 observations each, 192-d (light-curve/atat ``atat.onnx``).

Each band of a band group is windowed on its own (65 observations per band and window); window k
of an object takes window k of every band, laid out [65, 6]. Per window, times minus the earliest
valid time across the bands; fluxes at AB zero point 27.5 (``mag_zp`` of the inputs, 31.4 = nJy);
no other normalisation. Non-overlapping windows need the same window count in every band (as
``light_curve.embed``: other objects are reported as failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.engine.atcat import flux_scale
from explorer.engine.base import CurveArrays, InputTensors, MultiBandModel
from explorer.families import FAMILIES

__all__ = ["ATATInputs", "ATAT"]

_SEQ, _BANDS = 65, 6


@dataclass
class ATATInputs(InputTensors):
    """data (fluxes), time, mask (1 valid / 0 padding): [w, 65, 6]; ``bool_mask`` [w, 390] (position-major)."""

    data: np.ndarray = field(kw_only=True)
    time: np.ndarray = field(kw_only=True)
    mask: np.ndarray = field(kw_only=True)


def _band_last(obs: np.ndarray) -> np.ndarray:
    """[w, 6*65] channel-major window indices -> [w, 65, 6] (the model's layout)."""
    return obs.reshape(len(obs), _BANDS, _SEQ).transpose(0, 2, 1)


class ATAT(MultiBandModel):
    """ATAT multiband flux model; outputs ``token``, ``mean`` [.., 192] and ``sequence`` [.., 390, 192]."""

    family = FAMILIES["atat"]
    tensors_type = ATATInputs

    def __init__(self, model, *, output="token", band_groups=None, allow_extra_bands=False,
                 reduction="non-overlapping-windows", reduction_kwargs=None, mag_zp=31.4, seed=0, bands=None):
        super().__init__(model, output=output, reduction=reduction, band_groups=band_groups,
                         allow_extra_bands=allow_extra_bands, seed=seed, bands=bands,
                         reduction_kwargs=reduction_kwargs, mag_zp=mag_zp)
        self.flux_scale = flux_scale(self.mag_zp)

    @classmethod
    def from_hf(cls, output="token", *, band_groups=None, allow_extra_bands=False, reduction="non-overlapping-windows",
                reduction_kwargs=None, mag_zp=31.4, ort_session_kwargs=None, **kwargs):
        """``atat.onnx`` from the Hub (offline cache honoured), as ``light_curve.embed.ATAT.from_hf``."""
        return super().from_hf(output, band_groups=band_groups, allow_extra_bands=allow_extra_bands,
                               reduction=reduction, reduction_kwargs=reduction_kwargs, mag_zp=mag_zp,
                               ort_session_kwargs=ort_session_kwargs, **kwargs)

    def windows(self, data, rng=None, whole=False):
        """Per-band windows of 65, joined across the six bands."""
        return self.channel_windows(data, self.family.seq_sizes, rng, whole)

    def position_count(self) -> int:
        """390 = 65 positions x 6 bands."""
        return _SEQ * _BANDS

    def position_mask(self, obs):
        """Valid positions in the order of the sequence output (position-major, band-minor)."""
        return _band_last(obs).reshape(len(obs), -1) >= 0

    def model_arrays(self, data, plan=None) -> dict:
        """Times and fluxes at zero point 27.5 (float64)."""
        flux, _ = self._values(data, "flux")
        if self.flux_scale is not None:
            flux = flux * self.flux_scale
        return {"time": np.asarray(data.time, np.float64), "flux": flux}

    def prepare(self, obs, arrays, buffers):
        """Gather into [b, 65, 6]; times minus the earliest valid time of the window (float64)."""
        b = len(obs)
        o = _band_last(obs)
        mask = o >= 0
        idx = np.where(mask, o, 0)
        t = np.where(mask, arrays["time"][idx], np.inf)
        t0 = t.reshape(b, -1).min(axis=1)
        t0 = np.where(np.isfinite(t0), t0, 0.0)
        buffers.time[:b] = np.where(mask, t - t0[:, None, None], 0.0)
        buffers.data[:b] = np.where(mask, arrays["flux"][idx], 0.0)
        buffers.mask[:b] = mask
        buffers.bool_mask[:b] = mask.reshape(b, -1)
        return buffers.head(b)

    def _curve(self, time, flux, band, preprocess=False) -> CurveArrays:
        return CurveArrays.single(time, flux, None, band, value_kind="flux")

    def __call__(self, time, flux, band) -> np.ndarray:
        """Embed one light curve: ``(n_band_groups, n_subsamples, 1 or 390, 192)``."""
        return self._embed_curve(self._curve(time, flux, band))
