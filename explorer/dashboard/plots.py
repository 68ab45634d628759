"""Plot builders of the dashboard: the map (HoloViews + Bokeh, datashader when large) and light curves (Bokeh).

Light curves are drawn with Bokeh directly: a tap redraws one large plot and up to ~20
thumbnails, and plain Bokeh figures are several times cheaper to build than HoloViews ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DATASHADE_ABOVE = 20_000  # points; above this the map is rasterised on the server (software-rendered
# browsers take seconds per redraw of 100k glyphs: taps at 100k took 17-43 s)
MAX_LEGEND = 20  # categories shown in the legend; the rest are drawn as "other"

_BAND_COLOURS = {
    "u": "#6a3d9a", "g": "#2ca02c", "r": "#d62728", "i": "#ff7f0e", "z": "#8c564b", "y": "#7f7f7f",
    "B": "#1f77b4", "V": "#2ca02c", "R": "#d62728", "I": "#ff7f0e",
}
_FALLBACK = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_CATEGORY = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
    "#393b79", "#637939",
)
NO_LABEL_COLOUR = "#c8c8c8"


def band_colours(bands) -> dict[str, str]:
    """A stable colour per band label (standard filters get their usual colours)."""
    out, k = {}, 0
    for b in bands:
        key = str(b)
        colour = _BAND_COLOURS.get(key) or _BAND_COLOURS.get(key.split("_")[-1][:1])
        if colour is None or colour in out.values():
            colour = _FALLBACK[k % len(_FALLBACK)]
            k += 1
        out[key] = colour
    return out


def category_colours(values, no_label: str = "(none)", domain=None) -> tuple[np.ndarray, dict[str, str]]:
    """Collapse to at most MAX_LEGEND categories (most frequent first, rest "other") and colour them.

    ``domain`` (the values of every catalog object, ``values`` being those on the map) fixes the
    categories and their colours: a class keeps its colour while the map fills, whichever objects came first.
    """
    values = pd.Series(np.asarray(values).astype(str))
    scale = values if domain is None else pd.Series(np.asarray(domain).astype(str))
    counts = scale[scale != no_label].value_counts()
    keep = list(counts.index[: MAX_LEGEND - 1]) if len(counts) > MAX_LEGEND else list(counts.index)
    collapsed = _collapse(values, keep, no_label)
    in_scale = collapsed if domain is None else _collapse(scale, keep, no_label)
    cmap = {cat: _CATEGORY[i % len(_CATEGORY)] for i, cat in enumerate(sorted(keep))}
    if (in_scale == "other").any() or (collapsed == "other").any():
        cmap["other"] = "#444444"
    if (in_scale == no_label).any() or (collapsed == no_label).any():
        cmap[no_label] = NO_LABEL_COLOUR
    return collapsed, cmap


def _collapse(values: pd.Series, keep, no_label: str) -> np.ndarray:
    return values.where(values.isin(keep) | (values == no_label), "other").to_numpy()


def collapse_to(values, cmap: dict, no_label: str = "(none)") -> np.ndarray:
    """``values`` named as the categories of a colour map made by ``category_colours`` (the rest "other")."""
    return _collapse(pd.Series(np.asarray(values).astype(str)), list(cmap), no_label)


# ---------------------------------------------------------------------------- the map
def _bokeh_backend():
    """Load HoloViews' Bokeh backend once (options cannot be set before a backend exists)."""
    import holoviews as hv

    if "bokeh" not in hv.Store.renderers:
        import holoviews.plotting.bokeh  # noqa: F401  (registers the backend)
    if hv.Store.current_backend != "bokeh":
        hv.Store.set_current_backend("bokeh")
    return hv


FILTERED_COLOUR = "#d9d9d9"  # points filtered out: seen, greyed, not hidden
FILTERED = "(filtered out)"


class MapPoints:
    """The map's points and their colours, which a new projection or more objects can replace in place.

    A new figure per map had to be built by HoloViews and laid out again by the browser (0.4-1 s of the
    server's event loop at 3,000 points under load, and Chromium sometimes left it unpainted).  ``update``
    gives the points on screen new coordinates and new objects: on a WebGL map it writes the Bokeh
    source directly (HoloViews' own update of the same data took ~300 ms at 3,000 points), on a raster
    it re-aggregates.  It refuses (returns False) when the colour scale on screen cannot show the new
    objects: another set of categories, or numbers outside its limits; ``retarget`` then writes a new
    scale into the figure (WebGL), or a new figure is built (raster).
    """

    def __init__(self, frame: pd.DataFrame, kind: str, *, log: bool = False, passes=None, domain=None,
                 label: str = "color"):
        hv = _bokeh_backend()
        self.categorical = kind == "categorical"
        self.passes = passes
        self.log = log
        self.label = str(label)  # the colour column's name: in the hover tooltip and on the colour bar
        self._scale(frame, domain)
        self.large = len(frame) > DATASHADE_ABOVE  # a raster: re-aggregated on the server, no source to write
        self.sources: list = []  # the Bokeh source of each figure drawing this WebGL map
        self.mappers: list = []  # and its colour mapper (a new scale is written into it)
        self.hovers: list = []  # and its hover tool and colour bar (another colour column is named in them)
        self.colorbars: list = []
        self.dmap = None  # the DynamicMap of these points (``map_element``)
        self._sent = None  # the columns last written into the sources (None: HoloViews drew them since)
        self.stream = hv.streams.Stream.define("Moved", version=0)()
        self._set(frame)

    def _scale(self, frame: pd.DataFrame, domain) -> None:
        """The colour scale: categories and their colours, or numeric limits, from ``domain`` when given
        (every catalog object), else from the points of ``frame``."""
        self.whole_catalog = domain is not None
        self.cmap, self.clim = None, None
        if self.categorical:
            _, self.cmap = category_colours(frame["color"], domain=domain)
            self.cmap[FILTERED] = FILTERED_COLOUR
            self.cats = list(self.cmap)
        else:
            self.clim = colour_limits(frame["color"] if domain is None else domain, log=self.log)

    def _encode(self, frame: pd.DataFrame):
        """Colour codes (categorical) or values of ``frame`` on this scale; None when it cannot show them."""
        if self.categorical:
            if self.whole_catalog:  # the scale of the whole catalog, made once
                named = collapse_to(frame["color"], self.cmap)
                if not np.isin(named, self.cats).all():
                    return None
                return pd.Categorical(named, categories=self.cats).codes
            named, cmap = category_colours(frame["color"])
            if {**cmap, FILTERED: FILTERED_COLOUR} != self.cmap:
                return None
            return pd.Categorical(named, categories=self.cats).codes
        values = frame["color"].to_numpy(dtype=np.float64)
        v = values[np.isfinite(values) & (values > 0)] if self.log else values[np.isfinite(values)]
        if len(v) and (v.min() < self.clim[0] or v.max() > self.clim[1]):
            return None
        return values

    def _set(self, frame: pd.DataFrame, encoded=None) -> None:
        self.encoded = self._encode(frame) if encoded is None else encoded
        self.base = frame.drop(columns=[c for c in ("color", "passes") if c in frame]).reset_index(drop=True)

    def mask(self):
        """Bool per point, False where it fails the filters (None: every point passes)."""
        keep = self.passes(self.base["row"].to_numpy()) if self.passes is not None else None
        return None if keep is None or np.all(keep) else np.asarray(keep, dtype=bool)

    def coloured(self, keep=None):
        """The colour column of the points, the filtered-out ones as the grey category (NaN if numeric)."""
        if self.categorical:
            c = self.encoded.copy()
            if keep is not None:
                c[~keep] = len(self.cats) - 1
            return pd.Categorical.from_codes(c, categories=self.cats)
        v = self.encoded.copy()
        if keep is not None:
            v[~keep] = np.nan  # drawn in the colour mapper's grey NaN colour (points) / left to the grey layer
        return v

    def update(self, frame: pd.DataFrame) -> bool:
        """Show ``frame``'s points (new coordinates, more or other objects) in the figure on screen;
        False when its colour scale cannot (then nothing changed).  The points already on screen keep
        their place in the source, new ones come after them: a first look that grows sends only its new
        points (``_write``)."""
        encoded = self._encode(frame)
        if encoded is None:
            return False
        order = self._kept_first(frame)
        if order is not None:
            frame, encoded = frame.iloc[order], np.asarray(encoded)[order]
        self._set(frame, encoded)
        self._write()
        return True

    def _kept_first(self, frame: pd.DataFrame):
        """Positions of ``frame`` putting the catalog rows on screen first, in their order on screen, then the
        others; None when some row on screen is not in ``frame``."""
        rows = frame["row"].to_numpy()
        index = pd.Index(rows)
        if not index.is_unique:
            return None
        at = index.get_indexer(self.base["row"].to_numpy())
        if not len(at) or (at < 0).any():
            return None
        rest = np.ones(len(rows), bool)
        rest[at] = False
        return np.concatenate([at, np.flatnonzero(rest)])

    def retarget(self, frame: pd.DataFrame, domain=None, label: str | None = None) -> bool:
        """Show ``frame`` (another catalog's points, another colour column of the same kind, or colours the
        scale on screen cannot show) in the figure on screen, on a new colour scale made from ``domain``,
        written into its colour mappers; ``label`` names the colour column in the hover tool and colour bar.

        A catalog switch or another colouring then adds no model to the page: a new figure cost its build
        plus Bokeh's walk of every model of the page, 0.4-0.9 s of the event loop under load.  A map not
        drawn yet (a tab never opened) takes the new scale with its first frame (``style``).  False (nothing
        changed) for a raster or for more points than WebGL draws: build a new figure.
        """
        if self.large or len(frame) > DATASHADE_ABOVE:
            return False
        self._scale(frame, domain)
        self._set(frame)
        for mapper in self.mappers:
            if self.categorical:
                mapper.update(factors=list(self.cmap), palette=list(self.cmap.values()))
            else:
                mapper.update(low=self.clim[0], high=self.clim[1])
        if label is not None and str(label) != self.label:
            self.label = str(label)
            for tool in self.hovers:
                tool.tooltips = self.hover()
            for bar in self.colorbars:
                bar.title = self.label
        self._write()
        return True

    def clear(self) -> bool:
        """Remove every point from the figure on screen, or from the map not drawn yet (its catalog was
        left); False for a raster."""
        if self.large:
            return False
        self._set(self.base.iloc[:0].assign(color=np.empty(0, dtype=np.float64 if not self.categorical else object)))
        self._write()
        return True

    def attach(self, handles: dict) -> None:
        """Write into the figure HoloViews just drew (its ``handles``): its source, colour mapper, hover tool
        and colour bar (WebGL maps; a raster is re-aggregated instead)."""
        source = handles.get("source")
        if self.large or source is None:
            return
        self.sources.append(source)
        self._sent = {k: source.data[k] for k in source.data}  # what HoloViews just wrote into it
        for models, name in ((self.mappers, "color_color_mapper"), (self.hovers, "hover"),
                             (self.colorbars, "color_colorbar")):
            if handles.get(name) is not None:
                models.append(handles[name])

    def forget_detached(self) -> None:
        """Drop the models of figures that left the page (a dynamic tab reopened draws a new figure)."""
        for name in ("sources", "mappers", "hovers", "colorbars"):
            setattr(self, name, [model for model in getattr(self, name) if model.document is not None])

    def hover(self) -> list[tuple[str, str]]:
        """The hover tool's lines: the object, your label and the colour column's value (Bokeh shows them as text)."""
        return [("object", "@object_id"), ("your label", "@user_label"), (self.label, "@color")]

    def style(self) -> dict:
        """HoloViews options of the scale and colour column now in use: a redraw by HoloViews (filters) keeps
        what ``retarget`` replaced."""
        named = dict(hover_tooltips=self.hover())
        return dict(named, cmap=self.cmap) if self.categorical else dict(named, clim=self.clim, clabel=self.label)

    def _write(self) -> None:
        """Send the points to the figures on screen: their sources directly (WebGL), else a re-aggregation."""
        if not self.sources:
            self.stream.event(version=self.stream.version + 1)
            return
        # a figure drawn again later (a dynamic tab reopened) takes HoloViews' last frame, or its memo of
        # the callback for the same stream values: both forgotten, the points of now are asked for (a
        # reopened tab showed the previous catalog's points)
        self.stream.update(version=self.stream.version + 1)
        if self.dmap is not None:
            self.dmap.reset()
        base, colours = self.base, self.coloured(self.mask())
        data = {"x": base["x"].to_numpy(np.float64), "y": base["y"].to_numpy(np.float64),
                "object_id": base["object_id"].astype(str).tolist(),
                "user_label": base["user_label"].astype(str).tolist(),
                "color": colours.astype(str).tolist() if self.categorical else np.asarray(colours, np.float64),
                "row": base["row"].to_numpy()}
        sent, self._sent = self._sent, data
        n = 0 if sent is None else len(sent["row"])
        if 0 < n < len(data["row"]) and same_columns(sent, {k: v[:n] for k, v in data.items()}):
            # the points on screen are unchanged: only the new ones go out (a growing first look re-sent
            # all of its 3,000 points at each step, 0.3-0.5 s of the event loop under load)
            tail = {k: v[n:] for k, v in data.items()}
            for source in self.sources:
                source.stream(tail)
            return
        for source in self.sources:
            source.data = dict(data)


def _same(a, b) -> bool:
    """Two columns of a Bokeh source hold the same values (NaN equal to NaN); False when they cannot be
    compared (then the whole source is written again)."""
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a), np.asarray(b)
            floats = a.dtype.kind == "f" and b.dtype.kind == "f"
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=floats))
        return list(a) == list(b)
    except (TypeError, ValueError):
        return False


def same_columns(data: dict, other: dict) -> bool:
    """Two Bokeh source contents with the same columns and values."""
    return data.keys() == other.keys() and all(_same(data[k], other[k]) for k in data)


def colour_limits(values, *, log: bool = False) -> tuple[float, float]:
    """Limits of a numeric colour scale: the finite (positive, on a log scale) values' range."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    if not len(v):
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if hi > lo:
        return lo, hi
    return (lo / 2, lo * 2) if log else (lo - 0.5, hi + 0.5)


def padded_range(values, padding: float = 0.1) -> tuple[float, float]:
    """Axis limits around finite ``values`` with HoloViews' default padding for points."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = (hi - lo) * padding if hi > lo else 0.5
    return lo - pad, hi + pad


def map_element(frame: pd.DataFrame, kind: str, color_label: str, *, width: int = 560, height: int = 480,
                responsive: bool = False, log: bool = False, passes=None, streams=(), domain=None):
    """The projection scatter: WebGL points (hover, tap, box, lasso) or a datashader raster when large.

    ``frame`` comes from ``ExplorerState.points_frame`` (x, y, row, object_id, user_label, color).
    ``passes(rows)`` (optional) gives a bool per catalog row, False for points that fail the filters: they
    are drawn grey ("(filtered out)"), not hidden.  The points are a DynamicMap on ``streams``: when a filter
    changes only the points are recoloured and re-aggregated, the plot is not rebuilt (at 1M points a
    rebuild took seconds).  ``log`` colours a numeric column on a log scale.  ``domain`` (the colour
    values of every catalog object) sets the colour scale, so a map that grows keeps its colours.
    Returns ``(element, source, points)``: what to display, the element the selection streams attach to,
    and the :class:`MapPoints` whose ``update`` shows new coordinates and new objects in place.
    """
    hv = _bokeh_backend()

    tools = ["tap", "box_select", "lasso_select", "wheel_zoom", "pan", "reset"]
    # default_tools: HoloViews would add its own pan/wheel_zoom/reset again, doubling the toolbar
    common = dict(width=width, height=height, xaxis=None, yaxis=None, tools=tools, default_tools=["box_zoom", "save"],
                  active_tools=["wheel_zoom", "tap"], toolbar="above")
    if responsive:  # fills the pane's width (the page decides), keeps its height
        common.pop("width")
        common.update(responsive=True, min_width=320)
    categorical = kind == "categorical"
    table = MapPoints(frame, kind, log=log, passes=passes, domain=domain, label=color_label)
    cmap, clim = table.cmap, table.clim
    cnorm = "log" if log and not categorical else "linear"
    streams = [*streams, table.stream]
    large = table.large

    def points(**_):
        table._sent = None  # HoloViews writes these points into the figure itself
        # the colour dimension named as now: ``retarget`` may have given the figure another colour column
        vdims = ["object_id", "user_label", hv.Dimension("color", label=table.label), "row"]
        out = hv.Points(table.base.assign(color=table.coloured(table.mask())), kdims=["x", "y"], vdims=vdims)
        return out if large else out.opts(**table.style())

    dmap = table.dmap = hv.DynamicMap(points, streams=list(streams))

    if not large:
        opts = dict(common, size=5, alpha=0.8, tools=[*tools, "hover"], nonselection_alpha=0.25,
                    backend_opts={"plot.output_backend": "webgl"})
        # the scale (categories' colours, numeric limits) and the colour column's name (hover tool, colour
        # bar) come with each frame (``MapPoints.style``): set here, they would win over the frame's and
        # undo what ``MapPoints.retarget`` replaced
        if categorical:  # the legend is drawn beside the plot as text (legend_html): it never eats the map
            opts.update(color="color", show_legend=False)
        else:
            opts.update(color="color", cmap="viridis", colorbar=True, cnorm=cnorm,
                        clipping_colors={"NaN": FILTERED_COLOUR})
        dmap = dmap.opts(**opts)
        return dmap, dmap, table

    import datashader as ds
    from holoviews.operation.datashader import datashade, dynspread, rasterize

    # no hover tool on the raster: the hover preview (PointerXY -> server) names the object under the
    # pointer, and a per-pixel "which object" summary doubled the cost of every re-aggregation
    selector = None
    if categorical:
        present = [c for c in table.cats if c != FILTERED]
        if len(present) == 1 and passes is None:
            # with a single category datashader ignores color_key: shade plain counts in that colour
            only = cmap[present[0]]
            shaded = datashade(dmap, aggregator=ds.count(), cmap=[only, only], selector=selector)
        else:
            # a list in category order: a dict colour key drops categories in datashader 0.19
            shaded = datashade(dmap, aggregator=ds.count_cat("color"), color_key=[cmap[c] for c in table.cats],
                               selector=selector)
        return dynspread(shaded, threshold=0.6).opts(**common), shaded, table
    raster = rasterize(dmap, aggregator=ds.mean("color"), selector=selector).opts(
        cmap="viridis", colorbar=True, clabel=color_label, cnorm=cnorm, clim=clim, **common)
    top = dynspread(raster, threshold=0.6)
    if passes is None:
        return top, raster, table

    def filtered_out(**_):
        keep = table.mask()
        rows = slice(0, 0) if keep is None else ~keep
        return hv.Points(table.base[rows], kdims=["x", "y"], vdims=["object_id", "user_label", "row"])

    grey = datashade(hv.DynamicMap(filtered_out, streams=list(streams)), aggregator=ds.count(),
                     cmap=[FILTERED_COLOUR, FILTERED_COLOUR])
    return dynspread(grey, threshold=0.6).opts(**common) * top, raster, table


def legend_html(values, title: str, keep=None, cmap: dict | None = None) -> str:
    """The map's legend as HTML: each class with its colour and count; with ``keep`` (bool per value,
    the objects passing the filters) the count reads "306 of 500"; ``cmap``: the map's own colours
    (``MapPoints.cmap``), else made from ``values``."""
    from html import escape

    if cmap is None:
        collapsed, cmap = category_colours(values)
    else:
        cmap = {k: v for k, v in cmap.items() if k != FILTERED}
        collapsed = collapse_to(values, cmap)
    totals = pd.Series(collapsed).value_counts()
    passing = pd.Series(collapsed[np.asarray(keep, dtype=bool)]).value_counts() if keep is not None else None

    def count(c):
        total = int(totals.get(c, 0))
        return f"{total:,}" if passing is None else f"{int(passing.get(c, 0)):,} of {total:,}"

    items = "".join(f'<span class="lcx-legend-item" style="margin-right:10px;white-space:nowrap">'
                    f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;background:{c}">'
                    f'</span> {escape(str(k))} ({count(k)})</span> ' for k, c in cmap.items())
    return f'<div class="lcx-legend"><b>{escape(title)}</b>: {items}</div>'


def mark_layer(fig, *, kind: str = "tapped", data: dict | None = None):
    """Add an empty mark layer to a Bokeh figure: a ring for the tapped object, small dark circles for
    the selection, or lines to the neighbours; returns ``(source, renderer)`` (set ``source.data``:
    ``x, y`` for marks, ``x0, y0, x1, y1`` for lines)."""
    from bokeh.models import ColumnDataSource

    if kind == "neighbours":  # lines from the tapped object to its nearest neighbours (full space)
        src = ColumnDataSource(data or dict(x0=[], y0=[], x1=[], y1=[]))
        r = fig.segment("x0", "y0", "x1", "y1", source=src, line_color="#ff1744", line_alpha=0.55, line_width=1.5)
        r.selection_glyph = r.nonselection_glyph = r.glyph
        return src, r
    src = ColumnDataSource(data or dict(x=[], y=[]))
    if kind == "tapped":
        r = fig.scatter("x", "y", source=src, marker="circle", size=16, fill_alpha=0, line_color="#ff1744",
                        line_width=3)
    else:
        r = fig.scatter("x", "y", source=src, marker="circle", size=7, fill_alpha=0, line_color="#111111",
                        line_width=1.2)
    # the marks are not data: box/lasso selections must not dim them
    r.selection_glyph = r.nonselection_glyph = r.glyph
    return src, r


# ---------------------------------------------------------------------------- light curves
def _use_fold(lc: pd.DataFrame, folded: bool, period: float | None) -> bool:
    """Fold only with a usable period and phases to plot."""
    return bool(folded and period is not None and np.isfinite(period) and period > 0 and lc["phase"].notna().any())


class LightCurvePlot:
    """One light-curve figure kept for the life of a pane and redrawn by replacing its data.

    A tap then sends a few arrays to the browser instead of a new figure it must lay out again (a new
    figure per tap cost ~80 ms on the server and most of the browser's time at 1M points).
    Conventions: colour per band, error bars, magnitudes inverted, two cycles when folded, the
    observations fed to the model ringed.
    """

    def __init__(self, *, small: bool = False):
        from bokeh.models import ColumnDataSource, Legend, Range1d
        from bokeh.plotting import figure

        if small:
            fig = figure(width=230, height=150, toolbar_location=None, tools="")
            fig.title.text_font_size = "9pt"
            fig.axis.major_label_text_font_size = "7pt"
        else:
            # wheel zoom offered but not active: scrolling the page over the light curve scrolls the page
            fig = figure(height=380, tools="pan,wheel_zoom,box_zoom,reset,save", sizing_mode="stretch_width",
                         min_width=320)
            fig.toolbar.active_scroll = None
        fig.x_range, fig.y_range = Range1d(0, 1), Range1d(0, 1)
        size = 3 if small else 5
        self.small = small
        self.points = ColumnDataSource(dict(x=[], value=[], lo=[], hi=[], band=[], colour=[]))
        self.used = ColumnDataSource(dict(x=[], value=[]))
        self.text = ColumnDataSource(dict(x=[], y=[], text=[]))
        fig.segment("x", "lo", "x", "hi", source=self.points, line_color="colour", line_alpha=0.5)
        self._dots = fig.scatter("x", "value", source=self.points, size=size, color="colour")
        self._rings = fig.scatter("x", "value", source=self.used, size=size + 3, fill_alpha=0, line_color="black",
                                  line_alpha=0.5, line_width=1)
        fig.text("x", "y", text="text", source=self.text, text_align="center", text_baseline="middle",
                 text_font_size="9pt")
        if not small:
            self.legend = Legend(items=[], location="top_right", label_text_font_size="8pt")
            fig.add_layout(self.legend)
        self.figure = fig

    def show(self, lc: pd.DataFrame, *, value_kind: str = "mag", title: str = "", folded: bool = False,
             period: float | None = None):
        """Draw ``lc`` (from ``ExplorerState.light_curve_frame``: time, value, error, band, used, phase)."""
        from bokeh.models import LegendItem

        use_fold = _use_fold(lc, folded, period)
        if use_fold:
            lc = pd.concat([lc.assign(x=lc["phase"]), lc.assign(x=lc["phase"] + 1.0)], ignore_index=True)
        else:
            lc = lc.assign(x=lc["time"])
        x = lc["x"].to_numpy(dtype=float)
        val = lc["value"].to_numpy(dtype=float)
        err = np.nan_to_num(lc["error"].to_numpy(dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
        bands = lc["band"].astype(str).to_numpy()
        colours = band_colours(pd.unique(bands))
        self.points.data = dict(x=x, value=val, lo=val - err, hi=val + err, band=bands,
                                colour=np.array([colours[b] for b in bands], dtype=object))
        used = lc["used"].to_numpy(dtype=bool) if "used" in lc else np.zeros(len(lc), dtype=bool)
        self.used.data = dict(x=x[used], value=val[used])
        self.text.data = dict(x=[], y=[], text=[])
        fig = self.figure
        fig.title.text = title
        fig.output_backend = "webgl" if len(lc) > 5000 else "canvas"
        if not self.small:
            fig.xaxis.axis_label = "phase" if use_fold else "time (days)"
            fig.yaxis.axis_label = "magnitude" if value_kind == "mag" else "flux"
            first = {b: int(np.flatnonzero(bands == b)[0]) for b in colours}
            items = [LegendItem(label=b, renderers=[self._dots], index=i) for b, i in first.items()]
            if used.any():
                items.append(LegendItem(label="fed to the model", renderers=[self._rings]))
            self.legend.items = items
        ok = np.isfinite(x) & np.isfinite(val)
        if ok.any():
            x0, x1 = float(x[ok].min()), float(x[ok].max())
            lo, hi = float(np.min((val - err)[ok])), float(np.max((val + err)[ok]))
            xpad, ypad = 0.03 * (x1 - x0) or 0.5, 0.05 * (hi - lo) or 0.1
            # brighter (smaller) magnitudes at the top
            ys = (hi + ypad, lo - ypad) if value_kind == "mag" else (lo - ypad, hi + ypad)
            self._set_ranges((x0 - xpad, x1 + xpad), ys)
        return fig

    def show_message(self, text: str, *, title: str = ""):
        """Empty the plot and show ``text`` in it (an object that cannot be plotted)."""
        self.points.data = dict(x=[], value=[], lo=[], hi=[], band=[], colour=[])
        self.used.data = dict(x=[], value=[])
        self.text.data = dict(x=[0.5], y=[0.5], text=[text])
        self.figure.title.text = title
        if not self.small:
            self.legend.items = []
        self._set_ranges((0.0, 1.0), (0.0, 1.0))
        return self.figure

    def _set_ranges(self, xs, ys) -> None:
        fig = self.figure
        for rng, (a, b) in ((fig.x_range, xs), (fig.y_range, ys)):
            # reset_* too: the reset tool returns to this object's view, not the first one drawn
            rng.update(start=a, end=b, reset_start=a, reset_end=b)


def light_curve_figure(lc: pd.DataFrame, *, value_kind: str = "mag", title: str = "", folded: bool = False,
                       period: float | None = None, small: bool = False):
    """A new Bokeh figure of one light curve (see :class:`LightCurvePlot` for the conventions)."""
    return LightCurvePlot(small=small).show(lc, value_kind=value_kind, title=title, folded=folded, period=period)


def message_figure(text: str, *, small: bool = False):
    """A blank figure carrying a message (used when an object cannot be plotted)."""
    return LightCurvePlot(small=small).show_message(text)


def light_curve_svg(lc: pd.DataFrame, *, value_kind: str = "mag", title: str = "", folded: bool = False,
                    period: float | None = None, width: int = 230, height: int = 140) -> str:
    """A small static SVG of a light curve (thumbnails: ~100x cheaper than a Bokeh figure).

    Same conventions as :func:`light_curve_figure`: colour per band, error bars, magnitudes
    inverted, two cycles when folded.
    """
    from html import escape

    pad_l, pad_r, pad_t, pad_b = 6, 6, 18, 6
    use_fold = _use_fold(lc, folded, period)
    if use_fold:
        x = np.concatenate([lc["phase"].to_numpy(float), lc["phase"].to_numpy(float) + 1.0])
        sub = pd.concat([lc, lc], ignore_index=True)
    else:
        x = lc["time"].to_numpy(float)
        sub = lc
    y = sub["value"].to_numpy(float)
    e = np.nan_to_num(sub["error"].to_numpy(float), nan=0.0)
    ok = np.isfinite(x) & np.isfinite(y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" style="background:#fff;border:1px solid #ddd">',
             f'<text x="4" y="12" font-size="10" font-family="sans-serif">{escape(title)}</text>']
    if ok.any():
        x, y, e, bands = x[ok], y[ok], e[ok], sub["band"].to_numpy().astype(str)[ok]
        x0, x1 = float(x.min()), float(x.max())
        lo, hi = np.percentile(y - e, 0.5), np.percentile(y + e, 99.5)
        lo, hi = (float(lo), float(hi)) if hi > lo else (float(y.min()) - 0.5, float(y.max()) + 0.5)
        w, h = width - pad_l - pad_r, height - pad_t - pad_b
        sx = pad_l + (x - x0) / ((x1 - x0) or 1.0) * w

        def sy(v):
            frac = (np.clip(v, lo, hi) - lo) / ((hi - lo) or 1.0)
            # magnitudes: brighter (smaller) at the top, as on the main plot
            return pad_t + (frac if value_kind == "mag" else 1.0 - frac) * h

        colours = band_colours(pd.unique(bands))
        for band, colour in colours.items():
            m = bands == band
            seg = " ".join(f"M{a:.1f} {b:.1f}V{c:.1f}" for a, b, c in zip(sx[m], sy(y[m] - e[m]), sy(y[m] + e[m])))
            if seg:
                parts.append(f'<path d="{seg}" stroke="{colour}" stroke-opacity="0.4" stroke-width="0.8"/>')
            dots = "".join(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="1.6"/>' for a, b in zip(sx[m], sy(y[m])))
            parts.append(f'<g fill="{colour}">{dots}</g>')
    else:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" font-size="10" text-anchor="middle">no data</text>')
    parts.append("</svg>")
    return "".join(parts)
