"""The embedding engine: ONNX model classes, vectorised windowing, whole-catalog embedding, caching.

Public API (see docs/ARCHITECTURE.md): ``load_model``, ``list_models``, ``Astromer1``, ``Astromer2``,
``ATCAT``, ``embed_catalog``, ``EmbeddingResult``, the reduction classes, ``OnnxModel``.
"""

from explorer.engine.embed import EmbeddingResult, embed_catalog
from explorer.engine.interfaces import ASTROMER1, ASTROMER2, ATCAT_INTERFACE, INTERFACES, check_interface
from explorer.engine.models import ATCAT, Astromer1, Astromer2, EmbeddingModel, model_class
from explorer.engine.reductions import (
    Beginning,
    End,
    Middle,
    MultipleReductions,
    NonOverlappingWindows,
    RandomSubsample,
    Reduction,
    reduction_from_name,
)
from explorer.engine.session import OnnxModel, clear_sessions
from explorer.engine.sources import HUB_MODELS, ModelInfo, list_models, load_model

__all__ = [
    "ASTROMER1", "ASTROMER2", "ATCAT_INTERFACE", "INTERFACES", "check_interface",
    "ATCAT", "Astromer1", "Astromer2", "EmbeddingModel", "model_class",
    "Beginning", "End", "Middle", "MultipleReductions", "NonOverlappingWindows", "RandomSubsample", "Reduction",
    "reduction_from_name",
    "EmbeddingResult", "embed_catalog",
    "OnnxModel", "clear_sessions",
    "HUB_MODELS", "ModelInfo", "list_models", "load_model",
]
