"""The server side of chunked uploads (``explorer.dashboard.uploads``), fed real Bokeh upload events.

What a hostile or broken browser can send (more bytes than announced, chunks out of order, a wrong
suffix, a size over the limit) must be refused by the server with a message naming the file and the
limit, costing at most one chunk, and leaving no temp file behind.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pytest
from panel.models.file_dropper import DeleteEvent, UploadEvent

from explorer.catalog import load_catalog, load_catalog_bytes
from explorer.dashboard.uploads import TEMP_PREFIX, CatalogDropper, upload_limit

CHUNK = 1000


@pytest.fixture
def tmpdir_uploads(tmp_path, monkeypatch):
    """Temp files of this test go to their own folder (tempfile reads TMPDIR once: reset its cache)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp_path


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def send(widget, name, payload: bytes, chunk_size=CHUNK, total=None, stop_after=None):
    """Send ``payload`` as a browser does: ceil((size + 1) / chunk_size) chunks, numbered from 1."""
    model = widget.get_root()
    total = total or -(-(len(payload) + 1) // chunk_size)
    for i in range(total):
        if stop_after is not None and i >= stop_after:
            return
        part = payload[i * chunk_size:(i + 1) * chunk_size]
        widget._process_event(UploadEvent(model, data={"chunk": i + 1, "total_chunks": total, "name": name,
                                                       "data": part, "type": "text/csv"}))


def catalog_csv(n_objects=5, n_obs=30) -> bytes:
    rng = np.random.default_rng(0)
    n = n_objects * n_obs
    frame = pd.DataFrame({"object_id": np.repeat([f"00{i}" for i in range(n_objects)], n_obs),
                          "time": rng.uniform(0, 100, n), "mag": rng.normal(17, 0.2, n)})
    return frame.to_csv(index=False).encode()


def test_accepted_upload_lands_in_one_temp_file_and_reads_like_the_path(tmpdir_uploads, tmp_path):
    data = catalog_csv()
    widget = CatalogDropper(max_bytes=10 * len(data), chunk_size=CHUNK)
    send(widget, "my.csv", data)
    got = widget.received
    assert got is not None and widget.refused is None
    assert got.filename == "my.csv" and got.size == len(data) and widget.bytes_received == len(data)
    assert temp_files(tmpdir_uploads) == [got.path.name]
    body = got.read()
    assert body == data
    widget.release(got)
    assert temp_files(tmpdir_uploads) == []
    (tmp_path / "my.csv").write_bytes(data)
    # the same loader as a path: ids as written ("000" stays "000")
    assert load_catalog_bytes(body, got.filename).content_hash() == load_catalog(tmp_path / "my.csv").content_hash()


def test_size_announced_over_the_limit_is_refused_at_the_first_chunk(tmpdir_uploads):
    widget = CatalogDropper(max_bytes=5 * CHUNK, chunk_size=CHUNK)
    send(widget, "big.csv", b"x" * (20 * CHUNK))
    exc = widget.refused
    assert exc is not None and widget.received is None
    text = str(exc)
    assert "'big.csv'" in text and "too large" in text and "LCEXPLORER_MAX_UPLOAD_BYTES" in text, text
    assert widget.bytes_received == 0, "the server wrote bytes of an upload it could refuse from its chunk count"
    assert temp_files(tmpdir_uploads) == []


def test_client_sending_more_than_it_announced_is_cut_at_the_limit(tmpdir_uploads):
    """A browser that announces 3 chunks but sends full ones past the limit is refused by the byte count."""
    widget = CatalogDropper(max_bytes=int(2.5 * CHUNK), chunk_size=CHUNK)
    for i in range(1, 4):
        widget._process_event(event(widget, "liar.csv", i, 3, b"y" * CHUNK))
    assert widget.received is None and "over the limit" in str(widget.refused), widget.refused
    assert widget.bytes_received == 2 * CHUNK, "more than the limit was written"
    assert temp_files(tmpdir_uploads) == []


def event(widget, name, chunk, total, payload):
    """One upload event as the browser sends it."""
    return UploadEvent(widget.get_root(), data={"chunk": chunk, "total_chunks": total, "name": name, "data": payload,
                                                "type": "text/csv"})


def test_malformed_chunks_and_wrong_suffix_are_refused(tmpdir_uploads):
    widget = CatalogDropper(max_bytes=100 * CHUNK, chunk_size=CHUNK)
    widget._process_event(event(widget, "a.csv", 1, 2, b"z" * (CHUNK + 1)))
    assert "holds 1,001 bytes, not the 1,000 agreed" in str(widget.refused), widget.refused
    send(widget, "../../etc/evil.exe", b"abc")
    assert "'evil.exe' is not a .parquet or .csv file" in str(widget.refused), widget.refused
    send(widget, "b.csv", b"q" * (3 * CHUNK), stop_after=1)
    assert temp_files(tmpdir_uploads), "the first chunk should be in a temp file"
    widget._process_event(event(widget, "b.csv", 2, 4, b"q" * CHUNK))
    widget._process_event(event(widget, "b.csv", 2, 4, b"q" * CHUNK))
    assert "chunk 2 of 4 arrived twice" in str(widget.refused), widget.refused
    assert temp_files(tmpdir_uploads) == [] and widget.received is None
    widget._process_event(event(widget, "b.csv", 3, 4, b"q" * CHUNK))  # the rest of the refused one: dropped
    assert temp_files(tmpdir_uploads) == [] and widget.received is None
    widget._process_event(event(widget, "c.csv", 1, 3, b"q" * 10))  # a short chunk that is not the last
    assert "chunk 1 of 3 holds 10 bytes" in str(widget.refused), widget.refused
    widget._process_event(DeleteEvent(widget.get_root(), data={"name": "b.csv"}))  # FilePond's revert: harmless
    assert temp_files(tmpdir_uploads) == []


def test_chunks_handled_out_of_order_still_make_the_file(tmpdir_uploads):
    """With ``panel serve --num-threads`` chunk events may be handled in any order: each has its offset."""
    data = catalog_csv()
    widget = CatalogDropper(max_bytes=10 * len(data), chunk_size=CHUNK)
    total = -(-(len(data) + 1) // CHUNK)
    for i in reversed(range(total)):
        widget._process_event(event(widget, "shuffled.csv", i + 1, total, data[i * CHUNK:(i + 1) * CHUNK]))
    assert widget.refused is None and widget.received.read() == data
    widget.release(widget.received)
    assert temp_files(tmpdir_uploads) == []


def test_interrupted_and_unreleased_uploads_are_removed_by_cleanup(tmpdir_uploads):
    """What the session-destroyed hook does: the half upload and the unopened complete one both go."""
    widget = CatalogDropper(max_bytes=100 * CHUNK, chunk_size=CHUNK)
    send(widget, "done.csv", b"d" * 1500)
    send(widget, "half.csv", b"h" * 5000, stop_after=2)
    # the complete one is still waiting for its consumer; the half one is in progress
    assert len(temp_files(tmpdir_uploads)) == 2
    assert widget.received.filename == "done.csv"
    widget.cleanup_files()
    assert temp_files(tmpdir_uploads) == []


def test_a_new_upload_drops_the_one_in_progress(tmpdir_uploads):
    widget = CatalogDropper(max_bytes=100 * CHUNK, chunk_size=CHUNK)
    send(widget, "first.csv", b"f" * 5000, stop_after=2)
    send(widget, "second.csv", b"s" * 1200)
    assert widget.received.filename == "second.csv" and widget.received.read() == b"s" * 1200
    assert temp_files(tmpdir_uploads) == [widget.received.path.name]
    widget.release(widget.received)


def test_limit_follows_the_environment_and_reaches_the_browser(monkeypatch):
    monkeypatch.setenv("LCEXPLORER_MAX_UPLOAD_BYTES", "1234567")
    assert upload_limit() == 1234567
    widget = CatalogDropper()
    assert widget.max_file_size == "1234567" and widget.multiple is False
    monkeypatch.setenv("LCEXPLORER_MAX_UPLOAD_BYTES", "0")
    widget = CatalogDropper()
    assert widget.max_bytes is None and widget.max_file_size is None


def test_no_room_for_the_temp_file_is_a_clear_refusal(tmp_path, monkeypatch):
    """A temp folder that is gone: a refusal naming the file, not an OSError, and the path is not shown."""
    gone = tmp_path / "gone"
    monkeypatch.setenv("TMPDIR", str(gone))
    monkeypatch.setattr(tempfile, "tempdir", str(gone))  # as if it vanished after the server started
    widget = CatalogDropper(max_bytes=100 * CHUNK, chunk_size=CHUNK)
    send(widget, "fine.csv", catalog_csv())
    text = str(widget.refused)
    assert "could not store uploaded file 'fine.csv'" in text and str(gone) not in text, text
    assert widget.received is None and widget.bytes_received == 0
