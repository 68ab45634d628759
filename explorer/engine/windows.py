"""Vectorised windowing: from a catalog's flat observation arrays to [n_windows, seq] index arrays.

Everything here works on all objects at once with numpy (no Python loop per object), except the
random draws of RandomSubsample, which must follow light_curve's rng call order (see reductions.py).

Vocabulary
- segment: the observations of one object in one band (or band group) — one ``pool`` slice;
- row: one embedding = (segment, strategy);
- window: one model input sequence; a row has one window, or several for non-overlapping windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.engine.reductions import NonOverlappingWindows, RandomSubsample, Reduction

__all__ = ["Segments", "Windows", "all_segments", "band_segments", "build_windows"]


@dataclass
class Segments:
    """Observation groups to embed: segment s is ``pool[start[s] : start[s] + length[s]]``."""

    pool: np.ndarray          # int64 indices into the observation arrays
    start: np.ndarray         # int64 [n_seg]
    length: np.ndarray        # int64 [n_seg]
    object_index: np.ndarray  # int64 [n_seg]
    slot: np.ndarray          # int64 [n_seg]: which band (group) of the requested list


@dataclass
class Windows:
    """Every window of every row, rows ordered (object, band slot, strategy), windows grouped by row."""

    obs: np.ndarray           # int64 [n_windows, seq], observation index, -1 = padding
    row: np.ndarray           # int64 [n_windows], non-decreasing
    row_segment: np.ndarray   # int64 [n_rows]
    row_strategy: np.ndarray  # int64 [n_rows]: index into reduction.strategies
    row_windows: np.ndarray   # int64 [n_rows]: windows per row

    @property
    def n_rows(self) -> int:
        """Number of rows (embeddings)."""
        return len(self.row_segment)


def all_segments(offsets: np.ndarray) -> Segments:
    """One segment per object with all its observations."""
    offsets = np.asarray(offsets, np.int64)
    n = len(offsets) - 1
    return Segments(
        pool=np.arange(offsets[-1], dtype=np.int64),
        start=offsets[:-1].copy(),
        length=np.diff(offsets),
        object_index=np.arange(n, dtype=np.int64),
        slot=np.zeros(n, np.int64),
    )


def band_segments(offsets: np.ndarray, band: np.ndarray, groups: list[np.ndarray], keep=None) -> Segments:
    """One segment per (object, group), object-major; group k keeps observations whose band code is in groups[k].

    ``keep`` (bool per observation, optional) drops further observations, e.g. fluxes with no magnitude.
    """
    offsets = np.asarray(offsets, np.int64)
    n_obj = len(offsets) - 1
    pools, starts, lengths = [], [], []
    base = 0
    for codes in groups:
        member = np.isin(band, codes)
        pool = np.flatnonzero(member if keep is None else member & keep).astype(np.int64)
        # observations are grouped by object, so object boundaries map to pool positions by bisection
        bounds = np.searchsorted(pool, offsets)
        pools.append(pool)
        starts.append(bounds[:-1] + base)
        lengths.append(np.diff(bounds))
        base += len(pool)
    n_groups = len(groups)
    return Segments(
        pool=np.concatenate(pools) if pools else np.zeros(0, np.int64),
        start=np.stack(starts, axis=1).ravel(),
        length=np.stack(lengths, axis=1).ravel(),
        object_index=np.repeat(np.arange(n_obj, dtype=np.int64), n_groups),
        slot=np.tile(np.arange(n_groups, dtype=np.int64), n_obj),
    )


def _random_draws(length: np.ndarray, seq: int, n_random: int, seed: int) -> np.ndarray:
    """Sorted draws [n_long, n_random, seq] for segments longer than seq, in light_curve's rng order."""
    rng = np.random.default_rng(seed)
    long_segments = np.flatnonzero(length > seq)
    draws = np.empty((len(long_segments), n_random, seq), np.int64)
    for i, s in enumerate(long_segments):  # the rng call order is the reproducibility contract
        for j in range(n_random):
            d = rng.choice(int(length[s]), size=seq, replace=False)
            d.sort()
            draws[i, j] = d
    return draws


def build_windows(segments: Segments, reduction: Reduction, seq: int) -> Windows:
    """All windows of all non-empty segments for ``reduction``, as observation indices."""
    keep = np.flatnonzero(segments.length > 0)   # empty segments get no row
    length = segments.length[keep]
    strategies = reduction.strategies
    n_strat = len(strategies)
    j_pos = np.arange(seq, dtype=np.int64)

    random_js = [j for j, s in enumerate(strategies) if isinstance(s, RandomSubsample)]
    draws = None
    if random_js:
        draws = _random_draws(length, seq, len(random_js), strategies[random_js[0]].seed)
        long_rank = np.cumsum(length > seq) - 1   # rank of each long segment among the long ones

    parts_rel, parts_row = [], []
    for j, strat in enumerate(strategies):
        if isinstance(strat, NonOverlappingWindows):
            seg, start, wlen = strat.windows(length, seq)
        else:
            seg = np.arange(len(length))
            start = strat.starts(length, seq)
            wlen = np.minimum(length, seq)
        rel = start[:, None] + j_pos
        rel = np.where(j_pos < wlen[:, None], rel, -1)
        if isinstance(strat, RandomSubsample):
            is_long = length > seq
            rel[is_long] = draws[long_rank[is_long], random_js.index(j)]
        parts_rel.append(rel)
        parts_row.append(seg * n_strat + j)
    rel = np.concatenate(parts_rel)
    row = np.concatenate(parts_row)
    order = np.argsort(row, kind="stable")
    rel, row = rel[order], row[order]
    row_seg_local = row // n_strat
    seg_global = keep[row_seg_local]
    valid = rel >= 0
    obs = np.where(valid, segments.pool[np.where(valid, segments.start[seg_global][:, None] + rel, 0)], -1)
    row_ids, row_windows = np.unique(row, return_counts=True)
    # rows are dense (every kept segment has >= 1 window per strategy), renumber to 0..n_rows-1
    dense = np.searchsorted(row_ids, row)
    return Windows(
        obs=obs,
        row=dense.astype(np.int64),
        row_segment=keep[row_ids // n_strat].astype(np.int64),
        row_strategy=(row_ids % n_strat).astype(np.int64),
        row_windows=row_windows.astype(np.int64),
    )
