"""The dashboard's view: small Panel viewers over one shared :class:`ExplorerState`, one per file.

Each pane only shows the state and forwards user actions to its methods; none holds behaviour.
"""

from .base import StatePane
from .compare import ComparePane
from .controls import ControlsPane
from .discover import ClassifyPane, OddOnesPane
from .export import ExportPane
from .finetune import FineTunePane
from .find import FindPane
from .hover import HoverPane
from .labels import LabelsPane
from .lightcurve import LightCurvePane
from .map import MapPane
from .neighbours import NeighboursPane
from .objects import ObjectsPane
from .quality import QualityPane
from .selection import SelectionPane
from .sky import SkyPane
from .suggestions import SuggestionsPane
from .summaries import SummariesPane

__all__ = ["StatePane", "ClassifyPane", "OddOnesPane", "ComparePane", "ControlsPane", "ExportPane", "FineTunePane",
           "FindPane", "HoverPane", "LabelsPane", "LightCurvePane", "MapPane", "NeighboursPane", "ObjectsPane",
           "QualityPane", "SelectionPane", "SkyPane", "SuggestionsPane", "SummariesPane"]
