"""Reductions: how a light curve of any length becomes fixed-length model windows, and back.

The objects mirror ``light_curve.embed.reduction`` (same names and window placement), but they work
on whole catalogs at once: given the lengths of all segments (one per object and band), a reduction
returns the window start and length of every window of every segment as numpy arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from explorer.errors import ModelError

__all__ = [
    "Reduction",
    "SingleSubsampleReduction",
    "Beginning",
    "End",
    "Middle",
    "RandomSubsample",
    "NonOverlappingWindows",
    "MultipleReductions",
    "reduction_from_name",
    "REDUCTION_NAMES",
]

REDUCTION_NAMES = ("beginning", "end", "middle", "random-subsample", "non-overlapping-windows")


class Reduction(ABC):
    """A windowing strategy; ``strategies`` lists the single strategies that each give one row."""

    name: str
    stochastic: bool = False     # True when the windows depend on the seed

    @property
    def strategies(self) -> tuple["Reduction", ...]:
        """The strategies giving one embedding each (only MultipleReductions has several)."""
        return (self,)

    @abstractmethod
    def windows(self, length: np.ndarray, seq) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(segment index, start, length) of every window, vectorised over segments of ``length``."""

    # -- how the windows of one row become its embedding (the runner only calls these) ----------
    def accumulate(self, acc: np.ndarray, rows: np.ndarray, out: np.ndarray, valid: np.ndarray) -> None:
        """Put the outputs ``out`` of windows belonging to ``rows`` into ``acc`` (one window per row: copy)."""
        acc[rows] = out

    def finish(self, acc: np.ndarray, row_windows: np.ndarray, position_counts) -> np.ndarray:
        """The embeddings from the accumulated ``acc`` (``position_counts()``: valid windows per position)."""
        return acc

    def rows_of_windows(self, n_windows: int) -> np.ndarray:
        """Row of each window of one light curve's band (one row per window unless windows are combined)."""
        return np.arange(n_windows)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SingleSubsampleReduction(Reduction, ABC):
    """One window per segment; contiguous strategies give a start per segment."""

    @abstractmethod
    def starts(self, length: np.ndarray, seq) -> np.ndarray:
        """Window start (int64) for every segment of the given lengths."""

    def windows(self, length, seq):
        """One window per segment: ``min(n, seq)`` observations from ``starts``."""
        return np.arange(len(length)), self.starts(length, seq), np.minimum(length, seq)


class Beginning(SingleSubsampleReduction):
    """The first ``seq`` observations."""

    name = "beginning"

    def starts(self, length, seq):
        """Always 0."""
        return np.zeros(len(length), np.int64)


class End(SingleSubsampleReduction):
    """The last ``seq`` observations."""

    name = "end"

    def starts(self, length, seq):
        """``max(n - seq, 0)``."""
        return np.maximum(length - seq, 0)


class Middle(SingleSubsampleReduction):
    """``seq`` observations centred on index ``n // 2``, shifted inside the light curve (as light_curve)."""

    name = "middle"

    def starts(self, length, seq):
        """``max(0, min(n // 2 - seq // 2, n - seq))``."""
        return np.maximum(0, np.minimum(length // 2 - seq // 2, length - seq))


class RandomSubsample(SingleSubsampleReduction):
    """``seq`` observations drawn without replacement, kept in time order (seeded).

    Reproducibility contract (same numbers as light_curve.embed.RandomSubsample): one
    ``np.random.default_rng(seed)`` for the whole catalog; segments are visited in catalog order
    (object, then band in the order asked), and each segment longer than ``seq`` takes
    ``rng.choice(n, seq, replace=False)`` (sorted). Segments of at most ``seq`` observations are used
    whole and draw nothing. This one per-segment loop is what makes the draws identical to calling
    light_curve once per object; it touches only segments longer than ``seq``.
    """

    name = "random-subsample"
    stochastic = True

    def __init__(self, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ModelError(f"random-subsample needs an integer seed, got {seed!r}")
        self.seed = int(seed)

    def starts(self, length, seq):
        """0 (only used for segments short enough to be taken whole)."""
        return np.zeros(len(length), np.int64)

    def __repr__(self) -> str:
        return f"RandomSubsample(seed={self.seed})"


class NonOverlappingWindows(Reduction):
    """Consecutive windows 0..seq-1, seq..2seq-1, ...; the window embeddings are averaged per object.

    For the ``sequence`` output the average is a masked mean per position (padding excluded).
    """

    name = "non-overlapping-windows"

    def windows(self, length: np.ndarray, seq) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(segment index, start, length) of every window, vectorised over segments."""
        seq = np.broadcast_to(np.asarray(seq, np.int64), np.shape(length))
        n_win = -(-length // seq)
        seg = np.repeat(np.arange(len(length)), n_win)
        first = np.cumsum(n_win) - n_win
        k = np.arange(len(seg)) - np.repeat(first, n_win)
        start = k * seq[seg]
        return seg, start, np.minimum(seq[seg], length[seg] - start)

    def accumulate(self, acc, rows, out, valid):
        """Sum window outputs into their rows (rows are runs: one ``reduceat``); padding excluded per position."""
        if out.ndim == 3:
            out = out * valid[:, :, None]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        # pooled outputs are summed in float64 (exact for float32 terms of one scale), so an object whose
        # windows straddle two batches gets the same mean whatever the batch size or partitioning
        terms = out if out.ndim == 3 else out.astype(np.float64)
        targets, sums = rows[starts], np.add.reduceat(terms, starts, axis=0)
        if len(np.unique(targets)) == len(targets):
            acc[targets] += sums
        else:   # windows run in another order than by row (series models batch by context length)
            np.add.at(acc, targets, sums)

    def rows_of_windows(self, n_windows):
        """Every window of a light curve feeds its one row."""
        return np.zeros(n_windows, np.int64)

    def finish(self, acc, row_windows, position_counts):
        """Mean over windows; for a sequence output a masked mean per position (as light_curve)."""
        if acc.ndim == 3:
            acc /= np.maximum(position_counts(), 1)[:, :, None]
        else:
            acc /= np.maximum(row_windows, 1)[:, None]
        return acc


class MultipleReductions(Reduction):
    """Several single-window strategies, one embedding each (stacked, not averaged)."""

    name = "multiple"

    def __init__(self, reductions):
        reductions = tuple(reductions)
        for r in reductions:
            if not isinstance(r, SingleSubsampleReduction):
                raise ModelError(
                    f"reduction {r.name!r} cannot be combined with others: only beginning, end, middle and "
                    "random-subsample give one window each"
                )
        if not reductions:
            raise ModelError("MultipleReductions needs at least one reduction")
        self.reductions = reductions
        self.name = ",".join(r.name for r in reductions)

    @property
    def strategies(self):
        """The combined strategies, in order."""
        return self.reductions

    @property
    def stochastic(self) -> bool:
        """True when one of the strategies draws at random."""
        return any(s.stochastic for s in self.reductions)

    def windows(self, length, seq):
        """Not used: the runner windows each strategy of ``strategies`` on its own."""
        raise NotImplementedError("MultipleReductions is windowed strategy by strategy")

    def __repr__(self) -> str:
        return f"MultipleReductions({list(self.reductions)!r})"


_SINGLE = {"beginning": Beginning, "end": End, "middle": Middle, "non-overlapping-windows": NonOverlappingWindows}


def _one(name: str, seed: int) -> Reduction:
    key = name.strip().lower().replace("_", "-")
    if key == "random-subsample":
        return RandomSubsample(seed)
    if key in _SINGLE:
        return _SINGLE[key]()
    raise ModelError(f"unknown reduction {name!r}; expected one of: {', '.join(REDUCTION_NAMES)} "
                     "(or a comma-joined list of the single-window ones, e.g. 'beginning,end')")


def reduction_from_name(reduction, seed: int = 0) -> Reduction:
    """A Reduction from a name, a comma-joined list of names, a list of names, or a Reduction (returned as is)."""
    if isinstance(reduction, Reduction):
        return reduction
    if isinstance(reduction, str):
        names = [n for n in reduction.split(",")]
    elif isinstance(reduction, (list, tuple)) and all(isinstance(n, str) for n in reduction):
        names = list(reduction)
    else:
        raise ModelError(f"reduction must be a name, a list of names or a Reduction, got {reduction!r}")
    if not names or any(not n.strip() for n in names):
        raise ModelError(f"empty reduction name in {reduction!r}; expected one of: {', '.join(REDUCTION_NAMES)}")
    if len(names) == 1:
        return _one(names[0], seed)
    return MultipleReductions([_one(n, seed) for n in names])
