"""The embedding engine: the model-family registry, ONNX model classes, whole-catalog embedding, caching.

Public API (see docs/ARCHITECTURE.md): ``load_model``, ``list_models``, ``embed_catalog``,
``EmbeddingResult``, the family classes (``Astromer1``, ``Astromer2``, ``Astromer1ZTF``, ``ATCAT``,
``ATAT``, ``AstraCLR``, ``Moment1``, ``ChronosBolt``, ``Chronos2``) with the ``light_curve.embed``
API, the reductions, ``FAMILIES`` and ``OnnxModel``.

Names are imported on first use (PEP 562), so that ``explorer.store`` can read the data-only
registry ``explorer.families`` without loading onnxruntime or the model classes.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "explorer.families": ("FAMILIES", "ModelFamily", "family", "outputs_for", "default_output", "kinds"),
    "explorer.engine.interfaces": ("ASTROMER1", "ASTROMER2", "ATCAT_INTERFACE", "INTERFACES", "check_interface"),
    "explorer.engine.models": ("ATCAT", "ATAT", "AstraCLR", "Astromer1", "Astromer1ZTF", "Astromer2", "Chronos2",
                               "ChronosBolt", "Moment1", "EmbeddingModel", "EmbeddingSession", "SingleBandModel",
                               "MultiBandModel", "InputTensors", "Dim", "model_class"),
    "explorer.engine.reductions": ("Beginning", "End", "Middle", "MultipleReductions", "NonOverlappingWindows",
                                   "RandomSubsample", "Reduction", "SingleSubsampleReduction", "reduction_from_name"),
    "explorer.engine.result": ("EmbeddingResult",),
    "explorer.engine.embed": ("embed_catalog",),
    "explorer.engine.session": ("OnnxModel", "clear_sessions"),
    "explorer.engine.sources": ("HUB_MODELS", "ModelInfo", "list_models", "load_model"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'explorer.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value   # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
