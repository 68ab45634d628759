"""Who may write labels, in Chromium against the real served app (``LCEXPLORER_LABELS``).

* ``read-only``: an anonymous visitor sees the catalog's labels, the label actions are disabled and the
  page says why; no file is written.
* ``per-user`` behind Panel's basic auth (``--basic-auth``): two signed-in users label the same object
  differently; each sees their own label, in their own file, and the shared file is untouched.
"""

from __future__ import annotations

import json
import time

import pytest

from secutil import N_HOSTILE, BokehPage, Dashboard, serve, shadow_text, write_hostile_catalog

pytestmark = pytest.mark.ui
VICTIM = "ok-005"


def wait_in(pg, css: str, needle: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = shadow_text(pg, css)
        if needle in text:
            return text
        pg.wait_for_timeout(250)  # polling interval of the bounded loop above
    raise AssertionError(f"{needle!r} never appeared in .{css} within {timeout_s:.0f} s (seen: {text[-300:]!r})")


def files_under(folder) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_read_only_server(app_path, ui_home, tmp_path, dash, shot):
    root = tmp_path / "data"
    write_hostile_catalog(root / "ro")
    env = {"LCEXPLORER_HOME": ui_home, "LCEXPLORER_CATALOG": root / "ro", "LCEXPLORER_DATA_DIRS": root,
           "LCEXPLORER_LABELS": "read-only"}
    before = files_under(root)
    server = serve(app_path, env)
    try:
        dash.open(server)
        dash.wait_map(N_HOSTILE)
        pg = dash.page
        wait_in(pg, "lcx-labels-read-only", "read-only on this server")
        for css in ("lcx-label-apply", "lcx-label-apply-selection", "lcx-label-add"):
            assert pg.locator(f".{css} button").is_disabled(), f"{css} is enabled on a read-only server"
        assert pg.locator(".lcx-label-input input").is_disabled()
        dash.tap(dash.point_of(VICTIM))
        shot(pg, "security-labels-read-only")
        assert files_under(root) == before, "a read-only server wrote into the catalog folder"
    finally:
        server.stop()


def sign_in(pg, server, user: str, password: str) -> None:
    """Panel's basic-auth login form, as a person fills it."""
    pg.goto(f"{server.base}/login")
    pg.locator("input[name=username]").fill(user)
    pg.locator("input[name=password]").fill(password)
    pg.locator("input[name=password]").press("Enter")
    pg.wait_for_url(lambda url: "/login" not in url, timeout=30_000)


def test_per_user_labels_behind_basic_auth(app_path, ui_home, tmp_path, browser, browser_context_args, shot):
    root = tmp_path / "data"
    write_hostile_catalog(root / "pu")
    home = tmp_path / "home"
    home.mkdir()
    for item in ui_home.iterdir():  # the installed model, in a home of this test's own
        (home / item.name).symlink_to(item)
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"alice": "alice-pw-1", "bob": "bob-pw-2"}))
    env = {"LCEXPLORER_HOME": home, "LCEXPLORER_CATALOG": root / "pu", "LCEXPLORER_DATA_DIRS": root,
           "LCEXPLORER_LABELS": "per-user"}
    shared_before = files_under(root)
    server = serve(app_path, env, "--basic-auth", str(credentials), "--cookie-secret", "lcx-test-cookie-secret")
    contexts = []
    try:
        pages = {}
        for user, password, label in (("alice", "alice-pw-1", "alice-class"), ("bob", "bob-pw-2", "bob-class")):
            ctx = browser.new_context(**browser_context_args)
            contexts.append(ctx)
            pg = ctx.new_page()
            pg.set_default_timeout(30_000)
            sign_in(pg, server, user, password)
            d = Dashboard(pg, BokehPage(pg))
            d.open(server)
            d.wait_map(N_HOSTILE)
            assert not pg.locator(".lcx-label-apply button").is_disabled(), f"{user} may not label"
            d.tap(d.point_of(VICTIM))
            pg.locator(".lcx-label-input input").fill(label)
            pg.locator(".lcx-label-input input").press("Enter")
            pg.locator(".lcx-label-add button").click()
            wait_in(pg, "lcx-label-select", label)
            pg.locator(".lcx-label-apply button").click()
            wait_in(pg, "lcx-tapped", label)
            pages[user] = (pg, d, label)
        # each user, reloading, sees their own label only
        for user, (pg, d, label) in pages.items():
            pg.reload()
            d.bokeh.wait("() => window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
            d.wait_map(N_HOSTILE)
            d.tap(d.point_of(VICTIM))
            tapped = wait_in(pg, "lcx-tapped", label)
            other = "bob-class" if user == "alice" else "alice-class"
            assert other not in tapped, f"{user} sees the other user's label: {tapped!r}"
            shot(pg, f"security-labels-per-user-{user}")
        user_files = sorted((home / "labels" / "users").rglob("*.labels.csv"))
        assert len(user_files) == 2 and {p.parent.name.split("-")[0] for p in user_files} == {"alice", "bob"}
        assert files_under(root) == shared_before, "a per-user label reached the catalog folder"
    finally:
        for ctx in contexts:
            ctx.close()
        server.stop()
