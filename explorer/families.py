"""The model-family registry: one ``ModelFamily`` per family the engine (and ``light_curve.embed``) knows.

Everything that depends on the family list derives from ``FAMILIES``: store kinds (``explorer.store``),
interface checks (``explorer.engine.interfaces``), Hub aliases (``explorer.engine.sources``), CLI
choices and the dashboard's output options (``outputs_for`` / ``default_output``). The model classes
live in one module per family (``ModelFamily.module``); ``explorer.engine.models`` imports them from
here, top-down. Adding a family = one new module + one entry below.

This module is data only, below the engine and the store (both read it): it imports only
``explorer.tensorspec`` and ``explorer.errors``. ``explorer.engine.families`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.tensorspec import F32, FLOAT, ModelInterface, TensorSpec
from explorer.errors import ModelError

__all__ = ["HubFile", "ModelFamily", "FAMILIES", "family", "kinds", "outputs_for", "default_output",
           "map_outputs_for", "hub_aliases", "default_band_groups", "LSST_BANDS", "ZTF_BANDS"]

LSST_BANDS = {"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5, "y": 5}
ZTF_BANDS = {"g": 0, "r": 1, "i": 2}


@dataclass(frozen=True)
class HubFile:
    """One public ONNX file on the Hugging Face Hub, and the alias the engine knows it by."""

    alias: str
    repo_id: str
    filename: str
    size: str | None = None        # model size for families shipped in several sizes


@dataclass(frozen=True)
class ModelFamily:
    """What the engine needs to know about one model family.

    ``band_handling``: "single" (one band per embedding; ``bands`` picks them), "multi" (all bands in
    one pass; ``band_groups`` maps labels to model channels 0..n_model_bands-1) or "series" (one
    magnitude series, no times, no bands). ``value_kind``: what the model takes ("mag" or "flux");
    catalogs of the other kind are converted with the AB zero point ``zp_param`` (always ``mag_zp``).
    ``sizes``: size name -> embedding size for families shipped in several sizes (the interface's
    ``dim`` is then None). ``seq_sizes``: per-channel window lengths of multiband models that take a
    fixed number of observations per band.
    """

    kind: str
    title: str
    module: str
    class_name: str
    interface: ModelInterface
    outputs: tuple[str, ...]
    default_output: str
    hub: tuple[HubFile, ...]
    band_handling: str
    value_kind: str
    default_reduction: str = "non-overlapping-windows"
    zp_param: str | None = "mag_zp"
    default_zp: float = 31.4
    sizes: dict = field(default_factory=dict)
    n_model_bands: int = 1
    default_bands: dict | None = None
    band_system: str = ""          # what the model bands are, for messages: "LSST" / "ZTF"
    seq_sizes: tuple[int, ...] = ()
    takes_time: bool = True

    @property
    def map_outputs(self) -> tuple[str, ...]:
        """Outputs giving one vector per object (the ones a map can use)."""
        return tuple(o for o in self.outputs if o != "sequence")

    def dim_for(self, size: str | None = None) -> int:
        """Embedding size (of ``size`` for sized families); ModelError for an unknown size."""
        if not self.sizes:
            return self.interface.dim
        if size not in self.sizes:
            raise ModelError(f"unknown size {size!r} for {self.title}; expected one of: {', '.join(self.sizes)}")
        return self.sizes[size]


def _astromer_interface(kind: str) -> ModelInterface:
    seq, dim = 200, 256
    return ModelInterface(
        kind=kind,
        inputs=(TensorSpec("input", F32, (None, seq, 1)), TensorSpec("times", F32, (None, seq, 1)),
                TensorSpec("mask_in", F32, (None, seq, 1))),
        outputs=(TensorSpec("mean", F32, (None, dim)), TensorSpec("max", F32, (None, dim)),
                 TensorSpec("sequence", F32, (None, seq, dim))),
        seq_len=seq, dim=dim,
    )


def _astromer(kind, title, class_name, repo, filename) -> ModelFamily:
    return ModelFamily(
        kind=kind, title=title, module="explorer.engine.astromer", class_name=class_name,
        interface=_astromer_interface(kind), outputs=("mean", "max", "sequence"), default_output="mean",
        hub=(HubFile(kind, repo, filename),), band_handling="single", value_kind="mag",
    )


_ATCAT_SEQ, _ATCAT_DIM = 243, 384
_ATAT_SEQ, _ATAT_BANDS, _ATAT_DIM = 65, 6, 192
_ASTRA_SEQS, _ASTRA_DIM = (300, 350, 50), 512
_MOMENT_CONTEXT = 512


def _series_interface(kind: str, context: int | None, dim: int | None = None) -> ModelInterface:
    """Chronos / MOMENT: one ``context`` series in, ``mean`` and per-patch ``sequence`` out."""
    return ModelInterface(
        kind=kind,
        inputs=(TensorSpec("context", F32, (None, context)),),
        outputs=(TensorSpec("mean", F32, (None, dim)), TensorSpec("sequence", F32, (None, None, dim))),
        seq_len=context, dim=dim,
    )


_FAMILY_LIST = (
    _astromer("astromer1", "Astromer 1", "Astromer1", "light-curve/astromer1", "astromer1.onnx"),
    _astromer("astromer2", "Astromer 2", "Astromer2", "light-curve/astromer2", "astromer2.onnx"),
    ModelFamily(
        kind="atcat", title="ATCAT", module="explorer.engine.atcat", class_name="ATCAT",
        interface=ModelInterface(
            kind="atcat",
            inputs=(TensorSpec("flux", FLOAT, (None, _ATCAT_SEQ)), TensorSpec("flux_err", FLOAT, (None, _ATCAT_SEQ)),
                    TensorSpec("time", FLOAT, (None, _ATCAT_SEQ)),
                    TensorSpec("mask", ("tensor(bool)",), (None, _ATCAT_SEQ)),
                    TensorSpec("channel_index", ("tensor(int64)",), (None, _ATCAT_SEQ))),
            outputs=(TensorSpec("last", FLOAT, (None, _ATCAT_DIM)), TensorSpec("mean", FLOAT, (None, _ATCAT_DIM)),
                     TensorSpec("sequence", FLOAT, (None, _ATCAT_SEQ, _ATCAT_DIM))),
            seq_len=_ATCAT_SEQ, dim=_ATCAT_DIM,
        ),
        outputs=("last", "mean", "sequence"), default_output="last",
        hub=(HubFile("atcat", "light-curve/atcat", "atcat_f32.onnx"),
             HubFile("atcat-fp16", "light-curve/atcat", "atcat_fp16.onnx")),
        band_handling="multi", value_kind="flux", n_model_bands=6, default_bands=LSST_BANDS,
        band_system="LSST",
    ),
    _astromer("astromer1-ztf", "Astromer 1 (ZTF DR20 g)", "Astromer1ZTF", "light-curve/astromer1-ztfdr20",
              "astromer1_ztfdr20.onnx"),
    ModelFamily(
        kind="atat", title="ATAT", module="explorer.engine.atat", class_name="ATAT",
        interface=ModelInterface(
            kind="atat",
            inputs=tuple(TensorSpec(n, FLOAT, (None, _ATAT_SEQ, _ATAT_BANDS)) for n in ("data", "time", "mask")),
            outputs=(TensorSpec("token", FLOAT, (None, _ATAT_DIM)), TensorSpec("mean", FLOAT, (None, _ATAT_DIM)),
                     TensorSpec("sequence", FLOAT, (None, _ATAT_SEQ * _ATAT_BANDS, _ATAT_DIM))),
            seq_len=_ATAT_SEQ * _ATAT_BANDS, dim=_ATAT_DIM,
        ),
        outputs=("token", "mean", "sequence"), default_output="token",
        hub=(HubFile("atat", "light-curve/atat", "atat.onnx"),),
        band_handling="multi", value_kind="flux", n_model_bands=_ATAT_BANDS, default_bands=LSST_BANDS,
        band_system="LSST",
        seq_sizes=(_ATAT_SEQ,) * _ATAT_BANDS,
    ),
    ModelFamily(
        kind="astraclr", title="AstraCLR", module="explorer.engine.astraclr", class_name="AstraCLR",
        interface=ModelInterface(
            kind="astraclr",
            inputs=(*(TensorSpec(n, F32, (None, sum(_ASTRA_SEQS), 1)) for n in ("input", "times", "band_info")),
                    TensorSpec("mask", F32, (None, sum(_ASTRA_SEQS)))),
            outputs=(TensorSpec("mean", F32, (None, _ASTRA_DIM)),),
            seq_len=sum(_ASTRA_SEQS), dim=_ASTRA_DIM, anonymous_output=True,
        ),
        outputs=("mean",), default_output="mean",
        hub=(HubFile("astraclr", "light-curve/astra-clr", "astra_clr.onnx"),),
        band_handling="multi", value_kind="mag", default_reduction="beginning", n_model_bands=3,
        default_bands=ZTF_BANDS, band_system="ZTF", seq_sizes=_ASTRA_SEQS,
    ),
    ModelFamily(
        kind="moment1", title="MOMENT-1", module="explorer.engine.series", class_name="Moment1",
        interface=_series_interface("moment1", _MOMENT_CONTEXT),
        outputs=("mean", "sequence"), default_output="mean",
        hub=tuple(HubFile(f"moment1-{s}", f"light-curve/moment1-{s}", f"moment1-{s}.onnx", s)
                  for s in ("small", "base", "large")),
        band_handling="series", value_kind="mag", default_reduction="end",
        sizes={"small": 512, "base": 768, "large": 1024}, takes_time=False,
    ),
    ModelFamily(
        kind="chronos-bolt", title="Chronos-Bolt", module="explorer.engine.series", class_name="ChronosBolt",
        interface=_series_interface("chronos-bolt", None),
        outputs=("mean", "sequence"), default_output="mean",
        hub=tuple(HubFile(f"chronos-bolt-{s}", f"light-curve/chronos-bolt-{s}", f"chronos-bolt-{s}.onnx", s)
                  for s in ("tiny", "mini", "small", "base")),
        band_handling="series", value_kind="mag", default_reduction="end",
        sizes={"tiny": 256, "mini": 384, "small": 512, "base": 768}, takes_time=False,
    ),
    ModelFamily(
        kind="chronos2", title="Chronos 2", module="explorer.engine.series", class_name="Chronos2",
        interface=_series_interface("chronos2", None, 768),
        outputs=("mean", "sequence"), default_output="mean",
        hub=(HubFile("chronos2", "light-curve/chronos2", "chronos2.onnx"),),
        band_handling="series", value_kind="mag", default_reduction="end", takes_time=False,
    ),
)

FAMILIES: dict[str, ModelFamily] = {f.kind: f for f in _FAMILY_LIST}


def family(kind: str) -> ModelFamily:
    """The family of a kind name; ModelError listing the known kinds otherwise."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise ModelError(f"unknown model kind {kind!r}; expected one of {', '.join(FAMILIES)}") from None


def kinds() -> tuple[str, ...]:
    """Every family kind, in registry order (store kinds, CLI choices)."""
    return tuple(FAMILIES)


def outputs_for(kind: str | None) -> tuple[str, ...]:
    """Outputs of a kind that give one vector per object (dashboard dropdown); every such output for None."""
    if kind is None or kind not in FAMILIES:
        return tuple(dict.fromkeys(o for f in FAMILIES.values() for o in f.map_outputs))
    return FAMILIES[kind].map_outputs


def map_outputs_for(kind: str | None) -> tuple[str, ...]:
    """Alias of ``outputs_for`` (outputs usable for a map)."""
    return outputs_for(kind)


def default_output(kind: str | None) -> str:
    """The default output of a kind ("mean" when the kind is unknown)."""
    return FAMILIES[kind].default_output if kind in FAMILIES else "mean"


def hub_aliases() -> dict[str, tuple[ModelFamily, HubFile]]:
    """Hub alias -> (family, file), for every file of every family."""
    return {h.alias: (f, h) for f in FAMILIES.values() for h in f.hub}


def default_band_groups(labels, kind: str = "atcat") -> dict:
    """Model band of each label for multiband family ``kind`` (its usual labels, or channel numbers); else ModelError."""
    fam = family(kind)
    if fam.band_handling != "multi":
        raise ModelError(f"{fam.title} is not a multiband model: it has no band groups")
    labels = [str(b) for b in labels]
    known = fam.default_bands or {}
    if labels and all(b in known for b in labels):
        return {b: known[b] for b in labels}
    if all(b.isdigit() and int(b) < fam.n_model_bands for b in labels):
        return {b: int(b) for b in labels}
    example = ", ".join(f"{k!r}: {v}" for k, v in list(known.items())[:2])
    raise ModelError(
        f"{fam.title} needs band_groups for bands {', '.join(labels)}: map each label to a model band "
        f"0-{fam.n_model_bands - 1}, e.g. band_groups={{{example}}}"
    )
