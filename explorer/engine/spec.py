"""Re-export of :mod:`explorer.tensorspec`: tensor and interface descriptions (below the engine and the registry)."""

from explorer.tensorspec import *  # noqa: F401,F403
from explorer.tensorspec import __all__  # noqa: F401
