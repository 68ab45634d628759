"""Re-export of :mod:`explorer.families`, the model-family registry (data only, below the engine and the store)."""

from explorer.families import *  # noqa: F401,F403
from explorer.families import __all__  # noqa: F401
