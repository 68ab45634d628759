"""All objects of the catalog in a paged table; clicking a row taps that object."""

from __future__ import annotations

import pandas as pd
import panel as pn

from ..state import INTERNAL_COLUMNS
from .base import StatePane, text_titles

TABLE_COLUMNS_MAX = 12


class ObjectsPane(StatePane):
    """The objects table (metadata columns only)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.table = self._new_table(pd.DataFrame())
        self.holder = pn.Column(self.table, sizing_mode="stretch_width")
        self._columns: list[str] = []
        self.watch(self.refresh, ["catalog"])
        self.watch(self.refilter, ["filter_mask"])
        self.refresh()

    def _new_table(self, value: pd.DataFrame) -> pn.widgets.Tabulator:
        table = pn.widgets.Tabulator(value, pagination="remote", page_size=15, disabled=True, show_index=False,
                                     selectable=1, css_classes=["lcx-objects-table"], sizing_mode="stretch_width",
                                     height=450, titles=text_titles(value))
        table.param.watch(lambda e: self.guarded("showing the clicked row", self._on_row, e.new), "selection")
        return table

    def refresh(self) -> None:
        """Show the open catalog's objects.

        A new catalog gets a new table rather than new data in the old one: measured under load, a
        Tabulator whose columns change while it rebuilds kept showing the previous catalog's rows
        (its model had the new ones), while a fresh table renders its data when it is built.
        """
        cat = self.state.catalog
        if cat is None:
            return
        self._columns = [c for c in cat.objects.columns if c not in INTERNAL_COLUMNS[1:]][:TABLE_COLUMNS_MAX]
        self.table = self._new_table(self._rows(cat))
        self.holder.objects = [self.table]

    def _rows(self, cat) -> pd.DataFrame:
        # only the objects passing the filters (the map greys the others)
        frame = cat.objects[self._columns]
        return frame[self.state.passes()] if self.state.filter_mask is not None else frame

    def refilter(self) -> None:
        """Show only the objects passing the filters (same table, same columns)."""
        cat = self.state.catalog
        if cat is not None and self._columns:
            self.table.value = self._rows(cat)

    def _on_row(self, selection) -> None:
        if not selection:
            return
        # Tabulator selection indices are positions in .value, whatever the page or sort
        self.state.selected_id = str(self.table.value.iloc[selection[0]]["object_id"])

    def __panel__(self):
        return self.holder
