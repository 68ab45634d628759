"""Convert an Astromer checkpoint (archive, folder, TF2 prefix or Keras HDF5) and install it in the store.

``convert_checkpoint`` locates the weights and the config, reads them (refusing anything it does not
fully understand), and builds the ONNX model. ``import_checkpoint`` adds the reference check and
installs the model with its JSON card.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import onnx

from explorer.convert.config import ModelSpec, load_config, map_tf_variables, pe_rates, spec_from_config
from explorer.convert.graph import OPSET, build_model
from explorer.convert.keras_h5 import is_hdf5, map_h5_encoder, read_h5_layers
from explorer.engine.session import file_sha256
from explorer.convert.tfckpt import read_checkpoint
from explorer.convert.verify import (
    VerificationReport,
    find_reference,
    load_reference,
    verify_end_to_end,
    verify_tensors,
)
from explorer.errors import ConversionError, ModelError

__all__ = ["ConvertedModel", "convert_checkpoint", "import_checkpoint", "suggest_name", "CONVERTER_VERSION"]

CONVERTER_VERSION = "1.0"
_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


@dataclass
class ConvertedModel:
    """The result of a conversion: the ONNX model, what it is, and where it came from."""

    model: onnx.ModelProto
    spec: ModelSpec
    source: Path
    source_sha256: str | None
    weights_format: str  # "tf2-checkpoint" or "keras-hdf5"
    weights_file: str  # path inside the source
    config_file: str
    notes: list[str] = field(default_factory=list)

    def onnx_bytes(self) -> bytes:
        """The serialized ONNX model."""
        return self.model.SerializeToString()


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(_ARCHIVE_SUFFIXES)


@contextmanager
def _extracted(path: Path):
    """Extract an archive into a temporary folder (refusing paths that escape it)."""
    tmp = Path(tempfile.mkdtemp(prefix="lcx-convert-"))
    try:
        if path.name.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(path) as zf:
                    for info in zf.infolist():
                        target = (tmp / info.filename).resolve()
                        if not str(target).startswith(str(tmp.resolve())):
                            raise ConversionError(f"{path}: archive member {info.filename!r} escapes the archive folder")
                    zf.extractall(tmp)
            except zipfile.BadZipFile as exc:
                raise ConversionError(f"{path} is not a valid zip archive: {exc}") from None
        else:
            try:
                with tarfile.open(path) as tf:
                    tf.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ConversionError(f"{path} is not a valid tar archive: {exc}") from None
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _locate(folder: Path, shown: str) -> tuple[str, Path]:
    """Find the one checkpoint in a folder tree: ("tf", prefix) or ("h5", file)."""
    indexes = sorted(p for p in folder.rglob("*.index") if "logs" not in p.relative_to(folder).parts)
    h5s = sorted(p for p in folder.rglob("*.h5") if "logs" not in p.relative_to(folder).parts)
    found = [("tf", p.with_suffix("")) for p in indexes] + [("h5", p) for p in h5s]
    if not found:
        raise ConversionError(
            f"{shown} holds no Astromer checkpoint (no PREFIX.index TF2 checkpoint and no Keras .h5 weights file)"
        )
    if len(found) > 1:
        listing = ", ".join(str(p.relative_to(folder)) for _, p in found)
        raise ConversionError(f"{shown} holds several checkpoints ({listing}); point at one of them")
    return found[0]


def _relative(path: Path, root: Path, shown: str) -> str:
    try:
        return f"{shown}:{path.relative_to(root)}"
    except ValueError:
        return str(path)


def _convert_located(kind: str, target: Path, root: Path, shown: str, config: Path | None) -> tuple:
    if config is None:
        cfg, cfg_path = load_config(target.parent)
    else:
        cfg, cfg_path = load_config(config)
    cfg_label = _relative(cfg_path, root, shown)
    if kind == "h5":
        spec = spec_from_config(cfg, cfg_label)
        weights = map_h5_encoder(read_h5_layers(target), spec, _relative(target, root, shown))
        return spec, weights, "keras-hdf5", _relative(target, root, shown), cfg_label
    ckpt = read_checkpoint(target)
    variables = ckpt.variables()
    label = _relative(target, root, shown)
    kin = variables.get("layer_with_weights-0/inp_transform/kernel")
    nsp = None
    if kin is not None and kin.ndim == 2 and "num_layers" in cfg:
        nsp = kin.shape[0] == 2  # the NSP segment id is the input kernel's second row
    spec = spec_from_config(cfg, cfg_label, nsp=nsp)
    weights = map_tf_variables(variables, spec, label)
    return spec, weights, "tf2-checkpoint", label, cfg_label


def _notes(spec: ModelSpec) -> list[str]:
    rate_note = (
        "positional-encoding rates: correctly rounded float32 1/base**(c*i/d); TensorFlow's own table "
        "differs by at most 2 ulp in some entries (base 10000, c 2: 114 of 256), within the reference tolerances"
    )
    if spec.family == "astromer-v1":
        return [
            "Astromer v1 encoder (astromer-science/main-code v1.0): PE base 10000 and c = 2 whatever the config's "
            "'base' says; attention scores get +1 where the query or key is padding; no residual connections; "
            "layer norms eps 1e-6; tanh feed-forward",
            rate_note,
        ]
    notes = [
        "2023 Astromer experiment (cridonoso/astromer @ b65fb8f): PE base pe_base and c = pe_exp as configured; "
        "no attention mask (padding is attended); no residual connections; layer norms eps 1e-6; tanh feed-forward",
        rate_note,
        "not the public astromer2 weights (pt_macho_v2_2025): outputs differ from the Hub astromer2.onnx",
    ]
    if spec.nsp:
        notes.append(
            "NSP model: the graph prepends a CLS position (magnitude -99, time 0, segment 0), gives segment 2 to "
            "the first 100 valid observations and 1 to the rest, and min-max scales times per window to [1, 2]; "
            "`sequence` holds positions 1..200 and the extra output `cls` the CLS position"
        )
    return notes


def convert_checkpoint(source: str | Path, *, config: str | Path | None = None, attention: str = "contrib") -> ConvertedModel:
    """Convert an Astromer checkpoint to an ONNX model with the public astromer1 interface.

    ``source``: a published .zip/.tar.gz archive, an extracted folder, a TF2 checkpoint prefix or
    ``.index`` file, or a Keras ``.h5`` weights file; ``config``: its ``conf.json``/``config.toml``
    when it is not beside the weights. Raises ConversionError for anything it cannot port faithfully.
    """
    source = Path(source)
    if not source.exists() and not Path(str(source) + ".index").exists():
        raise ConversionError(f"checkpoint source {source} not found")
    cfg_path = Path(config) if config is not None else None
    if _is_archive(source):
        with _extracted(source) as folder:
            kind, target = _locate(folder, source.name)
            spec, weights, fmt, wfile, cfile = _convert_located(kind, target, folder, source.name, cfg_path)
    elif source.is_dir():
        kind, target = _locate(source, str(source))
        spec, weights, fmt, wfile, cfile = _convert_located(kind, target, source, str(source), cfg_path)
    elif source.is_file() and is_hdf5(source):
        spec, weights, fmt, wfile, cfile = _convert_located("h5", source, source.parent, str(source.parent), cfg_path)
    elif source.suffix == ".index" or ".data-" in source.name or Path(str(source) + ".index").exists():
        prefix = source.with_suffix("") if source.suffix == ".index" else (
            source.with_name(source.name.split(".data-")[0]) if ".data-" in source.name else source
        )
        spec, weights, fmt, wfile, cfile = _convert_located("tf", prefix, prefix.parent, str(prefix.parent), cfg_path)
    else:
        raise ConversionError(
            f"{source} is not an Astromer checkpoint: expected a .zip/.tar.gz archive, a folder, a TF2 checkpoint "
            "(PREFIX.index + PREFIX.data-*) or a Keras .h5 weights file"
        )
    notes = _notes(spec)
    model = build_model(
        weights, spec, attention=attention, doc="; ".join(notes),
        metadata={"lcexplorer.kind": "astromer1", "lcexplorer.family": spec.family, "lcexplorer.converter": CONVERTER_VERSION,
                  "lcexplorer.source": source.name},
    )
    src_sha = file_sha256(source) if source.is_file() else None
    return ConvertedModel(model=model, spec=spec, source=source.resolve() if source.exists() else source,
                          source_sha256=src_sha, weights_format=fmt, weights_file=wfile, config_file=cfile, notes=notes)


def suggest_name(converted: ConvertedModel) -> str:
    """astromer1-<source stem> for v1 models; astromer-2023-<experiment> for the 2023 ones."""
    spec = converted.spec
    if spec.family == "astromer-v1":
        stem = converted.source.name
        for suffix in (".tar.gz", ".tgz", ".zip", ".tar", ".h5", ".index"):
            stem = stem.removesuffix(suffix)
        base = f"astromer1-{stem}"
    else:
        exp = str(spec.config.get("exp_name") or ("nsp" if spec.nsp else "model"))
        exp = exp.removeprefix("paper_") if exp != "paper" else exp  # paper -> paper, paper_nsp -> nsp
        base = f"astromer-2023-{exp}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "astromer-model"
    return name[:128]


def _card(converted: ConvertedModel, name: str, onnx_bytes: bytes, reports: list[VerificationReport]) -> dict:
    import explorer

    spec = converted.spec
    summary = spec.summary()
    summary["pe_rates_first"] = [float(v) for v in pe_rates(spec)[:4]]
    return {
        "name": name,
        "kind": "astromer1",  # interface family: the public astromer1 inputs/outputs
        "family": spec.family,
        "description": (
            "Astromer v1 encoder" if spec.family == "astromer-v1"
            else "2023 Astromer experiment with next-segment prediction (CLS + segment adapter in the graph)" if spec.nsp
            else "2023 Astromer experiment without next-segment prediction"
        ),
        "source": {
            "path": str(converted.source),
            "file": converted.source.name,
            "sha256": converted.source_sha256,
            "weights": converted.weights_file,
            "weights_format": converted.weights_format,
            "config_file": converted.config_file,
        },
        "config": spec.config,
        "architecture": summary,
        "onnx": {
            "opset": OPSET,
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "bytes": len(onnx_bytes),
            "inputs": ["input", "times", "mask_in"],
            "outputs": [o.name for o in converted.model.graph.output],
        },
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "converter": {"name": "explorer.convert", "version": CONVERTER_VERSION, "package_version": explorer.__version__},
        "verification": [r.to_dict() for r in reports] or None,
        "notes": converted.notes,
    }


def _engine_available() -> bool:
    try:
        from explorer.engine import Astromer1, load_model  # noqa: F401
    except ImportError:
        return False
    return True


def import_checkpoint(
    source: str | Path,
    name: str | None = None,
    *,
    overwrite: bool = False,
    config: str | Path | None = None,
    reference: str | Path | None = None,
    verify: bool = True,
    end_to_end: bool = True,
    progress=None,
):
    """Convert ``source``, check it against its reference outputs when available, install it in the store.

    The reference is ``reference`` or a ``<checkpoint stem>.npz`` found beside the checkpoints or in
    ../shared/models/reference. A model that misses the reference tolerances is refused (ConversionError).
    Returns the store's StoreEntry.
    """
    from explorer import store

    say = progress or (lambda msg: None)
    converted = convert_checkpoint(source, config=config)
    name = name or suggest_name(converted)
    store.validate_name(name)
    if not overwrite:
        try:
            existing = store.get_entry(name)
        except ModelError:
            existing = None
        if existing is not None:
            raise ModelError(f"model {name!r} is already installed at {existing.onnx_path}; use --overwrite to replace it")
    say(f"converted {converted.source.name}: {converted.spec.family}, {converted.weights_format}")
    onnx_bytes = converted.onnx_bytes()

    reports: list[VerificationReport] = []
    ref_path = Path(reference) if reference is not None else (find_reference(source) if verify else None)
    if reference is not None and not ref_path.is_file():
        raise ConversionError(f"reference file {ref_path} not found")
    if verify and ref_path is not None:
        ref = load_reference(ref_path)
        reports.append(verify_tensors(onnx_bytes, ref))
        say(str(reports[-1]))
    tmp_dir = Path(tempfile.mkdtemp(prefix="lcx-onnx-"))
    try:
        onnx_path = tmp_dir / "model.onnx"
        onnx_path.write_bytes(onnx_bytes)
        if verify and ref_path is not None and end_to_end and _engine_available():
            reports.append(verify_end_to_end(onnx_path, ref))
            say(str(reports[-1]))
        failed = [r for r in reports if not r.passed]
        if failed:
            raise ConversionError(
                f"converted model does not reproduce {ref_path.name}: " + "; ".join("; ".join(r.failures()) for r in failed)
            )
        card = _card(converted, name, onnx_bytes, reports)
        return store.install_model(name, onnx_path, card, overwrite=overwrite)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        try:
            from explorer.engine.session import clear_sessions

            clear_sessions()  # the temporary file's session must not linger in the engine's cache
        except ImportError:
            pass
