"""The labels file (issue 12, items 8 and 11; origin from issue 7): damaged files read row by row,
empty ids refused, orphan temporary files cleaned, the ``origin`` column, killed writers.

Real LabelStore on real files in ``tmp_path``; the kill test kills a real writer process with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.labels import LabelStore, remove_orphan_temp_files
from explorer.errors import CatalogError

# ids that a careless reader turns into numbers or missing values
IDS = ["001", "1", "NA", "None", "nan", "obj,comma", 'obj"quote', "obj-7"]


@pytest.fixture
def catalog_file(tmp_path, lcx_home):
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [(oid, float(t), 18.0 + 0.1 * t) for oid in IDS for t in range(5)]
    pd.DataFrame(rows, columns=["object_id", "time", "mag"]).to_csv(folder / "toy.csv", index=False)
    return folder / "toy.csv"


@pytest.fixture
def catalog(catalog_file):
    return load_catalog(catalog_file, name="toy")


def test_tricky_ids_and_labels_round_trip(catalog):
    assert sorted(catalog.object_ids) == sorted(IDS)
    store = LabelStore(catalog)
    for i, oid in enumerate(IDS):
        store.assign([oid], f"class, \"{i}\" ü")
    again = LabelStore(catalog)
    assert again.problems == []
    assert again.labels[list(IDS)].tolist() == [f"class, \"{i}\" ü" for i in range(len(IDS))]


def test_empty_object_id_is_refused_at_assign_and_never_reaches_the_file(catalog):
    store = LabelStore(catalog)
    store.assign(["001"], "Cepheid")
    before = store.path.read_bytes()
    with pytest.raises(CatalogError, match="an empty object id cannot be labelled"):
        store.assign(["1", ""], "RR Lyrae")
    with pytest.raises(CatalogError, match="empty object id"):
        store.clear([""])
    assert store.path.read_bytes() == before
    assert LabelStore(catalog).labels["001"] == "Cepheid"


def test_a_file_with_an_empty_id_row_keeps_every_other_label(catalog):
    store = LabelStore(catalog)
    store.assign(["001", "NA"], "Cepheid")
    with open(store.path, "a", encoding="utf-8") as fh:  # what the old writer let through
        fh.write(",RR Lyrae,2024-01-01T00:00:00+00:00,manual\n")
    with pytest.warns(RuntimeWarning, match="1 bad row"):
        again = LabelStore(catalog)
    assert again.problems == ["line 4: no object_id"]
    assert again.labels["001"] == "Cepheid" and again.labels["NA"] == "Cepheid"
    assert store.path.exists() and not list(store.path.parent.glob("*.bak-*"))


def test_many_kinds_of_bad_rows_are_each_reported_and_kept_aside_verbatim(catalog):
    store = LabelStore(catalog)
    good = "obj-7,artefact,2024-02-01T00:00:00Z,manual\n"
    lines = [
        b"object_id,label,updated_at,origin\n",
        b"001,Cepheid,2024-01-01T00:00:00Z,manual\n",  # 2 good
        b"1,RR Lyrae,yesterday,manual\n",  # 3 bad time
        b"NA,caf\xe9,2024-01-01T00:00:00Z,manual\n",  # 4 Latin-1 byte
        b"None,blazar,2024-01-01T00:00:00Z\n",  # 5 a field short
        b"nan,blazar,2024-01-01T00:00:00Z,robot\n",  # 6 unknown origin
        b'obj-7,"unclosed,2024-01-01T00:00:00Z,manual\n',  # 7 unmatched quote must not swallow line 8
        good.encode(),  # 8 good
        b"001,Cepheid,2024-01-0",  # 9 cut short by a crash
    ]
    store.path.write_bytes(b"".join(lines))
    with pytest.warns(RuntimeWarning, match="6 bad row"):
        again = LabelStore(catalog)
    assert [p.split(":")[0] for p in again.problems] == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 9"]
    assert "cut short" in again.problems[-1]
    assert again.labels["001"] == "Cepheid" and again.labels["obj-7"] == "artefact"
    again.assign(["1"], "RR Lyrae")
    kept = again.rejected_path.read_bytes()
    for i in (2, 3, 4, 5, 6, 8):
        assert lines[i].rstrip(b"\n") in kept  # byte for byte, the Latin-1 one included
    final = LabelStore(catalog)
    assert final.problems == []
    assert final.labels[["001", "1", "obj-7"]].tolist() == ["Cepheid", "RR Lyrae", "artefact"]
    assert again.rejected_path.name == "toy.labels.rejected.txt"
    assert "# " in kept.decode("utf-8", "replace") and "line 3: bad updated_at 'yesterday'" in kept.decode("utf-8", "replace")


def test_file_without_header_is_read(catalog):
    store = LabelStore(catalog)
    store.path.write_text("001,Cepheid,2024-01-01T00:00:00Z\nNA,RR Lyrae,2024-01-01T00:00:00Z\n")
    again = LabelStore(catalog)
    assert again.problems == [] and again.labels["NA"] == "RR Lyrae"


# ---------------------------------------------------------------------- origin
def test_origin_is_saved_and_old_files_read_as_manual(catalog):
    store = LabelStore(catalog)
    store.path.write_text("object_id,label,updated_at\n001,Cepheid,2024-01-01T00:00:00Z\n")  # before origin
    store = LabelStore(catalog)
    assert store.origins["001"] == "manual" and pd.isna(store.origins["1"])
    store.assign(["1", "NA"], "RR Lyrae", origin="suggested")
    store.assign(["NA"], "blazar")  # a person confirms another label: manual again
    again = LabelStore(catalog)
    assert again.origins[["001", "1", "NA"]].tolist() == ["manual", "suggested", "manual"]
    on_disk = pd.read_csv(store.path, dtype=str, keep_default_na=False)
    assert list(on_disk.columns) == ["object_id", "label", "updated_at", "origin"]
    assert on_disk.set_index("object_id").loc["1", "origin"] == "suggested"
    records = again.records()
    assert list(records.columns) == ["object_id", "label", "updated_at", "origin"]
    with pytest.raises(ValueError, match="origin must be one of manual, suggested"):
        again.assign(["001"], "x", origin="robot")


# ---------------------------------------------------------------------- orphan temporary files
def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_orphan_temp_files_are_removed_on_open_only_ours(catalog):
    store = LabelStore(catalog)
    store.assign(["001"], "Cepheid")
    folder = store.path.parent
    old_ours = [folder / ".toy.labels.csv.ab12cd_9.tmp", folder / ".toy.labels.json.zz99yy00.tmp"]
    # young, but nobody holds the lock: its writer is dead (a live writer holds the lock, see
    # test_hardening_labels.py for one killed mid-write)
    young_ours = folder / ".toy.labels.csv.k3k3k3k3.tmp"
    not_ours = [folder / ".toy.labels.csv.killed.tmp", folder / "notes.tmp", folder / ".other.csv.ab12cd_9.tmp"]
    for p in old_ours + not_ours:
        p.write_text("object_id,label,upd")
        _age(p, 3600)
    young_ours.write_text("x")
    again = LabelStore(catalog)
    assert sorted(again.removed_temp_files) == sorted(old_ours + [young_ours])
    assert not any(p.exists() for p in old_ours + [young_ours])
    assert all(p.exists() for p in not_ours)
    assert again.labels["001"] == "Cepheid"
    # the function alone (no lock: platforms without fcntl) spares young files
    young_ours.write_text("x")
    assert remove_orphan_temp_files(store.path) == []
    assert remove_orphan_temp_files(store.path, older_than_s=0) == [young_ours]


def test_killed_writers_lose_no_acknowledged_label(catalog_file, tmp_path):
    """SIGKILL a process that labels in a loop; every label it reported saved is there afterwards."""
    script = textwrap.dedent(f"""
        import sys
        from explorer.catalog import load_catalog
        from explorer.dashboard.labels import LabelStore
        store = LabelStore(load_catalog({str(catalog_file)!r}, name="toy"))
        ids = {IDS!r}
        i = 0
        while True:
            oid = ids[i % len(ids)]
            store.assign([oid], f"run-{{i}}")
            print(oid, f"run-{{i}}", flush=True)
            i += 1
    """)
    acknowledged: dict[str, str] = {}
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ))
        deadline = time.time() + 30
        n = 0
        while n < 15 and time.time() < deadline:  # let it write a while, then kill it mid-flight
            line = proc.stdout.readline()
            if not line:
                break
            oid, label = line.rstrip("\n").rsplit(" ", 1)
            acknowledged[oid] = label
            n += 1
        proc.send_signal(signal.SIGKILL)
        for line in proc.stdout.read().splitlines():
            oid, label = line.rsplit(" ", 1)
            acknowledged[oid] = label
        proc.wait()
        assert n == 15, "the writer did not start"
    store = LabelStore(load_catalog(catalog_file, name="toy"))
    assert store.problems == []
    labels = store.labels
    assert {oid: labels[oid] for oid in acknowledged} == acknowledged
    assert not [p for p in catalog_file.parent.iterdir() if p.name.endswith(".tmp")]  # the open cleaned up
    assert np.all(labels.notna().to_numpy()[[list(store.catalog.object_ids).index(o) for o in acknowledged]])


def test_byte_flipped_labels_files_never_fail_to_open(catalog):
    """Random damage: LabelStore always opens, every row is either read or reported."""
    import io
    import random
    import warnings

    store = LabelStore(catalog)
    for i, oid in enumerate(IDS):
        store.assign([oid], f"label {i}")
    good = store.path.read_bytes()
    rng = random.Random(0)
    for _ in range(200):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.choice([0, 10, 13, 34, 44, 0xE9, rng.randrange(256)])
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data) + 1)]
        store.path.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            opened = LabelStore(catalog)
        text = bytes(data).decode("utf-8", "surrogateescape")
        n_lines = len(io.StringIO(text, newline="").readlines())  # \r, \n and \r\n end a line
        assert len(opened._records) + len(opened.problems) <= n_lines
        assert store.path.read_bytes() == bytes(data)  # opening never rewrites the file
