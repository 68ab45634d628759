"""Astromer 1, Astromer 2 and Astromer 1 (ZTF DR20 g): single band, 200 positions, 256-d.

Per window, time and magnitude minus their mean over the valid observations (float64, then
float32), as ``light_curve.embed``'s Astromer classes. Flux catalogs are embedded through AB
magnitudes ``mag_zp - 2.5 log10(flux)`` (31.4 for nJy); non-positive fluxes have no magnitude and
are left out of the windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.engine.base import InputTensors, SingleBandModel
from explorer.families import FAMILIES
from explorer.errors import ModelError

__all__ = ["AstromerInputs", "Astromer1", "Astromer2", "Astromer1ZTF"]


@dataclass
class AstromerInputs(InputTensors):
    """``input`` / ``times`` (window-mean subtracted) and ``mask_in`` (1 valid, 0 padding), float32 [w, 200, 1]."""

    input: np.ndarray = field(kw_only=True)
    times: np.ndarray = field(kw_only=True)
    mask_in: np.ndarray = field(kw_only=True)


class _Astromer(SingleBandModel):
    """Shared Astromer preprocessing; outputs ``mean``, ``max`` [.., 256] and ``sequence`` [.., 200, 256]."""

    tensors_type = AstromerInputs

    def __init__(self, model, *, output="mean", reduction="non-overlapping-windows", bands=None, seed=0,
                 mag_zp=31.4, reduction_kwargs=None, flux_zp=None):
        if flux_zp is not None:   # the name this parameter had before one zero-point name for every family
            if mag_zp != 31.4 and mag_zp != flux_zp:
                raise ModelError(f"give the zero point once (mag_zp={mag_zp!r}, flux_zp={flux_zp!r})")
            mag_zp = flux_zp
        super().__init__(model, output=output, reduction=reduction, bands=bands, seed=seed,
                         reduction_kwargs=reduction_kwargs, mag_zp=mag_zp)

    @classmethod
    def from_hf(cls, output="mean", *, bands=None, reduction="non-overlapping-windows", reduction_kwargs=None,
                ort_session_kwargs=None, **kwargs):
        """The family's Hub file (offline cache honoured), as ``light_curve.embed``'s ``from_hf``."""
        return super().from_hf(output, bands=bands, reduction=reduction, reduction_kwargs=reduction_kwargs,
                               ort_session_kwargs=ort_session_kwargs, **kwargs)

    def model_arrays(self, data, plan=None) -> dict:
        """Times and magnitudes as float64 (AB magnitudes from positive fluxes for flux catalogs)."""
        value, _ = self._values(data, "mag")
        return {"time": np.asarray(data.time, np.float64), "value": value}

    def prepare(self, obs, arrays, buffers):
        """Gather, subtract per-window means (float64), cast into the [b, 200, 1] float32 buffers."""
        b = len(obs)
        mask = obs >= 0
        idx = np.where(mask, obs, 0)
        n_valid = mask.sum(axis=1, keepdims=True)
        for name, key in (("times", "time"), ("input", "value")):
            x = np.where(mask, arrays[key][idx], 0.0)
            mean = x.sum(axis=1, keepdims=True) / np.maximum(n_valid, 1)
            getattr(buffers, name)[:b, :, 0] = np.where(mask, x - mean, 0.0)
        buffers.mask_in[:b, :, 0] = mask
        buffers.bool_mask[:b] = mask
        return buffers.head(b)


class Astromer1(_Astromer):
    """Astromer 1 (light-curve/astromer1 ``astromer1.onnx``), pretrained on MACHO R."""

    family = FAMILIES["astromer1"]


class Astromer2(_Astromer):
    """Astromer 2 (light-curve/astromer2 ``astromer2.onnx``); same interface as Astromer 1."""

    family = FAMILIES["astromer2"]


class Astromer1ZTF(_Astromer):
    """Astromer 1 fine-tuned on ZTF DR20 g (light-curve/astromer1-ztfdr20 ``astromer1_ztfdr20.onnx``)."""

    family = FAMILIES["astromer1-ztf"]
