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

from explorer.engine.reductions import Reduction

__all__ = ["Segments", "Windows", "all_segments", "band_segments", "build_windows", "stack_channels"]


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


def _random_draws(length: np.ndarray, seq: np.ndarray, n_random: int, rng) -> dict:
    """Sorted draws {segment: [n_random, seq]} for segments longer than their seq, in light_curve's rng order."""
    draws = {}
    for s in np.flatnonzero(length > seq):  # the rng call order is the reproducibility contract
        n, k = int(length[s]), int(seq[s])
        d = np.empty((n_random, k), np.int64)
        for j in range(n_random):
            d[j] = np.sort(rng.choice(n, size=k, replace=False))
        draws[int(s)] = d
    return draws


def build_windows(segments: Segments, reduction: Reduction, seq, *, keep_empty: bool = False, rng=None) -> Windows:
    """All windows of all non-empty segments for ``reduction``, as observation indices.

    ``seq``: window length, one int or one per segment (multiband models with a length per band);
    windows are padded with -1 to the longest. ``keep_empty``: empty segments get one all-padding
    window per single-window strategy (and none for non-overlapping windows), as light_curve pads
    an absent band of a multiband model. ``rng``: the generator of random-subsample draws (default: a
    fresh one from the strategy's seed, so a catalog's draws depend only on the seed).
    """
    seq_all = np.broadcast_to(np.asarray(seq, np.int64), segments.length.shape)
    keep = np.arange(len(segments.length)) if keep_empty else np.flatnonzero(segments.length > 0)
    length, seq_k = segments.length[keep], seq_all[keep]
    width = int(seq_all.max()) if len(seq_all) else int(np.max(seq))
    strategies = reduction.strategies
    n_strat = len(strategies)
    j_pos = np.arange(width, dtype=np.int64)

    random_js = [j for j, s in enumerate(strategies) if s.stochastic]
    draws = {}
    if random_js:
        rng = np.random.default_rng(strategies[random_js[0]].seed) if rng is None else rng
        draws = _random_draws(length, seq_k, len(random_js), rng)

    parts_rel, parts_row = [], []
    for j, strat in enumerate(strategies):
        seg, start, wlen = strat.windows(length, seq_k)
        rel = start[:, None] + j_pos
        rel = np.where(j_pos < wlen[:, None], rel, -1)
        if strat.stochastic:
            k = random_js.index(j)
            for s, d in draws.items():
                rel[s, :d.shape[1]] = d[k]
        parts_rel.append(rel)
        parts_row.append(seg * n_strat + j)
    rel = np.concatenate(parts_rel)
    row = np.concatenate(parts_row)
    order = np.argsort(row, kind="stable")
    rel, row = rel[order], row[order]
    seg_global = keep[row // n_strat]
    valid = rel >= 0
    obs = np.where(valid, segments.pool[np.where(valid, segments.start[seg_global][:, None] + rel, 0)], -1)
    if keep_empty:   # every (segment, strategy) is a row, windowless ones included (multiband joins need them)
        row_ids = np.arange(len(keep) * n_strat)
        row_windows = np.bincount(row, minlength=len(row_ids))
        dense = row
    else:
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


def stack_channels(windows: Windows, n_channels: int, seqs) -> tuple[Windows, dict]:
    """Join the windows of ``n_channels`` consecutive segments (one per model band) into model windows.

    ``windows`` must come from ``build_windows(..., keep_empty=True)`` over segments ordered (object,
    group, channel). Window k of a joined row takes window k of every channel, laid side by side
    (channel-major, ``seqs[c]`` positions each); rows whose channels give different window counts
    cannot be joined (light_curve refuses them) and are returned as {row: reason}, with no windows.
    """
    seqs = np.asarray(seqs, np.int64)
    n_rows = windows.n_rows
    if n_rows % n_channels:
        raise ValueError("channel rows must come in complete groups")
    n_strat = int(windows.row_strategy.max()) + 1 if n_rows else 1
    # row r = (segment, strategy) with segment = joined * n_channels + channel
    per = windows.row_windows.reshape(-1, n_channels, n_strat)                 # [n_joined_seg, ch, strat]
    counts = per.transpose(0, 2, 1).reshape(-1, n_channels)                     # [n_joined_rows, ch]
    ok = (counts == counts[:, :1]).all(axis=1) & (counts[:, 0] > 0)
    failed = {}
    for r in np.flatnonzero(~ok):
        failed[int(r)] = ("the bands give different numbers of windows " + str(counts[r].tolist())
                          + " (non-overlapping windows need the same count in every band)")
    first = np.cumsum(windows.row_windows) - windows.row_windows               # first window of each row
    first_j = first.reshape(-1, n_channels, n_strat).transpose(0, 2, 1).reshape(-1, n_channels)
    w = np.where(ok, counts[:, 0], 0)
    joined_row = np.repeat(np.arange(len(w)), w)
    k = np.arange(len(joined_row)) - np.repeat(np.cumsum(w) - w, w)
    cols = []
    for c in range(n_channels):
        idx = first_j[joined_row, c] + k
        cols.append(windows.obs[idx, :seqs[c]])
    obs = np.concatenate(cols, axis=1) if cols else np.zeros((0, int(seqs.sum())), np.int64)
    seg = windows.row_segment.reshape(-1, n_channels, n_strat)[:, 0, :] // n_channels   # [n_joined_seg, strat]
    joined = Windows(
        obs=obs,
        row=joined_row.astype(np.int64),
        row_segment=seg.reshape(-1).astype(np.int64),
        row_strategy=np.tile(np.arange(n_strat, dtype=np.int64), len(seg)),
        row_windows=w.astype(np.int64),
    )
    return joined, failed
