"""AstraCLR: ZTF g, r, i magnitudes, 300 + 350 + 50 observations, 512-d (light-curve/astra-clr ``astra_clr.onnx``).

Each band is windowed on its own (its own length) and the three windows are concatenated (700
positions). Per band and window: magnitudes minus their inverse-variance weighted mean, times in
MJD minus 58 000, log10 of the band's effective wavelength; ``mask`` is 1 on padding. Times must
be MJD. Flux catalogs are converted to AB magnitudes at ``mag_zp`` (positive fluxes only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.engine.base import CurveArrays, InputTensors, MultiBandModel
from explorer.families import FAMILIES

__all__ = ["AstraCLRInputs", "AstraCLR", "MJD_OFFSET"]

MJD_OFFSET = 58_000.0
_LG_WAVE = np.log10([4746.48, 6366.38, 7829.03])    # effective wavelengths (Angstrom) of ZTF g, r, i


@dataclass
class AstraCLRInputs(InputTensors):
    """input, times, band_info [w, 700, 1] float32; mask [w, 700] float32 (1 = padding)."""

    input: np.ndarray = field(kw_only=True)
    times: np.ndarray = field(kw_only=True)
    band_info: np.ndarray = field(kw_only=True)
    mask: np.ndarray = field(kw_only=True)


class AstraCLR(MultiBandModel):
    """AstraCLR multiband ZTF model: one pooled 512-d output (``mean``)."""

    family = FAMILIES["astraclr"]
    tensors_type = AstraCLRInputs

    def __init__(self, model, *, band_groups=None, allow_extra_bands=False, reduction="beginning",
                 reduction_kwargs=None, output="mean", mag_zp=31.4, seed=0, bands=None):
        super().__init__(model, output=output, reduction=reduction, band_groups=band_groups,
                         allow_extra_bands=allow_extra_bands, seed=seed, bands=bands,
                         reduction_kwargs=reduction_kwargs, mag_zp=mag_zp)
        seqs = np.asarray(self.family.seq_sizes)
        self._channel_of_position = np.repeat(np.arange(len(seqs)), seqs)
        self._bounds = np.r_[0, np.cumsum(seqs)]

    @classmethod
    def from_hf(cls, *, band_groups=None, allow_extra_bands=False, reduction="beginning", reduction_kwargs=None,
                ort_session_kwargs=None, **kwargs):
        """``astra_clr.onnx`` from the Hub (offline cache honoured), as ``light_curve.embed.AstraCLR.from_hf``."""
        return super().from_hf(None, band_groups=band_groups, allow_extra_bands=allow_extra_bands,
                               reduction=reduction, reduction_kwargs=reduction_kwargs,
                               ort_session_kwargs=ort_session_kwargs, **kwargs)

    def windows(self, data, rng=None, whole=False):
        """Per-band windows of 300 / 350 / 50, concatenated."""
        return self.channel_windows(data, self.family.seq_sizes, rng, whole)

    def model_arrays(self, data, plan=None) -> dict:
        """MJD (float64), magnitudes and errors as float32 (light_curve casts them before normalising)."""
        mag, err = self._values(data, "mag")
        return {"time": np.asarray(data.time, np.float64), "mag": mag.astype(np.float32),
                "err": err.astype(np.float32)}

    def prepare(self, obs, arrays, buffers):
        """Weighted-mean-subtracted magnitudes per band (float32, as light_curve), MJD - 58000, band wavelengths."""
        b = len(obs)
        mask = obs >= 0
        idx = np.where(mask, obs, 0)
        m = np.where(mask, arrays["mag"][idx], np.float32(0))
        e = np.where(mask, arrays["err"][idx], np.float32(1))
        norm = np.zeros_like(m)
        for c in range(len(self._bounds) - 1):
            lo = self._bounds[c]
            n_valid = mask[:, lo:self._bounds[c + 1]].sum(axis=1)
            # light_curve takes np.average in float32 over the valid entries; float32 sums depend on their
            # length (pairwise summation), so windows are grouped by valid count: one vectorised sum per count
            for n in np.unique(n_valid[n_valid > 0]):
                rows = np.flatnonzero(n_valid == n)
                mc = np.ascontiguousarray(m[rows, lo:lo + n])
                wc = np.ascontiguousarray(e[rows, lo:lo + n]) ** -2
                avg = np.multiply(mc, wc).sum(axis=1, keepdims=True) / wc.sum(axis=1, keepdims=True)
                norm[rows, lo:lo + n] = mc - avg
        buffers.input[:b, :, 0] = norm
        buffers.times[:b, :, 0] = np.where(mask, (arrays["time"][idx] - MJD_OFFSET).astype(np.float32), 0.0)
        buffers.band_info[:b, :, 0] = np.where(mask, _LG_WAVE[self._channel_of_position], 0.0)
        buffers.mask[:b] = ~mask
        buffers.bool_mask[:b] = mask
        return buffers.head(b)

    def infer(self, tensors):
        """The file's one output (its name is not part of the public interface)."""
        return self.model.session.run(None, tensors.asdict())[0]

    def _curve(self, mjd, mag, magerr, band, preprocess=False) -> CurveArrays:
        return CurveArrays.single(mjd, mag, magerr, band, value_kind="mag")

    def __call__(self, mjd, mag, magerr, band) -> np.ndarray:
        """Embed one ZTF light curve (times in MJD): ``(n_band_groups, n_subsamples, 1, 512)``."""
        return self._embed_curve(self._curve(mjd, mag, magerr, band))
