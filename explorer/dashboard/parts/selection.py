"""What the user points at: the tapped object, the selection (box / lasso / table / ids), the object
under the pointer, and the search by id.  Shared by the main map and the second one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from .catalogs import CatalogSession
from .common import USER_LABEL, Messages, Part
from .display import color_options_of
from .filtering import Filtering

MAX_FOUND = 20  # ids listed by a search


class Selection(Part):
    """Tapped object, selection, hover and search, kept by object_id."""

    selected_id = param.String(default="", doc="object_id of the tapped object ('' for none).")
    selection_ids = param.List(default=[], doc="object_ids selected with box / lasso / table.")
    hovered_id = param.String(default="", doc="object_id under the pointer on the map ('' for none).")
    hover_fields = param.ListSelector(default=[], objects=[], label="Hover fields",
                                      doc="Columns shown with the light curve under the pointer.")
    search = param.String(default="", label="Find object",
                          doc="An object id (or part of one): the first match is tapped.")
    found = param.List(default=[], constant=True, doc="Object ids matching the last search.")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    filtering = param.ClassSelector(class_=Filtering, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)

    catalog_bound = ("selected_id", "selection_ids", "hovered_id", "search", "found")

    def __init__(self, **params):
        super().__init__(**params)
        self.param.watch(lambda *_: self.find(self.search), ["search"])
        self._radius_memo = None

    def reset_for(self, catalog) -> None:
        """Tapped object and selection are kept by object_id when the new catalog has them; hover and
        search go."""
        tapped, chosen = self.selected_id, list(self.selection_ids)
        super().reset_for(catalog)
        ids = set(catalog.object_ids.astype(str))
        with param.parameterized.batch_call_watchers(self):
            self.selection_ids = [i for i in chosen if i in ids]
            self.selected_id = tapped if tapped in ids else ""

    def revalidate(self, catalog) -> None:
        """Hover fields of the new catalog."""
        choices = color_options_of(catalog)
        self.param.hover_fields.objects = choices
        self.hover_fields = [c for c in choices if c != USER_LABEL][:4]

    # ------------------------------------------------------------------ on a map
    def select_at(self, view, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Tap at ``view`` position (x, y): the nearest object becomes ``selected_id``; returns its row."""
        if view is None or view.catalog is not self.session.catalog:
            return None
        row = view.index.nearest(x, y, max_distance)
        if row is not None:
            self.selected_id = str(view.catalog.object_ids[row])
        return row

    def select_box(self, view, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Box select on ``view``: passing objects inside the box become the selection."""
        if view is None or view.catalog is not self.session.catalog:
            return []
        return self.select_rows(self._passing(view.index.in_box(x0, y0, x1, y1)))

    def select_lasso(self, view, xs, ys) -> list[str]:
        """Lasso select on ``view``: passing objects inside the polygon become the selection."""
        if view is None or view.catalog is not self.session.catalog:
            return []
        return self.select_rows(self._passing(view.index.in_polygon(xs, ys)))

    def _passing(self, rows) -> np.ndarray:
        # greyed (filtered-out) points are seen but not picked by a box or lasso
        rows = np.asarray(rows, dtype=np.int64)
        return rows[self.filtering.passes(rows)]

    def select_rows(self, rows) -> list[str]:
        """Make these catalog rows the selection; returns their ids."""
        ids = [str(i) for i in self.session.require().object_ids[np.asarray(rows, dtype=np.int64)]]
        self.selection_ids = ids
        return ids

    def select_ids(self, object_ids) -> list[str]:
        """Make ``object_ids`` the selection (unknown ids raise KeyError naming them)."""
        return self.select_rows(np.asarray([self.session.row_of(str(i)) for i in object_ids], dtype=np.int64))

    def clear_selection(self) -> None:
        """Empty the selection (labels are untouched)."""
        self.selection_ids = []

    def selection_text(self) -> str:
        """How many objects are selected (plain text)."""
        n = len(self.selection_ids)
        return f"{n} object{'s' if n != 1 else ''} selected." if n else "No selection (box or lasso on the map)."

    def highlighted(self) -> np.ndarray:
        """Rows drawn highlighted in the charts: passing the filters and, when there is a selection, selected."""
        cat = self.session.catalog
        keep = self.filtering.passes().copy()
        if cat is not None and self.selection_ids:
            sel = np.zeros(len(cat), dtype=bool)
            sel[cat.indices_of([i for i in self.selection_ids if i])] = True
            keep &= sel
        return keep

    # ------------------------------------------------------------------ search
    def find(self, text: str | None = None) -> list[str]:
        """Object ids matching ``text`` (exact id first, then ids containing it, case-insensitive);
        the first becomes the tapped object. An empty result says so in the status."""
        text = (self.search if text is None else str(text)).strip()
        cat = self.session.catalog
        if cat is None or not text:
            self._out(found=[])
            return []
        ids = cat.object_ids.astype(str)
        exact = np.flatnonzero(ids == text)
        hits = exact[:1] if len(exact) else np.flatnonzero(
            pd.Series(ids).str.contains(text, case=False, regex=False).to_numpy())
        found = [str(ids[i]) for i in hits[:MAX_FOUND]]
        self._out(found=found)
        if found:
            self.selected_id = found[0]
            more = f" ({len(hits)} match; showing {found[0]})" if len(hits) > 1 else ""
            self.messages.say(f"Found {found[0]}{more}")
        else:
            self.messages.say(f"No object id contains {text!r}")
        return found

    # ------------------------------------------------------------------ hover
    def hover_at(self, view, x: float, y: float, radius: float | None = None) -> str:
        """The object of ``view`` nearest (x, y) within ``radius`` (map units; default 2 % of the map's
        extent) becomes ``hovered_id``; '' when none is that close."""
        if view is None or view.catalog is not self.session.catalog:
            return ""
        if radius is None:
            radius = self._hover_radius(view)
        row = view.index.nearest(x, y, radius)
        oid = "" if row is None else str(view.catalog.object_ids[row])
        if oid != self.hovered_id:
            self.hovered_id = oid
        return oid

    def _hover_radius(self, view) -> float | None:
        # 2 % of the map's extent, once per map (a min/max over 1M coordinates per mouse move cost 90 ms)
        memo = self._radius_memo
        if memo is None or memo[0] is not view:
            span = np.nanmax(view.coords, axis=0) - np.nanmin(view.coords, axis=0)
            memo = (view, 0.02 * float(np.nanmax(span)) if np.isfinite(span).all() else None)
            self._radius_memo = memo
        return memo[1]

    def hover_text(self, key: str | None = None) -> str:
        """Plain text of the hover preview: the id and the chosen fields."""
        from ..filters import FilterError

        key = self.hovered_id if key is None else key
        if not key or self.session.catalog is None:
            return ""
        row = self.session.row_of(key)
        parts = [key]
        for col in self.hover_fields:
            try:
                value = self.filtering.column_values(col)[row]
            except FilterError:
                continue
            if isinstance(value, float):
                value = f"{value:.5g}"
            parts.append(f"{col}: {value}")
        return " | ".join(str(p) for p in parts)
