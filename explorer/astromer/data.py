"""``make_pretraining``: ASTROMER's masked-magnitude batches (paper section 5.3), as a plain Python iterable.

Per window of n valid observations (values minus the window means, computed in float64):
- ``floor(msk_frac * n)`` positions are *probed* (``mask_out`` = 1): the loss is computed there;
- of the probed ones, ``ceil(probed * same_frac)`` keep their true magnitude and stay visible;
- of the rest, ``ceil(rest * rnd_frac)`` get the magnitude of a random observation of the same window
  and stay visible;
- the remaining probed positions are hidden: ``mask_in`` = 0 and magnitude 0.
These counts follow the original code (``get_masked`` and ``set_random`` of ASTROMER.core.masking). Two
deliberate differences: hidden magnitudes are set to 0 (``hidden="zero"``), because the v1 attention mask
adds +1 instead of -inf to hidden keys (ASTROMER-FORMAT.md section 6), so the original's untouched true
value is seen by the encoder (measured: the pretrained ATLAS model reconstructs such "hidden" points to
RMSE 0.05 mag, but zeroed ones no better than the window mean, 0.32 mag, on EROS-1 R); ``hidden="keep"``
gives the original's behaviour. And windows follow the engine's non-overlapping placement (no clamped, overlapping last
window), so training and inference see the same windows.

Batches are dicts of numpy arrays, inputs in the public ONNX convention (``mask_in`` 1 = seen):
``input``, ``times``, ``mask_in``, ``output`` (true magnitudes), ``mask_out`` [B, 200, 1] float32,
``length`` [B] int64 and ``id`` [B] str. Windows are padded to the model's 200 positions whatever
``max_obs`` is, as at inference.
"""

from __future__ import annotations

import math

import numpy as np

from explorer.errors import ModelError

__all__ = ["make_pretraining", "PretrainingData", "WINDOW"]

WINDOW = 200


def _segments_of(source, bands, flux_zp: float):
    """(time, mag, offsets, ids) of every light curve (one per object and band) in ``source``."""
    from explorer.astromer.arrays import lightcurve_arrays

    if isinstance(source, (list, tuple)):
        data, ids = lightcurve_arrays(list(source), what="input")
        return data.time, data.value, data.offsets, np.asarray(ids, dtype=str)
    from explorer.catalog import Catalog, load_catalog

    catalog = source if isinstance(source, Catalog) else load_catalog(source)
    if bands is None:
        present = [catalog.bands[c] for c in np.unique(catalog.band)] if len(catalog.band) else list(catalog.bands)
        if len(present) > 1:
            raise ModelError(f"catalog {catalog.name!r} has bands {', '.join(map(str, present))}; Astromer is a "
                             "single-band model: pick them with bands=['R'] (each band is its own light curve)")
        bands = present or list(catalog.bands)
    bands = [bands] if isinstance(bands, str) else list(bands)
    unknown = [b for b in bands if b not in catalog.bands]
    if unknown:
        raise ModelError(f"band(s) {unknown} not in catalog {catalog.name!r} (bands: {', '.join(catalog.bands)})")
    value = np.asarray(catalog.value, np.float64)
    keep = np.ones(len(value), bool)
    if catalog.value_kind == "flux":
        keep = value > 0  # no AB magnitude for a non-positive flux: left out, as in the engine
        with np.errstate(divide="ignore", invalid="ignore"):
            value = flux_zp - 2.5 * np.log10(np.where(keep, value, np.nan))
    from explorer.engine.windows import band_segments

    groups = [np.array([catalog.bands.index(b)], np.int16) for b in bands]
    seg = band_segments(catalog.offsets, catalog.band, groups, keep)   # object-major, time-sorted within
    first = np.zeros(len(seg.length), np.int64)
    np.cumsum(seg.length[:-1], out=first[1:])
    idx = seg.pool[np.repeat(seg.start - first, seg.length) + np.arange(seg.length.sum())]
    offsets = np.zeros(len(seg.length) + 1, np.int64)
    np.cumsum(seg.length, out=offsets[1:])
    ids = catalog.object_ids.astype(str)[seg.object_index]
    if len(bands) > 1:
        ids = np.char.add(np.char.add(ids, "_"), np.asarray(bands, str)[seg.slot])
    return np.asarray(catalog.time, np.float64)[idx], value[idx], offsets, ids


class PretrainingData:
    """An iterable of masked batches (see module doc); ``len()`` is the number of batches per pass.

    Iterating again gives the same batches (like the original's cached tf.data pipeline) unless
    ``redraw=True``: then pass k draws windows, order and masks from seed ``(seed, k)``.
    """

    def __init__(self, time, mag, offsets, ids, *, batch_size=1, shuffle=False, sampling=False, max_obs=100,
                 msk_frac=0.0, rnd_frac=0.0, same_frac=0.0, repeat=1, seed=0, redraw=False, hidden="zero"):
        for label, value in (("msk_frac", msk_frac), ("rnd_frac", rnd_frac), ("same_frac", same_frac)):
            if not 0.0 <= float(value) <= 1.0:
                raise ModelError(f"make_pretraining: {label} must be in [0, 1], got {value!r}")
        for label, value in (("batch_size", batch_size), ("max_obs", max_obs), ("repeat", repeat)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ModelError(f"make_pretraining: {label} must be a positive integer, got {value!r}")
        if hidden not in ("zero", "keep"):
            raise ModelError(f"make_pretraining: hidden must be 'zero' or 'keep', got {hidden!r}")
        self.hidden = hidden
        if max_obs > WINDOW:
            raise ModelError(f"make_pretraining: max_obs = {max_obs} exceeds the model's {WINDOW} positions")
        self.time, self.mag = np.asarray(time, np.float64), np.asarray(mag, np.float64)
        self.offsets, self.ids = np.asarray(offsets, np.int64), np.asarray(ids, dtype=str)
        self.batch_size, self.shuffle, self.sampling, self.max_obs = int(batch_size), bool(shuffle), bool(sampling), int(max_obs)
        self.msk_frac, self.rnd_frac, self.same_frac = float(msk_frac), float(rnd_frac), float(same_frac)
        self.repeat, self.seed, self.redraw = int(repeat), int(seed), bool(redraw)
        self._passes = 0
        length = np.diff(self.offsets)
        self.curves = np.flatnonzero(length > 0)   # empty light curves give no window
        if sampling:
            self.n_windows = len(self.curves)
        else:
            self.n_windows = int((-(-length[self.curves] // self.max_obs)).sum())

    def __len__(self) -> int:
        return math.ceil(self.n_windows * self.repeat / self.batch_size) if self.n_windows else 0

    def __repr__(self) -> str:
        return (f"PretrainingData({len(self.curves)} light curves, {self.n_windows} windows x {self.repeat}, "
                f"batch_size={self.batch_size}, max_obs={self.max_obs}, msk_frac={self.msk_frac}, "
                f"rnd_frac={self.rnd_frac}, same_frac={self.same_frac})")

    def _windows(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """(start observation, length) of every window of this pass."""
        start0, length = self.offsets[self.curves], np.diff(self.offsets)[self.curves]
        if self.sampling:
            # one window of max_obs per light curve at a uniform random pivot (the original's sample_lc)
            span = np.maximum(length - self.max_obs, 0)
            pivot = np.floor(rng.random(len(length)) * (span + 1)).astype(np.int64)
            return start0 + pivot, np.minimum(length, self.max_obs), np.arange(len(length))
        n_win = -(-length // self.max_obs)
        curve = np.repeat(np.arange(len(length)), n_win)
        k = np.arange(n_win.sum()) - np.repeat(np.cumsum(n_win) - n_win, n_win)
        start = k * self.max_obs
        return start0[curve] + start, np.minimum(self.max_obs, length[curve] - start), curve

    def __iter__(self):
        pass_no = self._passes if self.redraw else 0
        self._passes += 1
        rng = np.random.default_rng([self.seed, pass_no])
        starts, lengths, curves = [], [], []
        for _ in range(self.repeat):
            s, n, c = self._windows(rng)
            order = rng.permutation(len(s)) if self.shuffle else np.arange(len(s))
            starts.append(s[order]); lengths.append(n[order]); curves.append(c[order])  # noqa: E702
        start, length, curve = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (starts, lengths, curves))
        for b0 in range(0, len(start), self.batch_size):
            yield self._batch(start[b0:b0 + self.batch_size], length[b0:b0 + self.batch_size],
                              curve[b0:b0 + self.batch_size], rng)

    def _batch(self, start, length, curve, rng) -> dict:
        b = len(start)
        pos = np.arange(WINDOW)
        valid = pos[None, :] < length[:, None]
        idx = np.where(valid, start[:, None] + pos[None, :], 0)
        n = np.maximum(length, 1)[:, None]
        t = np.where(valid, self.time[idx], 0.0)
        m = np.where(valid, self.mag[idx], 0.0)
        t = np.where(valid, t - t.sum(axis=1, keepdims=True) / n, 0.0)
        m = np.where(valid, m - m.sum(axis=1, keepdims=True) / n, 0.0)
        # a uniformly random rank for every valid position; ranks pick the probed / same / random subsets
        keys = np.where(valid, rng.random((b, WINDOW)), 2.0)
        rank = np.empty((b, WINDOW), np.int64)
        np.put_along_axis(rank, np.argsort(keys, axis=1), np.broadcast_to(pos, (b, WINDOW)), axis=1)
        probed_n = np.floor(length * self.msk_frac + 1e-9).astype(np.int64)[:, None]
        same_n = np.ceil(probed_n * self.same_frac - 1e-9).astype(np.int64)
        rand_n = np.ceil((probed_n - same_n) * self.rnd_frac - 1e-9).astype(np.int64)
        probed = valid & (rank < probed_n)
        randomised = probed & (rank >= same_n) & (rank < same_n + rand_n)
        hidden = probed & (rank >= same_n + rand_n)
        # random replacement: the magnitude of a uniformly chosen valid observation of the same window
        donor = np.floor(rng.random((b, WINDOW)) * n).astype(np.int64)
        inp = np.where(randomised, np.take_along_axis(m, donor, axis=1), m)
        if self.hidden == "zero":
            inp = np.where(hidden, 0.0, inp)
        f32 = lambda x: np.ascontiguousarray(x, np.float32)[:, :, None]  # noqa: E731
        return {
            "input": f32(inp), "times": f32(t), "mask_in": f32(valid & ~hidden), "output": f32(m),
            "mask_out": f32(probed), "length": length.astype(np.int64), "id": self.ids[self.curves[curve]],
        }


def make_pretraining(input, batch_size=1, shuffle=False, sampling=False, max_obs=100, msk_frac=0.0, rnd_frac=0.0,
                     same_frac=0.0, repeat=1, *, bands=None, seed=0, redraw=False, flux_zp=31.4,
                     hidden="zero") -> PretrainingData:
    """Masked-magnitude pre-training batches from ``input``: a list of Lx3 [time, mag, err] arrays, a
    Catalog, or a path ``load_catalog`` reads (``bands=`` picks the band(s); each band of an object is
    its own light curve). ``sampling=True`` takes one random window of ``max_obs`` per light curve,
    otherwise every non-overlapping window. Seeded by ``seed``; see the module doc for the masking
    (``hidden="keep"``: hidden points keep their true magnitude, as in the original code).
    """
    time, mag, offsets, ids = _segments_of(input, bands, flux_zp)
    return PretrainingData(time, mag, offsets, ids, batch_size=batch_size, shuffle=shuffle, sampling=sampling,
                           max_obs=max_obs, msk_frac=msk_frac, rnd_frac=rnd_frac, same_frac=same_frac,
                           repeat=repeat, seed=seed, redraw=redraw, hidden=hidden)
