"""Series models: MOMENT-1, Chronos-Bolt and Chronos 2 embed one magnitude series (no times, no bands).

The reduction picks at most ``max_obs`` observations (512 / 2048 / 8192; default "end", the most
recent); the model context is those magnitudes right-aligned and left-padded with NaN: to the fixed
512 of MOMENT, or to the next multiple of 16 (the patch) for Chronos. The models normalise
internally. Windows are run in batches of equal context length (whole catalog, not one call per
object); ``sequence`` (per-patch states) needs a single-window reduction, as in ``light_curve.embed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.engine.base import CurveArrays, InputTensors, SingleBandModel
from explorer.families import FAMILIES
from explorer.errors import ModelError

__all__ = ["SeriesInputs", "Moment1", "ChronosBolt", "Chronos2"]


@dataclass
class SeriesInputs(InputTensors):
    """context [w, L] float32: magnitudes right-aligned, NaN before; ``bool_mask`` [w, max_obs] of the window."""

    context: np.ndarray = field(kw_only=True)


class _Series(SingleBandModel):
    """Shared windowing and context building of the series families."""

    tensors_type = SeriesInputs
    max_obs: int
    patch: int
    fixed_context: int | None = None

    def __init__(self, model, *, size=None, output="mean", reduction="end", reduction_kwargs=None, seed=0,
                 mag_zp=31.4, bands=None):
        super().__init__(model, output=output, reduction=reduction, reduction_kwargs=reduction_kwargs, seed=seed,
                         size=size, bands=bands, mag_zp=mag_zp)
        rows = self.reduction.rows_of_windows(2)
        if output == "sequence" and (len(self.reduction.strategies) != 1 or rows[0] == rows[1]):
            raise ModelError(f"the 'sequence' output of {self.family.title} needs one single-window reduction "
                             f"(beginning, end, middle or random-subsample), got {self.reduction.name!r}: "
                             "per-window patch states cannot be combined")

    @classmethod
    def from_hf(cls, size=None, output="mean", *, reduction="end", reduction_kwargs=None, ort_session_kwargs=None,
                **kwargs):
        """The Hub file of ``size`` (offline cache honoured), as ``light_curve.embed``'s ``from_hf(size, ...)``."""
        fam = cls.family
        if fam.sizes:
            fam.dim_for(size)   # ModelError naming the sizes
            alias = next(h.alias for h in fam.hub if h.size == size)
        else:
            alias = fam.hub[0].alias
        model = cls._hf_model(alias, ort_session_kwargs)
        if fam.sizes:
            kwargs["size"] = size
        return cls(model, output=output, reduction=reduction, reduction_kwargs=reduction_kwargs, **kwargs)

    @property
    def seq_len(self) -> int:
        """Observations per window (the reduction's window)."""
        return self.max_obs

    def context_length(self, n_obs):
        """Model context length of windows with ``n_obs`` observations."""
        if self.fixed_context is not None:
            return np.full(np.shape(n_obs), self.fixed_context, np.int64)
        return np.maximum(self.patch, -(-np.asarray(n_obs, np.int64) // self.patch) * self.patch)

    def out_shape(self, n_context=None) -> tuple:
        """(dim,) for mean; (patches, dim) for sequence."""
        if self.output != "sequence":
            return (self.dim,)
        return (int(n_context if n_context is not None else self.context_length(self.max_obs)) // self.patch, self.dim)

    def windows(self, data, rng=None, whole=False):
        """Windows of ``max_obs``, run sorted by context length (one input shape per batch)."""
        plan = super().windows(data, rng, whole)
        ctx = self.context_length((plan.windows.obs >= 0).sum(axis=1))
        if self.fixed_context is None and len(ctx):
            plan.order = np.argsort(ctx, kind="stable")
            sorted_ctx = ctx[plan.order]
            plan.breaks = tuple(np.flatnonzero(sorted_ctx[1:] != sorted_ctx[:-1]) + 1)
        if self.output == "sequence" and len(ctx):
            if len(np.unique(ctx)) > 1:
                raise ModelError(f"the 'sequence' output of {self.family.title} has one row per patch of 16, a "
                                 f"different count for light curves of different lengths ({ctx.min()}-{ctx.max()} "
                                 "positions here): embed one light curve at a time (model(mag)) or use 'mean'")
            plan.out_shape = self.out_shape(ctx[0])
        return plan

    def model_arrays(self, data, plan=None) -> dict:
        """Magnitudes (flux catalogs: AB magnitudes of positive fluxes at ``mag_zp``) as float32."""
        mag, _ = self._values(data, "mag")
        return {"mag": mag.astype(np.float32)}

    def make_buffers(self, batch_size: int) -> SeriesInputs:
        """Context buffer wide enough for the longest window."""
        width = int(self.context_length(self.max_obs))
        return SeriesInputs(context=np.zeros((batch_size, width), np.float32),
                            bool_mask=np.zeros((batch_size, self.max_obs), bool))

    def prepare(self, obs, arrays, buffers):
        """Right-align each window's magnitudes in a NaN context as long as the batch's longest."""
        b = len(obs)
        mask = obs >= 0
        n = mask.sum(axis=1)
        width = int(self.context_length(n).max()) if b else int(self.context_length(0))
        k = np.arange(width) - (width - n)[:, None]      # source position in the window; < 0 is padding
        take = np.take_along_axis(obs, np.clip(k, 0, obs.shape[1] - 1), axis=1)
        context = buffers.context[:b, :width]
        context[:] = np.where(k >= 0, arrays["mag"][np.maximum(take, 0)], np.float32(np.nan))
        buffers.bool_mask[:b] = mask
        return SeriesInputs(context=context, bool_mask=buffers.bool_mask[:b])

    def infer(self, tensors):
        """One session call per context length in the batch (contexts are right-aligned: keep the last L)."""
        lengths = self.context_length(tensors.bool_mask.sum(axis=1))
        out = None
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            ctx = np.ascontiguousarray(tensors.context[rows, tensors.context.shape[1] - int(length):])
            res = self.model.session.run([self.output], {"context": ctx})[0]
            if out is None:
                if len(np.unique(lengths)) > 1 and res.ndim == 3:
                    raise ModelError("sequence outputs of windows of different lengths cannot be stacked")
                out = np.empty((len(lengths),) + res.shape[1:], np.float32)
            out[rows] = res
        return out

    def _curve(self, mag, band=None, preprocess=False) -> CurveArrays:
        return CurveArrays.single(None, mag, value_kind="mag")

    def __call__(self, mag) -> np.ndarray:
        """Embed one magnitude series (chronological order): ``(1, n_subsamples, 1 or patches, dim)``."""
        return self._embed_curve(self._curve(mag))


class Moment1(_Series):
    """MOMENT-1 (light-curve/moment1-{small,base,large}); context fixed at 512 (64 patches of 8)."""

    family = FAMILIES["moment1"]
    max_obs = 512
    patch = 8
    fixed_context = 512


class ChronosBolt(_Series):
    """Chronos-Bolt (light-curve/chronos-bolt-{tiny,mini,small,base}); up to 2048 observations, patches of 16."""

    family = FAMILIES["chronos-bolt"]
    max_obs = 2048
    patch = 16


class Chronos2(_Series):
    """Chronos 2 (light-curve/chronos2); up to 8192 observations, patches of 16, 768-d."""

    family = FAMILIES["chronos2"]
    max_obs = 8192
    patch = 16

    @classmethod
    def from_hf(cls, output="mean", *, reduction="end", reduction_kwargs=None, ort_session_kwargs=None, **kwargs):
        """``chronos2.onnx`` from the Hub (offline cache honoured), as ``light_curve.embed.Chronos2.from_hf``."""
        return super().from_hf(None, output, reduction=reduction, reduction_kwargs=reduction_kwargs,
                               ort_session_kwargs=ort_session_kwargs, **kwargs)
