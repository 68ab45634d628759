"""Which objects pass the user's filters, and the per-column summaries the linked charts draw.

Browser-free and vectorised: a filter is a query over the objects table's columns, picked categories
and numeric ranges; the result is one boolean mask over catalog rows.  Queries are parsed by a small,
closed grammar (comparisons, ``in``, ``and``/``or``/``not``, arithmetic-free; our own tokenizer and parser,
bounded in length and depth) instead of ``DataFrame.query`` or Python's parser: a served app must not
evaluate arbitrary expressions typed by strangers, nor let them exhaust its stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError

__all__ = ["FilterError", "Filters", "QueryFilter", "column_summary", "is_skewed", "MAX_QUERY_CHARS", "MAX_DEPTH"]

MAX_CATEGORIES = 40  # bars drawn per categorical chart; the rest are summed as "other"
# Bounds of a query (a served app parses what strangers type): a filter is a few conditions.
MAX_QUERY_CHARS = 4000
MAX_DEPTH = 50


class FilterError(ExplorerError, ValueError):
    """A filter that cannot be applied (bad query syntax, unknown column, bad range)."""


class QueryFilter:
    """A parsed query such as ``period > 1 and label in ['RRL', 'CEP'] and not n_obs < 50``.

    Names are columns (use backticks for names with spaces: ```mean mag` > 17``); values are numbers,
    strings (kept exactly as typed; ``\'`` and ``\\`` are the only escapes), True/False/None and lists
    of them; ``=`` reads as ``==``. Comparisons against missing values are False. The grammar is
    closed (nothing else is evaluated) and bounded: at most ``MAX_QUERY_CHARS`` characters and
    ``MAX_DEPTH`` levels of ``not`` and parentheses, so no query can exhaust the stack or the CPU.
    """

    _OPS = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
            ">=": np.greater_equal}

    def __init__(self, text: str):
        self.text = str(text).strip()
        if len(self.text) > MAX_QUERY_CHARS:
            raise FilterError(f"the filter is {len(self.text)} characters long; at most {MAX_QUERY_CHARS} are "
                              "read (a filter is a few conditions, e.g. period > 1 and label == 'RRL')")
        self._tree = _Parser(self.text).parse()
        self.columns = sorted(_names_in(self._tree))

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
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "list":
            return list(node[1])
        if kind == "name":
            return _as_array(columns[node[1]])
        raise FilterError(f"the filter {self.text!r} compares a condition, not a column or a value")

    def _eval(self, node, columns):
        kind = node[0]
        if kind in ("and", "or"):
            parts = [self._eval(v, columns) for v in node[1]]
            return np.logical_and.reduce(parts) if kind == "and" else np.logical_or.reduce(parts)
        if kind == "not":
            inner = self._eval(node[2], columns)
            return ~inner if node[1] % 2 else inner
        if kind == "cmp":
            left = self._value(node[1], columns)
            result = None
            for op, comp in node[2]:
                right = self._value(comp, columns)
                part = self._compare(op, left, right)
                result = part if result is None else result & part
                left = right
            return result
        if kind == "name":  # a boolean column on its own
            return np.asarray(self._value(node, columns) == True)  # noqa: E712  (element-wise)
        raise FilterError(f"the filter {self.text!r} is not a condition (e.g. period > 1)")

    def _compare(self, op, left, right) -> np.ndarray:
        if op in ("in", "not in"):
            if not isinstance(right, list):
                raise FilterError(f"'in' needs a list in {self.text!r} (e.g. label in ['RRL', 'CEP'])")
            if isinstance(left, list):
                raise FilterError(f"a list can only follow 'in' in {self.text!r}")
            arr = _as_array(left)
            hit = _isin(arr, right)
            if arr.dtype.kind == "f":
                hit |= np.isin(arr, [v for v in right if isinstance(v, (int, float)) and not isinstance(v, bool)])
            return ~hit if op == "not in" else hit
        if isinstance(left, list) or isinstance(right, list):
            raise FilterError(f"a list can only follow 'in' in {self.text!r} (e.g. label in ['RRL', 'CEP'])")
        a, b = _comparable(left, right)
        with np.errstate(invalid="ignore"):
            out = np.asarray(self._OPS[op](a, b), dtype=bool)
        return out


def _names_in(node) -> set[str]:
    """Column names a parsed query uses (iterative: the tree's depth is bounded, but no need to recurse)."""
    names, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n[0] == "name":
            names.add(n[1])
        elif n[0] in ("and", "or"):
            todo.extend(n[1])
        elif n[0] == "not":
            todo.append(n[2])
        elif n[0] == "cmp":
            todo.append(n[1])
            todo.extend(c for _, c in n[2])
    return names


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<quoted>`[^`]*`)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>|=|\(|\)|\[|\]|\{|\}|,|-)
""", re.VERBOSE | re.DOTALL)
_STRING_ESCAPE = re.compile(r"\\([\\'\"])")
_CONSTANTS = {"True": True, "False": False, "None": None}
_CMP = ("==", "!=", "<", "<=", ">", ">=")
_OPEN = {"[": "]", "(": ")", "{": "}"}


class _Parser:
    """Recursive descent over the closed grammar; nodes are tuples (``("cmp", left, [(op, right)])`` ...).

    ``or`` / ``and`` chains are loops and runs of ``not`` are counted, so recursion happens only at
    parentheses, whose depth (with the ``not`` levels) is capped at ``MAX_DEPTH``.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0

    def fail(self, why: str):
        raise FilterError(f"cannot read the filter {self.text!r}: {why} (e.g. period > 1 and label == 'RRL')")

    def _tokenize(self, text: str) -> list[tuple[str, object]]:
        tokens, i = [], 0
        while i < len(text):
            m = _TOKEN.match(text, i)
            if m is None:
                quote = text[i] in "'\"`"
                self.fail("a quote is not closed" if quote else f"unexpected {text[i]!r} at character {i + 1}")
            kind = m.lastgroup
            raw = m.group()
            i = m.end()
            if kind == "space":
                continue
            if kind == "number":
                tokens.append(("const", float(raw) if any(c in raw for c in ".eE") else int(raw)))
            elif kind == "string":
                tokens.append(("const", _STRING_ESCAPE.sub(r"\1", raw[1:-1])))
            elif kind == "quoted":
                tokens.append(("name", raw[1:-1]))
            elif kind == "name" and raw in _CONSTANTS:
                tokens.append(("const", _CONSTANTS[raw]))
            elif kind == "name" and raw in ("and", "or", "not", "in"):
                tokens.append(("kw", raw))
            elif kind == "name":
                tokens.append(("name", raw))
            else:
                tokens.append(("op", "==" if raw == "=" else raw))
        return tokens

    def peek(self, offset: int = 0):
        k = self.pos + offset
        return self.tokens[k] if k < len(self.tokens) else ("end", None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def expect(self, kind: str, value):
        tok = self.take()
        if tok != (kind, value):
            self.fail(f"expected {value!r}" + (" at the end" if tok[0] == "end" else f", found {tok[1]!r}"))

    def _enter(self, levels: int = 1):
        self.depth += levels
        if self.depth > MAX_DEPTH:
            raise FilterError(f"the filter nests more than {MAX_DEPTH} levels of 'not' and parentheses; "
                              f"at most {MAX_DEPTH} are read")

    def parse(self):
        if not self.tokens:
            self.fail("it is empty")
        node = self.expr()
        if self.peek()[0] != "end":
            self.fail(f"unexpected {self.peek()[1]!r} after a complete condition")
        return node

    def expr(self):
        parts = [self.conjunction()]
        while self.peek() == ("kw", "or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def conjunction(self):
        parts = [self.negation()]
        while self.peek() == ("kw", "and"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def negation(self):
        count = 0
        while self.peek() == ("kw", "not"):
            self.take()
            count += 1
        if not count:
            return self.comparison()
        self._enter(count)
        node = ("not", count, self.comparison())
        self.depth -= count
        return node

    def comparison(self):
        if self.peek() == ("op", "(") and not self._is_value_group():
            self.take()
            self._enter()
            node = self.expr()
            self.depth -= 1
            self.expect("op", ")")
            if self._comparison_op() is not None:
                self.fail("a condition in parentheses cannot be compared")
            return node
        left = self.operand()
        ops = []
        while (op := self._comparison_op()) is not None:
            ops.append((op, self.operand(after_in=op in ("in", "not in"))))
        if not ops:
            if left[0] != "name":
                self.fail("a value on its own is not a condition")
            return left
        return ("cmp", left, ops)

    def _comparison_op(self) -> str | None:
        tok = self.peek()
        if tok[0] == "op" and tok[1] in _CMP:
            self.take()
            return tok[1]
        if tok == ("kw", "in"):
            self.take()
            return "in"
        if tok == ("kw", "not") and self.peek(1) == ("kw", "in"):
            self.pos += 2
            return "not in"
        return None

    def _is_value_group(self) -> bool:
        """``(`` opening a list of values (``('RRL', 'CEP')``) or one value (``(1)``) rather than a condition."""
        k = self.pos + 1
        while k < len(self.tokens) and self.tokens[k] != ("op", ")"):
            if self.tokens[k][0] not in ("const",) and self.tokens[k] not in (("op", ","), ("op", "-")):
                return False
            k += 1
        return True

    def operand(self, after_in: bool = False):
        tok = self.take()
        if tok[0] == "name":
            return ("name", tok[1])
        if tok[0] == "const":
            return tok
        if tok == ("op", "-"):
            return ("const", self._negated(self.take()))
        if tok[0] == "op" and tok[1] in _OPEN:
            values, comma = self._values(_OPEN[tok[1]])
            if tok[1] == "(" and not after_in and len(values) == 1 and not comma:
                return ("const", values[0])  # (1) is the number 1, as in Python
            return ("list", tuple(values))
        self.fail("expected a column or a value" + (" at the end" if tok[0] == "end" else f", found {tok[1]!r}"))

    def _negated(self, tok):
        if tok[0] != "const" or isinstance(tok[1], (str, bool)) or tok[1] is None:
            self.fail("'-' must be followed by a number")
        return -tok[1]

    def _values(self, close: str) -> tuple[list, bool]:
        values, comma = [], False
        while self.peek() != ("op", close):
            tok = self.take()
            if tok == ("op", "-"):
                values.append(self._negated(self.take()))
            elif tok[0] == "const":
                values.append(tok[1])
            else:
                self.fail("a list holds values only (numbers, 'text', True, False, None)"
                          + (f", found {tok[1]!r}" if tok[0] != "end" else ", and must be closed"))
            if self.peek() == ("op", ","):
                self.take()
                comma = True
            elif self.peek() != ("op", close):
                self.fail(f"expected ',' or {close!r} in a list")
        self.take()
        return values, comma


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
