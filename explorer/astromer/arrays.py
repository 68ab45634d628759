"""Lists of ``L x 3`` arrays ``[time, mag, err]`` (the ASTROMER library's input) as flat, catalog-shaped arrays.

Shared by inference (``encoder``) and pretraining batches (``data``), below both.
"""

from __future__ import annotations

import numpy as np

from explorer.errors import ModelError

__all__ = ["lightcurve_arrays"]


def lightcurve_arrays(dataset, oids_list=None, *, what: str = "dataset"):
    """Flat, catalog-shaped arrays from a list of Lx3 (or Lx2) [time, mag, err] arrays, each sorted by time.

    Returns (CurveArrays, ids per array). Non-finite times or magnitudes are refused, naming the array.
    """
    from explorer.engine.models import CurveArrays

    if not isinstance(dataset, (list, tuple)):
        raise ModelError(f"{what} must be a list of Lx3 arrays [time, mag, err], got {type(dataset).__name__}")
    ids = [str(i) for i in range(len(dataset))] if oids_list is None else [str(i) for i in oids_list]
    if len(ids) != len(dataset):
        raise ModelError(f"oids_list has {len(ids)} ids for {len(dataset)} light curves")
    times, mags, errs, lengths = [], [], [], []
    for i, lc in enumerate(dataset):
        arr = np.asarray(lc, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise ModelError(f"{what}[{i}] (id {ids[i]}) has shape {arr.shape}; expected Lx3 [time, mag, err]")
        bad = ~np.isfinite(arr[:, :2]).all(axis=1)
        if bad.any():
            raise ModelError(f"{what}[{i}] (id {ids[i]}) has {int(bad.sum())} rows with a non-finite time or "
                             f"magnitude (first at row {int(np.flatnonzero(bad)[0])}); drop them first")
        order = np.argsort(arr[:, 0], kind="stable")
        arr = arr[order]
        times.append(arr[:, 0])
        mags.append(arr[:, 1])
        errs.append(arr[:, 2] if arr.shape[1] > 2 else np.full(len(arr), np.nan))
        lengths.append(len(arr))
    offsets = np.zeros(len(dataset) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    n = int(offsets[-1])
    data = CurveArrays(cat(times), cat(mags), cat(errs), np.zeros(n, np.int16), ("",), offsets)
    return data, ids
