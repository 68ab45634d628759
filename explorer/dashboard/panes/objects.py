"""All objects of the catalog in a paged table; clicking a row taps that object."""

from __future__ import annotations

import pandas as pd
import panel as pn

from ..state import INTERNAL_COLUMNS
from .base import StatePane

TABLE_COLUMNS_MAX = 12


class ObjectsPane(StatePane):
    """The objects table (metadata columns only)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(pd.DataFrame(), pagination="remote", page_size=15, disabled=True,
                                          show_index=False, selectable=1, css_classes=["lcx-objects-table"],
                                          sizing_mode="stretch_width", height=450)
        self.table.param.watch(lambda e: self.guarded("showing the clicked row", self._on_row, e.new), "selection")
        self.watch(self.refresh, ["catalog"])
        self.refresh()

    def refresh(self) -> None:
        """Show the open catalog's objects."""
        cat = self.state.catalog
        if cat is None:
            return
        cols = [c for c in cat.objects.columns if c not in INTERNAL_COLUMNS[1:]][:TABLE_COLUMNS_MAX]
        self.table.value = cat.objects[cols]

    def _on_row(self, selection) -> None:
        if not selection:
            return
        # Tabulator selection indices are positions in .value, whatever the page or sort
        self.state.selected_id = str(self.table.value.iloc[selection[0]]["object_id"])

    def __panel__(self):
        return self.table
