"""Reader for Keras 2 "legacy" HDF5 weight files (``model.save_weights("weights.h5")``), as in atlas.zip.

The encoder's weights are read by position in its ``weight_names`` attribute (spec section 2.5):
variable names carry Keras' per-session counters (``dense_1``, ``dense_3``...), so they are only used
to check that each position holds the expected kind of weight (kernel, bias, gamma, beta).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.convert.config import ModelSpec, check_shapes
from explorer.errors import ConversionError

__all__ = ["read_h5_layers", "map_h5_encoder", "is_hdf5"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: Path) -> bool:
    """True when the file starts with the HDF5 signature."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == _HDF5_SIGNATURE
    except OSError:
        return False


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_h5_layers(path: str | Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Layer name -> ordered list of (weight name, array) from a Keras HDF5 weights file."""
    import h5py

    path = Path(path)
    if not is_hdf5(path):
        raise ConversionError(f"{path} is not an HDF5 file")
    try:
        with h5py.File(path, "r") as fh:
            root = fh["model_weights"] if "model_weights" in fh else fh
            if "layer_names" not in root.attrs:
                raise ConversionError(f"{path} is HDF5 but not a Keras weights file (no 'layer_names' attribute)")
            layers = {}
            for layer in (_text(n) for n in root.attrs["layer_names"]):
                group = root[layer]
                names = [_text(n) for n in group.attrs.get("weight_names", [])]
                try:
                    layers[layer] = [(n, np.asarray(group[n], dtype=np.float32)) for n in names]
                except KeyError as exc:
                    raise ConversionError(f"{path}: layer {layer!r} lists a weight that is missing: {exc}") from None
            return layers
    except OSError as exc:
        raise ConversionError(f"cannot read HDF5 file {path}: {exc}") from None


def _encoder_roles(spec: ModelSpec) -> list[str]:
    roles = ["inp/kernel", "inp/bias"]
    for layer in range(spec.num_layers):
        for proj in ("wq", "wk", "wv", "wo", "ffn1", "ffn2"):
            roles += [f"{layer}/{proj}/kernel", f"{layer}/{proj}/bias"]
        for ln in ("ln1", "ln2"):
            roles += [f"{layer}/{ln}/gamma", f"{layer}/{ln}/beta"]
    return roles


def map_h5_encoder(layers: dict[str, list[tuple[str, np.ndarray]]], spec: ModelSpec, source: str) -> dict[str, np.ndarray]:
    """The ``encoder`` layer's weights -> canonical roles; refuses wrong counts, kinds and shapes."""
    if spec.nsp or spec.family != "astromer-v1":
        raise ConversionError(f"{source}: Keras HDF5 weights are only supported for Astromer v1 models")
    if "encoder" not in layers:
        raise ConversionError(f"{source}: no 'encoder' layer (layers: {', '.join(layers) or 'none'})")
    weights = layers["encoder"]
    roles = _encoder_roles(spec)
    if len(weights) != len(roles):
        raise ConversionError(
            f"{source}: layer 'encoder' has {len(weights)} weights, a {spec.num_layers}-block v1 encoder has {len(roles)}"
        )
    out, names = {}, {}
    for role, (name, array) in zip(roles, weights):
        kind = role.rsplit("/", 1)[1]
        if name.rsplit("/", 1)[-1].split(":")[0] != kind:
            raise ConversionError(f"{source}: encoder weight {name!r} is at the position of a {kind} ({role})")
        out[role] = np.ascontiguousarray(array, dtype=np.float32)
        names[role] = name
    check_shapes(out, spec, source, names)
    return out
