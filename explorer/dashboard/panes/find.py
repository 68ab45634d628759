"""Find an object by id and filter the catalog by a condition (the bar above the map)."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css


class FindPane(StatePane):
    """A search box (first matching id is tapped) and a filter box (others greyed on the map)."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.search = with_css(w.TextInput.from_param(self.p("search"), placeholder="object id (or part of one)",
                                                      width=220), "lcx-search")
        self.query = with_css(w.TextInput.from_param(self.p("query"), sizing_mode="stretch_width", min_width=200,
                                                     placeholder=s.example or "a condition"),
                              "lcx-filter")
        self.clear = pn.widgets.Button(label="Clear filters", align="end", css_classes=["lcx-filter-clear"], width=110)
        self.clear.on_click(self.action("clearing the filters", s.clear_filters))
        self.note = text_pane("lcx-filter-note", s.filter_text())
        self.found = text_pane("lcx-found", "")
        self.selected = text_pane("lcx-selected-count", s.selection_text())
        self.watch(self.refresh, ["filter_mask", "filters", "found", "selection_ids"])
        self.watch(self._example, ["example"])

    def _example(self) -> None:
        self.query.placeholder = self.state.example or "a condition"

    def refresh(self) -> None:
        """The filter line, the selection count and the search result (plain text)."""
        s = self.state
        self.note.object = s.filter_text()
        self.selected.object = s.selection_text()
        self.found.object = (f"{len(s.found)} match(es): {', '.join(s.found[:8])}" + (" ..." if len(s.found) > 8 else "")
                             if len(s.found) > 1 else "")

    def __panel__(self):
        # two rows: at 1366 px one row of three widgets ran under the light-curve column
        return pn.Column(pn.Row(self.search, self.clear), self.query, self.found, self.note, self.selected,
                         sizing_mode="stretch_width", min_width=360)
