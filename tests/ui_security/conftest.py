"""Security tests against the real served app: ``panel serve app.py`` in Debian chromium (Playwright).

The folder's name sorts after the top-level test modules: their ``from conftest import ...`` needs
tests/conftest.py to be the last conftest pytest imported before them.

The browser, page, screenshot and Bokeh helpers are the UI harness's (``tests/ui/conftest.py``, loaded
here by path so both folders share one implementation). What this file adds:

* ``XSS(where)``: an ``<img src=x onerror=...>`` payload that, if the page ever renders it as HTML,
  appends ``where`` to ``window.__xss``; ``xss_ran(page)`` reads that list.
* ``hostile_root``: an allowed data folder holding ``hostile`` (object ids, a column name, a metadata value
  and the band names are payloads), ``escape`` (a folder whose light-curve file is a link to a file
  outside the allowed folders) and a small clean catalog.
* ``secure_server``: ``app.py`` served the way ``scripts/start-app`` serves it (Bokeh's default websocket
  message limit: uploads come in chunks), with tight upload limits so that every hostile upload is refused
  quickly, and its own temp folder (``upload_tmp``, its ``TMPDIR``) where the tests watch upload files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from secutil import HOSTILE, MAX_ROWS, MAX_UPLOAD_BYTES, harness, serve, write_hostile_catalog

# the UI harness's fixtures, for tests in this folder
browser_type_launch_args = harness.browser_type_launch_args
browser_context_args = harness.browser_context_args
page = harness.page
shot = harness.shot
bokeh = harness.bokeh
dash = harness.dash
ui_home = harness.ui_home
app_path = harness.app_path
pytest_runtest_makereport = harness.pytest_runtest_makereport

def pytest_collection_modifyitems(items):
    """Everything under tests/ui_security drives a real browser: marked ``ui`` too."""
    for item in items:
        if "tests/ui_security/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.ui)


@pytest.fixture(scope="session")
def outside_dir(tmp_path_factory) -> Path:
    """A folder outside every allowed folder, holding a real catalog file and a real .onnx model."""
    root = tmp_path_factory.mktemp("lcx_outside")
    frame = pd.DataFrame({"object_id": ["secret-1"] * 20, "time": np.arange(20.0), "mag": np.linspace(15, 16, 20),
                          "mag_err": 0.01})
    frame.to_csv(root / "secret.csv", index=False)
    return root


@pytest.fixture(scope="session")
def hostile_root(tmp_path_factory, outside_dir) -> Path:
    """The allowed data folder of ``secure_server``."""
    root = tmp_path_factory.mktemp("lcx_hostile_data")
    write_hostile_catalog(root / HOSTILE)
    escape = root / "escape"
    escape.mkdir()
    (escape / "escape.csv").symlink_to(outside_dir / "secret.csv")
    return root


@pytest.fixture(scope="session")
def upload_tmp(tmp_path_factory) -> Path:
    """``TMPDIR`` of ``secure_server``: where its uploads are streamed to (``lcx-upload-*`` files)."""
    return tmp_path_factory.mktemp("lcx_server_tmp")


@pytest.fixture(scope="session")
def secure_server(app_path, ui_home, hostile_root, upload_tmp):
    """``app.py`` on the hostile catalog, served like ``scripts/start-app`` with tight upload limits."""
    env = {"LCEXPLORER_HOME": ui_home, "LCEXPLORER_CATALOG": hostile_root / HOSTILE,
           "LCEXPLORER_DATA_DIRS": hostile_root, "LCEXPLORER_MAX_UPLOAD_BYTES": MAX_UPLOAD_BYTES,
           "LCEXPLORER_MAX_ROWS": MAX_ROWS, "TMPDIR": upload_tmp}
    server = serve(app_path, env)
    yield server
    server.stop()


@pytest.fixture
def fresh_page(browser, browser_context_args):
    """``fresh_page()`` opens a page in a new browser context (another visitor: own cookies, own session)."""
    contexts = []

    def open_page():
        ctx = browser.new_context(**browser_context_args)
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.set_default_timeout(30_000)
        pg.set_default_navigation_timeout(60_000)
        return pg

    yield open_page
    for ctx in contexts:
        ctx.close()
