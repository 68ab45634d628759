"""The Panel dashboard: browser-free state, plots, the ``Explorer`` page and its panes, labels and export.

``from explorer.dashboard import Explorer, ExplorerState``; Panel is imported only when
``Explorer`` is first used, so the state can be driven without it.
"""

from explorer.dashboard.warmup import configure_numba_cache

configure_numba_cache()  # before anything imports numba (UMAP, datashader)

from explorer.dashboard.state import ExplorerState  # noqa: E402

__all__ = ["Explorer", "ExplorerState"]


def __getattr__(name):
    if name == "Explorer":
        from explorer.dashboard.explorer import Explorer

        return Explorer
    raise AttributeError(f"module 'explorer.dashboard' has no attribute {name!r}")
