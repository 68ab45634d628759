"""The public ONNX interfaces of the supported model families, and the check run on every load.

An interface lists each input and output with its name, element type and shape; a shape entry is an
int for a fixed dimension or ``None`` for a free one (the batch). A model file matches when it has
every named input and output with the same element type, the same rank, and, where both the file
and the interface fix a dimension, the same size. Extra outputs in the file are allowed; extra inputs
are not (the engine would not know what to feed them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.errors import ModelError

__all__ = [
    "TensorSpec",
    "ModelInterface",
    "ASTROMER1",
    "ASTROMER2",
    "ATCAT_INTERFACE",
    "INTERFACES",
    "check_interface",
    "interface_problems",
    "detect_kind",
    "ORT_TYPES",
]

# onnxruntime NodeArg.type strings -> numpy dtypes
ORT_TYPES = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32),
    "tensor(bool)": np.dtype(np.bool_),
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: name, accepted element types (ORT type strings) and shape (None = free)."""

    name: str
    types: tuple[str, ...]
    shape: tuple[int | None, ...]

    def describe(self) -> str:
        """Human-readable form, e.g. ``input float32 [batch, 200, 1]``."""
        dims = ", ".join("batch" if d is None else str(d) for d in self.shape)
        return f"{self.name} {'|'.join(ORT_TYPES[t].name for t in self.types)} [{dims}]"


@dataclass(frozen=True)
class ModelInterface:
    """The inputs and outputs a model family's ONNX file must have."""

    kind: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    seq_len: int
    dim: int

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the embedding outputs."""
        return tuple(o.name for o in self.outputs)

    def output_spec(self, name: str) -> TensorSpec:
        """The spec of output ``name``; ModelError listing the valid names otherwise."""
        for spec in self.outputs:
            if spec.name == name:
                return spec
        raise ModelError(
            f"unknown output {name!r} for a {self.kind} model; expected one of: {', '.join(self.output_names)}"
        )


_F32 = ("tensor(float)",)


def _astromer(kind: str) -> ModelInterface:
    seq, dim = 200, 256
    return ModelInterface(
        kind=kind,
        inputs=(
            TensorSpec("input", _F32, (None, seq, 1)),
            TensorSpec("times", _F32, (None, seq, 1)),
            TensorSpec("mask_in", _F32, (None, seq, 1)),
        ),
        outputs=(
            TensorSpec("mean", _F32, (None, dim)),
            TensorSpec("max", _F32, (None, dim)),
            TensorSpec("sequence", _F32, (None, seq, dim)),
        ),
        seq_len=seq,
        dim=dim,
    )


ASTROMER1 = _astromer("astromer1")
ASTROMER2 = _astromer("astromer2")

# The Hub ships atcat_f32.onnx and atcat_fp16.onnx: the float inputs may be either precision.
_FLOAT = ("tensor(float)", "tensor(float16)")
ATCAT_INTERFACE = ModelInterface(
    kind="atcat",
    inputs=(
        TensorSpec("flux", _FLOAT, (None, 243)),
        TensorSpec("flux_err", _FLOAT, (None, 243)),
        TensorSpec("time", _FLOAT, (None, 243)),
        TensorSpec("mask", ("tensor(bool)",), (None, 243)),
        TensorSpec("channel_index", ("tensor(int64)",), (None, 243)),
    ),
    outputs=(
        TensorSpec("last", _FLOAT, (None, 384)),
        TensorSpec("mean", _FLOAT, (None, 384)),
        TensorSpec("sequence", _FLOAT, (None, 243, 384)),
    ),
    seq_len=243,
    dim=384,
)

INTERFACES = {"astromer1": ASTROMER1, "astromer2": ASTROMER2, "atcat": ATCAT_INTERFACE}


def _fixed(dim) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def _compare(spec: TensorSpec, arg, role: str) -> list[str]:
    problems = []
    if arg.type not in spec.types:
        got = ORT_TYPES[arg.type].name if arg.type in ORT_TYPES else arg.type
        problems.append(f"{role} {spec.name!r} has type {got}, expected {spec.describe()}")
    shape = list(arg.shape) if arg.shape is not None else None
    if shape is None:
        return problems
    if len(shape) != len(spec.shape):
        problems.append(f"{role} {spec.name!r} has rank {len(shape)} {shape}, expected {spec.describe()}")
        return problems
    for axis, (want, have) in enumerate(zip(spec.shape, shape)):
        if want is not None and _fixed(have) is not None and have != want:
            problems.append(
                f"{role} {spec.name!r} has size {have} on axis {axis}, expected {want} ({spec.describe()})"
            )
    return problems


def interface_problems(session, interface: ModelInterface) -> list[str]:
    """Every difference between an onnxruntime session's inputs/outputs and ``interface``."""
    problems = []
    inputs = {a.name: a for a in session.get_inputs()}
    outputs = {a.name: a for a in session.get_outputs()}
    for spec in interface.inputs:
        if spec.name not in inputs:
            problems.append(f"missing input {spec.name!r} ({spec.describe()})")
        else:
            problems += _compare(spec, inputs[spec.name], "input")
    expected_inputs = {s.name for s in interface.inputs}
    for name in inputs:
        if name not in expected_inputs:
            problems.append(f"unexpected input {name!r} (a {interface.kind} model has inputs "
                            f"{', '.join(sorted(expected_inputs))})")
    for spec in interface.outputs:
        if spec.name not in outputs:
            problems.append(f"missing output {spec.name!r} ({spec.describe()})")
        else:
            problems += _compare(spec, outputs[spec.name], "output")
    return problems


def check_interface(session, interface: ModelInterface, source: str) -> None:
    """Raise ModelError naming every input/output of ``source`` that differs from ``interface``."""
    problems = interface_problems(session, interface)
    if problems:
        raise ModelError(
            f"{source} does not have the public {interface.kind} ONNX interface:\n  - " + "\n  - ".join(problems)
        )


def detect_kind(session) -> str | None:
    """Guess the family from the input names (Astromer 1 and 2 share one interface: astromer1 is returned)."""
    names = {a.name for a in session.get_inputs()}
    if names == {s.name for s in ATCAT_INTERFACE.inputs}:
        return "atcat"
    if names == {s.name for s in ASTROMER1.inputs}:
        return "astromer1"
    return None
