"""The filter grammar is closed and bounded, and string literals stay exactly as typed (issue 18, item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog
from explorer.dashboard.filters import MAX_DEPTH, MAX_QUERY_CHARS, FilterError, QueryFilter
from explorer.dashboard.state import ExplorerState, ResultCache

COLS = {"period": np.array([0.5, 30.0, np.nan, 2.0]),
        "label": np.array(["x=y", "CEP", "RRL", "it's"], dtype=object),
        "mean mag": np.array([17.0, 18.5, 19.0, 16.0]),
        "flag": np.array([True, False, True, False])}


@pytest.mark.parametrize("query, expected", [
    ("label == 'x=y'", [True, False, False, False]),
    ("label != 'x=y'", [False, True, True, True]),
    ("label = 'x=y'", [True, False, False, False]),           # '=' is '==' outside strings only
    ('label == "x=y" or label == \'a==b\'', [True, False, False, False]),
    ("label == 'it\\'s'", [False, False, False, True]),
    ("label == \"it's\"", [False, False, False, True]),
    ("label in ('x=y', 'CEP')", [True, True, False, False]),
    ("label not in ['CEP', 'RRL']", [True, False, False, True]),
    ("not not period > 1", [False, True, False, True]),
    ("(period > 1 or flag) and not label == 'RRL'", [True, True, False, True]),
    ("0.1 < period <= 30", [True, True, False, True]),
    ("period > (1)", [False, True, False, True]),
    ("period >= -1e3 and `mean mag` < 18", [True, False, False, True]),
    ("flag", [True, False, True, False]),
])
def test_queries_mean_what_they_say(query, expected):
    assert QueryFilter(query).mask(COLS).tolist() == expected


@pytest.mark.parametrize("query, message", [
    ("not " * 2000 + "period > 1", f"at most {MAX_QUERY_CHARS} are read"),
    ("not " * 995 + "period > 1", f"more than {MAX_DEPTH} levels"),
    ("(" * 200 + "period > 1" + ")" * 200, f"more than {MAX_DEPTH} levels"),
    ("label == 'x", "a quote is not closed"),
    ("period >", "expected a column or a value at the end"),
    ("(period > 1) > 2", "cannot be compared"),
    ("period == [1]", "a list can only follow 'in'"),
    ("period.__class__", "unexpected '.'"),
    ("__import__('os').system('true')", "cannot read the filter"),
    ("[c for c in label]", "a list holds values only"),
    ("period + 1", "unexpected '+'"),
    ("label in period", "'in' needs a list"),
])
def test_bad_queries_are_filter_errors_naming_the_problem(query, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace("[", r"\[").replace("+", r"\+")):
        QueryFilter(query).mask(COLS)


def test_the_state_refuses_a_deep_query_and_says_why(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.repeat(["a", "b", "c"], 8)
    objects = pd.DataFrame({"object_id": ["a", "b", "c"], "label": ["x=y", "x=y", "z"], "period": [0.5, 3.0, 1.5]})
    cat = Catalog.from_long(ids, np.tile(np.arange(8.0), 3), rng.normal(17, 0.1, 24), objects=objects, name="f")
    s = ExplorerState(cat, embed_cache=ResultCache(), map_cache=ResultCache(), labels_path=tmp_path / "l.csv")
    assert s.filter("label == 'x=y'").tolist() == [True, True, False]
    assert s.filter("label != 'x=y' or period > 2").tolist() == [False, True, True]
    before = s.filter_mask
    s.filter("not " * 995 + "period > 1")   # RecursionError before: now refused, named, nothing changed
    assert f"more than {MAX_DEPTH} levels" in s.status and s.filter_mask is before
    s.filter("not " * 2000 + "period > 1")
    assert f"at most {MAX_QUERY_CHARS}" in s.status and s.filter_mask is before
