"""The space maps, neighbours and quality figures are computed in: standardised, block-weighted rows.

Rows without any finite value (objects that were not embedded) are unusable; standardised rows missing
only some values (an object lacking one band's block) take the column mean there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["prepare_matrix", "encode_labels"]


def _as_matrix(X, name: str = "X") -> np.ndarray:
    """Float32 C-contiguous 2-D copy-if-needed of ``X``; ValueError naming ``name`` when not 2-D numeric."""
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric 2-D array (objects x dimensions): {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (objects x dimensions), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    return np.ascontiguousarray(arr)


def _finite_rows(arr: np.ndarray) -> np.ndarray:
    """Rows usable for a map: every value finite (a NaN anywhere means the object was not embedded)."""
    return np.isfinite(arr).all(axis=1)


@dataclass(frozen=True)
class _Scaler:
    """Per-column z-score (over the finite values of the fitted rows) followed by column weights."""

    mean: np.ndarray  # float64 [d]
    scale: np.ndarray  # float64 [d]: std / weight (constant and empty columns: 1 / weight)

    @classmethod
    def fit(cls, arr: np.ndarray, weights: np.ndarray | None) -> "_Scaler":
        x = arr.astype(np.float64)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
            mean = np.nanmean(x, axis=0)
            std = np.nanstd(x, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        w = np.ones(arr.shape[1]) if weights is None else weights
        return cls(mean=mean, scale=std / w)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        """Standardised, weighted float32; missing values become 0 (the column mean)."""
        with np.errstate(all="ignore"):
            out = (arr.astype(np.float64) - self.mean) / self.scale
        out[~np.isfinite(out)] = 0.0
        return out.astype(np.float32)


def _check_weights(column_weights, n_dims: int) -> np.ndarray | None:
    if column_weights is None:
        return None
    w = np.asarray(column_weights, dtype=np.float64).ravel()
    if w.shape != (n_dims,) or not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"column_weights must be {n_dims} positive finite numbers (one per column), got shape {w.shape}")
    return w


def prepare_matrix(X, *, standardize: bool = True, column_weights=None) -> tuple[np.ndarray, np.ndarray]:
    """The space maps, neighbours and quality figures are computed in: ``(prepared float32, usable rows)``.

    With ``standardize`` each column is z-scored over the usable rows and multiplied by its weight
    (``RepresentationResult.column_weights()``: 1, or 1/sqrt(width) per part of a hybrid); a row is
    usable when it has at least one finite value, its missing values taking the column mean. Without,
    only fully finite rows are usable and values are weighted as they are. Unusable rows are NaN.
    """
    arr = _as_matrix(X)
    return _Preparation.fit(arr, bool(standardize), _check_weights(column_weights, arr.shape[1])).apply(arr)


@dataclass(frozen=True)
class _Preparation:
    """A fitted ``prepare_matrix``: which rows are usable, and how their values are scaled and weighted."""

    standardize: bool
    scaler: _Scaler | None  # None without standardisation, or when no row was usable
    weights: np.ndarray | None

    @staticmethod
    def usable(arr: np.ndarray, standardize: bool) -> np.ndarray:
        """Standardised: rows with any finite value (the rest is imputed); else fully finite rows."""
        return np.isfinite(arr).any(axis=1) if standardize else _finite_rows(arr)

    @classmethod
    def fit(cls, arr: np.ndarray, standardize: bool, weights: np.ndarray | None) -> "_Preparation":
        ok = cls.usable(arr, standardize)
        scaler = _Scaler.fit(arr[ok], weights) if standardize and ok.any() else None
        return cls(standardize=standardize, scaler=scaler, weights=weights)

    def apply(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(prepared float32, usable rows)``; unusable rows are NaN."""
        ok = self.usable(arr, self.standardize)
        out = np.full(arr.shape, np.nan, np.float32)
        if self.standardize:
            if self.scaler is not None and ok.any():
                out[ok] = self.scaler.apply(arr[ok])
        else:
            out[ok] = arr[ok] if self.weights is None else (arr[ok] * self.weights).astype(np.float32)
        return out, ok


def encode_labels(y, n: int) -> np.ndarray:
    """int64 codes of a label column for supervised UMAP: -1 where unlabelled (None, NaN, empty text)."""
    import pandas as pd

    if y is None:
        return np.full(n, -1, np.int64)
    values = pd.Series(list(y) if not isinstance(y, (pd.Series, np.ndarray)) else y).reset_index(drop=True)
    if len(values) != n:
        raise ValueError(f"y has {len(values)} labels but X has {n} rows")
    text = values.astype("string")
    unlabelled = values.isna().to_numpy() | (text.str.strip().fillna("") == "").to_numpy()
    codes = np.full(n, -1, np.int64)
    if (~unlabelled).any():
        uniq = np.unique(text[~unlabelled].to_numpy(dtype=str))
        codes[~unlabelled] = np.searchsorted(uniq, text[~unlabelled].to_numpy(dtype=str))
    return codes

