"""LabelStore: the labels CSV beside the catalog (persistence, atomicity, fallback, merging)."""

from __future__ import annotations

import os
import stat
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog, load_catalog
from explorer.dashboard import labels as labels_mod
from explorer.dashboard.labels import LabelStore
from explorer.errors import CatalogError

IDS = [f"obj-{i:03d}" for i in range(20)]


def _long_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for oid in IDS:
        t = np.sort(rng.uniform(0, 100, 15))
        rows.append(pd.DataFrame({"object_id": oid, "time": t, "mag": rng.normal(18, 0.3, 15),
                                  "mag_err": np.full(15, 0.05)}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def catalog_file(tmp_path, lcx_home):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "toy.csv"
    _long_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def catalog(catalog_file) -> Catalog:
    return load_catalog(catalog_file, name="toy")


def test_assign_saves_beside_catalog_and_reloads(catalog, catalog_file):
    store = LabelStore(catalog)
    assert store.path == catalog_file.parent / "toy.labels.csv"
    assert store.notice is None
    store.assign(["obj-001", "obj-002"], "RR Lyrae")
    store.assign("obj-005", "Cepheid")

    on_disk = pd.read_csv(store.path, dtype=str)
    assert list(on_disk.columns) == ["object_id", "label", "updated_at", "origin"]
    assert set(on_disk["origin"]) == {"manual"}
    assert sorted(on_disk["object_id"]) == ["obj-001", "obj-002", "obj-005"]
    stamp = datetime.fromisoformat(on_disk["updated_at"].iloc[0])
    assert stamp.utcoffset().total_seconds() == 0

    again = LabelStore(catalog)
    lab = again.labels
    assert lab.dtype == "string"
    assert lab.index.name == "object_id" and len(lab) == len(catalog)
    assert lab["obj-001"] == "RR Lyrae" and lab["obj-005"] == "Cepheid"
    assert pd.isna(lab["obj-000"])
    assert lab.notna().sum() == 3


def test_opened_from_a_path(catalog_file):
    store = LabelStore(catalog_file)
    store.assign(["obj-003"], "eclipsing binary")
    assert LabelStore(catalog_file).labels["obj-003"] == "eclipsing binary"


def test_clear_persists(catalog):
    store = LabelStore(catalog)
    store.assign(IDS[:3], "artefact")
    store.clear([IDS[1]])
    lab = LabelStore(catalog).labels
    assert lab[IDS[0]] == "artefact" and pd.isna(lab[IDS[1]]) and lab[IDS[2]] == "artefact"
    assert len(LabelStore(catalog).records()) == 2


def test_unknown_ids_are_refused_and_nothing_is_written(catalog):
    store = LabelStore(catalog)
    with pytest.raises(CatalogError, match="no-such-star"):
        store.assign(["obj-001", "no-such-star"], "RR Lyrae")
    with pytest.raises(CatalogError, match="ghost"):
        store.clear(["ghost"])
    assert not store.path.exists()
    assert store.labels.notna().sum() == 0


def test_bad_label_is_refused(catalog):
    store = LabelStore(catalog)
    for bad in ("", "   ", None, "two\nlines"):
        with pytest.raises(ValueError):
            store.assign(["obj-001"], bad)


def test_label_set_extension_is_persisted(catalog):
    store = LabelStore(catalog)
    assert "RR Lyrae" in store.label_set
    store.add_label("blazar")
    store.assign(["obj-004"], "weird dipper")  # a new label joins the set
    again = LabelStore(catalog)
    assert again.label_set[-2:] == ["blazar", "weird dipper"]
    assert again.label_set.count("blazar") == 1
    assert store.sidecar_path.exists()


def test_crash_before_rename_leaves_previous_file_intact(catalog, monkeypatch):
    store = LabelStore(catalog)
    store.assign(["obj-001"], "Cepheid")
    before = store.path.read_bytes()

    # a crash between writing the temp file and the rename
    def crash(src, dst):
        raise OSError("simulated power cut")

    monkeypatch.setattr(labels_mod.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.assign(["obj-002"], "RR Lyrae")
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert not list(store.path.parent.glob(".toy.labels.csv.*.tmp")), "temp file left behind"

    # a temp file left by a process killed mid-write is ignored
    (store.path.parent / ".toy.labels.csv.killed.tmp").write_text("object_id,label,upd")
    again = LabelStore(catalog)
    assert again.labels["obj-001"] == "Cepheid" and pd.isna(again.labels["obj-002"])


def test_bad_row_is_reported_kept_aside_and_never_costs_the_other_labels(catalog):
    store = LabelStore(catalog)
    store.path.write_text("object_id,label,updated_at\nobj-001,RR Lyrae,not-a-date\n"
                          "obj-003,Cepheid,2024-01-01T00:00:00Z\n")
    with pytest.warns(RuntimeWarning, match=r"1 bad row\(s\) skipped \(line 2: bad updated_at 'not-a-date'"):
        fresh = LabelStore(catalog)
    assert fresh.problems == ["line 2: bad updated_at 'not-a-date' for object 'obj-001'"]
    assert fresh.labels["obj-003"] == "Cepheid" and pd.isna(fresh.labels["obj-001"])
    assert "1 bad row(s) skipped" in fresh.notice
    assert not list(store.path.parent.glob("toy.labels.csv.bak-*"))  # never moved away
    assert "not-a-date" in store.path.read_text()  # untouched until the next save
    fresh.assign(["obj-002"], "Cepheid")
    rejected = fresh.rejected_path.read_text()
    assert "obj-001,RR Lyrae,not-a-date" in rejected and "bad updated_at" in rejected
    assert fresh.notice is None  # the bad row is kept aside now
    again = LabelStore(catalog)
    assert again.problems == []
    assert again.labels["obj-002"] == "Cepheid" and again.labels["obj-003"] == "Cepheid"


def test_truncated_last_row_is_reported_and_the_others_kept(catalog):
    store = LabelStore(catalog)
    store.assign(IDS[:2], "Cepheid")
    text = store.path.read_text()
    store.path.write_text(text[: len(text) - 12])  # a partial last line, as a crash would leave it
    with pytest.warns(RuntimeWarning, match="bad row"):
        again = LabelStore(catalog)
    assert again.labels[IDS[0]] == "Cepheid"
    assert len(again.problems) == 1 and "line 3" in again.problems[0]


def test_read_only_folder_falls_back_to_store(tmp_path, lcx_home):
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = folder / "ro.csv"
    _long_frame().to_csv(path, index=False)
    cat = load_catalog(path, name="ro")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        store = LabelStore(cat)
        store.assign(["obj-007"], "Cepheid")
    finally:
        folder.chmod(0o755)
    expected = lcx_home / "labels" / f"ro-{cat.content_hash()[:12]}.labels.csv"
    assert store.path == expected and expected.exists()
    assert str(expected) in store.notice
    assert sorted(p.name for p in folder.iterdir()) == ["ro.csv"]
    assert LabelStore(cat).labels["obj-007"] == "Cepheid"


def test_in_memory_catalog_falls_back_to_store(lcx_home):
    frame = _long_frame()
    cat = Catalog.from_long(frame["object_id"], frame["time"], frame["mag"], frame["mag_err"], name="mem")
    store = LabelStore(cat)
    assert store.path.parent == lcx_home / "labels"
    store.assign(["obj-000"], "unknown")
    assert LabelStore(cat).labels["obj-000"] == "unknown"


def test_concurrent_instances_merge_per_object(catalog):
    a = LabelStore(catalog)
    b = LabelStore(catalog)  # opened before a writes anything
    a.assign(["obj-001"], "RR Lyrae")
    b.assign(["obj-002"], "Cepheid")  # must not drop a's label
    a.assign(["obj-003"], "artefact")  # must not drop b's label
    b.clear(["obj-001"])  # newer than a's assignment: wins
    b.assign(["obj-004"], "blazar")
    for store in (a, b, LabelStore(catalog)):
        lab = store.labels
        assert pd.isna(lab["obj-001"])
        assert lab["obj-002"] == "Cepheid" and lab["obj-003"] == "artefact" and lab["obj-004"] == "blazar"
    assert "blazar" in LabelStore(catalog).label_set
    on_disk = pd.read_csv(a.path, dtype=str, keep_default_na=False)
    assert on_disk.set_index("object_id").loc["obj-001", "label"] == ""  # tombstone kept for merging


def test_hand_edited_file_is_read(catalog):
    store = LabelStore(catalog)
    store.path.write_text("object_id,label,updated_at\n"
                          "obj-001,RR Lyrae,2024-01-01T00:00:00Z\n"
                          "obj-001,Cepheid,2024-01-02T00:00:00Z\n")
    lab = LabelStore(catalog).labels
    assert lab["obj-001"] == "Cepheid"
    assert os.path.getsize(store.path) > 0
