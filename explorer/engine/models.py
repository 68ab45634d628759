"""Every model class, found through the family registry: ``model_class(kind)`` and the class names.

The classes live in one module per family (``ModelFamily.module``); this module imports each of them
(top-down: families never import this module) and checks that every registered family has its class.
"""

from __future__ import annotations

import importlib

from explorer.engine.base import CurveArrays, Dim, EmbeddingModel, EmbeddingSession, InputTensors, MultiBandModel, \
    SingleBandModel
from explorer.families import FAMILIES, LSST_BANDS, default_band_groups, family

__all__ = ["model_class", "CLASSES", "EmbeddingSession", "EmbeddingModel", "SingleBandModel", "MultiBandModel",
           "InputTensors", "CurveArrays", "Dim", "default_band_groups", "LSST_BANDS", "Astromer1", "Astromer2",
           "Astromer1ZTF", "ATCAT", "ATAT", "AstraCLR", "Moment1", "ChronosBolt", "Chronos2"]


def _load_classes() -> dict:
    classes = {}
    for kind, fam in FAMILIES.items():
        cls = getattr(importlib.import_module(fam.module), fam.class_name)
        if cls.family is not fam:
            raise RuntimeError(f"{fam.module}.{fam.class_name} is registered for {kind} but describes "
                               f"{cls.family.kind}")
        classes[kind] = cls
    return classes


CLASSES: dict[str, type] = _load_classes()
Astromer1, Astromer2, Astromer1ZTF = CLASSES["astromer1"], CLASSES["astromer2"], CLASSES["astromer1-ztf"]
ATCAT, ATAT, AstraCLR = CLASSES["atcat"], CLASSES["atat"], CLASSES["astraclr"]
Moment1, ChronosBolt, Chronos2 = CLASSES["moment1"], CLASSES["chronos-bolt"], CLASSES["chronos2"]


def model_class(kind: str):
    """The model class of a family kind."""
    return CLASSES[family(kind).kind]
