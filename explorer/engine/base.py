"""Bases of the model classes, with the ``light_curve.embed`` API and whole-catalog embedding.

``EmbeddingSession`` is the base of every family class: ``from_hf`` (Hub through our sources, offline
cache honoured), ``preprocess_lc`` (typed input tensors for one light curve), ``predict_tensors``
and ``__call__`` give the same arrays, shapes and axes as ``light_curve.embed`` (``Dim``: band,
subsample, sequence, value); ``embed_catalog`` embeds a whole catalog in batches (see runner.py).
``SingleBandModel`` embeds each requested band on its own; ``MultiBandModel`` feeds all bands of a
band group at once. A family module subclasses one of them, names its registry entry (``family``)
and its typed inputs, and implements the per-batch preparation ``prepare``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import IntEnum
from pathlib import Path

import numpy as np

from explorer.engine import runner
from explorer.engine.cache import EmbeddingCache, cache_key
from explorer.families import ModelFamily, default_band_groups
from explorer.engine.reductions import Reduction, reduction_from_name
from explorer.engine.session import OnnxModel
from explorer.engine.sources import hub_file, load_model
from explorer.tensorspec import interface_problems
from explorer.engine.windows import Windows, all_segments, band_segments, build_windows, stack_channels
from explorer.errors import ModelError

__all__ = ["Dim", "InputTensors", "WindowPlan", "CurveArrays", "EmbeddingSession", "SingleBandModel",
           "MultiBandModel", "EmbeddingModel"]


class Dim(IntEnum):
    """Axes of the 4-D array ``__call__`` returns: (BAND, SUBSAMPLE, SEQUENCE, VALUE), as light_curve.embed."""

    BAND = 0
    SUBSAMPLE = 1
    SEQUENCE = 2
    VALUE = 3


@dataclass
class InputTensors(Mapping):
    """Typed model inputs for a batch of windows; ``bool_mask`` [windows, positions] marks real observations.

    Subclasses declare one field per ONNX input (same name); ``asdict`` is the session feed, and the
    object itself reads as that feed (a Mapping), so it can be passed to ``session.run`` directly.
    """

    bool_mask: np.ndarray = field(kw_only=True)

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "bool_mask" or name not in {f.name for f in fields(self)}:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self):
        return (f.name for f in fields(self) if f.name != "bool_mask")

    def __len__(self) -> int:
        return len(fields(self)) - 1

    def asdict(self) -> dict[str, np.ndarray]:
        """The ONNX feed: every input field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "bool_mask"}

    def head(self, n: int) -> "InputTensors":
        """Views of the first ``n`` windows (buffers are allocated once for the largest batch)."""
        return type(self)(**{f.name: getattr(self, f.name)[:n] for f in fields(self)})

    def copy(self) -> "InputTensors":
        """An independent copy (buffers are reused by the next batch)."""
        return type(self)(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


@dataclass
class WindowPlan:
    """Every window of a run and what its rows are: object, band slot, labels; rows that cannot run."""

    windows: Windows
    row_object: np.ndarray       # int64 [n_rows]
    row_slot: np.ndarray         # int64 [n_rows]: index into slot_labels
    slot_labels: list
    out_shape: tuple
    failed: dict = field(default_factory=dict)
    order: np.ndarray | None = None      # run order of the windows (None: as listed)
    channel: np.ndarray | None = None    # model band of each catalog band code (multiband models)
    breaks: tuple = ()                   # run positions where a new batch must start (a new input shape)


@dataclass
class CurveArrays:
    """Catalog-shaped flat arrays for light curves given directly (``__call__`` / ``preprocess_lc``)."""

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
        value = np.asarray(value).ravel()
        time = np.arange(value.size, dtype=np.float64) if time is None else np.asarray(time).ravel()
        if time.shape != value.shape:
            raise ModelError(f"time and values must have the same length, got {time.size} and {value.size}")
        error = np.full(time.shape, np.nan) if error is None else np.asarray(error).ravel()
        if error.shape != time.shape:
            raise ModelError(f"errors must have one entry per observation ({time.size}), got {error.size}")
        if band is None:
            codes, labels = np.zeros(time.size, np.int16), ("",)
        else:
            band = np.asarray(band).ravel()
            if band.shape != time.shape:
                raise ModelError(f"band must have one entry per observation ({time.size}), got {band.size}")
            labels_arr, inv = np.unique(band, return_inverse=True)
            codes, labels = inv.astype(np.int16), tuple(labels_arr.tolist())
        return cls(time, value, error, codes, labels, np.array([0, time.size], np.int64), value_kind)


def _as_onnx_model(model, fam: ModelFamily) -> OnnxModel:
    """An OnnxModel of family ``fam`` from an OnnxModel, an onnxruntime session or a model source."""
    kind = fam.kind
    if isinstance(model, (str, Path)):
        path_like = isinstance(model, Path) or str(model).endswith(".onnx")
        model = load_model(model, kind=kind if path_like else None)
    elif hasattr(model, "get_inputs") and hasattr(model, "run"):
        return OnnxModel.from_session(model, kind=kind)
    if not isinstance(model, OnnxModel):
        raise ModelError(f"expected an OnnxModel, an onnxruntime session or a model source, got {type(model).__name__}")
    # another family's file may drive this class only when it has this family's interface
    # (Astromer 1 / 2 / 1-ZTF, Chronos-Bolt / Chronos 2 share theirs)
    problems = [] if model.kind == kind else interface_problems(model.session, fam.interface)
    if problems:
        raise ModelError(f"model {model.name} is a {model.kind} model; it cannot drive {kind}: " + "; ".join(problems[:3]))
    return model


def _check_zp(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value):
        raise ModelError(f"{name} must be a finite number (AB zero point of the fluxes), got {value!r}")
    return float(value)


class EmbeddingSession:
    """Base of the model classes: output, reduction, seed; the light_curve.embed API; catalog embedding.

    ``model``: an OnnxModel, an onnxruntime session (e.g. one made by light_curve) or a model source
    (store name, Hub alias, .onnx path). ``reduction``: a name, a list of names or a Reduction;
    ``reduction_kwargs={"rng": int}`` (light_curve's spelling) or ``seed`` seeds random-subsample.
    ``mag_zp``: AB zero point of fluxes (31.4 = nJy), for every family: flux models rescale fluxes
    given at ``mag_zp``, magnitude models convert flux catalogs to magnitudes with it.
    """

    family: ModelFamily
    tensors_type: type = InputTensors

    def __init__(self, model, *, output=None, reduction=None, reduction_kwargs=None, seed=0, size=None, mag_zp=31.4):
        fam = self.family
        self.model = _as_onnx_model(model, fam)
        self.interface = fam.interface
        output = fam.default_output if output is None else output
        if output not in fam.outputs:
            raise ModelError(f"unknown output {output!r} for a {fam.kind} model; expected one of: "
                             f"{', '.join(fam.outputs)}")
        self.output = output
        rng = (reduction_kwargs or {}).get("rng", seed)
        if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
            raise ModelError(f"random-subsample needs an integer seed (seed= or reduction_kwargs={{'rng': ...}}), "
                             f"got {rng!r}")
        self.seed = int(rng)
        self.reduction: Reduction = reduction_from_name(fam.default_reduction if reduction is None else reduction,
                                                        self.seed)
        self.size = self._resolve_size(size)
        # one zero-point name for every family: the AB zero point of fluxes (given, or converted to / from)
        self.mag_zp = _check_zp(mag_zp, "mag_zp")
        self._call_rng = None

    # -- identity -------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """The family kind."""
        return self.family.kind

    @property
    def session(self):
        """The onnxruntime session (light_curve.embed's attribute)."""
        return self.model.session

    @property
    def model_outputs(self) -> frozenset:
        """Output names this family offers."""
        return frozenset(self.family.outputs)

    @property
    def seq_len(self) -> int:
        """Positions per window (of the model input)."""
        return self.interface.seq_len

    @property
    def dim(self) -> int:
        """Embedding size."""
        return self.family.dim_for(self.size)

    embed_dim = dim

    def _resolve_size(self, size):
        sizes = self.family.sizes
        if not sizes:
            if size is not None:
                raise ModelError(f"{self.family.title} comes in one size; size={size!r} is not an option")
            return None
        fixed = None
        for arg in self.model.session.get_outputs():
            if arg.name == "mean" and arg.shape and isinstance(arg.shape[-1], int) and arg.shape[-1] > 0:
                fixed = arg.shape[-1]
        if size is None:
            size = self.model.card.get("size") or next((s for s, d in sizes.items() if d == fixed), None)
            if size is None:
                raise ModelError(f"{self.family.title} needs size= (one of {', '.join(sizes)}): the file does not "
                                 "fix its embedding size")
        self.family.dim_for(size)  # ModelError for an unknown size
        if fixed is not None and fixed != sizes[size]:
            raise ModelError(f"{self.model.name} gives {fixed}-d embeddings, but size {size!r} of "
                             f"{self.family.title} is {sizes[size]}-d")
        return size

    # -- Hub ------------------------------------------------------------------------------------------
    @classmethod
    def _hf_model(cls, alias: str, ort_session_kwargs=None) -> OnnxModel:
        """The Hub file ``alias`` through our sources (HF cache, HF_HUB_OFFLINE honoured) as an OnnxModel."""
        if not ort_session_kwargs:
            return load_model(alias)
        import onnxruntime as ort

        path = hub_file(alias)
        try:
            session = ort.InferenceSession(str(path), **ort_session_kwargs)
        except TypeError as exc:
            raise ModelError(f"ort_session_kwargs must be onnxruntime.InferenceSession options "
                             f"(sess_options, providers, provider_options): {exc}") from exc
        model = OnnxModel.from_session(session, kind=cls.family.kind, name=alias)
        model.origin = "hub"
        return model

    @classmethod
    def from_hf(cls, output=None, *, reduction=None, reduction_kwargs=None, ort_session_kwargs=None, **kwargs):
        """Load the family's Hub file (the first of ``family.hub``) and build the class around it."""
        return cls(cls._hf_model(cls.family.hub[0].alias, ort_session_kwargs), output=output, reduction=reduction,
                   reduction_kwargs=reduction_kwargs, **kwargs)

    # -- settings for caches and provenance -------------------------------------------------------------
    def key_parts(self) -> dict:
        """Settings that change the numbers (for the cache key)."""
        parts = {"kind": self.kind, "output": self.output, "reduction": self.reduction.name, "seq_len": self.seq_len,
                 "mag_zp": self.mag_zp}
        if self.size is not None:
            parts["size"] = self.size
        if self.reduction.stochastic:
            # the draws follow the seed of the reduction actually used (a Reduction object brings its own)
            parts["seed"] = next(s.seed for s in self.reduction.strategies if s.stochastic)
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

    # -- hooks for family modules -------------------------------------------------------------------------
    def segments(self, data, whole: bool = False):
        """(Segments, band labels per slot) of ``data``; ``whole``: the arrays as light_curve's preprocess_lc
        takes them (one band's light curve for single-band models, model band numbers for multiband ones)."""
        raise NotImplementedError

    def out_shape(self) -> tuple:
        """Shape of one window's output."""
        return (self.seq_len, self.dim) if self.output == "sequence" else (self.dim,)

    def windows(self, data, rng=None, whole: bool = False) -> WindowPlan:
        """Every window of ``data`` (one segment per object and band slot, windows of ``seq_len``)."""
        segments, labels = self.segments(data, whole)
        windows = build_windows(segments, self.reduction, self.seq_len, rng=rng)
        seg = windows.row_segment
        return WindowPlan(windows, segments.object_index[seg], segments.slot[seg], labels, self.out_shape())

    def model_arrays(self, data, plan: WindowPlan | None = None) -> dict:
        """Catalog-sized arrays the per-batch preparation gathers from (``plan``: the windows they serve)."""
        raise NotImplementedError

    def make_buffers(self, batch_size: int) -> InputTensors:
        """Typed input buffers for ``batch_size`` windows, allocated once per run."""
        arrays = {s.name: np.zeros((batch_size,) + tuple(s.shape[1:]), self.model.input_dtype(s.name))
                  for s in self.interface.inputs}
        return self.tensors_type(**arrays, bool_mask=np.zeros((batch_size, self.position_count()), bool))

    def position_count(self) -> int:
        """Positions of the sequence output (and of ``bool_mask``)."""
        return self.seq_len

    def position_mask(self, obs: np.ndarray) -> np.ndarray:
        """[windows, positions] True where a sequence-output position holds an observation."""
        return obs >= 0

    def prepare(self, obs: np.ndarray, arrays: dict, buffers: InputTensors) -> InputTensors:
        """Fill the buffers for windows ``obs`` [b, positions] and return views of the first b."""
        raise NotImplementedError

    def infer(self, tensors: InputTensors) -> np.ndarray:
        """Raw window outputs of the chosen output: [b, dim] or [b, positions, dim]."""
        return self.model.session.run([self.output], tensors.asdict())[0]

    def _values(self, data, want: str):
        """(values, errors) of ``data`` in the family's units ``want`` ("mag" or "flux" at ZP 27.5 / mag_zp)."""
        value = np.asarray(data.value, np.float64)
        error = np.asarray(data.error, np.float64)
        have = getattr(data, "value_kind", "mag")
        zp = self.mag_zp
        if have == want:
            return value, error
        with np.errstate(divide="ignore", invalid="ignore"):
            if want == "mag":   # non-positive fluxes have no magnitude: NaN, left out by segments()
                pos = np.where(value > 0, value, np.nan)
                return zp - 2.5 * np.log10(pos), error / pos * (2.5 / np.log(10.0))
            flux = 10.0 ** (-0.4 * (value - zp))
            return flux, flux * error * (np.log(10.0) / 2.5)

    def usable(self, data):
        """Observations that can enter a window (flux catalogs into magnitude models: positive fluxes only)."""
        if self.family.value_kind == "mag" and getattr(data, "value_kind", "mag") == "flux":
            with np.errstate(invalid="ignore"):
                return np.asarray(data.value) > 0
        return None

    # -- the light_curve.embed API -------------------------------------------------------------------
    def _curve(self, *arrays, band=None) -> CurveArrays:
        raise NotImplementedError

    def preprocess_lc(self, *arrays) -> InputTensors:
        """Typed input tensors [windows, ...] of one light curve (one band / one band group), as light_curve."""
        data = self._curve(*arrays, preprocess=True)
        plan = self.windows(data, rng=self._rng(), whole=True)
        if plan.failed:
            raise ModelError(next(iter(plan.failed.values())))
        n = len(plan.windows.row)
        if n == 0:
            raise ModelError("the light curve has no observations to embed")
        return self.prepare(plan.windows.obs, self.model_arrays(data, plan), self.make_buffers(n)).copy()

    def predict_tensors(self, tensors: InputTensors) -> np.ndarray:
        """Run the session and combine windows as the reduction says: ``(n_subsamples, seq or 1, dim)``."""
        out = self.infer(tensors)
        rows = self.reduction.rows_of_windows(len(out))
        n_rows = int(rows.max()) + 1 if len(rows) else 0
        acc = np.zeros((n_rows,) + out.shape[1:], np.float32 if out.ndim == 3 else np.float64)
        valid = tensors.bool_mask if out.ndim == 3 else None
        self.reduction.accumulate(acc, rows, out, valid)

        def counts():
            c = np.zeros((n_rows, tensors.bool_mask.shape[1]), np.int64)
            np.add.at(c, rows, tensors.bool_mask.astype(np.int64))
            return c

        acc = self.reduction.finish(acc, np.bincount(rows, minlength=n_rows), counts).astype(np.float32)
        return acc if acc.ndim == 3 else acc[:, None, :]

    def _rng(self):
        """The generator of this instance's calls: draws continue from call to call, as light_curve's."""
        if self.reduction.stochastic and self._call_rng is None:
            self._call_rng = np.random.default_rng(next(s.seed for s in self.reduction.strategies if s.stochastic))
        return self._call_rng

    def _embed_curve(self, data) -> np.ndarray:
        """``(n_slots, n_subsamples, seq or 1, dim)`` of one light curve through the batch runner."""
        result = runner.run_embedding(self, data, rng=self._rng())
        refused = [f["error"] for f in result.meta["failed"] if f["error"] != "non-finite embedding"]
        if refused:   # light_curve raises here too (e.g. bands with different window counts)
            raise ModelError(f"{self.family.title} cannot embed this light curve: {refused[0]}")
        n_slots, n_strat = len(result.block_bands), len(result.block_strategies)
        shape = result.embeddings.shape[1:]
        out = np.full((n_slots * n_strat,) + shape, np.nan, np.float32)
        out[result._block()] = result.embeddings
        out = out.reshape((n_slots, n_strat) + shape)
        return out if out.ndim == 4 else out[:, :, None, :]

    # -- catalogs -------------------------------------------------------------------------------------
    def embed_catalog(self, catalog, *, batch_size=None, progress=None, cache=True, pipeline=None, partial=None):
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
        result = runner.run_embedding(self, catalog, batch_size=batch_size, progress=progress, pipeline=pipeline,
                                      partial=partial)
        result.meta["catalog"] = {"name": getattr(catalog, "name", None), "content_hash": catalog.content_hash()}
        if store is not None:
            result.meta["cache_file"] = str(store.save(key, result))
        return result


EmbeddingModel = EmbeddingSession   # the name used before the light_curve.embed API


def _band_list(bands):
    if bands is None:
        return None
    if isinstance(bands, str):
        bands = [b for b in bands.split(",") if b]
    bands = list(bands)
    if not bands or len(set(map(str, bands))) != len(bands):
        raise ModelError(f"bands must be a non-empty list of distinct band labels, got {bands!r}")
    return bands


class SingleBandModel(EmbeddingSession):
    """A model that embeds one band at a time; ``bands`` picks and orders them (None: all observations as one)."""

    def __init__(self, model, *, bands=None, **kwargs):
        super().__init__(model, **kwargs)
        if bands is not None and self.family.band_handling == "series":
            raise ModelError(f"{self.family.title} embeds one magnitude series: bands are not an option")
        self.bands = _band_list(bands)

    def key_parts(self) -> dict:
        """Adds the band list."""
        return dict(super().key_parts(), bands=None if self.bands is None else [str(b) for b in self.bands])

    def segments(self, data, whole: bool = False):
        """All observations, or one segment per requested band (flux catalogs: only those with a magnitude)."""
        keep = self.usable(data)
        if self.bands is None or whole:
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

    def _check_band_arg(self, band):
        if (band is None) != (self.bands is None):
            raise ModelError(f"pass band= exactly when the model was built with bands (bands={self.bands})")

    def __call__(self, time, mag, band=None) -> np.ndarray:
        """Embed one light curve: ``(n_bands, n_subsamples, seq or 1, dim)`` (NaN for a band without data)."""
        self._check_band_arg(band)
        return self._embed_curve(self._curve(time, mag, band=band))

    def _curve(self, time, mag, band=None, preprocess=False) -> CurveArrays:
        return CurveArrays.single(time, mag, band=None if preprocess else band, value_kind="mag")


def _check_groups(band_groups, n_model_bands: int, system: str = "model band"):
    """Validated band_groups: a list of {label: channel} dicts, labels unique across the list."""
    groups = [band_groups] if isinstance(band_groups, dict) else list(band_groups)
    seen = set()
    for g in groups:
        if not isinstance(g, dict) or not g:
            raise ModelError(f"band_groups must be a dict (or list of dicts) label -> 0-{n_model_bands - 1}, got {g!r}")
        bad = {k: v for k, v in g.items() if isinstance(v, bool) or v not in range(n_model_bands)}
        if bad:
            raise ModelError(f"band_groups values must be {system} indices 0-{n_model_bands - 1}; invalid: {bad}")
        dup = seen & set(map(str, g))
        if dup:
            raise ModelError(f"band labels must be unique across band_groups; repeated: {sorted(dup)}")
        seen |= set(map(str, g))
    return [{str(k): int(v) for k, v in g.items()} for g in groups]


class MultiBandModel(EmbeddingSession):
    """A model that takes all bands of a band group in one pass (channels 0..n_model_bands-1).

    ``band_groups``: a dict label -> channel, or a list of such dicts (one embedding per group).
    None maps the family's usual labels (LSST u g r i z Y for ATCAT/ATAT, ZTF g r i for AstraCLR)
    or integer labels that are channel numbers. ``allow_extra_bands``: drop observations in other
    bands instead of raising.
    """

    def __init__(self, model, *, band_groups=None, allow_extra_bands=False, bands=None, **kwargs):
        if bands is not None:
            raise ModelError(f"{self.family.title} is a multiband model: give band_groups (label -> model band "
                             f"0-{self.family.n_model_bands - 1}), not bands")
        super().__init__(model, **kwargs)
        self.band_groups = None if band_groups is None else _check_groups(band_groups, self.n_model_bands,
                                                                             self.family.band_system or "model band")
        self.allow_extra_bands = bool(allow_extra_bands)

    @property
    def n_model_bands(self) -> int:
        """Number of model channels."""
        return self.family.n_model_bands

    def key_parts(self) -> dict:
        """Adds band groups and the extra-band policy."""
        return dict(super().key_parts(), band_groups=self.band_groups, allow_extra_bands=self.allow_extra_bands)

    def groups_for(self, data, whole: bool = False) -> tuple[list[dict], np.ndarray]:
        """(band groups, channel per catalog band code); ModelError for unmapped bands unless allowed."""
        labels = [str(b) for b in data.bands]
        if whole:   # light_curve's preprocess_lc: the band array holds model band numbers; others are left out
            groups = [{str(c): c for c in range(self.n_model_bands)}]
            channel = np.zeros(max(len(labels), 1), np.int64)
            for i, lab in enumerate(labels):
                channel[i] = groups[0].get(lab, 0)
            return groups, channel
        present = set(np.unique(data.band).tolist()) if len(data.band) else set()
        groups = self.band_groups or [default_band_groups([labels[c] for c in sorted(present)] or labels, self.kind)]
        mapped = set().union(*[set(g) for g in groups])
        extra = sorted({labels[c] for c in present} - mapped)
        if extra and not self.allow_extra_bands:
            raise ModelError(
                f"catalog {getattr(data, 'name', '')!r} has observations in bands {extra} that band_groups does "
                f"not map ({sorted(mapped)}); add them to band_groups or pass allow_extra_bands=True to skip them"
            )
        channel = np.zeros(max(len(labels), 1), np.int64)
        for g in groups:
            for i, lab in enumerate(labels):
                if lab in g:
                    channel[i] = g[lab]
        return groups, channel

    def _group_labels(self, groups) -> list[str]:
        return ["" if len(groups) == 1 else ",".join(g) for g in groups]

    def channel_windows(self, data, seqs, rng=None, whole: bool = False) -> WindowPlan:
        """Windows of models with a fixed number of observations per channel (``seqs[c]``), side by side."""
        groups, _ = self.groups_for(data, whole)
        labels = [str(b) for b in data.bands]
        n_ch = self.n_model_bands
        code_groups = []
        for g in groups:
            for c in range(n_ch):
                code_groups.append(np.array([i for i, lab in enumerate(labels) if g.get(lab) == c], np.int16))
        segments = band_segments(data.offsets, data.band, code_groups, self.usable(data))
        per_seg_seq = np.tile(np.asarray(seqs, np.int64), len(segments.length) // n_ch)
        windows = build_windows(segments, self.reduction, per_seg_seq, keep_empty=True, rng=rng)
        joined, failed = stack_channels(windows, n_ch, seqs)
        seg0 = joined.row_segment * n_ch
        return WindowPlan(joined, segments.object_index[seg0], segments.slot[seg0] // n_ch,
                          self._group_labels(groups), self.out_shape(), failed)

    def __call__(self, *arrays, band) -> np.ndarray:
        """Embed one light curve: ``(n_band_groups, n_subsamples, seq or 1, dim)``."""
        return self._embed_curve(self._curve(*arrays, band=band))
