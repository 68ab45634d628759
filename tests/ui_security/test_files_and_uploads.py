"""Findings 2 and 3 in Chromium against the real served app: server files through the URL, links out of an
allowed folder, and uploads that used to kill the session (large CSVs, a Parquet "zip bomb", a null byte).

Each refusal must be a clear message in the page; afterwards the session must still answer (a tap on the
map shows the tapped object), and no refusal may tell whether a path outside the allowed folders exists.

Uploads come in chunks (``explorer/dashboard/uploads.py``): what they cost the server is measured from
outside it: the bytes Chromium sent over the websocket (``SentBytes``), the bytes the served process
wrote to files (``/proc/<pid>/io``) and the upload files in its ``TMPDIR`` (``upload_tmp``).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from secutil import (HOSTILE, MAX_ROWS, MAX_UPLOAD_BYTES, N_HOSTILE, BokehPage, Dashboard, SentBytes, page_text,
                     server_io, shadow_text)

from explorer.dashboard.uploads import TEMP_PREFIX, UPLOAD_CHUNK_BYTES

pytestmark = pytest.mark.ui


def wait_status(dash, needle: str, timeout_s: float = 60.0) -> str:
    """Wait (bounded) until the status pane contains ``needle``; returns its text."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        try:
            text = dash.status_text()
        except PlaywrightTimeout:  # the page is busy encoding a large upload: read again
            continue
        if needle in text:
            return text
        dash.page.wait_for_timeout(250)  # polling interval of the bounded loop above
    dash.fail(f"the status never said {needle!r} within {timeout_s:.0f} s (last: {text!r})")


def wait_notification(pg, needle: str, timeout_s: float = 30.0) -> str:
    """Wait (bounded) for a notification containing ``needle``; returns the text of all notifications."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = shadow_text(pg, "notyf")
        if needle in text:
            return text
        pg.wait_for_timeout(250)  # polling interval of the bounded loop above
    raise AssertionError(f"no notification said {needle!r} within {timeout_s:.0f} s (seen: {text[-300:]!r})")


def session_answers(dash) -> None:
    """The session still works: tapping a map point shows that object (a full server round trip)."""
    dash.tap(dash.isolated_point())


def open_path(dash, path: str) -> str:
    """Type ``path`` into the path box, press Open, and return the error the status shows."""
    pg = dash.page
    pg.locator(".lcx-catalog-path input").fill(path)
    pg.locator(".lcx-catalog-open button").click()
    return wait_status(dash, f"Opening {path} failed")


def upload(dash, path: Path) -> None:
    """Pick ``path`` in the upload widget's file dialog, like a person."""
    dash.page.locator(".lcx-catalog-upload input[type=file]").set_input_files(str(path))


def upload_files(folder: Path) -> list[Path]:
    """The server's upload files (temp files of uploads in progress or not yet opened)."""
    return sorted(folder.glob(f"{TEMP_PREFIX}*"))


def wait_no_upload_files(folder: Path, timeout_s: float) -> None:
    """Wait (bounded) until the server's temp folder holds no upload file."""
    deadline = time.monotonic() + timeout_s
    while upload_files(folder):
        if time.monotonic() > deadline:
            raise AssertionError(f"upload files left after {timeout_s:.0f} s: {upload_files(folder)}")
        time.sleep(0.25)  # polling interval of the bounded loop above


# A browser that skips the widget's size check: the page's own FileDropper view sends a File (made in the
# page) through its chunked upload, exactly as FilePond would after a passed check. With ``stall_after``,
# chunks from that one on never finish reading (a connection that hangs mid-upload).
BYPASS_JS = """(L, arg) => {
    const view = L.views().find(v => typeof v._process_upload === "function");
    if (!view) return "no upload widget view";
    const real = new File([new Uint8Array(arg.size).fill(48)], arg.name, {type: "text/csv"});
    const file = arg.stall_after == null ? real : {
        name: real.name, size: real.size, type: real.type,
        slice: (a, b) => ({arrayBuffer: () => a >= arg.stall_after * arg.chunk
            ? new Promise(() => {}) : real.slice(a, b).arrayBuffer()}),
    };
    view._process_upload(file, () => {}, () => {}, () => {});
    return "sent";
}"""


def upload_bypassing_the_browser_check(dash, name: str, size: int, stall_after: int | None = None) -> None:
    sent = dash.bokeh.js(BYPASS_JS, {"name": name, "size": size, "stall_after": stall_after,
                                     "chunk": UPLOAD_CHUNK_BYTES})
    assert sent == "sent", sent


# ---------------------------------------------------------------------- files written by the tests
def csv_of_size(path: Path, n_bytes: int) -> Path:
    """A long-format CSV light-curve table of about ``n_bytes`` (many objects of 100 observations)."""
    rng = np.random.default_rng(1)
    row_bytes = 44  # "obj-000000,50000.123456,17.123456,0.031234\n"
    n = n_bytes // row_bytes
    frame = pd.DataFrame({"object_id": [f"obj-{i // 100:06d}" for i in range(n)],
                          "time": np.round(50000 + rng.uniform(0, 500, n), 6),
                          "mag": np.round(rng.normal(17, 0.3, n), 6), "mag_err": np.round(rng.uniform(0.01, 0.05, n), 6)})
    frame.to_csv(path, index=False, float_format="%.6f")
    return path


def parquet_bomb(path: Path, n_rows: int = 10_000_000) -> Path:
    """A few hundred kB of Parquet that decode to ``n_rows`` observations (constant columns compress to nothing)."""
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n_rows, dtype=np.int32)), pa.array(["bomb"]))
    table = pa.table({"object_id": ids, "time": pa.array(np.zeros(n_rows)), "mag": pa.array(np.full(n_rows, 17.0)),
                      "mag_err": pa.array(np.full(n_rows, 0.01))})
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
    return path


# ---------------------------------------------------------------------- finding 2: server files
def test_model_path_in_url_is_refused_without_telling_whether_it_exists(secure_server, dash, ui_home, outside_dir,
                                                                        shot):
    """``?model=<path>`` never loads a file; /etc/shadow, a missing file and a real .onnx outside the store
    get one message (the path aside), and the map is made with a listed model."""
    real_onnx = outside_dir / "evil.onnx"
    shutil.copy(next(Path(ui_home).rglob("*.onnx")), real_onnx)
    messages = {}
    for path in ("/etc/shadow", str(outside_dir / "missing.onnx"), str(real_onnx)):
        dash.server = secure_server
        dash.page.goto(secure_server.url + "?" + urlencode({"model": path}))
        note = wait_notification(dash.page, "restoring the shared view failed")
        messages[path] = re.sub(r"\s+", " ", note.replace(path, "<PATH>")).strip()
        dash.wait_map(N_HOSTILE)
        chosen = dash.page.locator(".lcx-model-select select").input_value()
        assert chosen != path and "/" not in chosen, f"?model={path} became the chosen model {chosen!r}"
        status = dash.status_text()
        assert path not in status, f"the map status names the path {path!r}: {status!r}"
    shot(dash.page, "security-model-path")
    assert len(set(messages.values())) == 1, f"the refusals differ by path (an existence oracle): {messages}"
    assert "not one of the listed models" in next(iter(messages.values()))


def test_links_out_of_an_allowed_folder_are_refused_alike(secure_server, dash, hostile_root, outside_dir, shot):
    """A catalog folder holding a link to an outside file, and links typed in the path box: refused, the
    same whether the target exists, and nothing of the outside file is shown."""
    dangling = hostile_root / "dangling.csv"
    if not dangling.is_symlink():
        dangling.symlink_to(outside_dir / "no-such-file.csv")
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    pg = dash.page
    # the folder (listed by the catalog select): its file is a link to outside
    escape = open_path(dash, str(hostile_root / "escape"))
    assert "leads outside the allowed folders" in escape, escape
    # links typed as paths: one to an existing outside file, one to a missing one
    existing = open_path(dash, str(hostile_root / "escape" / "escape.csv"))
    missing = open_path(dash, str(hostile_root / "dangling.csv"))
    assert "not inside the allowed folders" in existing, existing
    norm = [m.replace(str(hostile_root / "escape" / "escape.csv"), "<P>").replace(str(hostile_root / "dangling.csv"),
                                                                                  "<P>") for m in (existing, missing)]
    assert norm[0] == norm[1], f"a link to an existing outside file is answered differently: {norm}"
    text = page_text(pg)
    assert "secret-1" not in text and str(outside_dir) not in text, "the page shows the outside file or its folder"
    session_answers(dash)
    shot(pg, "security-links")


def test_null_byte_in_the_path_box_is_a_clear_message(secure_server, dash, shot):
    """A null byte typed into the path box: a sentence, not ``ValueError: embedded null byte``."""
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    pg = dash.page
    # set through the widget's model: a person pastes it, Playwright's fill may drop it
    ok = dash.bokeh.js("""(L) => { for (const doc of Bokeh.documents) for (const m of doc.all_models)
        if ((m.css_classes || []).includes('lcx-catalog-path')) { m.value = 'sample\\u0000catalog'; return true; }
        return false; }""")
    assert ok, "no path box"
    pg.locator(".lcx-catalog-open button").click()
    status = wait_status(dash, "failed")
    assert "null byte" in status and "ValueError" not in status, status
    session_answers(dash)
    shot(pg, "security-null-byte")


# ---------------------------------------------------------------------- finding 3: uploads
@pytest.mark.parametrize("megabytes", [12, 16, 24])
def test_large_csv_upload_is_refused_and_the_session_lives(secure_server, dash, tmp_path, shot, upload_tmp, megabytes):
    """CSV uploads of 12, 16 and 24 MB (under the byte limit, over the row limit; 24 MB is over Bokeh's
    default websocket message limit, which the server keeps): a message naming the row limit while the CSV
    streams, the map of the open catalog stays and answers, and the upload file is gone."""
    path = csv_of_size(tmp_path / f"big_{megabytes}mb.csv", megabytes * 1_000_000)
    assert path.stat().st_size < MAX_UPLOAD_BYTES
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    upload(dash, path)
    status = wait_status(dash, "failed", timeout_s=120)
    assert path.name in status and "too large" in status and "LCEXPLORER_MAX_ROWS" in status, status
    assert f"{MAX_ROWS:,}" in status, status
    session_answers(dash)
    assert HOSTILE in dash.page.locator(".lcx-catalog-select select").input_value()
    wait_no_upload_files(upload_tmp, 10)
    shot(dash.page, f"security-upload-{megabytes}mb")


def test_upload_over_the_size_limit_never_reaches_the_server(secure_server, dash, tmp_path, shot, upload_tmp):
    """A 40 MB CSV over the 30 MB limit: the browser refuses it with a message naming the file and the limit,
    and sends the server less than one chunk meanwhile (nothing of the file); the session answers."""
    path = csv_of_size(tmp_path / "big_40mb.csv", 40_000_000)
    assert path.stat().st_size > MAX_UPLOAD_BYTES
    sent = SentBytes(dash.page)
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    before = sent.total
    upload(dash, path)
    pg = dash.page
    deadline = time.monotonic() + 30
    while "File is too large" not in (text := shadow_text(pg, "lcx-catalog-upload")):
        if time.monotonic() > deadline:
            dash.fail(f"the upload widget never refused the 40 MB file (it shows {text!r})")
        pg.wait_for_timeout(250)  # polling interval of the bounded loop above
    assert path.name in text and f"Maximum file size is {MAX_UPLOAD_BYTES // 1_000_000} MB" in text, text
    session_answers(dash)  # a full round trip after the refusal: whatever the browser sent has arrived
    assert sent.total > before, "no websocket frame was seen: the measure is blind"
    assert sent.total - before < UPLOAD_CHUNK_BYTES, (
        f"the page sent {sent.total - before:,} bytes while a 40 MB file was refused in the browser")
    assert upload_files(upload_tmp) == []
    shot(pg, "security-upload-40mb")


def test_upload_bypassing_the_browser_check_is_refused_by_the_server(secure_server, dash, shot, upload_tmp):
    """A browser that skips the size check and sends 40 MB: the server refuses at the first chunk with a
    message naming the file and the limit, writes none of it anywhere, and the session answers."""
    sent = SentBytes(dash.page)
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    before, sent_before = server_io(secure_server), sent.total
    upload_bypassing_the_browser_check(dash, "sneaky.csv", 40_000_000)
    status = wait_status(dash, "failed", timeout_s=120)
    assert "'sneaky.csv'" in status and "too large" in status and "LCEXPLORER_MAX_UPLOAD_BYTES" in status, status
    session_answers(dash)
    assert sent.total - sent_before > 10 * UPLOAD_CHUNK_BYTES, "the skipping browser did not send the file"
    written = server_io(secure_server)["wchar"] - before["wchar"]
    assert written < UPLOAD_CHUNK_BYTES, f"the server wrote {written:,} bytes of a refused upload"
    assert upload_files(upload_tmp) == []
    shot(dash.page, "security-upload-bypass")


def test_accepted_upload_opens_maps_and_leaves_no_file(secure_server, dash, tmp_path, shot, upload_tmp):
    """A 3 MB CSV (several chunks) under every limit opens through the catalog loader, maps, and its upload
    file is gone; the server wrote it once (about its size) and read it back."""
    path = csv_of_size(tmp_path / "fine.csv", 3_000_000)
    n_objects = pd.read_csv(path, usecols=["object_id"], dtype=str)["object_id"].nunique()
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    before = server_io(secure_server)
    upload(dash, path)
    dash.wait_map(n_objects)
    status = wait_status(dash, f"{n_objects} objects")
    assert "fine" in dash.page.locator(".lcx-catalog-select select").input_value(), status
    written = server_io(secure_server)["wchar"] - before["wchar"]
    assert written >= path.stat().st_size, f"the server wrote {written:,} bytes: the upload did not go to a file"
    wait_no_upload_files(upload_tmp, 10)
    session_answers(dash)
    shot(dash.page, "security-upload-accepted")


def test_upload_interrupted_by_closing_the_page_leaves_no_file(secure_server, fresh_page, upload_tmp, shot):
    """An upload that hangs after its first chunk, then the page closes: the server drops the half file when
    the session ends (Bokeh ends sessions some seconds after their connection closes)."""
    pg = fresh_page()  # its own context: closing it ends this session only
    dash = Dashboard(pg, BokehPage(pg))
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    assert upload_files(upload_tmp) == []
    upload_bypassing_the_browser_check(dash, "halfway.csv", 5 * UPLOAD_CHUNK_BYTES, stall_after=1)
    deadline = time.monotonic() + 30
    while not upload_files(upload_tmp):
        if time.monotonic() > deadline:
            raise AssertionError("the first chunk never reached an upload file")
        pg.wait_for_timeout(250)  # polling interval of the bounded loop above
    part = upload_files(upload_tmp)[0]
    assert part.stat().st_size == UPLOAD_CHUNK_BYTES, part.stat().st_size
    shot(pg, "security-upload-halfway")
    pg.close()
    wait_no_upload_files(upload_tmp, 120)


def test_parquet_bomb_upload_is_refused_from_its_metadata(secure_server, dash, tmp_path, shot):
    """A small Parquet file holding 10 M rows is refused from its metadata; the session lives."""
    path = parquet_bomb(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 2_000_000, f"the bomb is {path.stat().st_size} bytes: not small"
    dash.open(secure_server)
    dash.wait_map(N_HOSTILE)
    upload(dash, path)
    status = wait_status(dash, "failed", timeout_s=60)
    assert "bomb.parquet" in status and "too large" in status and "10,000,000" in status, status
    session_answers(dash)
    shot(dash.page, "security-upload-bomb")
