"""Linked charts: a bar chart per categorical column, a histogram per numeric one, cross-filtering the map.

Grey bars count every object; coloured bars count the highlighted ones (passing the filters and, when
there is a selection, selected).  Clicking a bar keeps that category (click again to drop it); brushing
a histogram keeps that range (double-click the chart to drop it).  The figures are made once per
column and refilled in place, so a filter or a selection updates every chart without new plots.
"""

from __future__ import annotations

import logging

import numpy as np
import panel as pn

from .base import StatePane, TextMultiChoice, bokeh_edit, text_pane, with_css

log = logging.getLogger(__name__)
CHART_HEIGHT = 230
PICKED = "#1f77b4"
TOTAL = "#d0d0d0"


class ColumnChart:
    """One linked chart (Bokeh): categorical bars or a numeric histogram, with its callbacks."""

    def __init__(self, pane: "SummariesPane", column: str, kind: str, log_axis: bool):
        from bokeh.events import DoubleTap, SelectionGeometry
        from bokeh.models import BoxSelectTool, ColumnDataSource, FactorRange, TapTool
        from bokeh.plotting import figure

        self.pane, self.column, self.kind, self.log = pane, column, kind, log_axis
        if kind == "categorical":
            self.source = ColumnDataSource(dict(category=[], total=[], picked=[], alpha=[]))
            fig = figure(y_range=FactorRange(factors=[]), height=CHART_HEIGHT, tools="", toolbar_location=None,
                         sizing_mode="stretch_width", min_width=260)
            fig.hbar(y="category", right="total", height=0.8, source=self.source, color=TOTAL, fill_alpha="alpha",
                     nonselection_fill_alpha=1.0)
            fig.hbar(y="category", right="picked", height=0.8, source=self.source, color=PICKED,
                     nonselection_fill_alpha=1.0)
            fig.add_tools(TapTool())
            self.source.selected.on_change("indices", self._on_bar)
        else:
            self.source = ColumnDataSource(dict(left=[], right=[], total=[], picked=[]))
            fig = figure(height=CHART_HEIGHT, tools="", toolbar_location="right", sizing_mode="stretch_width",
                         min_width=260, x_axis_type="log" if log_axis else "linear")
            fig.quad(left="left", right="right", bottom=0, top="total", source=self.source, color=TOTAL,
                     nonselection_fill_alpha=1.0)
            fig.quad(left="left", right="right", bottom=0, top="picked", source=self.source, color=PICKED,
                     nonselection_fill_alpha=1.0)
            brush = BoxSelectTool(dimensions="width")
            fig.add_tools(brush)
            fig.toolbar.active_drag = brush
            fig.on_event(SelectionGeometry, self._on_brush)
            fig.on_event(DoubleTap, self._on_clear)
        fig.title.text = column
        fig.xaxis.axis_label = "objects" if kind == "categorical" else column + (" (log)" if log_axis else "")
        self.figure = fig
        # classes on a wrapper: Panel gives a Bokeh pane's classes to its figure only once it is replaced
        self.view = pn.Column(pn.pane.Bokeh(fig, sizing_mode="stretch_width", min_height=CHART_HEIGHT),
                              css_classes=["lcx-chart", f"lcx-chart-{kind}"], sizing_mode="stretch_width",
                              styles=chart_styles(0))
        self.categories: list[str] = []

    def retarget(self, column: str) -> None:
        """Make this figure the chart of another column of the same kind and axis (emptied until its fill)."""
        self.column, self.categories = column, []
        with bokeh_edit():
            self.source.data = {k: [] for k in self.source.data}
            if self.kind == "categorical":
                self.figure.y_range.factors = []
            self.figure.title.text = column
            if self.kind != "categorical":
                self.figure.xaxis.axis_label = column + (" (log)" if self.log else "")

    def fill(self, highlight=None) -> None:
        """Refill the chart from the state's counts (in place); ``highlight`` as ``state.highlighted()``."""
        s = self.pane.state
        frame = s.summary(self.column, log=self.log, highlight=highlight)
        kept = s.filters.categories.get(self.column)
        picked, total = int(frame["picked"].sum()), int(frame["total"].sum())
        with bokeh_edit():
            if self.kind == "categorical":
                cats = [str(c) for c in frame["category"]][::-1]  # most frequent at the top
                alpha = [1.0 if kept is None or c in kept else 0.35 for c in cats]
                self.source.data = dict(category=cats, total=frame["total"].to_numpy()[::-1],
                                        picked=frame["picked"].to_numpy()[::-1], alpha=alpha)
                if self.figure.y_range.factors != cats:
                    self.figure.y_range.factors = cats
                self.categories = cats
            else:
                self.source.data = {c: frame[c].to_numpy() for c in ("left", "right", "total", "picked")}
            rng = s.filters.ranges.get(self.column)
            extra = f"; kept {rng[0]:.4g} .. {rng[1]:.4g}" if rng else ""
            extra += f"; kept {', '.join(sorted(kept))}" if kept else ""
            left = frame.attrs.get("left_out", 0)
            extra += f"; {left} without a value{' > 0' if self.log else ''}" if left else ""
            self.figure.title.text = f"{self.column}: {picked:,} of {total:,} highlighted{extra}"

    # ------------------------------------------------------------------ callbacks (Bokeh server)
    def _on_bar(self, attr, old, new) -> None:
        if not new:
            return
        index = new[0]
        self.source.selected.indices = []
        if 0 <= index < len(self.categories):
            self.pane.guarded(f"filtering {self.column}", self.pane.state.toggle_category, self.column,
                              self.categories[index])

    def _on_brush(self, event) -> None:
        geometry = getattr(event, "geometry", None) or {}
        x0, x1 = geometry.get("x0"), geometry.get("x1")
        if x0 is None or x1 is None or not getattr(event, "final", True):
            return
        self.pane.guarded(f"filtering {self.column}", self.pane.state.set_range, self.column, min(x0, x1), max(x0, x1))

    def _on_clear(self, event) -> None:
        self.pane.guarded(f"clearing the {self.column} range", self.pane.state.set_range, self.column, None, None)


class SummariesPane(StatePane):
    """The linked charts of the chosen columns, and which columns use a log axis."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.columns = with_css(TextMultiChoice.from_param(self.p("summary_columns"), sizing_mode="stretch_width"),
                                "lcx-chart-columns")
        self.log_axes = with_css(TextMultiChoice.from_param(self.p("log_columns"), sizing_mode="stretch_width"),
                                 "lcx-log-columns")
        self.help = text_pane("lcx-charts-help", "Grey: all objects; blue: passing the filters (and selected, when "
                                                 "there is a selection). Click a bar to keep that category, brush a "
                                                 "histogram to keep a range (double-click it to drop the range).")
        # a flex box whose charts are placed by their CSS order: another order is a style on each chart, not
        # new children (a change of children makes Panel and Bokeh walk the whole document)
        self.grid = pn.FlexBox(flex_wrap="wrap", gap="8px", sizing_mode="stretch_width", css_classes=["lcx-charts"])
        self.charts: dict[str, ColumnChart] = {}  # column -> its chart, as shown
        self._all: list[ColumnChart] = []  # every chart in the grid, in its order: those shown, then hidden spares
        self._layout_key = None
        self._highlight_memo = None  # ((catalog, filter mask, selection), highlighted rows)
        self.watch(self.rebuild, ["summary_columns", "log_columns", "catalog"])
        self.watch(self.fill, ["filter_mask", "filters", "selection_ids", "columns_version"])
        # a new label changes only the charts of your labels (a filter on them comes as a new filter_mask):
        # refilling every chart per label given held the event loop 250-850 ms at 3,000 objects
        self.watch(self.fill_labels, ["labels_version"])
        self.rebuild()

    def rebuild(self) -> None:
        """New charts when the chosen columns, their kinds or their axes change."""
        s = self.state
        if s.catalog is None:
            return
        specs = []
        for column in s.summary_columns:
            try:
                _, kind = s.color_values(column)
            except Exception as exc:  # noqa: BLE001  a column that cannot be charted is named, not fatal
                log.warning("no chart for %s: %s", column, exc)
                continue
            specs.append((column, kind, kind == "numeric" and column in s.log_columns))
        key = tuple(specs)
        if key != self._layout_key:
            self._arrange(specs)
            self._layout_key = key
        self.fill()

    def _arrange(self, specs) -> None:
        """The charts of ``specs`` (column, kind, log axis), in that order, from the figures already on the page:
        the same column's first, then any of the same kind and axis (retitled); figures left over stay hidden.
        The order on screen is each chart's CSS order, so the grid's children change only when a figure must be
        added: each change makes Panel and Bokeh walk the whole document (new figures held the event loop
        ~0.9 s per catalog open, a reordered grid 400-1,100 ms at an upload)."""
        pool = list(self._all)
        chosen: dict[str, ColumnChart] = {}
        for column, kind, log_axis in specs:
            same = next((c for c in pool if (c.column, c.kind, c.log) == (column, kind, log_axis)), None)
            if same is not None:
                pool.remove(same)
                if not same.view.visible:  # a spare keeps an earlier catalog's counts: emptied until its fill
                    same.retarget(column)
                chosen[column] = same
        added = []
        for column, kind, log_axis in specs:
            if column in chosen:
                continue
            spare = next((c for c in pool if (c.kind, c.log) == (kind, log_axis)), None)
            if spare is not None:
                pool.remove(spare)
                spare.retarget(column)
            else:
                spare = ColumnChart(self, column, kind, log_axis)
                added.append(spare)
            chosen[column] = spare
        shown = [chosen[column] for column, _, _ in specs]
        for position, chart in enumerate(shown):
            styles = chart_styles(position)
            if chart.view.styles != styles:
                chart.view.styles = styles
            chart.view.visible = True
        for chart in pool:
            chart.view.visible = False
        if added:
            self.grid.extend([chart.view for chart in added])
        self.charts = {chart.column: chart for chart in shown}
        self._all = shown + pool

    def shown_order(self) -> list[str]:
        """The columns of the charts on screen, in the order the page draws them (their CSS order)."""
        shown = [chart for chart in self._all if chart.view.visible]
        return [chart.column for chart in sorted(shown, key=lambda c: int(c.view.styles["order"]))]

    def fill_labels(self) -> None:
        """Refill the chart of your labels only (a label was given)."""
        if "user_label" in self.charts:
            self.fill(only=("user_label",))

    def fill(self, only=None) -> None:
        """Refill every chart (or those of the columns ``only``) in place (a filter or selection changed)."""
        for column in list(self.charts):
            if only is None or column in only:
                # one chart per turn of the event loop: all of them at once held it 250-515 ms at a catalog open
                self.own_turn(self.fill_chart, column)

    def fill_chart(self, column: str) -> None:
        """Refill the chart of ``column`` from the state as it is now (nothing when it is no longer shown)."""
        chart = self.charts.get(column)
        if chart is None:
            return
        try:
            chart.fill(self._highlighted())
        except Exception as exc:  # noqa: BLE001  one bad column never blanks the other charts
            log.warning("cannot fill the %s chart: %s", chart.column, exc)

    def _highlighted(self):
        # the charts of one refill share it (a large selection is a large lookup); the state replaces the
        # catalog, mask and selection whole, so the same three objects mean the same rows
        s = self.state
        token = (s.catalog, s.filter_mask, s.selection_ids)
        memo = self._highlight_memo
        if memo is None or any(a is not b for a, b in zip(memo[0], token)):
            memo = self._highlight_memo = (token, s.highlighted())
        return memo[1]

    def __panel__(self):
        return pn.Column(pn.Row(self.columns, self.log_axes, sizing_mode="stretch_width"), self.help, self.grid,
                         sizing_mode="stretch_width")


def chart_styles(position: int) -> dict[str, str]:
    """A chart's place in the flex grid: two per row (the last one of an odd count takes the row), in order."""
    return {"order": str(position), "flex": "1 1 calc(50% - 8px)", "min-width": "260px"}


def chart_counts(chart: ColumnChart) -> dict[str, np.ndarray]:
    """The numbers a chart shows now (for tests and the notebook): its source's columns."""
    return {k: np.asarray(v) for k, v in chart.source.data.items()}
