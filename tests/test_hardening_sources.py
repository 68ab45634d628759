"""Catalog listing and change stamps with links to nothing (issue 18, item 4 of the crashes)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.sources import allowed_roots, catalog_stamp, list_catalogs


@pytest.fixture
def root(tmp_path, monkeypatch):
    root = tmp_path / "served"
    (root / "cat").mkdir(parents=True)
    frame = pd.DataFrame({"object_id": ["a"] * 5 + ["b"] * 5, "time": list(range(5)) * 2, "mag": [17.0] * 10})
    frame.to_csv(root / "cat" / "good.csv", index=False)
    frame.to_csv(root / "top.csv", index=False)
    os.symlink(root / "cat" / "gone.csv", root / "cat" / "dangling.csv")   # inside the root, target missing
    os.symlink(tmp_path / "nowhere" / "x.csv", root / "toplink.csv")
    monkeypatch.setenv("LCEXPLORER_DATA_DIRS", str(root))
    return root


def test_listing_skips_a_link_to_nothing_and_says_so_without_the_servers_path(root):
    notes: list[str] = []
    found = list_catalogs(notes)
    assert found["served/top.csv"] == str(root / "top.csv") and found["served/cat"] == str(root / "cat")
    assert "served/toplink.csv" not in found
    assert notes == ["served/toplink.csv is a link to nothing; skipped"]
    assert not any(str(root) in n for n in notes)
    assert list_catalogs() == found   # without a list for notes: the same catalogs, no error


def test_stamp_of_a_folder_with_a_link_to_nothing(root):
    folder = root / "cat"
    stamp = catalog_stamp(folder)
    assert dict(stamp)["dangling.csv"] is None and dict(stamp)["good.csv"] > 0
    assert catalog_stamp(folder) == stamp
    (folder / "good.labels.csv").write_text("object_id,label,updated_at\n")   # labels are not a change
    assert catalog_stamp(folder) == stamp
    pd.DataFrame({"object_id": ["c"] * 5, "time": range(5), "mag": [17.0] * 5}).to_csv(folder / "more.csv",
                                                                                          index=False)
    assert catalog_stamp(folder) != stamp
    assert catalog_stamp(root / "top.csv") == (root / "top.csv").stat().st_mtime_ns
    # what the state then reads: the folder loads, the link is skipped and said
    cat = load_catalog(folder, allowed_roots=allowed_roots())
    assert sorted(cat.object_ids) == ["good", "more"]   # one object per file, named by its stem
    assert any("link(s) to nothing" in n and "dangling.csv" in n for n in cat.report.notes)
