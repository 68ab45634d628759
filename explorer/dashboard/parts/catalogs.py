"""The catalog session: which catalogs can be opened, the open one, and who must follow a switch.

``CatalogSession.open`` is the one place a catalog becomes the open one; it then hands the new
catalog to every part registered with ``follow`` (in registration order), each of which resets what it
tied to the previous catalog (``Part.reset_for``).  The switch holds ``steady()``: a reader on another
thread (a pane update on the served event loop) that holds it too sees the state before or after a
switch, never the new catalog with choices still tied to the previous one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import param

from explorer.catalog import Catalog
from explorer.errors import CatalogError

from .common import CATALOGS, INTERNAL_COLUMNS, USER_LABEL, Messages, Part

log = logging.getLogger(__name__)

MAX_LABEL_CLASSES = 60  # a column with more distinct values is not offered as a label column to rate by


def open_catalog(source, **kwargs):
    """A Catalog from a Catalog, a DataFrame or a path inside the allowed folders (memoised per path+mtime)."""
    from explorer.catalog import load_catalog

    if isinstance(source, Catalog):
        return source
    if isinstance(source, pd.DataFrame):
        return load_catalog(source, **kwargs)
    from ..sources import resolve_catalog_path

    from ..sources import catalog_stamp

    path = resolve_catalog_path(source)
    # saving labels beside the catalog is not a change of the catalog (no reload, no re-hash); a link to
    # nothing inside a folder is named by the reader, never raised here
    key = (str(path), catalog_stamp(path), json.dumps(kwargs, sort_keys=True, default=str))
    cat = CATALOGS.get(key)
    if cat is None:
        from explorer.catalog import CatalogLimits

        from ..sources import allowed_roots

        # the served app's limits, and every file actually opened (links followed) inside the allowed folders
        cat = load_catalog(path, limits=CatalogLimits.served(), allowed_roots=allowed_roots(), **kwargs)
        CATALOGS.put(key, cat)
    return cat


def label_columns_of(cat: Catalog | None) -> list[str]:
    """Columns a map can be rated by: the catalog's categorical columns, then the user labels.

    A column of lists or structs is not categorical (``Catalog.scalar_columns``): it is skipped rather
    than failing the whole catalog.
    """
    if cat is None:
        return [USER_LABEL]
    cols = []
    for c in cat.scalar_columns():  # lists, arrays and structs are never classes
        if c in INTERNAL_COLUMNS or c == "n_obs":
            continue
        series = cat.objects[c]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continue
        try:
            n = series.nunique(dropna=True)
        except TypeError:  # unhashable cells the column check did not see (mixed objects)
            continue
        if 2 <= n <= MAX_LABEL_CLASSES:
            cols.append(str(c))
    return cols + [USER_LABEL]


def default_class_column(cat: Catalog | None) -> str:
    """The catalog's class column (``label``, ``class``, ``type``...), else the user labels."""
    cols = cat.objects.columns if cat is not None else []
    for cand in ("label", "class", "type", "label_coarse"):
        if cand in cols:
            return cand
    return USER_LABEL


class CatalogSession(Part):
    """The catalogs one may open and the open one (a constant output, replaced whole)."""

    catalog_choice = param.Selector(default=None, objects=[], allow_None=True, label="Catalog",
                                    doc="Name of the catalog to show (one of the allowed catalogs, or the open one).")
    catalog = param.ClassSelector(class_=Catalog, default=None, allow_None=True, constant=True,
                                  doc="The open catalog.")
    catalog_label = param.String(default="", constant=True, doc="Name of the open catalog in catalog_choice.")
    messages = param.ClassSelector(class_=Messages, constant=True, doc="Where the session speaks.")

    def __init__(self, **params):
        super().__init__(**params)
        self._sources: dict[str, object] = {}  # catalog_choice name -> path / Catalog / DataFrame
        self._followers: list = []
        self.opening = False  # True while open() moves the chooser and resets the parts
        self._switching = threading.RLock()  # held from the new catalog's arrival until every part followed
        self._deferring = threading.Lock()  # makes "the switch holds it: call me after" and its release atomic
        self._deferred: list = []  # what asked for the state during a switch, called when it ends
        self._switch_thread = None  # the thread switching now (None: no switch runs)
        self.on_choice = None  # called with the chosen name when the user picks another catalog

    def steady(self) -> threading.RLock:
        """Context for reading the state from another thread than the one opening catalogs: a switch in
        progress ends first (the switch holds it; the same thread may take it again)."""
        return self._switching

    def enter_or_defer(self, retry) -> bool:
        """Take the switch lock without waiting (True; ``leave()`` gives it back), or, while a switch on another
        thread holds it, have ``retry()`` called once that switch has ended (False): an event loop never waits
        for a switch."""
        with self._deferring:
            if self._switching.acquire(blocking=False):
                return True
            if self._switch_thread is not None:  # a switch: only its end calls the deferred back
                self._deferred.append(retry)
                return False
        # held by a pane update read outside a server's loop (one short read), never lost to the deferred list
        self._switching.acquire()
        return True

    def leave(self) -> None:
        """Give back the switch lock taken by ``enter_or_defer``."""
        self._switching.release()

    def follow(self, part: Part) -> None:
        """Have ``part.reset_for(catalog)`` called on every catalog switch (in registration order)."""
        self._followers.append(part)

    @property
    def sources(self) -> dict:
        """catalog_choice name -> its source (a path, a Catalog)."""
        return self._sources

    def refresh_catalog_list(self) -> None:
        """List the catalogs of the allowed folders as ``catalog_choice`` options (the open one kept)."""
        from ..sources import list_catalogs

        notes: list[str] = []
        found = dict(list_catalogs(notes))
        if notes:  # entries of the allowed folders that cannot be opened: said, by the root's name only
            self.messages.say("Catalog list: " + "; ".join(notes[:5]) + (" ..." if len(notes) > 5 else "") + ".")
        for name, src in self._sources.items():
            if not isinstance(src, str) or name == self.catalog_label:
                found.setdefault(name, src)
        self._sources = found
        names = list(found)
        if self.catalog_label and self.catalog_label not in names:
            names.append(self.catalog_label)
        self.param.catalog_choice.objects = names

    def _name_for(self, source, cat: Catalog) -> str:
        if isinstance(source, (str, os.PathLike)):
            try:
                from ..sources import resolve_catalog_path

                resolved = resolve_catalog_path(source)
            except CatalogError:
                resolved = None
            for name, src in self._sources.items():
                if isinstance(src, str) and resolved is not None and Path(src).resolve() == resolved:
                    return name
            return str(source)
        return f"(in memory) {cat.name}"

    def open(self, source, *, label: str | None = None, what: str | None = None, **kwargs) -> Catalog:
        """Open a catalog (Catalog, DataFrame, allowed path or a ``catalog_choice`` name) and make every
        following part reset for it.  ``what`` names the source in errors."""
        if isinstance(source, str) and source in self._sources:
            label, source = source, self._sources[source]
        try:
            cat = open_catalog(source, **kwargs)
        except CatalogError as exc:
            if what is None:
                raise
            raise CatalogError(f"{what}: {exc}") from exc
        name = label or self._name_for(source, cat)
        self._sources[name] = source if isinstance(source, (str, Catalog)) else cat
        self.opening = True
        self._switching.acquire()
        outer = self._switch_thread is None
        self._switch_thread = threading.get_ident()
        try:
            with param.parameterized.batch_call_watchers(self):
                if name not in self.param.catalog_choice.objects:
                    self.param.catalog_choice.objects = list(self.param.catalog_choice.objects) + [name]
                self._out(catalog=cat, catalog_label=name)
                self.catalog_choice = name
            for part in self._followers:
                part.reset_for(cat)
        finally:
            self.opening = False
            with self._deferring:  # nothing can ask to be deferred between this release and the calls below
                if outer:
                    self._switch_thread = None
                self._switching.release()
                deferred, self._deferred = (self._deferred, []) if outer else ([], self._deferred)
            for retry in deferred:
                try:
                    retry()
                except Exception:  # noqa: BLE001  one view that cannot be updated never fails the switch
                    log.exception("an update deferred by a catalog switch could not be asked again")
        return cat

    def open_upload(self, filename: str, data: bytes) -> Catalog:
        """Open an uploaded Parquet/CSV file through the same reader as a path or the CLI (ids as written),
        with the served limits checked before parsing; errors name the file."""
        from explorer.catalog import CatalogLimits, load_catalog_bytes

        if data is None or len(data) == 0:
            raise CatalogError(f"uploaded file {filename!r} is empty")
        cat = load_catalog_bytes(bytes(data), filename, limits=CatalogLimits.served(), name=Path(filename).stem)
        return self.open(cat, label=f"upload: {Path(filename).name}", what=f"uploaded file {filename!r}")

    @param.depends("catalog_choice", watch=True)
    def _on_catalog_choice(self):
        choice = self.catalog_choice
        if self.opening or not choice or choice == self.catalog_label or self.on_choice is None:
            return  # the session itself moved the chooser, or nothing changed
        self.on_choice(choice)

    def require(self) -> Catalog:
        """The open catalog; CatalogError when none is open."""
        if self.catalog is None:
            raise CatalogError("no catalog is open")
        return self.catalog

    def row_of(self, key) -> int:
        """Catalog row of an object_id or row number (KeyError naming the id)."""
        cat = self.require()
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(cat):
                raise KeyError(f"row {key} is outside catalog {cat.name!r} (0..{len(cat) - 1})")
            return int(key)
        return int(cat.index_of(str(key)))
