"""The selection: a table of the selected objects and small light curves of the first ones."""

from __future__ import annotations

import pandas as pd
import panel as pn

from .base import StatePane, text_pane, text_titles
from .neighbours import thumbnail

N_MULTIPLES = 12


class SelectionPane(StatePane):
    """Table and thumbnails of ``state.selection_ids``."""

    def __init__(self, **params):
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(pd.DataFrame(), pagination="remote", page_size=10, disabled=True,
                                          show_index=False, css_classes=["lcx-selection-table"],
                                          sizing_mode="stretch_width", height=330)
        self.clear = pn.widgets.Button(label="Clear selection", width=140, css_classes=["lcx-selection-clear"])
        self.clear.on_click(self.action("clearing the selection", self.state.clear_selection))
        self.multiples = pn.FlexBox(css_classes=["lcx-selection-multiples"], name="lcx-selection-multiples",
                                    sizing_mode="stretch_width")
        # what the table shows (catalog, map, ids, labels version) and the thumbnails (catalog, ids); the
        # catalog and map themselves are held: a new one may reuse a freed one's id
        self._shown: tuple = (None, None, None, None)
        self.watch(self.refresh, ["selection_ids", "labels_version", "map", "catalog"])
        self.refresh()

    def refresh(self) -> None:
        """Refill the table and the thumbnails when what they show changed: a map that grows or moves
        changes only the selected objects' x and y (nothing while none is selected); the thumbnails
        depend on the objects alone.  A catalog open moves the map tens of times."""
        s = self.state
        if s.catalog is None:
            return
        ids = tuple(s.selection_ids)
        catalog, view, old_ids, old_version = self._shown
        same_objects = s.catalog is catalog and ids == old_ids
        shown_map = s.map if ids else None
        if same_objects and (not ids or (shown_map is view and s.labels_version == old_version)):
            # an empty table stays empty whatever the labels or the map: each label added (a round trip a
            # user waits for) refilled it, 280-540 ms of the event loop under load
            return
        self._shown = (s.catalog, shown_map, ids, s.labels_version)
        frame = s.selection
        # one update, old titles kept: a column rendered for a moment without its escaped title runs as HTML;
        # titles only when new ones come (each titles change rebuilds the table's columns, a page-wide walk)
        titles = {**self.table.titles, **text_titles(frame)}
        self.table.param.update(**({"titles": titles} if titles != self.table.titles else {}), value=frame)
        if same_objects:
            return
        figs = [thumbnail(s, oid, title=str(oid)) for oid in frame["object_id"].astype(str).head(N_MULTIPLES)]
        more = len(frame) - N_MULTIPLES
        if more > 0:
            figs.append(text_pane("lcx-selection-more", f"... and {more} more (see the table).", width=200,
                                  sizing_mode="fixed"))
        self.multiples.objects = figs

    def __panel__(self):
        return pn.Column(self.clear, self.table, self.multiples, sizing_mode="stretch_width")
