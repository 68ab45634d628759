"""Issue 18, catalog layer: odd inputs load or fail with a clear message, and nothing is skipped without a word.

Items: 3 (objects table with list / struct columns, and ``scalar_columns`` for the dashboard),
8 (bands that look identical), 9 (a long table with an extra list or struct column), 12 (files a
folder load skips are named in ``report.notes``). Real files in tmp_path, real readers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.catalog import Catalog, load_catalog, load_catalog_bytes, scalar_columns
from explorer.errors import CatalogError


def long_frame(n=5, length=20, bands=("R",), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for b in bands:
            for t in np.sort(rng.uniform(0, 100, length)):
                rows.append((f"o{i}", 50000 + t, b, 15 + rng.normal(), 0.05))
    return pd.DataFrame(rows, columns=["object_id", "time", "band", "mag", "mag_err"])


def write(frame: pd.DataFrame, path):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


# ---------------------------------------------------------------------- item 3
def test_objects_table_with_list_and_struct_columns(tmp_path):
    folder = tmp_path / "c3"
    folder.mkdir()
    write(long_frame(), folder / "c3.lightcurves.parquet")
    objects = pd.DataFrame({"object_id": [f"o{i}" for i in range(5)], "tags": [[1, 2], [3], [], [4], [5, 6]],
                            "pos": [{"ra": float(i), "dec": -float(i)} for i in range(5)],
                            "label": ["A", "B", "A", "B", "A"], "period": np.arange(5) + 0.5})
    write(objects, folder / "c3.objects.parquet")
    cat = load_catalog(folder)
    assert len(cat) == 5 and cat.objects["label"].tolist() == ["A", "B", "A", "B", "A"]
    # the clean way for a caller to leave out what cannot be counted, grouped or coloured by
    assert cat.scalar_columns() == ["object_id", "label", "period", "n_obs", "empty"]
    for col in cat.scalar_columns():
        cat.objects[col].nunique()   # hashable: never TypeError
    with pytest.raises(TypeError):
        cat.objects["tags"].nunique()   # what the dashboard hit before: the columns left out are really unhashable


def test_scalar_columns_judges_typed_and_object_columns():
    frame = pd.DataFrame({"a": [1, 2], "s": ["x", None], "arr": [np.zeros(2), None], "t": [(1, 2), (3, 4)],
                          "bad_t": [(1, [2]), (3, [4])], "d": [{"k": 1}, {"k": 2}]})
    frame["arrow_list"] = pd.Series([[1], [2]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    frame["arrow_str"] = pd.Series(["p", "q"], dtype=pd.ArrowDtype(pa.string()))
    assert scalar_columns(frame) == ["a", "s", "t", "arrow_str"]


# ---------------------------------------------------------------------- item 8
def test_bands_that_look_identical_are_named(tmp_path):
    frame = long_frame(bands=("R", "R\u200b", "g"))
    for cat in (load_catalog(frame), load_catalog(write(frame, tmp_path / "zw.parquet"))):
        assert cat.bands == ("R", "R\u200b", "g")
        notes = [n for n in cat.report.notes if "look identical" in n]
        assert len(notes) == 1 and "'R' and 'R\\u200b'" in notes[0] and "'g'" not in notes[0]
        assert "look identical" in str(cat.report)
    assert not any("look identical" in n for n in load_catalog(long_frame(bands=("R", "g"))).report.notes)
    # NFKC look-alikes: a full-width R
    assert any("'R' and '\\uff32'" in n for n in load_catalog(long_frame(bands=("R", "\uff32"))).report.notes)


# ---------------------------------------------------------------------- item 9
@pytest.mark.parametrize("extra", [[1.0, 2.0], {"a": 1.0, "b": "x"}], ids=["list", "struct"])
def test_long_table_with_an_extra_nested_column_is_long(tmp_path, extra):
    frame = long_frame()
    plain = load_catalog(frame)
    frame["extra"] = [extra] * len(frame)
    path = write(frame, tmp_path / "long_extra.parquet")
    for cat in (load_catalog(path), load_catalog_bytes(path.read_bytes(), "long_extra.parquet"), load_catalog(frame)):
        assert len(cat) == 5 and cat.n_observations == 100
        assert cat.content_hash() == plain.content_hash()
        assert any("'extra'" in n and "lists or structs" in n for n in cat.report.notes), cat.report.notes


def test_nested_tables_are_still_nested(tmp_path):
    frame = long_frame()
    g = frame.groupby("object_id", sort=False)
    nested = pd.DataFrame({"object_id": list(g.groups), "label": ["x"] * 5,
                           "meta": [{"a": 1}] * 5})
    for c in ("time", "band", "mag", "mag_err"):
        nested[c] = [v.to_numpy() for _, v in g[c]]
    cat = load_catalog(write(nested, tmp_path / "nested.parquet"))
    assert cat.content_hash() == load_catalog(frame).content_hash()
    assert cat.objects["label"].tolist() == ["x"] * 5
    # a table with neither lists for the light curves nor plain time / value columns says what it lacks
    bad = pd.DataFrame({"object_id": ["a", "b"], "meta": [{"a": 1}, {"a": 2}]})
    with pytest.raises(CatalogError, match="no list columns in nested input"):
        load_catalog(write(bad, tmp_path / "bad.parquet"))


# ---------------------------------------------------------------------- item 12
def test_folder_load_names_the_files_it_skips(tmp_path):
    folder = tmp_path / "f12"
    folder.mkdir()
    names = [f"M{i}.csv" for i in range(10)] + ["M31.labels.v2.csv", ".hidden.csv", "f12.labels.csv"]
    for i, name in enumerate(names):
        long_frame(1, seed=i).drop(columns=["object_id"]).to_csv(folder / name, index=False)
    cat = load_catalog(folder)
    assert len(cat) == 10
    notes = [n for n in cat.report.notes if "skipped" in n]
    assert len(notes) == 1
    assert "2 file(s)" in notes[0] and "M31.labels.v2.csv" in notes[0] and ".hidden.csv" in notes[0]
    assert "hidden" in notes[0] and "labels file" in notes[0]
    assert "f12.labels.csv" not in notes[0]   # the explorer's own labels file is not news


def test_catalog_report_notes_reach_the_catalog_for_every_loader(tmp_path):
    """The notes of a DataFrame load are kept (the DataFrame path used to drop the load's notes)."""
    frame = long_frame()
    frame["extra"] = [[1]] * len(frame)
    assert isinstance(load_catalog(frame), Catalog)
    assert load_catalog(frame).report.notes
