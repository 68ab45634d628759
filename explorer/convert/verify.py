"""Check a converted model against the reference outputs of the original code (``reference/*.npz``).

Two paths:
- ``verify_tensors``: feed the reference's prepared interface tensors to the ONNX file;
- ``verify_end_to_end``: start from the raw light curves stored in the npz and go through the
  explorer's engine (its preprocessing, non-overlapping windows, session), comparing per window.
Tolerances are the spec's (ASTROMER-FORMAT.md section 9).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from explorer.errors import ConversionError

__all__ = [
    "Tolerance",
    "TOLERANCES",
    "VerificationReport",
    "load_reference",
    "find_reference",
    "default_reference_dirs",
    "verify_tensors",
    "verify_end_to_end",
]

INTERFACE_INPUTS = ("input", "times", "mask_in")
OUTPUTS = ("mean", "max", "sequence")


@dataclass(frozen=True)
class Tolerance:
    """Absolute tolerances per output."""

    sequence: float
    mean: float
    max: float
    cls: float | None = None

    def get(self, output: str) -> float:
        """Tolerance for one output name."""
        value = getattr(self, output, None)
        return float(value if value is not None else self.sequence)


# Spec section 9: v1 has no residuals, so float32 rounding is amplified through both blocks.
TOLERANCES = {
    "macho": Tolerance(sequence=2e-3, mean=5e-4, max=2e-3),
    "atlas": Tolerance(sequence=5e-4, mean=5e-4, max=5e-4),
    "astromer_1": Tolerance(sequence=1e-4, mean=1e-4, max=1e-4),
    "astromer_2": Tolerance(sequence=1e-4, mean=1e-4, max=1e-4, cls=1e-4),
}
# For a reference of another name: the spec's alternative, relative to each window's max |value|.
RELATIVE_TOLERANCE = 1e-4


@dataclass
class VerificationReport:
    """Max absolute differences per output, the tolerances used, and the verdict."""

    reference: str
    reference_sha256: str
    path: str  # "tensors" or "end-to-end"
    windows: int
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    passed: bool = False

    def failures(self) -> list[str]:
        """Outputs beyond tolerance, as readable strings."""
        return [
            f"{k}: max |diff| {v:.3g} > {self.tolerance[k]:.3g}"
            for k, v in self.max_abs_diff.items()
            if not v <= self.tolerance[k]
        ]

    def to_dict(self) -> dict:
        """JSON-ready form for the model card."""
        return asdict(self)

    def __str__(self) -> str:
        diffs = ", ".join(f"{k} {v:.2e} (tol {self.tolerance[k]:.0e})" for k, v in self.max_abs_diff.items())
        return f"{self.path} check vs {Path(self.reference).name} ({self.windows} windows): {diffs} -> {'ok' if self.passed else 'FAILED'}"


def default_reference_dirs() -> list[Path]:
    """Where references are looked for: ``$LCEXPLORER_SHARED/models/reference`` and ``../shared``."""
    import os

    dirs = []
    env = os.environ.get("LCEXPLORER_SHARED")
    if env:
        dirs.append(Path(env) / "models" / "reference")
    project = Path(__file__).resolve().parents[2]
    dirs.append(project.parent / "shared" / "models" / "reference")
    return dirs


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar", ".h5", ".index"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_reference(source: str | Path, extra_dirs: list[Path] | None = None) -> Path | None:
    """The reference npz named like the checkpoint (macho.zip -> macho.npz), if one exists.

    Looks beside the source's folder (``../reference`` of a ``checkpoints`` folder), then in
    ``extra_dirs`` and the default folders.
    """
    source = Path(source)
    candidates = [_stem(source)]
    if source.name in ("weights", "weights.index", "weights.h5") or source.is_dir():
        candidates.append(_stem(source.parent if not source.is_dir() else source))
    dirs = [source.parent.parent / "reference", *(extra_dirs or []), *default_reference_dirs()]
    for stem in candidates:
        for folder in dirs:
            path = folder / f"{stem}.npz"
            if path.is_file():
                return path
    return None


def load_reference(path: str | Path) -> dict[str, np.ndarray]:
    """Load a reference npz (no pickles); ConversionError if it lacks the interface arrays."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            ref = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ConversionError(f"cannot read reference file {path}: {exc}") from None
    missing = [k for k in (*INTERFACE_INPUTS, *OUTPUTS) if k not in ref]
    if missing:
        raise ConversionError(f"reference file {path} lacks the arrays {', '.join(missing)}")
    ref["__path__"] = np.asarray(str(path))
    ref["__sha256__"] = np.asarray(hashlib.sha256(path.read_bytes()).hexdigest())
    return ref


def _tolerances(ref_path: Path, ref: dict, outputs: list[str]) -> dict[str, float]:
    tol = TOLERANCES.get(ref_path.stem)
    if tol is not None:
        return {o: tol.get(o) for o in outputs}
    scale = float(np.abs(ref["sequence"]).max())
    return {o: RELATIVE_TOLERANCE * scale for o in outputs}


def _report(ref: dict, got: dict[str, np.ndarray], path_kind: str) -> VerificationReport:
    ref_path = Path(str(ref["__path__"]))
    outputs = [o for o in (*OUTPUTS, "cls") if o in got and o in ref]
    diffs = {}
    for o in outputs:
        if got[o].shape != ref[o].shape:
            raise ConversionError(f"output {o!r} has shape {got[o].shape}, the reference {ref[o].shape}")
        diffs[o] = float(np.abs(got[o].astype(np.float64) - ref[o]).max())
    tol = _tolerances(ref_path, ref, outputs)
    report = VerificationReport(
        reference=str(ref_path), reference_sha256=str(ref["__sha256__"]), path=path_kind,
        windows=int(ref["input"].shape[0]), max_abs_diff=diffs, tolerance=tol,
    )
    report.passed = not report.failures()
    return report


def _session(model, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    data = model.SerializeToString() if hasattr(model, "SerializeToString") else (
        model if isinstance(model, bytes) else str(model)
    )
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def verify_tensors(model, reference: str | Path | dict, *, threads: int = 1) -> VerificationReport:
    """Run ``model`` (ModelProto, bytes or .onnx path) on the reference's prepared tensors."""
    ref = reference if isinstance(reference, dict) else load_reference(reference)
    sess = _session(model, threads)
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {k: ref[k].astype(np.float32) for k in INTERFACE_INPUTS})))
    return _report(ref, got, "tensors")


def verify_end_to_end(onnx_path: str | Path, reference: str | Path | dict, *, threads: int = 1) -> VerificationReport:
    """Raw light curves of the reference -> explorer catalog -> explorer.engine -> per-window outputs.

    The catalog is built with ``Catalog.from_long`` from ``raw_time``/``raw_mag``; ``embed_catalog``
    (non-overlapping windows) places the windows; the engine's Astromer1 preprocessing fills the input
    tensors of each window and the engine's session runs them. Every window is compared with the
    reference, in the reference's window order; the window placement itself must match exactly, and
    ``embed_catalog``'s own ``mean`` rows are checked for the objects that have a single window.
    Needs ``explorer.engine`` and ``explorer.catalog``.
    """
    from explorer.catalog import Catalog
    from explorer.engine import Astromer1, embed_catalog, load_model

    ref = reference if isinstance(reference, dict) else load_reference(reference)
    for key in ("raw_time", "raw_mag", "raw_offsets", "window_object", "object_id"):
        if key not in ref:
            raise ConversionError(f"reference {ref['__path__']} lacks {key!r}: no end-to-end check possible")
    offsets = ref["raw_offsets"]
    ids = np.asarray(ref["object_id"]).astype(str)
    obj = np.repeat(ids, np.diff(offsets))
    catalog = Catalog.from_long(obj, ref["raw_time"], ref["raw_mag"], name="reference")
    if catalog.n_observations != offsets[-1]:
        raise ConversionError(
            f"cleaning the reference light curves changed them ({offsets[-1]} -> {catalog.n_observations} observations)"
        )
    model = load_model(Path(onnx_path), kind="astromer1", threads=threads)
    result = embed_catalog(catalog, model, output="mean", reduction="non-overlapping-windows", cache=False)

    # Catalog rows may be reordered: map everything to the reference's object order.
    cat_to_ref = np.array([np.flatnonzero(ids == oid)[0] for oid in catalog.object_ids])
    win_obj = cat_to_ref[result.object_index[result.window_row]]
    order = np.argsort(win_obj, kind="stable")  # windows of one object stay in time order
    if not np.array_equal(win_obj[order], ref["window_object"]):
        raise ConversionError(
            "the engine's non-overlapping windows differ from the reference windows "
            f"({len(win_obj)} windows vs {len(ref['window_object'])})"
        )
    embedder = Astromer1(model, output="mean", reduction="non-overlapping-windows")
    arrays = embedder.model_arrays(catalog)
    obs = result.window_obs[order]
    feeds = embedder.prepare(obs, arrays, embedder.make_buffers(len(obs)))
    sess = model.session
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, feeds)))
    report = _report(ref, {k: v for k, v in got.items() if k in OUTPUTS}, "end-to-end")

    # embed_catalog's own rows: for single-window objects the row is that window's mean.
    counts = np.bincount(ref["window_object"], minlength=len(ids))
    single = np.flatnonzero(counts == 1)
    first_window = np.searchsorted(ref["window_object"], single)
    rows = np.array([np.flatnonzero(cat_to_ref[result.object_index] == k)[0] for k in single])
    row_diff = float(np.abs(result.embeddings[rows].astype(np.float64) - ref["mean"][first_window]).max())
    report.max_abs_diff["embed_catalog_mean"] = row_diff
    report.tolerance["embed_catalog_mean"] = report.tolerance["mean"]
    report.passed = not report.failures()
    return report
