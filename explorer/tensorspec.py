"""Tensor and interface descriptions, and the check run on every model load (no family knowledge here).

Below the engine and the family registry (``explorer.engine.spec`` re-exports it).

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

__all__ = ["TensorSpec", "ModelInterface", "check_interface", "interface_problems", "ORT_TYPES", "F32", "FLOAT"]

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
    seq_len: int | None     # positions per window (None: a free context length)
    dim: int | None         # embedding size (None: set by the model size)
    # True when the file's single output may have any name (light_curve runs it as "the" output)
    anonymous_output: bool = False

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


F32 = ("tensor(float)",)
# files shipped in float32 and float16 precision: the float inputs may be either
FLOAT = ("tensor(float)", "tensor(float16)")


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
    if interface.anonymous_output:
        if len(outputs) != 1:
            problems.append(f"expected exactly one output ({interface.outputs[0].describe()}), got {len(outputs)}")
        else:
            problems += _compare(interface.outputs[0], next(iter(outputs.values())), "output")
        return problems
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
