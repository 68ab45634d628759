"""The tapped object: a plain-text header, fold / period / Lomb-Scargle, and its light curve."""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn

from .. import plots
from ..state import INTERNAL_COLUMNS
from .base import OptionalFloatInput, StatePane, bokeh_edit, text_pane, with_css

log = logging.getLogger(__name__)
HINT = "Tap a point (or a table row) to see its light curve."


class LightCurvePane(StatePane):
    """Light curve of ``state.selected_id``; observations fed to the model are ringed."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.tapped = text_pane("lcx-tapped", HINT)
        self.fold = with_css(pn.widgets.Checkbox.from_param(self.p("fold")), "lcx-fold")
        self.period_input = with_css(OptionalFloatInput.from_param(self.p("period"), step=0.01, width=110,
                                                                      placeholder="period (days)"), "lcx-period")
        self.candidates = with_css(pn.widgets.Select.from_param(self.p("candidate"), width=220, visible=False),
                                   "lcx-period-candidates")
        self.period_search = pn.widgets.Button(label="Lomb-Scargle period", width=150, align="end",
                                               css_classes=["lcx-period-search"])
        # in the session's job runner, off the event loop: a long, densely gridded search must not stall
        # other sessions (measured: 4-5 s round trips for a bystander while it ran on the loop under load)
        self.period_search.on_click(self.action("the Lomb-Scargle period search", s.jobs.submit,
                                                "the Lomb-Scargle period search", s.search_period))
        self.plot = plots.LightCurvePlot()  # one figure, redrawn in place on every tap
        self.lc_pane = pn.pane.Bokeh(self.plot.show_message("no object selected"), css_classes=["lcx-lightcurve"],
                                     name="lcx-lightcurve", sizing_mode="stretch_width", min_height=380)
        # the embedding matters too: after a URL restore the object comes first, its rings with the embedding
        self.watch(self.refresh, ["selected_id", "fold", "period", "map", "catalog"])
        # the source is set after the period (one batch each): a header drawn between the two said "period X d ()"
        self.watch(self.refresh_header, ["labels_version", "period_source"])
        self.watch(self._show_candidates, ["candidates"])
        self.refresh()

    def _show_candidates(self) -> None:
        self.candidates.visible = self.state.candidates is not None

    def refresh(self) -> None:
        """Redraw header and figure for the tapped object."""
        with bokeh_edit():
            self._refresh()

    def _refresh(self) -> None:
        s = self.state
        oid = s.selected_id
        if not oid or s.catalog is None:
            self.tapped.object = HINT
            self.plot.show_message("no object selected")
            return
        try:
            s.row_of(oid)
        except KeyError:
            self.tapped.object = f"Unknown object {oid} in this catalog."
            self.plot.show_message("unknown object")
            return
        self.refresh_header()
        self.figure(oid)

    def refresh_header(self) -> None:
        """The tapped object's id, label, metadata and period (plain text)."""
        s = self.state
        oid = s.selected_id
        if not oid or s.catalog is None:
            return
        try:
            row = s.row_of(oid)
        except KeyError:
            return
        meta = s.catalog.objects.iloc[row]
        label = s.labels.get(oid, pd.NA)
        cols = [c for c in s.catalog.objects.columns if c not in INTERNAL_COLUMNS][:5]
        extra = ", ".join(f"{c}: {meta[c]}" for c in cols)
        period = s.period_of(row)
        self.tapped.object = (f"{oid} - your label: {'-' if pd.isna(label) else label}; {extra}"
                              + (f"; period {period:.6g} d ({s.period_text()})" if period else f"; {s.period_text()}"))

    def figure(self, key):
        """Draw ``key`` in the pane's figure (returned); a bad light curve becomes a message, never an exception."""
        s = self.state
        try:
            lc = s.light_curve_frame(key)
            if len(lc) == 0:
                return self.plot.show_message(f"{key}: no valid observation", title=str(key))
            period = s.period_of(s.row_of(key))
            return self.plot.show(lc, value_kind=s.catalog.value_kind, title=str(key),
                                  folded=s.fold and period is not None, period=period)
        except Exception as exc:  # noqa: BLE001  one bad light curve never kills the session
            log.warning("cannot plot %s: %s", key, exc)
            return self.plot.show_message(f"cannot plot {key}: {type(exc).__name__}: {exc}"[:120], title=str(key))

    def __panel__(self):
        # the class on a wrapper too: Panel applies a Bokeh pane's classes only once its figure is replaced,
        # and this pane keeps one figure for good
        plot = pn.Column(self.lc_pane, css_classes=["lcx-lightcurve"], sizing_mode="stretch_width", margin=0)
        return pn.Column(self.tapped, pn.Row(self.fold, self.period_input, self.period_search), self.candidates, plot,
                         sizing_mode="stretch_width", min_width=380)
