"""The exploring half of the dashboard state: filters, search, linked summaries and hover.

``ExploreMixin`` is a base of :class:`~explorer.dashboard.state.ExplorerState`; it only reads what the
state owns (``catalog``, ``map``, ``selection_ids``, ``color_values``) and adds, browser-free:

* filters (a query, categories picked on a bar chart, ranges brushed on a histogram) -> one
  ``filter_mask`` over catalog rows; filtered-out points are greyed on the map, left out of the
  objects table and of the highlighted part of every chart;
* ``find`` (an object by id), ``summary`` (the counts a linked chart draws), ``hover_at``
  (the object under the pointer, for the preview), all of them vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from .filters import FilterError, Filters, QueryFilter, column_summary, is_skewed

MAX_FOUND = 20  # ids listed by a search


class ExploreMixin(param.Parameterized):
    """Filters, search, linked summaries and hover over the state's catalog and map."""

    query = param.String(default="", label="Filter",
                         doc="Keep objects matching a condition, e.g. period > 1 and label in ['RRL', 'CEP'].")
    search = param.String(default="", label="Find object",
                          doc="An object id (or part of one): the first match is tapped.")
    hovered_id = param.String(default="", doc="object_id under the pointer on the map ('' for none).")
    hover_fields = param.ListSelector(default=[], objects=[], label="Hover fields",
                                      doc="Columns shown with the light curve under the pointer.")
    summary_columns = param.ListSelector(default=[], objects=[], label="Charts",
                                         doc="Columns drawn as linked bar charts / histograms.")
    log_columns = param.ListSelector(default=[], objects=[], label="Log axis",
                                     doc="Numeric columns drawn (and coloured) on a log scale.")

    filters = param.ClassSelector(class_=Filters, default=Filters(), constant=True,
                                  doc="The filters in force (replaced as a whole on every change).")
    filter_mask = param.Parameter(default=None, constant=True,
                                  doc="Bool per catalog row: passes the filters (None = no filter).")
    filter_version = param.Integer(default=0, constant=True,
                                   doc="Bumped whenever the filter mask changes (maps recolour on it).")
    found = param.List(default=[], constant=True, doc="Object ids matching the last search.")

    # ------------------------------------------------------------------ filters
    def filter(self, query: str) -> np.ndarray | None:
        """Keep the objects matching ``query`` (empty: no query); returns the mask (None: all pass)."""
        self.query = str(query or "")
        return self.filter_mask

    @param.depends("query", watch=True)
    def _on_query(self):
        self._set_filters(Filters(self.query, dict(self.filters.categories), dict(self.filters.ranges)),
                          what="the filter")

    def toggle_category(self, column: str, value) -> None:
        """Keep / stop keeping one category of ``column`` (a click on a bar or a legend entry)."""
        cats = dict(self.filters.categories)
        kept = set(cats.get(column, frozenset()))
        kept ^= {str(value)}
        if kept:
            cats[column] = frozenset(kept)
        else:
            cats.pop(column, None)
        self._set_filters(Filters(self.filters.query, cats, dict(self.filters.ranges)), what=f"filtering {column}")

    def set_range(self, column: str, lo: float | None, hi: float | None) -> None:
        """Keep objects with ``lo <= column <= hi`` (a brush on a histogram); None for both clears it."""
        ranges = dict(self.filters.ranges)
        if lo is None and hi is None:
            ranges.pop(column, None)
        else:
            lo, hi = float(lo), float(hi)
            if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
                raise FilterError(f"bad range for {column}: {lo} .. {hi}")
            ranges[column] = (lo, hi)
        self._set_filters(Filters(self.filters.query, dict(self.filters.categories), ranges),
                          what=f"filtering {column}")

    def clear_filters(self) -> None:
        """Drop every filter (query, categories, ranges)."""
        with param.parameterized.discard_events(self):
            self.query = ""
        self._set_filters(Filters(), what="clearing the filters")

    def _set_filters(self, filters: Filters, *, what: str) -> None:
        cat = self.catalog
        if cat is None or not filters.active:
            was = self.filter_mask is not None
            self._out(filters=filters, filter_mask=None, filter_version=self.filter_version + 1)
            if was:
                self.say("No filter: every object is shown.")
            return
        names = set(filters.categories) | set(filters.ranges)
        try:
            if filters.query.strip():
                names |= set(QueryFilter(filters.query).columns)
            columns = {name: self.column_values(name) for name in names}
            mask = filters.mask(columns, len(cat))
        except (FilterError, KeyError) as exc:
            self.fail(what, exc)
            return
        self._out(filters=filters, filter_mask=mask, filter_version=self.filter_version + 1)
        self.say(f"{int(mask.sum())} of {len(cat)} objects pass the filters: {filters.describe()}")

    def _refilter_on_labels(self, *_):
        """A filter on your labels follows them as they are given (the state watches labels_version)."""
        f = self.filters
        if f.active and ("user_label" in f.categories or "user_label" in f.query):
            self._set_filters(f, what="filtering by your labels")

    def column_values(self, column: str):
        """Values of a column (catalog metadata, ``user_label``, ``suggestion``, ``n_obs``...) per catalog row:
        a ``pd.Categorical`` for categorical columns (factorised once: filters and charts count codes,
        not 1M strings), a float array for numeric ones."""
        if column not in self.color_options and column not in ("suggestion",):
            raise FilterError(f"no column {column!r}; columns: {', '.join(self.color_options)}")
        return self._column(column)[0]

    def _column(self, column: str):
        """``(values, kind)`` of a column, memoised per catalog, labels version and suggestions."""
        key = (id(self.catalog), column, self.labels_version if column == "user_label" else None,
               id(self.suggestions) if column == "suggestion" else None)
        memo = self.__dict__.setdefault("_column_memo", {})
        if key not in memo:
            values, kind = self.color_values(column)
            if kind == "categorical":
                values = pd.Categorical(values)
            if len(memo) > 32:
                memo.clear()
            memo[key] = (values, kind)
        return memo[key]

    def passes(self, rows=None) -> np.ndarray:
        """Bool per row (all catalog rows, or ``rows``): passes the filters."""
        n = len(self.catalog) if self.catalog is not None else 0
        mask = self.filter_mask if self.filter_mask is not None and len(self.filter_mask) == n else None
        if mask is None:
            return np.ones(n if rows is None else len(rows), dtype=bool)
        return mask if rows is None else mask[np.asarray(rows, dtype=np.int64)]

    def filter_text(self) -> str:
        """Plain text for the filter line: how many pass and why."""
        cat = self.catalog
        if cat is None or self.filter_mask is None:
            return "No filter: every object is shown."
        return f"{int(self.filter_mask.sum())} of {len(cat)} objects pass: {self.filters.describe()}"

    def _reset_explore(self, cat) -> None:
        """A new catalog: filters and search go, the chart / hover column choices follow its columns."""
        numeric, choices = [], []
        for c in self._color_options_of(cat):
            choices.append(c)
            if c in cat.objects.columns and pd.api.types.is_numeric_dtype(cat.objects[c]) \
                    and not pd.api.types.is_bool_dtype(cat.objects[c]):
                numeric.append(c)
        with param.parameterized.discard_events(self):
            self.query = ""
            self.search = ""
        self.__dict__["_column_memo"] = {}  # keyed by catalog id: a new catalog starts afresh
        self.param.summary_columns.objects = choices
        self.param.hover_fields.objects = choices
        self.param.log_columns.objects = numeric
        self.summary_columns = self._default_charts(cat, choices)
        self.hover_fields = [c for c in choices if c != "user_label"][:4]
        self.log_columns = [c for c in numeric if is_skewed(cat.objects[c].to_numpy(dtype=float, na_value=np.nan))]
        self._out(filters=Filters(), filter_mask=None, found=[], filter_version=self.filter_version + 1)
        self.hovered_id = ""

    @staticmethod
    def _default_charts(cat, choices) -> list[str]:
        preferred = [c for c in ("label", "class", "type", "period", "n_obs") if c in choices]
        rest = [c for c in choices if c not in preferred and c != "user_label"]
        return (preferred + rest)[:4]

    # ------------------------------------------------------------------ search
    def find(self, text: str | None = None) -> list[str]:
        """Object ids matching ``text`` (exact id first, then ids containing it, case-insensitive);
        the first becomes the tapped object. An empty result says so in the status."""
        text = (self.search if text is None else str(text)).strip()
        cat = self.catalog
        if cat is None or not text:
            self._out(found=[])
            return []
        ids = cat.object_ids.astype(str)
        exact = np.flatnonzero(ids == text)
        if len(exact):
            hits = exact[:1]
        else:
            hits = np.flatnonzero(pd.Series(ids).str.contains(text, case=False, regex=False).to_numpy())
        found = [str(ids[i]) for i in hits[:MAX_FOUND]]
        self._out(found=found)
        if found:
            self.selected_id = found[0]
            more = f" ({len(hits)} match; showing {found[0]})" if len(hits) > 1 else ""
            self.say(f"Found {found[0]}{more}")
        else:
            self.say(f"No object id contains {text!r}")
        return found

    @param.depends("search", watch=True)
    def _on_search(self):
        self.find(self.search)

    # ------------------------------------------------------------------ linked summaries
    def highlighted(self) -> np.ndarray:
        """Rows drawn highlighted in the charts: passing the filters and, when there is a selection, selected."""
        cat = self.catalog
        keep = self.passes().copy()
        if cat is not None and self.selection_ids:
            sel = np.zeros(len(cat), dtype=bool)
            sel[cat.indices_of([i for i in self.selection_ids if i])] = True
            keep &= sel
        return keep

    def summary(self, column: str, *, bins: int = 30, log: bool | None = None,
                highlight: np.ndarray | None = None) -> pd.DataFrame:
        """Counts of one linked chart (see :func:`explorer.dashboard.filters.column_summary`);
        ``highlight``: ``highlighted()`` when already computed (one per refill of every chart)."""
        values, kind = self._column(column)
        log = (column in self.log_columns) if log is None else log
        highlight = self.highlighted() if highlight is None else highlight
        frame = column_summary(values, kind, highlight, bins=bins, log=log and kind == "numeric")
        frame.attrs.update(kind=kind, column=column, log=log and kind == "numeric")
        return frame

    # ------------------------------------------------------------------ hover
    def hover_at(self, x: float, y: float, radius: float | None = None) -> str:
        """The object nearest (x, y) within ``radius`` (map units; default 2 % of the map's extent)
        becomes ``hovered_id``; '' when none is that close."""
        m = self.map
        if m is None or m.catalog is not self.catalog:
            return ""
        if radius is None:
            radius = self._hover_radius(m)
        row = m.index.nearest(x, y, radius)
        oid = "" if row is None else str(m.catalog.object_ids[row])
        if oid != self.hovered_id:
            self.hovered_id = oid
        return oid

    def _hover_radius(self, m) -> float | None:
        # 2 % of the map's extent, once per map (a min/max over 1M coordinates per mouse move cost 90 ms)
        memo = self.__dict__.get("_radius_memo")
        if memo is None or memo[0] is not m:
            span = np.nanmax(m.coords, axis=0) - np.nanmin(m.coords, axis=0)
            memo = (m, 0.02 * float(np.nanmax(span)) if np.isfinite(span).all() else None)
            self.__dict__["_radius_memo"] = memo
        return memo[1]

    def hover_text(self, key: str | None = None) -> str:
        """Plain text of the hover preview: the id and the chosen fields."""
        key = self.hovered_id if key is None else key
        if not key or self.catalog is None:
            return ""
        row = self.row_of(key)
        parts = [key]
        for col in self.hover_fields:
            try:
                value = self.column_values(col)[row]
            except FilterError:
                continue
            if isinstance(value, float):
                value = f"{value:.5g}"
            parts.append(f"{col}: {value}")
        return " | ".join(str(p) for p in parts)
