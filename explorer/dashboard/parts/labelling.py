"""Labels and suggestions: the catalog's labels file, the label vocabulary, and label suggestions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from explorer.errors import ExplorerError

from .catalogs import CatalogSession
from .common import NO_LABEL, Messages, Part


class Labelling(Part):
    """The user's labels of the open catalog (saved at once) and the suggestions made from them."""

    label_choice = param.Selector(default=None, objects=[], allow_None=True, label="Label",
                                  doc="The label the label buttons give.")
    new_label = param.String(default="", label="New label", doc="A label to add to the label set.")
    min_confidence = param.Number(default=0.8, bounds=(0.0, 1.0), label="Min. confidence",
                                  doc="Suggestions shown and accepted at or above this confidence.")
    labels_version = param.Integer(default=0, constant=True, doc="Bumped whenever labels change.")
    suggestions = param.DataFrame(default=None, allow_None=True, constant=True,
                                  doc="Label suggestions (row, object_id, suggestion, confidence, support).")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)

    # the new-label box is the user's typing, not the catalog's: a switch (an upload, another catalog) that
    # lands between typing and "Add label" keeps it, and the label goes to the catalog on the page then
    catalog_bound = ("suggestions",)

    def __init__(self, labels_path=None, labels_user: str | None = None, **params):
        super().__init__(**params)
        self.labels_path = labels_path
        self.labels_user = labels_user  # signed-in user of a served session ($LCEXPLORER_LABELS=per-user)
        self._store = None
        self._store_catalog = None

    def revalidate(self, catalog) -> None:
        """A new catalog: its own labels file, its label set, and the change announced."""
        self._store = None
        self._refresh_label_choices()
        self._out(labels_version=self.labels_version + 1)

    @property
    def label_store(self):
        """The open catalog's LabelStore (created on first use; autosaves beside the catalog)."""
        cat = self.session.require()
        if self._store is None or self._store_catalog is not cat:
            from ..labels import LabelStore

            self._store = LabelStore(cat, path=self.labels_path, user=self.labels_user)
            self._store_catalog = cat
        return self._store

    @property
    def labels(self) -> pd.Series:
        """Label of every object (index object_id, <NA> when unlabelled)."""
        return self.label_store.labels

    @property
    def label_set(self) -> list[str]:
        """The label vocabulary the user picks from (extendable with ``add_label``)."""
        return self.label_store.label_set

    def notice(self) -> str | None:
        """What the labels file has to say (read-only, rows rejected), if anything."""
        return self._store.notice if self._store is not None else None

    def _refresh_label_choices(self) -> None:
        try:
            names = list(self.label_set) if self.session.catalog is not None else []
        except ExplorerError as exc:
            self.messages.fail("reading the labels file", exc)
            names = []
        self.param.label_choice.objects = names
        if self.label_choice not in names:
            # never keep a label the chooser does not show: the buttons would apply an invisible value
            self.label_choice = names[0] if names else None

    def changed(self) -> None:
        """Announce a change of labels (colours, filters on labels, rating follow)."""
        self._refresh_label_choices()
        self._out(labels_version=self.labels_version + 1)

    def add_label(self, name: str | None = None) -> str:
        """Add a label (default: ``new_label``) to the vocabulary (saved) and choose it."""
        name = str((self.new_label if name is None else name) or "").strip()
        if not name:
            raise ExplorerError("no label typed: type the new label first")
        self.label_store.add_label(name)
        self._refresh_label_choices()
        self.label_choice = name
        self.new_label = ""
        self._out(labels_version=self.labels_version + 1)
        return name

    def assign(self, ids: list[str], label: str | None = None, *, what: str = "object") -> list[str]:
        """Give ``label`` (default: ``label_choice``) to ``ids``; returns them."""
        label = self.label_choice if label is None else label
        if label is None or not str(label).strip():
            raise ExplorerError("no label chosen: choose or add a label first")
        if not ids:
            raise ExplorerError(f"nothing to label: no {what}")
        self.label_store.assign(ids, str(label))
        self.changed()
        self.messages.say(f"Label {label!r} given to {len(ids)} object(s).")
        return ids

    def user_labels(self, cat) -> np.ndarray:
        """User labels aligned with catalog rows, None where unlabelled (object array)."""
        labels = self.label_array(cat)
        return np.where(labels == NO_LABEL, None, labels).astype(object)

    def label_array(self, cat=None) -> np.ndarray:
        """User labels aligned with catalog rows, NO_LABEL where unlabelled (object array)."""
        labels = self.labels
        ids = (cat or self.session.require()).object_ids.astype(str)
        if len(labels) != len(ids) or not np.array_equal(labels.index.to_numpy(dtype=str), ids):
            labels = labels.reindex(ids)
        arr = labels.to_numpy(dtype=object, na_value=None)
        return np.where(pd.isna(arr), NO_LABEL, arr)

    # ------------------------------------------------------------------ suggestions
    def suggest(self, embedding, metric: str, k: int = 10) -> pd.DataFrame:
        """Propose labels for unlabelled objects from their labelled neighbours in ``embedding``'s space."""
        from explorer.suggest import suggest_labels

        if embedding is None or embedding.catalog is not self.session.catalog:
            raise ExplorerError("no map yet: compute the map before asking for suggestions")
        labels = self.user_labels(embedding.catalog)
        classes = {str(v) for v in labels if v is not None}
        if len(classes) < 2:
            # with one class every suggestion would be that class at full confidence: meaningless
            raise ExplorerError("suggestions need labelled objects of at least two classes: label a few objects "
                                f"of each class first (labelled so far: {', '.join(sorted(classes)) or 'none'})")
        table = suggest_labels(embedding.matrix, labels, k=k, column_weights=embedding.weights, metric=metric,
                               object_ids=embedding.catalog.object_ids)
        self._out(suggestions=table)
        self.messages.say(f"{len(table)} label suggestions; {int((table['confidence'] >= self.min_confidence).sum())} "
                          f"at confidence >= {self.min_confidence:.2f}. Review them in the Suggestions tab.")
        return table

    def suggestion_gallery(self, n: int) -> pd.DataFrame:
        """The ``n`` most confident suggestions at or above ``min_confidence``."""
        table = self.suggestions
        if table is None:
            return pd.DataFrame(columns=["row", "object_id", "suggestion", "confidence", "support"])
        return table[table["confidence"] >= self.min_confidence].head(int(n))

    def accept_suggestions(self, object_ids) -> list[str]:
        """Save the suggested labels of these objects as labels with origin ``suggested``."""
        table = self.suggestions
        if table is None:
            raise ExplorerError("no suggestions to accept")
        chosen = table[table["object_id"].isin([str(o) for o in object_ids])]
        if chosen.empty:
            raise ExplorerError("none of these objects has a suggestion")
        for label, group in chosen.groupby("suggestion"):
            self.label_store.assign(list(group["object_id"]), str(label), origin="suggested")
        self._out(suggestions=table.drop(chosen.index).reset_index(drop=True))
        self.changed()
        left = int((self.suggestions["confidence"] >= self.min_confidence).sum())
        self.messages.say(f"Accepted {len(chosen)} suggested label(s) ({', '.join(chosen['object_id'].head(3))}"
                          f"{' ...' if len(chosen) > 3 else ''}; saved with origin 'suggested'); "
                          f"{left} suggestion(s) left at confidence >= {self.min_confidence:.2f}.")
        return list(chosen["object_id"])
