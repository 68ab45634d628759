"""What a run says about the objects it could not embed, or embedded from doubtful data.

``embed_catalog`` returns rows only for what it embedded; every other object is named here with its
reason, so that a NaN row of ``result.matrix()`` is never left unexplained (``meta["no_data"]``), and
light curves whose times cannot be real are named too (``meta["warnings"]``): they are embedded, but
the embedding means little.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_TIME_SPAN_DAYS", "objects_without_rows", "time_span_warnings", "summary"]

# No light curve spans more than ~270 years; a wider span is a stray time (1e12) or a unit error (seconds)
MAX_TIME_SPAN_DAYS = 1e5
_SHOWN = 5


def _object_sums(offsets: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Per object, how many of its observations have ``flags`` set."""
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(len(counts)), counts)
    return np.bincount(owner, weights=flags.astype(np.float64), minlength=len(counts)).astype(np.int64)


def objects_without_rows(data, ids, embedded: np.ndarray, failed_objects, keep, family: str) -> list[dict]:
    """``{"object_id", "reason"}`` for each object with no embedding row that no row failure explains.

    ``embedded``: object index of every row kept; ``failed_objects``: objects already named in
    ``meta["failed"]``; ``keep``: the observations a window may take (None: all), e.g. positive fluxes
    for a magnitude model.
    """
    offsets = np.asarray(data.offsets, np.int64)
    n_obs = np.diff(offsets)
    have = np.zeros(len(n_obs), bool)
    have[np.asarray(embedded, np.int64)] = True
    have[list(failed_objects)] = True
    usable = n_obs if keep is None else _object_sums(offsets, np.asarray(keep, bool))
    out = []
    for i in np.flatnonzero(~have):
        if n_obs[i] == 0:
            reason = "no observations"
        elif usable[i] == 0:
            reason = (f"no usable observation: its {int(n_obs[i])} fluxes are all zero, negative or not finite "
                      f"(no AB magnitude for the {family} model)")
        else:
            reason = "no observation in the bands embedded"
        out.append({"object_id": str(ids[i]), "reason": reason})
    return out


def time_span_warnings(data, ids, embedded: np.ndarray) -> list[dict]:
    """``{"object_id", "warning"}`` for each embedded object whose observations span over ``MAX_TIME_SPAN_DAYS``."""
    offsets = np.asarray(data.offsets, np.int64)
    time = np.asarray(data.time, np.float64)
    objects = np.unique(np.asarray(embedded, np.int64))
    objects = objects[np.diff(offsets)[objects] > 0]
    if not len(objects) or not len(time):
        return []
    starts = offsets[:-1]
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    lo = np.full(len(starts), np.nan)
    hi = np.full(len(starts), np.nan)
    with np.errstate(invalid="ignore"):
        lo[nonempty] = np.minimum.reduceat(time, starts[nonempty])
        hi[nonempty] = np.maximum.reduceat(time, starts[nonempty])
        span = hi - lo
        wide = objects[span[objects] > MAX_TIME_SPAN_DAYS]
    return [{"object_id": str(ids[i]),
             "warning": f"its observations span {span[i]:.3g} days (times {lo[i]:.6g} to {hi[i]:.6g}), over "
                        f"{MAX_TIME_SPAN_DAYS:.0e} days: a stray time or times not in days; its embedding means little"}
            for i in wide]


def summary(meta: dict) -> str:
    """One sentence on the objects without an embedding and the warnings of ``meta`` ("" when none)."""
    parts = []
    failed = sorted({f["object_id"] for f in meta.get("failed", [])})
    if failed:
        parts.append(f"{len(failed)} failed ({_ids(failed)}; e.g. {meta['failed'][0]['error']})")
    for reason, group in _by_reason(meta.get("no_data", [])).items():
        parts.append(f"{len(group)} with {reason} ({_ids(group)})")
    warned = [w["object_id"] for w in meta.get("warnings", [])]
    if warned:
        parts.append(f"{len(warned)} embedded from doubtful times ({_ids(warned)}: "
                     f"{meta['warnings'][0]['warning']})")
    return "; ".join(parts)


def _by_reason(entries) -> dict:
    groups: dict[str, list] = {}
    for e in entries:
        groups.setdefault(e["reason"].split(":")[0], []).append(e["object_id"])
    return groups


def _ids(ids) -> str:
    return ", ".join(ids[:_SHOWN]) + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")
