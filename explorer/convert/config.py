"""Astromer checkpoint configurations: parse ``conf.json`` (v1) / ``config.toml`` (2023) into a ModelSpec,
map checkpoint variables to weight roles, and compute the positional-encoding frequency table.

Every key that could change the forward pass is either understood or refused: an unknown key or an
unsupported value raises ConversionError naming it (never a silently different model).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from explorer.errors import ConversionError

__all__ = [
    "ModelSpec",
    "load_config",
    "spec_from_config",
    "pe_rates",
    "map_tf_variables",
    "expected_shapes",
    "WINDOW",
]

WINDOW = 200  # the public interface's sequence length

# Keys that only steer training or data loading: they cannot change the encoder's forward pass.
_V1_TRAINING_KEYS = {
    "max_obs", "data", "p", "prefix", "batch_size", "epochs", "patience", "dropout", "lr", "no_train",
    "no_shuffle", "msk_frac", "rnd_frac", "same_frac", "exp_date", "repeat", "gpu", "base",
}
_V1_ARCH_KEYS = {"layers", "heads", "head_dim", "dff", "use_leak"}
_V2_TRAINING_KEYS = {
    "exp_name", "data", "checkpoint", "gpu", "debug", "dropout", "lr", "bs", "patience", "num_epochs",
    "probed", "rs", "nsp_prob", "rmse_factor", "same", "exp_date",
}
_V2_ARCH_KEYS = {"encoder_mode", "num_layers", "num_heads", "head_dim", "pe_dim", "pe_base", "pe_exp", "mixer",
                 "avg_layers", "window_size"}


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX graph builder needs to know about one Astromer encoder."""

    family: str  # "astromer-v1" (main-code v1.0) or "astromer-2023" (cridonoso/astromer @ b65fb8f)
    num_layers: int
    num_heads: int
    d_model: int
    ffn_dim: int
    pe_base: float
    pe_exp: float  # c in omega_i = 1 / base**(c * i / d_model)
    nsp: bool = False  # 2023 NSP model: CLS position + segment input (201 positions)
    attention_mask: str = "plus-one"  # "plus-one" (v1 quirk) or "none" (2023 code)
    ln_eps: float = 1e-6
    window: int = WINDOW
    config: dict = field(default_factory=dict, compare=False)

    @property
    def head_size(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.num_heads

    @property
    def positions(self) -> int:
        """Number of encoder positions (window plus the CLS position for NSP models)."""
        return self.window + (1 if self.nsp else 0)

    def summary(self) -> dict:
        """A JSON-ready description for the model card."""
        out = asdict(self)
        out.pop("config")
        return out


def _find_config(folder: Path) -> Path | None:
    for name in ("conf.json", "config.toml"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_config(path: str | Path) -> tuple[dict, Path]:
    """Load a config file, or find ``conf.json``/``config.toml`` in a folder (or its parent)."""
    path = Path(path)
    if path.is_dir():
        found = _find_config(path) or _find_config(path.parent)
        if found is None:
            raise ConversionError(f"no conf.json or config.toml found in {path} or {path.parent}")
        path = found
    if not path.is_file():
        raise ConversionError(f"config file {path} not found")
    try:
        if path.suffix == ".toml":
            with path.open("rb") as fh:
                cfg = tomllib.load(fh)
        else:
            cfg = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConversionError(f"cannot parse config {path}: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConversionError(f"config {path} is not a key/value mapping")
    return cfg, path


def _int(cfg: dict, key: str, where: str) -> int:
    if key not in cfg:
        raise ConversionError(f"config {where} lacks the key {key!r}")
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value <= 0:
        raise ConversionError(f"config {where}: {key} = {value!r} is not a positive integer")
    return int(value)


def _refuse_unknown(cfg: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(cfg) - known)
    if unknown:
        shown = ", ".join(f"{k} = {cfg[k]!r}" for k in unknown)
        raise ConversionError(
            f"config {where} has keys this converter does not know ({shown}); they might change the model, "
            "so it refuses rather than guess"
        )


def spec_from_config(cfg: dict, where: str = "config", *, nsp: bool | None = None) -> ModelSpec:
    """Build the ModelSpec from a parsed config; ``nsp`` comes from the weights for 2023 models."""
    if "head_dim" in cfg and "num_layers" not in cfg and "layers" in cfg:
        _refuse_unknown(cfg, _V1_TRAINING_KEYS | _V1_ARCH_KEYS, where)
        if cfg.get("use_leak", False) not in (False, 0):
            raise ConversionError(f"config {where}: use_leak = {cfg['use_leak']!r} is not supported (v1 models without leak only)")
        max_obs = cfg.get("max_obs", WINDOW)
        if max_obs != WINDOW:
            raise ConversionError(f"config {where}: max_obs = {max_obs!r}; the public interface needs {WINDOW}")
        d_model = _int(cfg, "head_dim", where)  # v1 stores d_model under head_dim
        heads = _int(cfg, "heads", where)
        if d_model % heads:
            raise ConversionError(f"config {where}: head_dim = {d_model} is not divisible by heads = {heads}")
        if nsp:
            raise ConversionError(f"config {where} describes an Astromer v1 model, but the weights have an NSP segment input")
        # v1 quirk (spec section 6): the encoder ignores `base` and always uses 10000 with c = 2.
        return ModelSpec(
            family="astromer-v1", num_layers=_int(cfg, "layers", where), num_heads=heads, d_model=d_model,
            ffn_dim=_int(cfg, "dff", where), pe_base=10000.0, pe_exp=2.0, nsp=False,
            attention_mask="plus-one", config=dict(cfg),
        )
    if "num_layers" in cfg:
        _refuse_unknown(cfg, _V2_TRAINING_KEYS | _V2_ARCH_KEYS, where)
        mode = cfg.get("encoder_mode", "normal")
        if mode != "normal":
            raise ConversionError(f"config {where}: encoder_mode = {mode!r} is not supported (only 'normal')")
        if cfg.get("avg_layers", False) not in (False, 0):
            raise ConversionError(f"config {where}: avg_layers = {cfg['avg_layers']!r} is not supported (only false)")
        window = cfg.get("window_size", WINDOW)
        if window != WINDOW:
            raise ConversionError(f"config {where}: window_size = {window!r}; the public interface needs {WINDOW}")
        heads = _int(cfg, "num_heads", where)
        d_model = heads * _int(cfg, "head_dim", where)
        pe_dim = cfg.get("pe_dim", d_model)
        if pe_dim != d_model:
            raise ConversionError(f"config {where}: pe_dim = {pe_dim!r} differs from num_heads*head_dim = {d_model}")
        cfg_nsp = "nsp_prob" in cfg
        if nsp is None:
            nsp = cfg_nsp
        elif nsp != cfg_nsp:
            raise ConversionError(
                f"config {where} {'has' if cfg_nsp else 'lacks'} nsp_prob, but the weights "
                f"{'have' if nsp else 'lack'} the NSP segment input"
            )
        return ModelSpec(
            family="astromer-2023", num_layers=_int(cfg, "num_layers", where), num_heads=heads, d_model=d_model,
            ffn_dim=_int(cfg, "mixer", where), pe_base=float(_int(cfg, "pe_base", where)),
            pe_exp=float(_int(cfg, "pe_exp", where)), nsp=bool(nsp), attention_mask="none", config=dict(cfg),
        )
    raise ConversionError(
        f"config {where} is not a known Astromer config (expected v1 keys layers/heads/head_dim/dff "
        f"or 2023 keys num_layers/num_heads/head_dim/mixer); keys: {', '.join(sorted(cfg)) or 'none'}"
    )


def pe_rates(spec: ModelSpec) -> np.ndarray:
    """The float32 frequency table omega_i = 1 / base**(c * i / d_model), i = 0..d_model-1.

    TensorFlow computed it with its vectorised float32 pow and reciprocal, which are not correctly
    rounded; that table cannot be reproduced from first principles portably (it depends on the CPU's
    approximate-reciprocal instruction). We use the correctly rounded value of the exact expression:
    it differs from TF's table by at most 2 ulp (114 of 256 entries for base 10000, c 2; 2 entries for
    the 2023 models), which moves the outputs by less than the reference tolerances (spec section 9).
    A power that overflows float32 gives omega = 0, as in TensorFlow.
    """
    d = spec.d_model
    exponent = (np.float32(spec.pe_exp) * np.arange(d, dtype=np.float32)) / np.float32(d)
    with np.errstate(over="ignore"):
        power = np.power(np.float64(spec.pe_base), exponent.astype(np.float64))
        rate = np.where(power > np.finfo(np.float32).max, 0.0, 1.0 / power)
    return rate.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Variable-name -> role map (spec section 3)

_ENC = "layer_with_weights-0/"
_HEAD = "layer_with_weights-1/"


def expected_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Canonical weight role -> expected shape."""
    d, f = spec.d_model, spec.ffn_dim
    shapes = {"inp/kernel": (2 if spec.nsp else 1, d), "inp/bias": (d,)}
    for layer in range(spec.num_layers):
        for proj in ("wq", "wk", "wv", "wo"):
            shapes[f"{layer}/{proj}/kernel"] = (d, d)
            shapes[f"{layer}/{proj}/bias"] = (d,)
        shapes[f"{layer}/ffn1/kernel"] = (d, f)
        shapes[f"{layer}/ffn1/bias"] = (f,)
        shapes[f"{layer}/ffn2/kernel"] = (f, d)
        shapes[f"{layer}/ffn2/bias"] = (d,)
        for ln in ("ln1", "ln2"):
            shapes[f"{layer}/{ln}/gamma"] = (d,)
            shapes[f"{layer}/{ln}/beta"] = (d,)
    return shapes


def _tf_names(spec: ModelSpec) -> dict[str, str]:
    """Canonical role -> checkpoint variable path."""
    ffn = ("layer_with_weights-0", "layer_with_weights-1") if spec.family == "astromer-v1" else ("layer_0", "layer_1")
    names = {"inp/kernel": _ENC + "inp_transform/kernel", "inp/bias": _ENC + "inp_transform/bias"}
    for layer in range(spec.num_layers):
        base = f"{_ENC}enc_layers/{layer}/"
        for proj, tf in (("wq", "mha/wq"), ("wk", "mha/wk"), ("wv", "mha/wv"), ("wo", "mha/dense"),
                         ("ffn1", f"ffn/{ffn[0]}"), ("ffn2", f"ffn/{ffn[1]}")):
            names[f"{layer}/{proj}/kernel"] = f"{base}{tf}/kernel"
            names[f"{layer}/{proj}/bias"] = f"{base}{tf}/bias"
        for ln in ("ln1", "ln2"):
            tf = "layernorm1" if ln == "ln1" else "layernorm2"
            names[f"{layer}/{ln}/gamma"] = f"{base}{tf}/gamma"
            names[f"{layer}/{ln}/beta"] = f"{base}{tf}/beta"
    return names


def _head_names(spec: ModelSpec) -> set[str]:
    """Pre-training head variables: present in the checkpoint, not part of the embedding."""
    names = {_HEAD + n for n in ("bn_0/gamma", "bn_0/beta", "reg_layer/kernel", "reg_layer/bias")}
    if spec.nsp:
        names |= {_HEAD + "clf_layer/kernel", _HEAD + "clf_layer/bias"}
    return names


def check_shapes(weights: dict[str, np.ndarray], spec: ModelSpec, source: str, names: dict[str, str] | None = None) -> None:
    """Raise ConversionError naming each variable whose shape differs from the config's."""
    problems = []
    for role, shape in expected_shapes(spec).items():
        got = tuple(weights[role].shape)
        if got != shape:
            label = names[role] if names else role
            problems.append(f"{label}: expected {list(shape)}, got {list(got)}")
    if problems:
        raise ConversionError(f"{source}: wrong variable shapes for this config: " + "; ".join(problems))


def map_tf_variables(variables: dict[str, np.ndarray], spec: ModelSpec, source: str) -> dict[str, np.ndarray]:
    """Checkpoint variables -> canonical roles; refuses missing/extra variables and wrong shapes."""
    names = _tf_names(spec)
    allowed = set(names.values()) | _head_names(spec)
    missing = sorted(set(names.values()) - set(variables))
    extra = sorted(set(variables) - allowed)
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing variables: " + ", ".join(missing))
        if extra:
            parts.append("unexpected variables: " + ", ".join(extra))
        raise ConversionError(f"{source} does not match a {spec.family} encoder with this config: " + "; ".join(parts))
    weights = {role: np.ascontiguousarray(variables[name], dtype=np.float32) for role, name in names.items()}
    bad_dtype = [names[r] for r in names if variables[names[r]].dtype != np.float32]
    if bad_dtype:
        raise ConversionError(f"{source}: variables are not float32: {', '.join(bad_dtype)}")
    check_shapes(weights, spec, source, names)
    return weights
