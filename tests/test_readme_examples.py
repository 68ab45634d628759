"""The README's notebook snippet runs as written, on the default catalog, with its real ids and classes
(issue 19: docs that run).  A stand-in Astromer-shaped model stands for the store's model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import isolated_store
from standin_models import build_astromer_standin

ROOT = Path(__file__).resolve().parents[1]


def readme_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with isolated_store(tmp_path_factory, "astromer1-macho", build_astromer_standin, "astromer1") as home:
        yield home


@pytest.mark.slow
def test_the_notebook_snippet_runs_and_each_line_does_what_it_says(store, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = readme_block("### From a notebook")
    names: dict = {}
    exec(compile(code, "README.md (From a notebook)", "exec"), names)  # noqa: S102  the project's own README
    ex, twin = names["ex"], names["twin"]
    try:
        state = ex.state
        assert state.map is not None and state.map.stage == "umap"
        passing = int(state.filter_mask.sum())
        assert 0 < passing < len(state.catalog), "the README's filter example keeps nothing (or everything)"
        assert list(ex.selection["object_id"]) == ["macho_like_00000", "macho_like_00002"]
        assert state.selected_id == "macho_like_00042"
        assert twin.representation == "features"
    finally:
        twin.jobs.cancel()
        twin.wait(120)


def test_the_filter_example_of_using_the_dashboard_matches_the_default_catalog():
    import pandas as pd

    from explorer.dashboard.filters import Filters, QueryFilter

    text = (ROOT / "README.md").read_text()
    example = re.search(r"type a condition such as\s+`([^`]+)`", text).group(1)
    objects = pd.read_parquet(ROOT / "sample_catalogs" / "macho_like" / "macho_like.objects.parquet")
    columns = {c: (objects[c].to_numpy(dtype=float) if c == "period" else pd.Categorical(objects[c].astype(str)))
               for c in QueryFilter(example).columns}
    mask = Filters(example).mask(columns, len(objects))
    assert 0 < mask.sum() < len(objects), example
