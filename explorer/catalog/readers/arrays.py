"""A list of ``L x 3`` arrays ``[time, mag, mag_err]`` (ASTROMER's input) -> :class:`Catalog`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.catalog.core import Catalog, check_allocation, ids_as_text
from explorer.catalog.readers.limits import CatalogLimits, make_context
from explorer.catalog.readers.table import objects_frame
from explorer.errors import CatalogError


def load_arrays(
    arrays: Sequence[np.ndarray], object_ids=None, *, objects=None, value_kind=None, name="catalog", source=None,
    limits: CatalogLimits | None = None,
) -> Catalog:
    """A list of ``L x 3`` arrays ``[time, mag, mag_err]`` (``L x 2``: no errors), one per object.

    ``object_ids`` default to ``"0"``, ``"1"``, ...; shapes are checked and a bad one is named; ids
    that are missing, empty or equal once written as text (``1`` and ``"1"``) are an error.
    """
    ctx = make_context(limits, None)
    where = source or name
    n = len(arrays)
    if object_ids is None:
        object_ids = [str(i) for i in range(n)]
    object_ids = list(object_ids)
    if len(object_ids) != n:
        raise CatalogError(f"{n} arrays but {len(object_ids)} object ids")
    if n == 0:
        raise CatalogError("no objects: the list of arrays is empty")
    ctx.check_objects(n, where)
    id_values = np.empty(n, dtype=object)
    id_values[:] = object_ids
    ids = ids_as_text(id_values, column="object_ids", source=where)
    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        raise CatalogError(f"object_ids[{int(missing[0])}] is missing ({object_ids[int(missing[0])]!r}); "
                           "every array needs an id")
    dup = pd.Index(ids).duplicated(keep=False)
    if dup.any():
        first = ids[np.flatnonzero(dup)[0]]
        where_dup = np.flatnonzero(ids == first)
        raise CatalogError(f"object_ids {', '.join(f'[{i}]' for i in where_dup[:5])} all read {first!r}; "
                           "each array needs its own id")
    arrs = [np.asarray(a) for a in arrays]
    widths = np.array([a.shape[1] if a.ndim == 2 else -1 for a in arrs])
    bad = np.flatnonzero((widths != 3) & (widths != 2))
    if bad.size:
        i = int(bad[0])
        raise CatalogError(
            f"array for object {ids[i]!r} has shape {arrs[i].shape}; expected (L, 3) columns "
            f"[time, mag, mag_err] or (L, 2) [time, mag]"
        )
    if len(set(widths.tolist())) > 1:
        raise CatalogError("arrays mix (L, 3) and (L, 2) shapes; give errors for all or none")
    for i, a in enumerate(arrs[:1]):
        if a.dtype.kind not in "fiu":
            raise CatalogError(f"array for object {ids[i]!r} is not numeric (dtype {a.dtype})")
    lengths = np.array([a.shape[0] for a in arrs], dtype=np.int64)
    total = int(lengths.sum())
    # an (L, 3) view can be huge and cost nothing (np.broadcast_to): check before copying it
    check_allocation(total, 8 * 3 * 4, what="observations in the arrays", source=where)
    ctx.add(total, int(widths[0]), where)
    try:
        flat = np.concatenate(arrs, axis=0).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"arrays are not all numeric: {exc}") from exc
    obj = objects_frame(objects, source=where, ctx=ctx)
    if obj is None:
        obj = pd.DataFrame({"object_id": ids})
    return Catalog.from_long(
        np.repeat(ids, lengths), flat[:, 0], flat[:, 1], flat[:, 2] if widths[0] == 3 else None, None,
        objects=obj, value_kind=value_kind or "mag", name=name, source=source,
        column_names={"time": "column 0 (time)", "value": "column 1 (mag)", "error": "column 2 (mag_err)"},
    )
