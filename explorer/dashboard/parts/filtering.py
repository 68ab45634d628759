"""Filters and linked summaries: a query, categories picked on a bar chart and ranges brushed on a
histogram -> one ``filter_mask`` over catalog rows; the counts each linked chart draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from ..filters import FilterError, Filters, QueryFilter, column_summary, is_skewed
from .catalogs import CatalogSession, default_class_column
from .common import USER_LABEL, Messages, Part
from .display import Display, color_options_of
from .labelling import Labelling


class Filtering(Part):
    """The filters in force, the columns drawn as linked charts and those drawn on a log scale."""

    query = param.String(default="", label="Filter",
                         doc="Keep objects matching a condition (the placeholder shows one for the open catalog).")
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
    example = param.String(default="", constant=True, doc="An example condition built from the open catalog.")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    display = param.ClassSelector(class_=Display, constant=True)
    labelling = param.ClassSelector(class_=Labelling, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)

    catalog_bound = ("query", "filters", "filter_mask")

    def __init__(self, **params):
        super().__init__(**params)
        self._memo: dict = {}
        self._applying = False  # the part itself writes the query box (clear, catalog switch)
        self.param.watch(self._on_query, ["query"])
        self.labelling.param.watch(self._refilter_on_labels, ["labels_version"])

    # ------------------------------------------------------------------ catalog switch
    def revalidate(self, cat) -> None:
        """Chart and log-axis choices of the new catalog, an example built from it, no filter."""
        self._memo = {}
        numeric, choices = [], color_options_of(cat)
        for c in choices:
            if c in cat.objects.columns and pd.api.types.is_numeric_dtype(cat.objects[c]) \
                    and not pd.api.types.is_bool_dtype(cat.objects[c]):
                numeric.append(c)
        self.param.summary_columns.objects = choices
        self.param.log_columns.objects = numeric
        preferred = [c for c in ("label", "class", "type", "period", "n_obs") if c in choices]
        self.summary_columns = (preferred + [c for c in choices if c not in preferred and c != USER_LABEL])[:4]
        self.log_columns = [c for c in numeric if is_skewed(cat.objects[c].to_numpy(dtype=float, na_value=np.nan))]
        self._out(filter_version=self.filter_version + 1, example=self._example(cat, numeric))

    def _example(self, cat, numeric: list[str]) -> str:
        """A condition that keeps some (not all) objects of this catalog, from its own columns: a numeric
        column above its median and/or its commonest classes (fewer than all of them)."""
        parts = []
        num = next((c for c in ("period", *numeric, "n_obs") if c in numeric), None)
        if num is not None:
            median = float(np.nanmedian(cat.objects[num].to_numpy(dtype=float, na_value=np.nan)))
            if np.isfinite(median):
                parts.append(f"{num} > {median:.3g}")
        column = default_class_column(cat)
        if column != USER_LABEL:
            counts = cat.objects[column].astype("string").value_counts()
            top = [str(v) for v in counts.index[:min(2, len(counts) - 1)]]
            if top and all("'" not in v and "\\" not in v for v in top):
                parts.append(f"{column} in [{', '.join(repr(v) for v in top)}]")
        for candidate in ([" and ".join(parts)] if len(parts) > 1 else []) + parts[::-1]:
            try:
                query = QueryFilter(candidate)
                mask = Filters(candidate).mask({c: self.column_values(c) for c in query.columns}, len(cat))
            except (FilterError, KeyError):
                continue
            if 0 < int(mask.sum()) < len(cat):
                return f"e.g. {candidate}"
        return "e.g. n_obs > 50"

    # ------------------------------------------------------------------ filters
    def filter(self, query: str) -> np.ndarray | None:
        """Keep the objects matching ``query`` (empty: no query); returns the mask (None: all pass)."""
        self.query = str(query or "")
        return self.filter_mask

    def _on_query(self, *_):
        if self._applying:
            return
        self._set_filters(Filters(self.query, dict(self.filters.categories), dict(self.filters.ranges)),
                          what="the filter")

    def toggle_category(self, column: str, value) -> None:
        """Keep / stop keeping one category of ``column`` (a click on a bar or a legend entry)."""
        cats = dict(self.filters.categories)
        kept = set(cats.get(column, frozenset())) ^ {str(value)}
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
        """Drop every filter (query, categories, ranges); the filter box is emptied too."""
        self._applying = True
        try:
            self.query = ""
        finally:
            self._applying = False
        self._set_filters(Filters(), what="clearing the filters")

    def _set_filters(self, filters: Filters, *, what: str) -> None:
        cat = self.session.catalog
        if cat is None or not filters.active:
            was = self.filter_mask is not None
            self._out(filters=filters, filter_mask=None, filter_version=self.filter_version + 1)
            if was:
                self.messages.say("No filter: every object is shown.")
            return
        names = set(filters.categories) | set(filters.ranges)
        try:
            if filters.query.strip():
                names |= set(QueryFilter(filters.query).columns)
            columns = {name: self.column_values(name) for name in names}
            mask = filters.mask(columns, len(cat))
        except (FilterError, KeyError, RecursionError) as exc:
            self.messages.fail(what, exc if not isinstance(exc, RecursionError)
                               else "the condition is nested too deeply")
            return
        self._out(filters=filters, filter_mask=mask, filter_version=self.filter_version + 1)
        self.messages.say(f"{int(mask.sum())} of {len(cat)} objects pass the filters: {filters.describe()}")

    def _refilter_on_labels(self, *_):
        """A filter on your labels follows them as they are given."""
        f = self.filters
        if f.active and (USER_LABEL in f.categories or USER_LABEL in f.query):
            self._set_filters(f, what="filtering by your labels")

    def column_values(self, column: str):
        """Values of a column per catalog row: a ``pd.Categorical`` for categorical columns (factorised
        once: filters and charts count codes, not 1M strings), a float array for numeric ones."""
        if column not in self.display.color_options:
            raise FilterError(f"no column {column!r}; columns: {', '.join(self.display.color_options)}")
        return self.column(column)[0]

    def column(self, column: str):
        """``(values, kind)`` of a column, memoised per catalog, labels version and suggestions."""
        key = (id(self.session.catalog), column,
               self.labelling.labels_version if column == USER_LABEL else None,
               self.display.columns_version if column in self.display.derived_columns() else None)
        if key not in self._memo:
            values, kind = self.display.color_values(column)
            if kind == "categorical":
                values = pd.Categorical(values)
            if len(self._memo) > 32:
                self._memo.clear()
            self._memo[key] = (values, kind)
        return self._memo[key]

    def passes(self, rows=None) -> np.ndarray:
        """Bool per row (all catalog rows, or ``rows``): passes the filters."""
        cat = self.session.catalog
        n = len(cat) if cat is not None else 0
        mask = self.filter_mask if self.filter_mask is not None and len(self.filter_mask) == n else None
        if mask is None:
            return np.ones(n if rows is None else len(rows), dtype=bool)
        return mask if rows is None else mask[np.asarray(rows, dtype=np.int64)]

    def filter_text(self) -> str:
        """Plain text for the filter line: how many pass and why."""
        cat = self.session.catalog
        if cat is None or self.filter_mask is None:
            return "No filter: every object is shown."
        return f"{int(self.filter_mask.sum())} of {len(cat)} objects pass: {self.filters.describe()}"

    def summary(self, column: str, highlight: np.ndarray, *, bins: int = 30, log: bool | None = None) -> pd.DataFrame:
        """Counts of one linked chart (see :func:`explorer.dashboard.filters.column_summary`)."""
        values, kind = self.column(column)
        log = (column in self.log_columns) if log is None else log
        frame = column_summary(values, kind, highlight, bins=bins, log=log and kind == "numeric")
        frame.attrs.update(kind=kind, column=column, log=log and kind == "numeric")
        return frame
