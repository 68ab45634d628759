"""How the maps are coloured and rated: the colour column, the rating column, the neighbour count, and
the values of any column per catalog row (shared by the main map and the second one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from explorer.errors import CatalogError

from .catalogs import CatalogSession, default_class_column, label_columns_of
from .common import INTERNAL_COLUMNS, NO_LABEL, SUGGESTION, USER_LABEL, Part
from .labelling import Labelling


def color_options_of(cat) -> list[str]:
    """Colour-by choices of a catalog: the user labels, then every metadata column of its objects table."""
    if cat is None:
        return [USER_LABEL]
    # lists, arrays and structs can be neither coloured by nor filtered on
    return [USER_LABEL] + [str(c) for c in cat.scalar_columns() if c not in INTERNAL_COLUMNS]


class Display(Part):
    """Colour and rating choices, and the column values they draw."""

    color_by = param.Selector(default=USER_LABEL, objects=[USER_LABEL], label="Colour by",
                              doc="Column colouring the map (user_label = the labels given here).")
    quality_column = param.Selector(default=None, objects=[], allow_None=True, label="Rate the map by",
                                    doc="Label column the map quality figures are computed for.")
    k_neighbours = param.Integer(default=8, bounds=(1, 100), doc="How many nearest neighbours to show.")
    columns_version = param.Integer(default=0, constant=True,
                                    doc="Bumped whenever a derived column (suggestion, prediction, ...) changes.")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    labelling = param.ClassSelector(class_=Labelling, constant=True)

    def __init__(self, **params):
        super().__init__(**params)
        self._scores: dict = {}  # catalog hash -> {(representation, column): 2-D kNN}, to name the best
        self._first = True
        self._derived: dict = {}  # name -> (available(), values(catalog) -> (values, kind)), from other parts
        self.labelling.param.watch(lambda *_: self.refresh_colour_options(), ["suggestions"])

    def revalidate(self, catalog) -> None:
        """Colour and rating columns of the new catalog (its class column on the first catalog)."""
        self.refresh_colour_options()
        default = default_class_column(catalog)
        if self.color_by not in self.param.color_by.objects or self._first:
            self.color_by = default
        rating = label_columns_of(catalog)
        self.param.quality_column.objects = rating
        if self.quality_column not in rating:
            self.quality_column = default if default in rating else USER_LABEL
        self._first = False

    def add_column(self, name: str, available, values) -> None:
        """A column another part derives (``available()`` says when it exists, ``values(catalog)`` gives
        ``(values, kind)`` per catalog row): offered as a colour and a filter once available."""
        self._derived[name] = (available, values)

    def derived_columns(self) -> list[str]:
        """The derived columns available now (``suggestion`` first)."""
        names = [SUGGESTION] if self.labelling.suggestions is not None else []
        return names + [n for n, (available, _) in self._derived.items() if available()]

    def refresh_colour_options(self) -> None:
        """Colour options of the open catalog, with the derived columns that exist now."""
        options = self.color_options
        self.param.color_by.objects = options
        self._out(columns_version=self.columns_version + 1)
        if self.color_by not in options:
            self.color_by = options[0]

    @property
    def color_options(self) -> list[str]:
        """Colour-by choices: the user labels, every metadata column, then the derived columns."""
        cat = self.session.catalog
        return color_options_of(cat) + (self.derived_columns() if cat is not None else [])

    def color_values(self, column: str | None = None, cat=None) -> tuple[np.ndarray, str]:
        """Values of a colour option for every catalog row and their kind: "categorical" or "numeric"."""
        column = column or self.color_by
        cat = cat or self.session.require()
        if column == USER_LABEL:
            return self.labelling.label_array(cat), "categorical"
        suggestions = self.labelling.suggestions
        if column == SUGGESTION and suggestions is not None:
            values = np.full(len(cat), NO_LABEL, dtype=object)
            values[suggestions["row"].to_numpy()] = suggestions["suggestion"].to_numpy()
            return values, "categorical"
        if column in self._derived and self._derived[column][0]():
            return self._derived[column][1](cat)
        if column not in cat.objects.columns or column in INTERNAL_COLUMNS:
            raise CatalogError(f"cannot colour by {column!r}: not a metadata column of the objects table of "
                               f"{cat.name!r} (columns: {', '.join(color_options_of(cat)[1:])})")
        series = cat.objects[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            return series.astype("string").fillna(NO_LABEL).astype(str).to_numpy(), "categorical"
        return series.to_numpy(dtype=np.float64, na_value=np.nan), "numeric"

    # ------------------------------------------------------------------ rating
    def rating_labels(self, column: str, cat) -> np.ndarray:
        """Labels of a rating column for every catalog row (None where unlabelled)."""
        if column == USER_LABEL:
            return self.labelling.user_labels(cat)
        if column not in cat.objects.columns:
            raise CatalogError(f"cannot rate the map by {column!r}: not a column of the objects table")
        return cat.objects[column].astype("string").to_numpy(dtype=object, na_value=None)

    def record_score(self, cat, representation: str, column: str, knn_2d) -> None:
        """Remember a map's 2-D kNN score, to name the best representation rated so far."""
        self._scores.setdefault(cat.content_hash(), {})[(representation, column)] = knn_2d

    def quality_text(self, quality, cat) -> str:
        """Quality figures in words, with the best representation rated so far for their column."""
        if quality is None:
            return ""
        text = quality.summary()
        scores = {rep: v for (rep, col), v in self._scores.get(cat.content_hash(), {}).items()
                  if col == quality.column and v is not None}
        if len(scores) > 1:
            best = max(scores, key=scores.get)
            text += f"\nBest 2-D kNN so far for '{quality.column}': {best} ({scores[best]:.3f})."
        return text
