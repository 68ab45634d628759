"""Two maps of one catalog, linked: a second state (the *twin*) sharing the main state's parts.

The twin computes its own representation (the light_curve features beside the Astromer embedding, or
another model) with the same caches, and shares the main state's session, labels, display, filters,
pointer and light curves: tap or select in either map and both show it, because both read the very
same parts.  Browser-free: the compare pane only shows it.
"""

from __future__ import annotations

from .state import ExplorerState

# copied once when the twin is made (the twin's own choices afterwards)
COPIED = (("models", "model"), ("models", "output"), ("models", "reduction"), ("pipeline", "bands"),
          ("pipeline", "concat_bands"), ("pipeline", "metric"), ("pipeline", "n_neighbors"),
          ("pipeline", "min_dist"))


class Twin:
    """A second ``ExplorerState`` linked to ``main`` (see the module docstring)."""

    def __init__(self, main: ExplorerState, *, representation: str | None = None, model: str | None = None):
        self.main = main
        twin = ExplorerState.linked(main, autostart=False)  # nothing is computed before the user picks and asks
        self.state = twin
        for part, name in COPIED:
            src, dst = getattr(main, part), getattr(twin, part)
            if name == "bands":
                dst.param.bands.objects = list(src.param.bands.objects)
            try:
                setattr(dst, name, list(getattr(src, name)) if name == "bands" else getattr(src, name))
            except ValueError:  # an option the twin does not offer: keep its own default
                pass
        if model is not None:
            twin.models.model = model
        default = "features" if main.pipeline.representation != "features" else "embedding"
        twin.pipeline.representation = representation or default

    def start(self) -> bool:
        """Compute the twin's map in the background (later choices already computed show at once)."""
        self.state.pipeline.autostart = True
        return self.state.pipeline.start()
