"""The tapped object's light curve: its observations, the period it is folded with and where that
period comes from (typed, Lomb-Scargle, catalog), and the period search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from explorer import offload
from explorer.errors import CatalogError, ExplorerError

from ..jobs import JobRunner
from .catalogs import CatalogSession
from .common import Messages, Part
from .selection import Selection

PERIOD_COLUMNS = ("period", "Period", "PERIOD", "period_days", "P", "per")
SOURCES = ("", "catalog", "Lomb-Scargle", "typed")


def fold(time: np.ndarray, period: float) -> np.ndarray:
    """Phase in [0, 1) of each time for ``period``."""
    return np.mod(time - np.nanmin(time), period) / period


class LightCurves(Part):
    """Fold and period of the tapped object; the period field always shows the period in use."""

    fold = param.Boolean(default=False, label="phase-fold", doc="Show the tapped light curve phase-folded.")
    period = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                          label="Period (d)", doc="Period (days) the tapped light curve is folded with.")
    period_source = param.Selector(default="", objects=list(SOURCES), constant=True,
                                   doc="Where the period in use comes from ('' when there is none).")
    candidate = param.Selector(default=None, objects=[], allow_None=True, label="Period candidates",
                               doc="The periodogram's best peaks and their multiples (x2: eclipsing binaries); "
                                   "the one chosen is folded with.")
    candidates = param.DataFrame(default=None, allow_None=True, constant=True,
                                 doc="Lomb-Scargle candidates of the tapped object (period, power, peak, label).")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    selection = param.ClassSelector(class_=Selection, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)
    jobs = param.ClassSelector(class_=JobRunner, constant=True)

    catalog_bound = ("period", "period_source", "candidates")

    def __init__(self, **params):
        super().__init__(**params)
        self._typed: dict[str, float] = {}  # periods typed by the user, per object id
        self._searched: dict[str, float] = {}  # Lomb-Scargle periods (the candidate chosen), per object id
        self._tables: dict[str, object] = {}  # Lomb-Scargle candidates, per object id
        self._showing = False  # the part itself writes the period field
        self.param.watch(self._on_period, ["period"])
        self.param.watch(self._on_candidate, ["candidate"])
        self.selection.param.watch(lambda *_: self.show_period(), ["selected_id"])

    def revalidate(self, catalog) -> None:
        """Periods belong to the objects of one catalog."""
        self._typed, self._searched, self._tables = {}, {}, {}
        self.show_period()

    # ------------------------------------------------------------------ the period in use
    def catalog_period(self, key) -> float | None:
        """The period given by the catalog's period column for this object, if any."""
        cat = self.session.require()
        row = self.session.row_of(key)
        for col in PERIOD_COLUMNS:
            if col in cat.objects.columns:
                value = pd.to_numeric(pd.Series([cat.objects[col].iloc[row]]), errors="coerce").iloc[0]
                if np.isfinite(value) and value > 0:
                    return float(value)
        return None

    def period_in_use(self, key) -> tuple[float | None, str]:
        """``(period, source)`` for an object: typed, else Lomb-Scargle, else the catalog's; (None, '')."""
        row = self.session.row_of(key)
        oid = str(self.session.catalog.object_ids[row])
        if oid in self._typed:
            return self._typed[oid], "typed"
        if oid in self._searched:
            return self._searched[oid], "Lomb-Scargle"
        value = self.catalog_period(row)
        return (value, "catalog") if value else (None, "")

    def period_of(self, key) -> float | None:
        """Period used for folding this object (None when none is known)."""
        return self.period_in_use(key)[0]

    def show_period(self) -> None:
        """Put the tapped object's period in use into the period field, with its source."""
        oid = self.selection.selected_id
        value, source = None, ""
        if oid and self.session.catalog is not None:
            try:
                value, source = self.period_in_use(oid)
            except KeyError:
                pass
        table = self._tables.get(oid)
        options = {f"{lab}: {p:.6g} d": float(p) for lab, p in zip(table["label"], table["period"])} \
            if table is not None else {}
        self._showing = True
        try:
            self.param.candidate.objects = options
            chosen = next((k for k, p in options.items() if value is not None and abs(p - value) <= 1e-9 * p), None)
            self.candidate = options[chosen] if chosen is not None else None
            self.period = value
        finally:
            self._showing = False
        self._out(period_source=source, candidates=table)

    def _on_period(self, *_):
        # a typed period belongs to the object it was typed for, never to the next one tapped
        if self._showing:
            return
        oid = self.selection.selected_id
        if not oid:
            return
        value = self.period
        if value is not None and np.isfinite(value) and value > 0:
            self._typed[oid] = float(value)
        else:
            self._typed.pop(oid, None)
        self.show_period()

    def _on_candidate(self, *_):
        # a candidate chosen (2 x the strongest peak for an eclipsing binary): the period in use
        oid = self.selection.selected_id
        if self._showing or not oid or self.candidate is None:
            return
        self._searched[oid] = float(self.candidate)
        self._typed.pop(oid, None)
        self.show_period()

    def period_text(self) -> str:
        """Where the period in use comes from, in words."""
        if self.period is None:
            return "no period known: type one or search it"
        return {"catalog": "from the catalog", "Lomb-Scargle": "Lomb-Scargle", "typed": "typed"}.get(
            self.period_source, "")

    # ------------------------------------------------------------------ search
    def lomb_scargle_period(self, key=None, *, min_period: float = 0.05, max_period: float | None = None) -> float:
        """Best Lomb-Scargle period of the object's best-sampled band (memoised), on a bounded grid
        (tens of MB whatever the time span), with the next peaks and their multiples as candidates; the
        dashboard runs it in the session's job runner."""
        from explorer.representations.periods import period_candidates

        key = self.selection.selected_id if key is None else key
        if key in (None, ""):
            raise ExplorerError("no object is tapped: tap one before searching its period")
        row = self.session.row_of(key)
        cat = self.session.catalog
        oid = str(cat.object_ids[row])
        if oid in self._searched:
            return self._searched[oid]
        lc = cat.light_curve(row)
        if len(lc) < 5:
            raise CatalogError(f"object {oid!r} has {len(lc)} observations; too few for a period search")
        band = lc["band"].value_counts().idxmax()
        part = lc[lc["band"] == band]
        try:
            # in a worker process when the app runs one: FFT planning and the periodogram hold the GIL
            table = offload.call(period_candidates, part["time"].to_numpy(), part["value"].to_numpy(),
                                 min_period=min_period, max_period=max_period, check=self.jobs.check)
        except CatalogError as exc:
            raise CatalogError(f"object {oid!r}, band {band}: {exc}") from None
        self._tables[oid] = table
        self._searched[oid] = float(table["period"].iloc[0])
        return self._searched[oid]

    def search_period(self) -> float:
        """Lomb-Scargle period of the tapped object, put in use (folded)."""
        oid = self.selection.selected_id
        period = self.lomb_scargle_period()
        self._typed.pop(oid, None)
        if self.selection.selected_id == oid:
            self.show_period()
            self.fold = True
        self.messages.say(f"Lomb-Scargle period of {oid}: {period:.6g} d")
        return period

    # ------------------------------------------------------------------ observations
    def light_curve_frame(self, key=None, embedding=None) -> pd.DataFrame:
        """The object's observations (time, value, error, band) plus ``used`` (fed to the model of
        ``embedding``) and ``phase`` (for the period in use)."""
        key = self.selection.selected_id if key is None else key
        row = self.session.row_of(key)
        cat = self.session.catalog
        lc = cat.light_curve(row).reset_index(drop=True)
        used = np.zeros(len(lc), dtype=bool)
        if embedding is not None and embedding.catalog is cat:
            used = embedding.observations_used(row, len(lc))
        lc["used"] = used
        period = self.period_of(row)
        lc["phase"] = fold(lc["time"].to_numpy(), period) if period else np.nan
        return lc
