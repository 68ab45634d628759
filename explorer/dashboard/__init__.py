"""The Panel dashboard: browser-free state, plots, the ``Explorer`` viewer, labels and export.

``from explorer.dashboard import Explorer, ExplorerState``; Panel is imported only when
``Explorer`` is first used, so the state can be driven without it.
"""

from explorer.dashboard.state import ExplorerState

__all__ = ["Explorer", "ExplorerState"]


def __getattr__(name):
    if name == "Explorer":
        from explorer.dashboard.explorer import Explorer

        return Explorer
    raise AttributeError(f"module 'explorer.dashboard' has no attribute {name!r}")
