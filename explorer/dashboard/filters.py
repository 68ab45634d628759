"""Which objects pass the user's filters, and the per-column summaries the linked charts draw.

Browser-free and vectorised: a filter is a query over the objects table's columns, picked categories
and numeric ranges; the result is one boolean mask over catalog rows.  Queries are parsed by a small,
closed grammar (comparisons, ``in``, ``and``/``or``/``not``, arithmetic-free) instead of ``DataFrame.query``:
a served app must not evaluate arbitrary expressions typed by strangers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError

__all__ = ["FilterError", "Filters", "QueryFilter", "column_summary", "is_skewed"]

MAX_CATEGORIES = 40  # bars drawn per categorical chart; the rest are summed as "other"
_BACKTICK = re.compile(r"`([^`]*)`")


class FilterError(ExplorerError, ValueError):
    """A filter that cannot be applied (bad query syntax, unknown column, bad range)."""


class QueryFilter:
    """A parsed query such as ``period > 1 and label in ['RRL', 'CEP'] and not n_obs < 50``.

    Names are columns (use backticks for names with spaces: ```mean mag` > 17``); values are numbers,
    strings, True/False/None and lists of them.  Comparisons against missing values are False.
    """

    _OPS = {ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Gt: np.greater, ast.GtE: np.greater_equal}

    def __init__(self, text: str):
        self.text = text.strip()
        self._names: dict[str, str] = {}

        def alias(match):
            key = f"__col{len(self._names)}"
            self._names[key] = match.group(1)
            return key

        source = _BACKTICK.sub(alias, self.text)
        source = re.sub(r"(?<![=!<>])=(?!=)", "==", source)  # "label = RRL" is what people type
        try:
            self._tree = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise FilterError(f"cannot read the filter {self.text!r}: {exc.msg} (e.g. period > 1 and "
                              f"label == 'RRL')") from None
        self.columns = sorted(self._collect(self._tree))

    def _collect(self, node) -> set[str]:
        names = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id not in ("True", "False", "None"):
                names.add(self._names.get(sub.id, sub.id))
        return names

    def mask(self, columns) -> np.ndarray:
        """Boolean mask over rows; ``columns`` maps column name -> values (one per row)."""
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise FilterError(f"the filter names unknown column(s) {', '.join(map(repr, missing))}; "
                              f"columns: {', '.join(map(str, columns))}")
        out = self._eval(self._tree, columns)
        if not isinstance(out, np.ndarray) or out.dtype != bool:
            raise FilterError(f"the filter {self.text!r} is not a condition (e.g. period > 1)")
        return out

    def _value(self, node, columns):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [self._value(e, columns) for e in node.elts]
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.id]
            return _as_array(columns[self._names.get(node.id, node.id)])
        raise FilterError(f"the filter {self.text!r} uses something other than columns, values and "
                          f"comparisons ({type(node).__name__})")

    def _eval(self, node, columns):
        if isinstance(node, ast.BoolOp):
            parts = [self._eval(v, columns) for v in node.values]
            return np.logical_and.reduce(parts) if isinstance(node.op, ast.And) else np.logical_or.reduce(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self._eval(node.operand, columns)
        if isinstance(node, ast.Compare):
            left = self._value(node.left, columns)
            result = None
            for op, comp in zip(node.ops, node.comparators):
                right = self._value(comp, columns)
                part = self._compare(op, left, right)
                result = part if result is None else result & part
                left = right
            return result
        if isinstance(node, ast.Name):  # a boolean column on its own
            return np.asarray(self._value(node, columns) == True)  # noqa: E712  (element-wise)
        raise FilterError(f"the filter {self.text!r} is not a condition (e.g. period > 1)")

    def _compare(self, op, left, right) -> np.ndarray:
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, list):
                raise FilterError(f"'in' needs a list in {self.text!r} (e.g. label in ['RRL', 'CEP'])")
            arr = _as_array(left)
            hit = _isin(arr, right)
            if arr.dtype.kind == "f":
                hit |= np.isin(arr, [v for v in right if isinstance(v, (int, float)) and not isinstance(v, bool)])
            return ~hit if isinstance(op, ast.NotIn) else hit
        fn = self._OPS.get(type(op))
        if fn is None:
            raise FilterError(f"unsupported comparison {type(op).__name__} in {self.text!r}")
        a, b = _comparable(left, right)
        with np.errstate(invalid="ignore"):
            out = np.asarray(fn(a, b), dtype=bool)
        return out


def _as_array(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64) if arr.dtype.kind != "b" else arr
    return arr


def _comparable(a, b):
    """Numbers against numbers, text against text (a numeric column compared to '1' compares as text)."""
    arrays = [x for x in (a, b) if isinstance(x, np.ndarray)]
    numeric = all(x.dtype.kind in "fb" for x in arrays) and not any(isinstance(x, str) for x in (a, b))
    if numeric:
        return a, b

    def text(x):
        if isinstance(x, np.ndarray):
            return pd.Series(x).astype("string").fillna("\0missing").to_numpy(dtype=object)
        return str(x)

    return text(a), text(b)


@dataclass
class Filters:
    """The user's filters: a query, kept categories per column and a range per numeric column."""

    query: str = ""
    categories: dict[str, frozenset] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.query.strip() or self.categories or self.ranges)

    def mask(self, columns, n: int) -> np.ndarray:
        """Rows passing every filter; ``columns`` maps name -> values for the names the filters use."""
        keep = np.ones(n, dtype=bool)
        if self.query.strip():
            keep &= QueryFilter(self.query).mask(columns)
        for name, kept in self.categories.items():
            if name not in columns:
                raise FilterError(f"cannot filter by {name!r}: no such column")
            keep &= _isin(columns[name], kept)
        for name, (lo, hi) in self.ranges.items():
            if name not in columns:
                raise FilterError(f"cannot filter by {name!r}: no such column")
            values = np.asarray(columns[name], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                keep &= (values >= lo) & (values <= hi)
        return keep

    def describe(self) -> str:
        """The filters in words (plain text)."""
        parts = [self.query.strip()] if self.query.strip() else []
        parts += [f"{c} in {{{', '.join(sorted(map(str, v)))}}}" for c, v in self.categories.items()]
        parts += [f"{lo:.4g} <= {c} <= {hi:.4g}" for c, (lo, hi) in self.ranges.items()]
        return " and ".join(parts)


def _isin(values, kept) -> np.ndarray:
    """Rows whose value (as text) is one of ``kept``; categorical columns compare codes, not strings."""
    kept = {str(v) for v in kept}
    if isinstance(values, pd.Categorical):
        wanted = [i for i, c in enumerate(values.categories) if str(c) in kept]
        return np.isin(values.codes, wanted)
    return pd.Series(np.asarray(values)).astype(str).isin(kept).to_numpy()


def is_skewed(values: np.ndarray) -> bool:
    """A positive column spanning more than two decades with a long right tail (period-like): log axis."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 3 or (v <= 0).any():
        return False
    lo, med, hi = np.percentile(v, [1, 50, 99])
    return hi / lo > 100 and (hi - med) > 3 * (med - lo)


def column_summary(values: np.ndarray, kind: str, highlight: np.ndarray, *, bins: int = 30,
                   log: bool = False) -> pd.DataFrame:
    """Counts for one linked chart: every object (``total``) and the highlighted ones (``picked``).

    Categorical: one row per category (most frequent first, beyond MAX_CATEGORIES summed as "other"),
    columns ``category, total, picked``.  Numeric: one row per bin, columns ``left, right, total,
    picked`` (log-spaced bins when ``log``; non-finite values, and non-positive ones on a log axis,
    are left out and counted in ``attrs["left_out"]``).
    """
    highlight = np.asarray(highlight, dtype=bool)
    if kind == "categorical" and isinstance(values, pd.Categorical) and len(values.categories) <= MAX_CATEGORIES:
        codes = values.codes
        total = np.bincount(codes[codes >= 0], minlength=len(values.categories))
        picked = np.bincount(codes[(codes >= 0) & highlight], minlength=len(values.categories))
        order = np.argsort(-total, kind="stable")
        frame = pd.DataFrame({"category": np.asarray(values.categories.astype(str))[order], "total": total[order],
                              "picked": picked[order]})
        frame = frame[frame["total"] > 0].reset_index(drop=True)
        frame.attrs["left_out"] = int((codes < 0).sum())
        return frame
    if kind == "categorical":
        cats = pd.Series(np.asarray(values)).astype(str)
        total = cats.value_counts()
        picked = cats[highlight].value_counts()
        if len(total) > MAX_CATEGORIES:
            keep = total.index[: MAX_CATEGORIES - 1]
            cats = cats.where(cats.isin(keep), "other")
            total, picked = cats.value_counts(), cats[highlight].value_counts()
        frame = pd.DataFrame({"category": total.index.astype(str), "total": total.to_numpy()})
        frame["picked"] = picked.reindex(total.index, fill_value=0).to_numpy()
        frame.attrs["left_out"] = 0
        return frame
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & ((v > 0) if log else True)
    frame_left_out = int((~ok).sum())
    if not ok.any():
        out = pd.DataFrame({"left": [], "right": [], "total": [], "picked": []})
        out.attrs["left_out"] = frame_left_out
        return out
    lo, hi = float(v[ok].min()), float(v[ok].max())
    if hi <= lo:
        hi = lo + (abs(lo) * 1e-6 or 1.0)
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    total, _ = np.histogram(v[ok], edges)
    picked, _ = np.histogram(v[ok & highlight], edges)
    out = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "total": total, "picked": picked})
    out.attrs["left_out"] = frame_left_out
    return out
