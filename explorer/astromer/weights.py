"""Astromer weights in memory: read from original checkpoints, from store models and from our own saved folders.

One ``AstromerWeights`` holds the encoder's weights under the converter's canonical roles
(``inp/kernel``, ``0/wq/kernel``, ...; Keras layout, kernels [in, out]), the pre-training head
(``head/ln/gamma``, ``head/ln/beta``, ``head/reg/kernel``, ``head/reg/bias``) when known, and the
converter's ``ModelSpec``. The ONNX graph of the weights comes from the converter's own builder
(``explorer.convert.graph.build_model``), so inference has one architecture definition.

Checkpoints are read through the converter's private helpers (``_is_archive``, ``_extracted``,
``_locate``, ``_convert_located``): the converter has no public "weights of this source" function.
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from explorer.convert.config import ModelSpec, expected_shapes
from explorer.errors import ConversionError, ModelError

__all__ = ["AstromerWeights", "read_checkpoint_weights", "weights_from_store", "weights_from_onnx", "spec_from_card", "WEIGHTS_FILE",
           "META_FILE", "HEAD_ROLES", "is_saved_weights"]

WEIGHTS_FILE = "weights.npz"
META_FILE = "astromer.json"
FORMAT = "lcexplorer-astromer-weights"
HEAD_ROLES = ("head/ln/gamma", "head/ln/beta", "head/reg/kernel", "head/reg/bias")
# Keras LayerNormalization default; the v1 regression head (RegLayer.bn_0) is built with it.
HEAD_LN_EPS = 1e-3


@dataclass
class AstromerWeights:
    """Encoder weights (canonical roles), the pre-training head (or None) and the architecture."""

    spec: ModelSpec
    encoder: dict[str, np.ndarray]
    head: dict[str, np.ndarray] | None = None
    source: str = ""
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        shapes = expected_shapes(self.spec)
        missing = sorted(set(shapes) - set(self.encoder))
        if missing:
            raise ModelError(f"weights from {self.source or 'memory'} lack the encoder roles {', '.join(missing)}")
        bad = [f"{r}: {list(self.encoder[r].shape)} != {list(s)}" for r, s in shapes.items()
               if tuple(self.encoder[r].shape) != s]
        if bad:
            raise ModelError(f"weights from {self.source or 'memory'} have wrong shapes: " + "; ".join(bad))
        self.encoder = {k: np.ascontiguousarray(self.encoder[k], np.float32) for k in shapes}
        if self.head is not None:
            d = self.spec.d_model
            want = {"head/ln/gamma": (d,), "head/ln/beta": (d,), "head/reg/kernel": (d, 1), "head/reg/bias": (1,)}
            bad = [f"{r}: {list(self.head[r].shape) if r in self.head else 'missing'} != {list(s)}"
                   for r, s in want.items() if r not in self.head or tuple(self.head[r].shape) != s]
            if bad:
                raise ModelError(f"pre-training head from {self.source or 'memory'} is malformed: " + "; ".join(bad))
            self.head = {k: np.ascontiguousarray(self.head[k], np.float32) for k in HEAD_ROLES}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by role (encoder, then head when present)."""
        out = dict(self.encoder)
        if self.head is not None:
            out.update(self.head)
        return out

    def sha256(self) -> str:
        """Digest of the architecture and every array's bytes (identity for caches and cards)."""
        h = hashlib.sha256(json.dumps(self.spec.summary(), sort_keys=True).encode())
        for role, arr in sorted(self.arrays().items()):
            h.update(role.encode())
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
        return h.hexdigest()

    def to_onnx(self, *, attention: str = "contrib", metadata: dict | None = None, doc: str = ""):
        """The ONNX model (public astromer1 interface) built by the converter's graph builder."""
        from explorer.convert.graph import build_model

        meta = {"lcexplorer.kind": "astromer1", "lcexplorer.family": self.spec.family,
                "lcexplorer.weights_sha256": self.sha256()}
        meta.update(metadata or {})
        return build_model(self.encoder, self.spec, attention=attention, doc=doc, metadata=meta)

    def save(self, folder: str | Path, *, extra: dict | None = None) -> Path:
        """Write ``weights.npz`` (raw float32 arrays, uncompressed) and ``astromer.json`` into ``folder``."""
        from explorer.atomic import atomic_path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a bare temp name
                np.savez(fh, **{k.replace("/", "."): v for k, v in self.arrays().items()})
        meta = {"format": FORMAT, "version": 1, "architecture": self.spec.summary(), "config": self.spec.config,
                "source": self.source, "provenance": self.provenance, "weights_sha256": self.sha256(),
                "has_head": self.head is not None}
        meta.update(extra or {})
        with atomic_path(folder / META_FILE) as tmp:
            Path(tmp).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "AstromerWeights":
        """Read a folder written by :meth:`save`; ModelError naming the file when it is not one."""
        folder = Path(folder)
        meta_path, npz_path = folder / META_FILE, folder / WEIGHTS_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {meta_path}: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelError(f"{meta_path} is not an lcexplorer Astromer weights description (format {FORMAT!r})")
        spec = spec_from_card({"architecture": meta.get("architecture"), "config": meta.get("config")}, str(meta_path))
        try:
            with np.load(npz_path, allow_pickle=False) as z:
                arrays = {k.replace(".", "/"): z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {npz_path}: {exc}") from None
        head = {k: arrays.pop(k) for k in HEAD_ROLES if k in arrays} or None
        weights = cls(spec, arrays, head, source=str(folder), provenance=dict(meta.get("provenance") or {}))
        digest = meta.get("weights_sha256")
        if digest and digest != weights.sha256():
            raise ModelError(f"{npz_path} does not match the digest recorded in {meta_path} (file changed or corrupt)")
        return weights


def is_saved_weights(folder: str | Path) -> bool:
    """True when ``folder`` holds weights written by :meth:`AstromerWeights.save`."""
    folder = Path(folder)
    return folder.is_dir() and (folder / META_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def spec_from_card(card: dict, where: str = "model card") -> ModelSpec:
    """The ModelSpec recorded in a store card's (or weights file's) ``architecture``."""
    arch = card.get("architecture") if isinstance(card, dict) else None
    if not isinstance(arch, dict):
        raise ModelError(f"{where} has no 'architecture' section: cannot rebuild the Astromer encoder from it")
    names = {f.name for f in fields(ModelSpec)} - {"config"}
    missing = sorted(n for n in names if n not in arch and n not in ("nsp", "attention_mask", "ln_eps", "window"))
    if missing:
        raise ModelError(f"{where}: architecture lacks {', '.join(missing)}")
    values = {k: arch[k] for k in names if k in arch}
    return ModelSpec(**values, config=dict(card.get("config") or {}))


# --------------------------------------------------------------------------------------------------
# original checkpoints (through the converter's readers)

@contextmanager
def _located(source: Path):
    """Yield (kind, target, root, shown) for an archive, folder, TF2 prefix or HDF5 file."""
    from explorer.convert import importer
    from explorer.convert.keras_h5 import is_hdf5

    if importer._is_archive(source):
        with importer._extracted(source) as folder:
            kind, target = importer._locate(folder, source.name)
            yield kind, target, folder, source.name
        return
    if source.is_dir():
        kind, target = importer._locate(source, str(source))
        yield kind, target, source, str(source)
        return
    if source.is_file() and is_hdf5(source):
        yield "h5", source, source.parent, str(source.parent)
        return
    if source.suffix == ".index" or Path(str(source) + ".index").exists():
        prefix = source.with_suffix("") if source.suffix == ".index" else source
        yield "tf", prefix, prefix.parent, str(prefix.parent)
        return
    raise ConversionError(
        f"{source} is not an Astromer checkpoint: expected a .zip/.tar.gz archive, a folder, a TF2 checkpoint "
        "(PREFIX.index + PREFIX.data-*) or a Keras .h5 weights file"
    )


def _head_from_tf(target: Path, label: str) -> dict[str, np.ndarray] | None:
    from explorer.convert.tfckpt import read_checkpoint

    variables = read_checkpoint(target).variables()
    names = {"head/ln/gamma": "layer_with_weights-1/bn_0/gamma", "head/ln/beta": "layer_with_weights-1/bn_0/beta",
             "head/reg/kernel": "layer_with_weights-1/reg_layer/kernel",
             "head/reg/bias": "layer_with_weights-1/reg_layer/bias"}
    if not all(n in variables for n in names.values()):
        return None
    return {role: np.asarray(variables[n], np.float32) for role, n in names.items()}


def _head_from_h5(target: Path, label: str) -> dict[str, np.ndarray] | None:
    from explorer.convert.keras_h5 import read_h5_layers

    layer = read_h5_layers(target).get("regression")
    if not layer:
        return None
    head = {}
    for name, arr in layer:
        kind = name.rsplit("/", 1)[-1].split(":")[0]
        role = {"gamma": "head/ln/gamma", "beta": "head/ln/beta", "kernel": "head/reg/kernel", "bias": "head/reg/bias"}.get(kind)
        if role is None or role in head:
            raise ConversionError(f"{label}: unexpected weight {name!r} in the 'regression' layer")
        head[role] = np.asarray(arr, np.float32)
    return head if len(head) == 4 else None


def read_checkpoint_weights(source: str | Path, *, config: str | Path | None = None) -> AstromerWeights:
    """Weights of an original Astromer checkpoint (archive, folder, TF2 prefix, Keras .h5) or of a saved folder."""
    from explorer.convert import importer
    from explorer.engine.session import file_sha256

    source = Path(source)
    if is_saved_weights(source):
        return AstromerWeights.load(source)
    if not source.exists() and not Path(str(source) + ".index").exists():
        raise ModelError(f"weights source {source} not found")
    cfg = Path(config) if config is not None else None
    with _located(source) as (kind, target, root, shown):
        spec, enc, fmt, wfile, cfile = importer._convert_located(kind, target, root, shown, cfg)
        head = _head_from_h5(target, wfile) if kind == "h5" else _head_from_tf(target, wfile)
    prov = {"source": str(source.resolve()), "file": source.name, "weights": wfile, "weights_format": fmt,
            "config_file": cfile, "source_sha256": file_sha256(source) if source.is_file() else None}
    return AstromerWeights(spec, enc, head, source=str(source), provenance=prov)


# --------------------------------------------------------------------------------------------------
# store models (ONNX files written by the converter's graph builder)

_INIT_RE = re.compile(r"^(?P<hint>.+)_(?P<n>\d+)$")


def weights_from_onnx(path: str | Path, card: dict, label: str) -> AstromerWeights:
    """Recover the encoder weights from the initializers of a converter-built ONNX file."""
    import onnx
    from onnx import numpy_helper

    spec = spec_from_card(card, label)
    if spec.nsp:
        raise ModelError(f"{label} is an NSP model (CLS + segment input): not supported by SingleBandEncoder")
    model = onnx.load(str(path))
    by_hint: dict[str, np.ndarray] = {}
    for init in model.graph.initializer:
        m = _INIT_RE.match(init.name)
        if m:
            by_hint.setdefault(m.group("hint"), numpy_helper.to_array(init))
    d = spec.d_model
    try:
        enc = {"inp/kernel": by_hint["kin"].reshape(1, d), "inp/bias": by_hint["bin"]}
        for layer in range(spec.num_layers):
            wqkv, bqkv = by_hint[f"l{layer}_wqkv"], by_hint[f"l{layer}_bqkv"]
            for i, proj in enumerate(("wq", "wk", "wv")):
                enc[f"{layer}/{proj}/kernel"] = wqkv[:, i * d:(i + 1) * d]
                enc[f"{layer}/{proj}/bias"] = bqkv[i * d:(i + 1) * d]
            for role, hint in (("wo/kernel", "wo"), ("wo/bias", "bo"), ("ffn1/kernel", "w1"), ("ffn1/bias", "b1"),
                               ("ffn2/kernel", "w2"), ("ffn2/bias", "b2"), ("ln1/gamma", "ln1_g"),
                               ("ln1/beta", "ln1_b"), ("ln2/gamma", "ln2_g"), ("ln2/beta", "ln2_b")):
                enc[f"{layer}/{role}"] = by_hint[f"l{layer}_{hint}"]
    except KeyError as exc:
        raise ModelError(f"{label} ({path}) was not built by the explorer's converter: no initializer {exc}") from None
    return AstromerWeights(spec, enc, None, source=str(path))


def weights_from_store(name: str) -> tuple[AstromerWeights, "object"]:
    """(weights, StoreEntry) of an installed Astromer model.

    The pre-training head is not in the ONNX file: it comes from the saved weights folder a
    fine-tuned card names, or from the original checkpoint the card names when it is still there
    with the same sha256; otherwise ``head`` is None.
    """
    from explorer.engine.session import file_sha256
    from explorer.store import get_entry

    entry = get_entry(name)
    if entry.kind not in ("astromer1", "astromer2"):
        raise ModelError(f"store model {name!r} is a {entry.kind} model, not an Astromer encoder")
    label = f"store model {name!r}"
    weights = weights_from_onnx(entry.onnx_path, entry.card, label)
    head = None
    folder = (entry.card.get("training") or {}).get("weights_folder")
    if folder and is_saved_weights(folder):
        saved = AstromerWeights.load(folder)
        if all(np.array_equal(saved.encoder[k], weights.encoder[k]) for k in weights.encoder):
            head = saved.head
    src = entry.card.get("source") or {}
    if head is None and src.get("path") and Path(src["path"]).is_file() and src.get("sha256"):
        if file_sha256(src["path"]) == src["sha256"]:
            try:
                original = read_checkpoint_weights(src["path"])
            except (ConversionError, ModelError):
                original = None
            if original is not None and all(np.array_equal(original.encoder[k], weights.encoder[k])
                                            for k in weights.encoder):
                head = original.head
    weights.head = None
    if head is not None:
        weights = AstromerWeights(weights.spec, weights.encoder, head, source=weights.source)
    weights.provenance = {"store_name": name, "onnx_sha256": file_sha256(entry.onnx_path),
                          "source": src.get("file"), "source_sha256": src.get("sha256")}
    return weights, entry
