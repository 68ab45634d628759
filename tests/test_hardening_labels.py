"""The labels file keeps every id and leaves no temporary file after a killed writer (issue 18, items 7, 15).

Real LabelStore, real files, a real writer process killed with SIGKILL while it holds its temporary file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.export import export_labels, read_export
from explorer.dashboard.labels import LabelStore

LONG_ID = "x" * 199_990 + "-tail-€,\"q"   # 200,000 characters, with a comma, a quote and a non-ASCII one


@pytest.fixture
def long_id_file(tmp_path, lcx_home):
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [(oid, float(t), 18.0 + 0.1 * t) for oid in (LONG_ID, "short") for t in range(5)]
    path = folder / "long.csv"
    pd.DataFrame(rows, columns=["object_id", "time", "mag"]).to_csv(path, index=False)
    return path


def test_a_200000_character_id_round_trips(long_id_file):
    cat = load_catalog(long_id_file)
    assert len(LONG_ID) == 200_000 and LONG_ID in set(cat.object_ids)
    store = LabelStore(cat)
    store.assign([LONG_ID], "RR Lyrae")
    store.assign(["short"], "Cepheid", origin="suggested")
    again = LabelStore(load_catalog(long_id_file))
    assert again.problems == [] and again.notice is None
    assert again.labels[LONG_ID] == "RR Lyrae" and again.labels["short"] == "Cepheid"
    again.assign(["short"], "Mira")   # a rewrite keeps it too, and nothing goes to the rejected file
    third = LabelStore(load_catalog(long_id_file))
    assert third.labels[LONG_ID] == "RR Lyrae" and third.labels["short"] == "Mira"
    assert not third.rejected_path.exists()
    frame, _ = read_export(export_labels(third.records(), {"catalog": "long"}, "csv")[0])
    assert set(frame["object_id"]) == {LONG_ID, "short"}


WRITER = """
    import sys, time
    import explorer.dashboard.labels as labels
    from explorer.atomic import atomic_path
    from explorer.catalog import load_catalog

    def stalled(path, data, durable=False):  # the real save path, stopped half-way through its write
        with atomic_path(path, durable=durable) as tmp:
            tmp.write_bytes(data[: len(data) // 2])
            print("writing", tmp, flush=True)
            time.sleep(600)

    store = labels.LabelStore(load_catalog({catalog!r}))
    store.assign(["a"], "Cepheid")      # a complete save first
    labels.atomic_write_bytes = stalled
    store.assign(["b"], "RR Lyrae")     # killed in here
"""


def test_a_writer_killed_mid_write_leaves_no_temporary_file_after_the_next_open(tmp_path, lcx_home):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "kill.csv"
    pd.DataFrame([(o, float(t), 17.0 + t) for o in "abc" for t in range(5)],
                 columns=["object_id", "time", "mag"]).to_csv(path, index=False)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER).format(catalog=str(path))],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        assert line.startswith("writing "), f"the writer did not start: {line!r}"
        tmp = folder / os.path.basename(line.split(" ", 1)[1].strip())
        assert tmp.exists()
        # while the writer lives it holds the lock: an opener waits, and its temporary file is not touched
        opened: dict = {}
        opener = threading.Thread(target=lambda: opened.update(store=LabelStore(load_catalog(path))))
        opener.start()
        opener.join(2.0)
        assert opener.is_alive() and tmp.exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        opener.join(30)
        assert not opener.is_alive()
    finally:
        if proc.poll() is None:
            proc.kill()
    store = opened["store"]
    assert store.removed_temp_files == [tmp] and not tmp.exists()   # seconds old, yet removed: its writer is dead
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert store.labels["a"] == "Cepheid" and pd.isna(store.labels["b"])   # the completed save is intact
    assert store.problems == []
    assert np.sum(store.labels.notna().to_numpy()) == 1
