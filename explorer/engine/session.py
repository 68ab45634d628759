"""onnxruntime sessions: explicit options, one session per (process, file, options), reused.

``OnnxModel`` is a loaded model file: its session, its checked interface and its identity
(name, kind, origin, sha256) used for provenance and cache keys.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.engine.interfaces import INTERFACES, ModelInterface, check_interface, detect_kind
from explorer.errors import ModelError

__all__ = ["SessionOptions", "resolve_options", "default_spinning", "SPINNING_ENV", "get_session", "clear_sessions",
           "file_sha256", "OnnxModel"]

_PROVIDER_ALIASES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "gpu": "CUDAExecutionProvider"}


@dataclass(frozen=True)
class SessionOptions:
    """Session settings that define a distinct session (part of the session cache key)."""

    intra_threads: int
    inter_threads: int = 1
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    # CUDA only: TF32 matrix products (onnxruntime's CUDA default) change embeddings by ~1e-2, so the
    # default here is exact float32 (use_tf32=0); fast_math=True opts in
    fast_math: bool = False
    # onnxruntime's intra-op threads spin (busy-wait) for work between ops unless told not to; off here
    # by default (resolve_options): measured with benchmarks/bench_engine.py --ceiling, see
    # benchmarks/README.md. Exact either way (the same kernels run), so not part of the model identity.
    spinning: bool = False

    @property
    def uses_cuda(self) -> bool:
        """True when the CUDA provider runs the graph."""
        return "CUDAExecutionProvider" in self.providers

    def ort_providers(self) -> list:
        """Providers with their options for onnxruntime.InferenceSession (CUDA: use_tf32 from fast_math)."""
        return [(name, {"use_tf32": "1" if self.fast_math else "0"}) if name == "CUDAExecutionProvider" else name
                for name in self.providers]

    @property
    def numerics_tag(self) -> str:
        """Suffix of the model identity (cache keys): "" on the CPU, "+cuda" exact, "+cuda-tf32" fast math."""
        if not self.uses_cuda:
            return ""
        return "+cuda-tf32" if self.fast_math else "+cuda"

    def to_ort(self):
        """The onnxruntime.SessionOptions equivalent (sequential execution, all graph optimisations)."""
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.intra_threads
        so.inter_op_num_threads = self.inter_threads
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        return so


SPINNING_ENV = "LCEXPLORER_ORT_SPINNING"


def default_spinning() -> bool:
    """``$LCEXPLORER_ORT_SPINNING`` ("1" / "0"; default "0": intra-op threads sleep between ops)."""
    value = os.environ.get(SPINNING_ENV, "0").strip()
    if value not in ("0", "1"):
        raise ModelError(f"{SPINNING_ENV} must be 0 or 1, got {value!r}")
    return value == "1"


def resolve_options(threads=None, inter_threads=None, providers=None, fast_math=False,
                    spinning=None) -> SessionOptions:
    """Validate and fill defaults: intra threads = os.cpu_count(), inter = 1, CPU provider.

    ``providers`` may name "cpu", "cuda" or onnxruntime provider names; CUDA asked for but not
    available raises ModelError (CPU is appended as fallback when CUDA is available).
    ``fast_math=True`` lets CUDA use TF32 (refused without CUDA: it would silently change nothing).
    ``spinning``: onnxruntime's intra-op thread spinning; None: :func:`default_spinning`. Spinning
    threads keep their cores busy between ops: on a shared machine (the served app's event loop and
    worker, other processes) that CPU is taken from others, for no gain at the engine's batch sizes.
    """
    import onnxruntime as ort

    intra = (os.cpu_count() or 1) if threads is None else threads
    inter = 1 if inter_threads is None else inter_threads
    for label, value in (("threads", intra), ("inter_threads", inter)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ModelError(f"{label} must be a positive integer, got {value!r}")
    if providers is None:
        names = ["CPUExecutionProvider"]
    else:
        if isinstance(providers, str):
            providers = [p for p in providers.split(",") if p.strip()]
        names = [_PROVIDER_ALIASES.get(p.strip().lower(), p.strip()) for p in providers]
    available = ort.get_available_providers()
    for name in names:
        if name not in available:
            if name == "CUDAExecutionProvider":
                raise ModelError(
                    "CUDA was asked for but onnxruntime has no CUDAExecutionProvider here "
                    f"(available: {', '.join(available)}); install onnxruntime-gpu with a matching CUDA, "
                    "or run on the CPU (providers='cpu')"
                )
            raise ModelError(f"execution provider {name!r} is not available (available: {', '.join(available)})")
    if "CPUExecutionProvider" not in names:
        names.append("CPUExecutionProvider")
    if not isinstance(fast_math, bool):
        raise ModelError(f"fast_math must be True or False, got {fast_math!r}")
    if fast_math and "CUDAExecutionProvider" not in names:
        raise ModelError("fast_math=True only changes CUDA sessions (TF32); add providers='cuda'")
    spinning = default_spinning() if spinning is None else spinning
    if not isinstance(spinning, bool):
        raise ModelError(f"spinning must be True or False, got {spinning!r}")
    return SessionOptions(int(intra), int(inter), tuple(names), fast_math, spinning)


_SESSIONS: dict = {}
_LOCK = threading.Lock()


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def get_session(path, options: SessionOptions):
    """The process-wide session for (file, mtime, size, options); created on first use."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"ONNX model file not found: {path}")
    key = (_file_key(path), options)
    with _LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            try:
                session = ort.InferenceSession(str(path), sess_options=options.to_ort(),
                                               providers=options.ort_providers())
            except Exception as exc:  # onnxruntime raises its own exception types
                raise ModelError(f"onnxruntime cannot load {path}: {exc}") from exc
            _SESSIONS[key] = session
        return session


def clear_sessions() -> None:
    """Forget every cached session (tests, or to free memory)."""
    with _LOCK:
        _SESSIONS.clear()


_SHA_CACHE: dict = {}


def file_sha256(path) -> str:
    """sha256 hex of a file, memoised by (path, mtime, size)."""
    path = Path(path)
    key = _file_key(path)
    digest = _SHA_CACHE.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = _SHA_CACHE[key] = h.hexdigest()
    return digest


@dataclass
class OnnxModel:
    """A loaded, interface-checked model file and its session."""

    path: Path | None
    name: str
    kind: str
    origin: str                      # "hub", "store", "path" or "session"
    session: object
    options: SessionOptions | None = None
    card: dict = field(default_factory=dict)
    quantized: bool = False
    source_sha256: str | None = None  # sha of the file the model came from (before int8 quantisation)

    @property
    def interface(self) -> ModelInterface:
        """The public interface of this model's family."""
        return INTERFACES[self.kind]

    @property
    def sha256(self) -> str | None:
        """Identity for caches: the source file's sha256 (suffixed ``+int8`` when quantised, and by the
        CUDA numerics, ``+cuda`` or ``+cuda-tf32``, since they change the numbers; CPU: no suffix)."""
        if self.source_sha256 is None and self.path is not None:
            self.source_sha256 = file_sha256(self.path)
        if self.source_sha256 is None:
            return None
        tag = self.options.numerics_tag if self.options is not None else ""
        return self.source_sha256 + ("+int8" if self.quantized else "") + tag

    def input_dtype(self, name: str) -> np.dtype:
        """numpy dtype the session wants for input ``name``."""
        from explorer.engine.interfaces import ORT_TYPES

        for arg in self.session.get_inputs():
            if arg.name == name:
                return ORT_TYPES[arg.type]
        raise ModelError(f"model {self.name} has no input {name!r}")

    @classmethod
    def from_session(cls, session, kind: str | None = None, name: str | None = None) -> "OnnxModel":
        """Wrap an existing onnxruntime session (e.g. one made by light_curve); the interface is checked."""
        kind = kind or detect_kind(session)
        if kind not in INTERFACES:
            raise ModelError(
                "cannot tell the model family of this session from its inputs "
                f"({', '.join(a.name for a in session.get_inputs())}); pass kind='astromer1', 'astromer2' or 'atcat'"
            )
        model_path = getattr(session, "_model_path", None)
        path = Path(model_path) if model_path and Path(model_path).is_file() else None
        label = name or (str(path) if path else "<session>")
        check_interface(session, INTERFACES[kind], label)
        return cls(path=path, name=label, kind=kind, origin="session", session=session)

    def describe(self) -> dict:
        """Provenance for result metadata."""
        return {
            "model": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "path": str(self.path) if self.path else None,
            "sha256": self.sha256,
            "quantized": self.quantized,
            "providers": list(self.options.providers) if self.options else None,
            "threads": self.options.intra_threads if self.options else None,
            "fast_math": self.options.fast_math if self.options else None,
        }
