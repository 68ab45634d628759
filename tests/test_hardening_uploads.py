"""Upload temp files left by a crashed server are swept at start-up, safely (issue 18, item 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from explorer.dashboard.uploads import STALE_UPLOAD_S, TEMP_PREFIX, CatalogDropper, sweep_stale_uploads

SERVER = """
    import time
    from panel.models.file_dropper import UploadEvent
    from explorer.dashboard.uploads import CatalogDropper
    widget = CatalogDropper(max_bytes=10_000, chunk_size=1000)
    widget._process_event(UploadEvent(widget.get_root(), data={{"chunk": 1, "total_chunks": 3, "name": "big.csv",
                                                                "data": b"x" * 1000, "type": "text/csv"}}))
    print("receiving", widget._stream.path, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def tmp_uploads(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder


def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_a_killed_servers_upload_is_swept_when_the_next_server_makes_its_widget(tmp_uploads):
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SERVER).format()], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        assert line.startswith("receiving "), f"the server did not start: {line!r}"
        left = tmp_uploads / os.path.basename(line.split(" ", 1)[1].strip())
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert left.exists() and left.name.startswith(TEMP_PREFIX) and left.stat().st_size == 1000
    young = tmp_uploads / f"{TEMP_PREFIX}abcd1234.csv"          # another live server's upload, in progress
    young.write_bytes(b"chunk")
    not_ours = [tmp_uploads / f"{TEMP_PREFIX}notes.txt", tmp_uploads / "lcx-upload.csv",
                tmp_uploads / "other-abcd1234.csv", tmp_uploads / f"{TEMP_PREFIX}abcd12345.parquet"]
    for p in not_ours:
        p.write_bytes(b"keep")
    link = tmp_uploads / f"{TEMP_PREFIX}zzzz9999.parquet"        # a link named like ours: never followed
    os.symlink(not_ours[0], link)
    sub = tmp_uploads / "sub"
    sub.mkdir()
    nested = sub / f"{TEMP_PREFIX}qqqq1111.csv"                   # only the temp folder itself is swept
    nested.write_bytes(b"keep")
    for p in [left, *not_ours, link, nested]:
        _age(p, 2 * STALE_UPLOAD_S)
    CatalogDropper(max_bytes=10_000)   # what a starting server does for its first session
    assert not left.exists()
    assert young.exists() and link.is_symlink() and nested.exists() and all(p.exists() for p in not_ours)
    # once per process and folder: a later widget does not sweep again
    _age(young, 2 * STALE_UPLOAD_S)
    CatalogDropper(max_bytes=10_000)
    assert young.exists()
    assert sweep_stale_uploads(tmp_uploads) == [young]
