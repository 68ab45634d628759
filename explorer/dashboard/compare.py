"""Two maps of one catalog, linked: a second state (the *twin*) that follows the first one.

The twin computes its own representation (say the light_curve features beside the Astromer
embedding, or another model) with the same caches, while the tapped object, the selection, the
filters, the colour and the labels are shared: tap or select in either map and both show it, so one
sees where a cluster of one map lands in the other.  Browser-free: the compare pane only shows it.
"""

from __future__ import annotations

import param

from .state import ExplorerState

# main -> twin: what the user looks at and how it is coloured / filtered
FOLLOWED = ("color_by", "log_columns", "quality_column", "k_neighbours")
# both ways: what the user picks in either map
SHARED = ("selected_id", "selection_ids")
# copied once when the twin is made (the twin's own choices afterwards)
COPIED = ("model", "output", "reduction", "bands", "concat_bands", "metric", "n_neighbors", "min_dist")


class Twin:
    """Keeps a second ``ExplorerState`` linked to ``main`` (see the module docstring)."""

    def __init__(self, main: ExplorerState, *, representation: str | None = None, model: str | None = None):
        self.main = main
        twin = ExplorerState(embed_cache=main._embed_cache, map_cache=main._map_cache,
                             labels_path=main._labels_path)
        self.state = twin
        self._syncing = False
        self._follow_catalog()
        for name in COPIED:
            self._copy(name, main, twin)
        if model is not None:
            twin.model = model
        twin.representation = representation or ("features" if main.representation != "features" else "embedding")
        main.param.watch(self._on_main, list(FOLLOWED + SHARED))
        twin.param.watch(self._on_twin, list(SHARED))
        main.param.watch(lambda *_: self._follow_filters(), ["filter_version"])
        main.param.watch(lambda *_: self._follow_labels(), ["labels_version"])
        main.param.watch(lambda *_: self._follow_catalog(), ["catalog"])

    @staticmethod
    def _copy(name, src, dst) -> None:
        value = getattr(src, name)
        objects = getattr(src.param[name], "objects", None)
        if objects is not None and name not in ("bands",):
            dst.param[name].objects = list(objects)
        try:
            setattr(dst, name, list(value) if isinstance(value, list) else value)
        except ValueError:  # an option the twin does not offer (yet): keep its own default
            pass

    def _follow_catalog(self) -> None:
        main, twin = self.main, self.state
        if main.catalog is None or twin.catalog is main.catalog:
            return
        twin.refresh_models()
        twin.open_catalog(main.catalog, label=main.catalog_label)
        twin._label_store = main.label_store  # one labels file, written by the main state only
        for name in FOLLOWED + SHARED:
            self._copy(name, main, twin)
        self._follow_filters()

    def _follow_filters(self) -> None:
        if self.state.catalog is self.main.catalog:
            self.state._out(filters=self.main.filters, filter_mask=self.main.filter_mask,
                            filter_version=self.state.filter_version + 1)

    def _follow_labels(self) -> None:
        twin = self.state
        if twin.catalog is self.main.catalog:
            twin._label_store = self.main.label_store
            twin._out(labels_version=twin.labels_version + 1)

    def _on_main(self, *events) -> None:
        self._sync(events, self.main, self.state)

    def _on_twin(self, *events) -> None:
        self._sync(events, self.state, self.main)

    def _sync(self, events, src, dst) -> None:
        if self._syncing or dst.catalog is not src.catalog:
            return
        self._syncing = True
        try:
            with param.parameterized.batch_call_watchers(dst):
                for event in events:
                    self._copy(event.name, src, dst)
        finally:
            self._syncing = False

    def start(self) -> bool:
        """Compute the twin's map in the background."""
        return self.state.start()
