"""Model classes with the public ONNX interfaces: Astromer1, Astromer2 (single band) and ATCAT (multiband).

Each class turns catalog observations into the model's input tensors (vectorised per batch) and
names the output to read. ``__call__`` embeds one light curve with the same numbers as
``light_curve.embed`` and returns ``(n_bands, n_subsamples, seq, dim)``; ``embed_catalog`` embeds
a whole catalog (see embed.py), using the on-disk cache when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.engine.cache import EmbeddingCache, cache_key
from explorer.engine.embed import run_embedding
from explorer.engine.interfaces import INTERFACES
from explorer.engine.reductions import reduction_from_name
from explorer.engine.session import OnnxModel
from explorer.engine.windows import all_segments, band_segments
from explorer.errors import ModelError

__all__ = ["EmbeddingModel", "Astromer1", "Astromer2", "ATCAT", "model_class", "LSST_BANDS", "CurveArrays",
           "default_band_groups"]

LSST_BANDS = {"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5, "y": 5}


@dataclass
class CurveArrays:
    """Catalog-shaped flat arrays for light curves given directly (``__call__``)."""

    time: np.ndarray
    value: np.ndarray
    error: np.ndarray
    band: np.ndarray       # int16 codes into bands
    bands: tuple
    offsets: np.ndarray
    value_kind: str = "mag"

    @property
    def object_ids(self) -> np.ndarray:
        """Synthetic ids "0", "1", ..."""
        return np.arange(len(self.offsets) - 1).astype(str)

    @classmethod
    def single(cls, time, value, error=None, band=None, value_kind="mag") -> "CurveArrays":
        """One light curve, kept in the given order (as light_curve does)."""
        time = np.asarray(time, np.float64).ravel()
        value = np.asarray(value, np.float64).ravel()
        if time.shape != value.shape:
            raise ModelError(f"time and values must have the same length, got {time.size} and {value.size}")
        error = np.full_like(time, np.nan) if error is None else np.asarray(error, np.float64).ravel()
        if band is None:
            codes, labels = np.zeros(time.size, np.int16), ("",)
        else:
            band = np.asarray(band).ravel()
            if band.shape != time.shape:
                raise ModelError(f"band must have one entry per observation ({time.size}), got {band.size}")
            labels_arr, inv = np.unique(band, return_inverse=True)
            codes, labels = inv.astype(np.int16), tuple(labels_arr.tolist())
        return cls(time, value, error, codes, labels, np.array([0, time.size], np.int64), value_kind)


def _as_onnx_model(model, kind: str) -> OnnxModel:
    if isinstance(model, OnnxModel):
        if INTERFACES[model.kind] != INTERFACES[kind] and model.kind != kind:
            same = {model.kind, kind} <= {"astromer1", "astromer2"}
            if not same:
                raise ModelError(f"model {model.name} is a {model.kind} model; it cannot drive {kind}")
        return model
    if isinstance(model, (str, Path)):
        from explorer.engine.sources import load_model

        return load_model(model, kind=kind if isinstance(model, Path) or str(model).endswith(".onnx") else None)
    if hasattr(model, "get_inputs") and hasattr(model, "run"):
        return OnnxModel.from_session(model, kind=kind)
    raise ModelError(f"expected an OnnxModel, an onnxruntime session or a model source, got {type(model).__name__}")


class EmbeddingModel:
    """Base of the model classes: output, reduction and seed validation, catalog embedding, cache."""

    kind: str = ""

    def __init__(self, model, *, output: str, reduction="non-overlapping-windows", seed: int = 0):
        self.model = _as_onnx_model(model, self.kind)
        self.interface = INTERFACES[self.kind]
        self.interface.output_spec(output)  # ModelError listing valid outputs
        self.output = output
        self.seed = seed
        self.reduction = reduction_from_name(reduction, seed)

    @property
    def seq_len(self) -> int:
        """Positions per window."""
        return self.interface.seq_len

    @property
    def dim(self) -> int:
        """Embedding size."""
        return self.interface.dim

    # -- hooks for subclasses -------------------------------------------------------------------------
    def segments(self, data):
        """(Segments, band labels per slot) of ``data``."""
        raise NotImplementedError

    def model_arrays(self, data) -> dict:
        """Catalog-sized arrays the per-batch preparation gathers from."""
        raise NotImplementedError

    def make_buffers(self, batch_size: int) -> dict:
        """Input buffers allocated once per run."""
        return {s.name: np.zeros((batch_size,) + s.shape[1:], self.model.input_dtype(s.name))
                for s in self.interface.inputs}

    def prepare(self, obs: np.ndarray, arrays: dict, buffers: dict) -> dict:
        """Fill the buffers for windows ``obs`` [b, seq] and return the feed dict (views of the buffers)."""
        raise NotImplementedError

    def key_parts(self) -> dict:
        """Settings that change the numbers (for the cache key)."""
        parts = {"kind": self.kind, "output": self.output, "reduction": self.reduction.name,
                 "seq_len": self.seq_len}
        if self.reduction.stochastic:
            # the draws follow the seed of the reduction actually used (a Reduction object brings its own)
            parts["seed"] = next(s.seed for s in self.reduction.strategies if getattr(s, "stochastic", False))
        return parts

    def describe(self) -> dict:
        """Provenance for result metadata."""
        import onnxruntime

        import explorer

        meta = dict(self.model.describe())
        meta.update(self.key_parts())
        meta["strategies"] = [s.name for s in self.reduction.strategies]
        meta["versions"] = {"lcexplorer": explorer.__version__, "onnxruntime": onnxruntime.__version__,
                            "numpy": np.__version__}
        return meta

    # -- public ---------------------------------------------------------------------------------------
    def embed_catalog(self, catalog, *, batch_size=None, progress=None, cache=True):
        """Embed every object of ``catalog`` (see ``explorer.engine.embed_catalog``)."""
        store = None
        if cache is not False and cache is not None and self.model.sha256 is not None:
            store = EmbeddingCache(None if cache is True else cache)
            key = cache_key(dict(self.key_parts(), catalog=catalog.content_hash(), model=self.model.sha256))
            hit = store.load(key)
            if hit is not None:
                if progress is not None:
                    progress(len(hit.window_row), len(hit.window_row))
                return hit
        result = run_embedding(self, catalog, batch_size=batch_size, progress=progress)
        result.meta["catalog"] = {"name": getattr(catalog, "name", None), "content_hash": catalog.content_hash()}
        if store is not None:
            result.meta["cache_file"] = str(store.save(key, result))
        return result

    def _call(self, data) -> np.ndarray:
        result = run_embedding(self, data)
        n_slots, n_strat = len(result.block_bands), len(result.block_strategies)
        shape = result.embeddings.shape[1:]
        out = np.full((n_slots * n_strat,) + shape, np.nan, np.float32)
        out[result._block()] = result.embeddings
        out = out.reshape((n_slots, n_strat) + shape)
        return out if self.output == "sequence" else out[:, :, None, :]


class _Astromer(EmbeddingModel):
    """Astromer 1/2: single band; per window, time and magnitude minus their mean over valid observations.

    Flux catalogs are embedded through AB magnitudes ``flux_zp - 2.5 log10(flux)`` (``flux_zp`` 31.4 for
    nJy); observations with a non-positive flux have no magnitude and are left out of the windows.
    """

    def __init__(self, model, *, output="mean", reduction="non-overlapping-windows", bands=None, seed=0,
                 flux_zp=31.4):
        super().__init__(model, output=output, reduction=reduction, seed=seed)
        if isinstance(flux_zp, bool) or not isinstance(flux_zp, (int, float)) or not np.isfinite(flux_zp):
            raise ModelError(f"flux_zp must be a finite number (AB zero point of the fluxes), got {flux_zp!r}")
        self.flux_zp = float(flux_zp)
        if bands is not None:
            if isinstance(bands, str):
                bands = [b for b in bands.split(",") if b]
            bands = list(bands)
            if not bands or len(set(map(str, bands))) != len(bands):
                raise ModelError(f"bands must be a non-empty list of distinct band labels, got {bands!r}")
        self.bands = bands

    def key_parts(self) -> dict:
        """Adds the band list and the zero point used for flux catalogs."""
        return dict(super().key_parts(), bands=None if self.bands is None else [str(b) for b in self.bands],
                    flux_zp=self.flux_zp)

    @staticmethod
    def _is_flux(data) -> bool:
        return getattr(data, "value_kind", "mag") == "flux"

    def segments(self, data):
        """All observations, or one segment per requested band (fluxes: only those with a magnitude)."""
        keep = None
        if self._is_flux(data):
            with np.errstate(invalid="ignore"):
                keep = np.asarray(data.value) > 0
        if self.bands is None:
            if keep is None:
                return all_segments(data.offsets), [""]
            return band_segments(data.offsets, data.band, [np.arange(len(data.bands), dtype=np.int16)], keep), [""]
        labels = list(data.bands)
        groups = []
        for b in self.bands:
            codes = [i for i, lab in enumerate(labels) if lab == b or str(lab) == str(b)]
            if not codes and hasattr(data, "objects"):
                raise ModelError(f"band {b!r} is not in catalog {getattr(data, 'name', '')!r} "
                                 f"(bands: {', '.join(map(str, labels))})")
            groups.append(np.array(codes, np.int16))
        return band_segments(data.offsets, data.band, groups, keep), [str(b) for b in self.bands]

    def model_arrays(self, data) -> dict:
        """Times and magnitudes as float64 (AB magnitudes from positive fluxes for flux catalogs)."""
        value = np.asarray(data.value, np.float64)
        if self._is_flux(data):
            with np.errstate(divide="ignore", invalid="ignore"):
                # non-positive fluxes become NaN here but never reach a window (see segments)
                value = self.flux_zp - 2.5 * np.log10(np.where(value > 0, value, np.nan))
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
            buffers[name][:b, :, 0] = np.where(mask, x - mean, 0.0)
        buffers["mask_in"][:b, :, 0] = mask
        return {name: buf[:b] for name, buf in buffers.items()}

    def __call__(self, time, mag, band=None) -> np.ndarray:
        """Embed one light curve: ``(n_bands, n_subsamples, seq or 1, 256)`` (NaN for a band without data)."""
        if (band is None) != (self.bands is None):
            raise ModelError(f"pass band= exactly when the model was built with bands (bands={self.bands})")
        return self._call(CurveArrays.single(time, mag, band=band))


class Astromer1(_Astromer):
    """Astromer 1 (public file light-curve/astromer1 ``astromer1.onnx``); outputs mean, max, sequence [.., 256]."""

    kind = "astromer1"


class Astromer2(_Astromer):
    """Astromer 2 (public file light-curve/astromer2 ``astromer2.onnx``); same interface as Astromer 1."""

    kind = "astromer2"


def default_band_groups(labels, n_model_bands: int = 6) -> dict:
    """ATCAT channel of each band label: LSST names (u g r i z Y) or channel numbers; ModelError otherwise."""
    labels = [str(b) for b in labels]
    if all(b in LSST_BANDS for b in labels):
        return {b: LSST_BANDS[b] for b in labels}
    if all(b.isdigit() and int(b) < n_model_bands for b in labels):
        return {b: int(b) for b in labels}
    raise ModelError(
        f"ATCAT needs band_groups for bands {', '.join(labels)}: map each label to an LSST index 0-5 "
        "(u g r i z Y), e.g. band_groups={'g': 1, 'r': 2}"
    )


class ATCAT(EmbeddingModel):
    """ATCAT multiband flux model (light-curve/atcat ``atcat_f32.onnx``); outputs last, mean, sequence [.., 384].

    ``band_groups``: a dict band label -> LSST index 0-5 (u g r i z Y), or a list of such dicts (one
    embedding per group). None maps LSST labels (u g r i z Y/y) automatically, or integer labels 0-5.
    ``allow_extra_bands``: drop observations in other bands instead of raising. ``mag_zp``: zero
    point of the input fluxes (31.4 = nJy); fluxes are rescaled to 27.5. Magnitude catalogs are
    converted to fluxes at zero point 27.5 first.
    """

    kind = "atcat"
    n_model_bands = 6

    def __init__(self, model, *, output="last", reduction="non-overlapping-windows", band_groups=None,
                 allow_extra_bands=False, mag_zp=31.4, seed=0, bands=None):
        super().__init__(model, output=output, reduction=reduction, seed=seed)
        if bands is not None:
            raise ModelError("ATCAT is a multiband model: give band_groups (label -> LSST index 0-5), not bands")
        if band_groups is not None:
            groups = [band_groups] if isinstance(band_groups, dict) else list(band_groups)
            seen = set()
            for g in groups:
                if not isinstance(g, dict) or not g:
                    raise ModelError(f"band_groups must be a dict (or list of dicts) label -> 0-5, got {g!r}")
                bad = {k: v for k, v in g.items() if isinstance(v, bool) or v not in range(self.n_model_bands)}
                if bad:
                    raise ModelError(f"band_groups values must be LSST indices 0-5; invalid: {bad}")
                dup = seen & set(map(str, g))
                if dup:
                    raise ModelError(f"band labels must be unique across band_groups; repeated: {sorted(dup)}")
                seen |= set(map(str, g))
            band_groups = [{str(k): int(v) for k, v in g.items()} for g in groups]
        self.band_groups = band_groups
        self.allow_extra_bands = bool(allow_extra_bands)
        self.mag_zp = float(mag_zp)
        self.flux_scale = None if abs(self.mag_zp - 27.5) < 1e-4 else 10 ** (-0.4 * (self.mag_zp - 27.5))

    def key_parts(self) -> dict:
        """Adds band groups, extra-band policy and zero point."""
        return dict(super().key_parts(), band_groups=self.band_groups, allow_extra_bands=self.allow_extra_bands,
                    mag_zp=self.mag_zp)

    def _groups_for(self, labels) -> list[dict]:
        if self.band_groups is not None:
            return self.band_groups
        return [default_band_groups(labels, self.n_model_bands)]

    def segments(self, data):
        """One segment per (object, band group); the channel index per catalog band code is kept for prepare."""
        labels = [str(b) for b in data.bands]
        present = set(np.unique(data.band).tolist()) if len(data.band) else set()
        groups = self._groups_for([labels[c] for c in sorted(present)] or labels)
        mapped = set().union(*[set(g) for g in groups])
        extra = sorted({labels[c] for c in present} - mapped)
        if extra and not self.allow_extra_bands:
            raise ModelError(
                f"catalog {getattr(data, 'name', '')!r} has observations in bands {extra} that band_groups does "
                f"not map ({sorted(mapped)}); add them to band_groups or pass allow_extra_bands=True to skip them"
            )
        self._channel = np.zeros(max(len(labels), 1), np.int64)
        code_groups = []
        for g in groups:
            codes = [i for i, lab in enumerate(labels) if lab in g]
            for i in codes:
                self._channel[i] = g[labels[i]]
            code_groups.append(np.array(codes, np.int16))
        slot_labels = ["" if len(groups) == 1 else ",".join(g) for g in groups]
        return band_segments(data.offsets, data.band, code_groups), slot_labels

    def model_arrays(self, data) -> dict:
        """Fluxes and errors at zero point 27.5 (float64), times, and channel indices per observation."""
        value = np.asarray(data.value, np.float64)
        error = np.nan_to_num(np.asarray(data.error, np.float64), nan=0.0)
        if getattr(data, "value_kind", "flux") == "mag":
            flux = 10.0 ** (-0.4 * (value - 27.5))
            error = flux * error * (np.log(10.0) / 2.5)
        else:
            flux = value
            if self.flux_scale is not None:
                flux = flux * self.flux_scale
                error = error * self.flux_scale
        return {"time": np.asarray(data.time, np.float64), "flux": flux, "flux_err": error,
                "channel": self._channel[np.asarray(data.band, np.int64)] if len(data.band) else np.zeros(0, np.int64)}

    def prepare(self, obs, arrays, buffers):
        """Gather; time minus the window's first valid time (float64); bool mask; int64 channel index."""
        b = len(obs)
        mask = obs >= 0
        idx = np.where(mask, obs, 0)
        t = np.where(mask, arrays["time"][idx], 0.0)
        buffers["time"][:b] = np.where(mask, t - t[:, :1], 0.0)   # windows are left-aligned: column 0 is the first valid
        buffers["flux"][:b] = np.where(mask, arrays["flux"][idx], 0.0)
        buffers["flux_err"][:b] = np.where(mask, arrays["flux_err"][idx], 0.0)
        buffers["mask"][:b] = mask
        buffers["channel_index"][:b] = np.where(mask, arrays["channel"][idx], 0)
        return {name: buf[:b] for name, buf in buffers.items()}

    def __call__(self, time, flux, flux_err, band) -> np.ndarray:
        """Embed one light curve: ``(n_band_groups, n_subsamples, seq or 1, 384)``."""
        data = CurveArrays.single(time, flux, flux_err, band, value_kind="flux")
        return self._call(data)


_CLASSES = {"astromer1": Astromer1, "astromer2": Astromer2, "atcat": ATCAT}


def model_class(kind: str):
    """The model class of a family name."""
    try:
        return _CLASSES[kind]
    except KeyError:
        raise ModelError(f"unknown model kind {kind!r}; expected one of {', '.join(_CLASSES)}") from None
