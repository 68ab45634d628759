"""Objects of other astronomy libraries, recognised by their attributes (no import of those libraries).

* lightkurve ``LightCurveCollection`` (or a list of ``LightCurve``): one light curve each, id from the
  target name, band from the filter or mission; a single ``LightCurve`` is an astropy ``TimeSeries``
  and goes through :mod:`.astro` directly;
* LSDB catalogs: computed whole, or a random sample of ``sample`` objects, into a nested-pandas
  ``NestedFrame`` (a DataFrame the frame reader takes).
"""

from __future__ import annotations

from pathlib import Path

from explorer.catalog.core import Catalog
from explorer.catalog.readers.astro import catalog_from_arrays, is_astropy_table, meta_object_id, observations
from explorer.catalog.readers.limits import ReadContext
from explorer.catalog.readers.table import objects_frame
from explorer.errors import CatalogError

__all__ = ["is_light_curve_collection", "load_light_curves", "is_lsdb_catalog", "lsdb_frame", "is_hats", "open_hats",
           "HATS_MARKERS"]

HATS_MARKERS = ("hats.properties", "collection.properties", "properties")


def is_hats(path) -> bool:
    """True when ``path`` is a HATS catalog or collection folder."""
    path = Path(path)
    return path.is_dir() and any((path / m).is_file() for m in HATS_MARKERS[:2])


def open_hats(path: Path):
    """The LSDB catalog of a HATS folder (lazy: nothing read but its metadata); lsdb is the extra ``scale``."""
    try:
        import lsdb
    except ImportError:
        raise CatalogError(f"{path} is a HATS catalog: reading it needs lsdb (pip install -e '.[scale]')") from None
    try:
        return lsdb.read_hats(path)
    except Exception as exc:  # hats raises its own types for damaged metadata
        raise CatalogError(f"cannot open HATS catalog {path}: {exc}") from exc


def _is_light_curve(item) -> bool:
    return is_astropy_table(item) and "time" in item.colnames and ("flux" in item.colnames or "mag" in item.colnames)


def is_light_curve_collection(obj) -> bool:
    """True for a lightkurve ``LightCurveCollection`` or a list / tuple of light curves (astropy tables)."""
    # lightkurve's collection iterates through __getitem__ only: ask for len() and iter(), not __iter__
    if isinstance(obj, (str, bytes, dict)) or is_astropy_table(obj) or not hasattr(obj, "__len__"):
        return False
    try:
        items = list(iter(obj))
    except (TypeError, KeyError, IndexError):
        return False
    return bool(items) and all(_is_light_curve(i) for i in items)


def load_light_curves(items, *, objects=None, columns=None, value_kind=None, name: str, where: str,
                      ctx: ReadContext) -> Catalog:
    """Light curves (astropy tables, e.g. lightkurve ``LightCurve``) -> one catalog, one object per target.

    Light curves of one target (quarters, sectors) become one object; a light curve with no target
    in its metadata is named by its position (``"0"``, ``"1"``, ...).
    """
    items = list(items)
    ctx.check_objects(len(items), where)
    parts, kinds, names, notes = [], set(), {}, []
    for i, lc in enumerate(items):
        label = f"{where}[{i}]"
        ctx.add(len(lc), max(len(lc.colnames), 1), label)
        try:   # notes name the collection (the same note for every light curve is said once), errors the item
            arrays, kind, names = observations(lc, where=where, fallback_id=meta_object_id(lc.meta) or str(i),
                                               columns=columns, value_kind=value_kind, notes=notes, say_id=False)
        except CatalogError as exc:
            raise CatalogError(f"{label} (object {meta_object_id(lc.meta) or i}): {exc}") from None
        kinds.add(kind)
        parts.append(arrays)
    if len(kinds) > 1:
        raise CatalogError(f"{where} mixes light curves in magnitudes and in fluxes; give one kind")
    notes = list(dict.fromkeys(notes))
    ctx.notes.extend(notes[:10] + ([f"... and {len(notes) - 10} more notes"] if len(notes) > 10 else []))
    obj = objects_frame(objects, source=where, ctx=ctx)
    return ctx.finish(catalog_from_arrays(parts, kind=kinds.pop(), names=names, objects=obj, name=name,
                                          where=where, ctx=ctx))


def is_lsdb_catalog(obj) -> bool:
    """True for an LSDB catalog (it has ``compute``, ``random_sample`` and a HATS structure)."""
    return all(hasattr(obj, a) for a in ("compute", "random_sample", "hc_structure"))


def lsdb_frame(catalog, *, sample: int | None, seed: int | None, ctx: ReadContext, where: str):
    """The LSDB catalog's rows as a NestedFrame: all of them, or ``sample`` drawn at random (``seed``)."""
    total = _lsdb_rows(catalog)
    if sample is None and total is not None:
        ctx.check_objects(total, where)   # before computing: the whole catalog may not fit
    try:
        if sample is not None:
            if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
                raise CatalogError(f"sample must be a positive number of objects, got {sample!r}")
            ctx.check_objects(sample, where)
            try:
                frame = catalog.random_sample(sample, seed=seed)
            except KeyError:   # lsdb 0.11 wants per-column statistics that catalogs made in memory lack
                frame = _sample_by_partition(catalog, sample, seed)
            ctx.notes.append(f"{where}: a random sample of {len(frame)} of {total if total is not None else '?'} "
                             f"objects (seed {seed})")
        else:
            frame = catalog.compute(progress_bar=False)
    except CatalogError:
        raise
    except Exception as exc:   # dask / lsdb errors of every kind
        raise CatalogError(f"cannot read {where}: {type(exc).__name__}: {exc}") from exc
    return frame


def _sample_by_partition(catalog, n: int, seed: int | None):
    """``n`` rows drawn at random: a multinomial split over the partitions by size, then each partition's sample."""
    import nested_pandas as npd
    import numpy as np
    import pandas as pd

    counts = catalog.map_partitions(lambda df: npd.NestedFrame({"len": [len(df)]}),
                                    meta=npd.NestedFrame({"len": pd.Series(dtype=int)})).compute(progress_bar=False)["len"]
    counts = counts.to_numpy()
    per = np.minimum(np.random.default_rng(seed).multinomial(min(n, int(counts.sum())), counts / counts.sum()), counts)
    frames = [catalog.sample(i, int(k), seed=seed) for i, k in enumerate(per) if k]
    return npd.NestedFrame(pd.concat(frames)) if frames else catalog.head(0)


def _lsdb_rows(catalog) -> int | None:
    try:
        return int(catalog.hc_structure.catalog_info.total_rows)
    except (AttributeError, TypeError, ValueError):
        return None
