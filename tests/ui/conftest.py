"""Real-browser UI test harness: a real ``panel serve`` subprocess and Debian chromium via pytest-playwright.

* ``panel_server_factory(app, env)`` starts ``panel serve <app> --port <free> --address 127.0.0.1`` from the
  project root with a private ``LCEXPLORER_HOME`` (a model is installed into it first), waits until the
  server answers HTTP (bounded), streams its log to a file of its own in ``test-artifacts/servers/`` (named
  by the pytest-xdist worker and port: what a test reads of it is that server's alone) and kills it at the
  end of the session.
* ``ui_server`` serves ``app.py`` on a small synthetic catalog (``LCEXPLORER_CATALOG``), ``ui_server_default``
  on the app's default first-start catalog.
* ``shot(page, name)`` saves a screenshot into ``test-artifacts/screenshots/``; a failing test gets one too.
* ``bokeh`` gives JS helpers that read the Bokeh document of the page (data sources, plot geometry).

Chromium flags keep it from reaching out to the network (this machine has none).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LCEXPLORER_SHARED", PROJECT_ROOT.parent / "shared"))
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SERVER_LOGS = ARTIFACTS / "servers"
CHROMIUM = Path(os.environ.get("LCEXPLORER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODEL_NAME = "astromer1-macho"
SERVER_START_TIMEOUT_S = 90
# reading a pane's text: the page may stop answering for seconds on a loaded 2-core machine (a catalog open
# or an upload in flight), so a read waits generously rather than failing after 2 s
READ_TIMEOUT_MS = 30_000
SMALL_CATALOG = "ui_small"
SMALL_N_OBJECTS = 150


def pytest_collection_modifyitems(items):
    """Everything under tests/ui is a UI test."""
    for item in items:
        if "tests/ui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.ui)


# ---------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian chromium (Playwright cannot download its own here), kept off the network."""
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM}: the real-browser UI tests need it")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A desktop-sized window that accepts downloads."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 950}, "accept_downloads": True}


@pytest.fixture
def page(page):
    """The pytest-playwright page with bounded default timeouts."""
    page.set_default_timeout(30_000)
    page.set_default_navigation_timeout(60_000)
    return page


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def shot(request, page):
    """``shot(page, name)`` saves ``test-artifacts/screenshots/<name>.png``; a failed test leaves one too."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(pg, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    yield take
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
        except Exception:  # the page may be gone already; the server log still tells the story
            pass


# ---------------------------------------------------------------------- server
def server_log_path(port: int) -> Path:
    """A served app's own log file: its pytest-xdist worker and port in the name (two workers' servers run
    at the same time; one shared file mixed their lines into what a test reads of its own server)."""
    SERVER_LOGS.mkdir(parents=True, exist_ok=True)
    return SERVER_LOGS / f"panel-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{port}.log"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PanelServer:
    """One running ``panel serve`` process."""

    app: Path
    port: int
    env: dict
    proc: subprocess.Popen
    log_offset: int
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """URL of the served app."""
        return f"{self.base}/{self.app.stem}"

    def log_tail(self, n: int = 60) -> str:
        """The last lines this server wrote to its log."""
        with open(self.log_path, "rb") as fh:
            fh.seek(self.log_offset)
            lines = fh.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])

    def thread_dump(self, timeout_s: float = 10.0) -> str:
        """Every thread's stack in the server now (app.py registers SIGUSR1 with faulthandler): what a
        session waits for when its page stopped moving ('' when the server is gone or wrote nothing)."""
        if self.proc.poll() is not None or not hasattr(signal, "SIGUSR1"):
            return ""
        marker = f"===== thread dump requested {time.monotonic():.3f}"
        with open(self.log_path, "ab") as log:
            log.write(f"\n{marker}\n".encode())
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as fh:
                fh.seek(self.log_offset)
                text = fh.read().decode("utf-8", "replace").split(marker, 1)[-1]
            if "File " in text:
                # faulthandler writes all threads at once; a moment more lets the write end
                time.sleep(0.5)
                with open(self.log_path, "rb") as fh:
                    fh.seek(self.log_offset)
                    return fh.read().decode("utf-8", "replace").split(marker, 1)[-1].strip()
            time.sleep(0.2)
        return text.strip()

    def stop(self) -> None:
        """Terminate the server (its own process group only), then kill it if it lingers."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


def _wait_until_up(server: PanelServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with code {server.proc.returncode} before answering; "
                               f"log:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.base}/liveness", timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"panel serve did not answer on port {server.port} within {timeout:.0f} s ({last}); "
                       f"log:\n{server.log_tail()}")


def launch_server(app: Path, env: dict, *extra_args: str, timeout: float = SERVER_START_TIMEOUT_S,
                  extra: dict | None = None) -> PanelServer:
    """``panel serve app`` (``extra_args`` after the harness's flags) on a free port with ``env``, logging to
    its own file; returns once it answers (the caller stops it)."""
    app = Path(app)
    port = free_port()
    full_env = {**os.environ, **{k: str(v) for k, v in env.items()}, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "panel", "serve", str(app), "--port", str(port), "--address", "127.0.0.1",
           f"--allow-websocket-origin=127.0.0.1:{port}", "--liveness", "--num-procs", "1", *extra_args]
    log_path = server_log_path(port)
    with open(log_path, "ab") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.write(f"===== LCEXPLORER_* = {{{', '.join(f'{k}={v}' for k, v in env.items())}}}\n".encode())
        offset = log.tell()
        # start_new_session: the server and anything it spawns form one group we can stop as a whole
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = PanelServer(app, port, env, proc, offset, log_path, dict(extra or {}))
    _wait_until_up(server, timeout)
    return server


@pytest.fixture(scope="session")
def panel_server_factory():
    """``start(app_path, env) -> PanelServer``: real ``panel serve`` subprocesses, all stopped at session end."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    servers: list[PanelServer] = []

    def start(app: Path, env: dict, timeout: float = SERVER_START_TIMEOUT_S, **extra) -> PanelServer:
        server = launch_server(app, env, timeout=timeout, extra=extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------- model store and catalogs
def install_ui_model(home: Path) -> str:
    """Install the real converted MACHO model when ../shared is here, else the Astromer-shaped stand-in."""
    env = {**os.environ, "LCEXPLORER_HOME": str(home)}
    checkpoint = SHARED / "models" / "checkpoints" / "macho.zip"
    if checkpoint.exists():
        # the lcexplorer console script, run with this interpreter
        cli = "import sys; from explorer.cli import main; sys.exit(main(sys.argv[1:]))"
        proc = subprocess.run([sys.executable, "-c", cli, "models", "import", str(checkpoint), "--name", MODEL_NAME], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"importing {checkpoint} failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return "macho.zip converted"
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from standin_models import build_astromer_standin

    old = os.environ.get("LCEXPLORER_HOME")
    os.environ["LCEXPLORER_HOME"] = str(home)
    try:
        from explorer.store import install_model

        onnx_path = build_astromer_standin(home / "standin.onnx")
        install_model(MODEL_NAME, Path(onnx_path), card={"kind": "astromer1", "source": "tests/standin_models.py",
                                                          "description": "Astromer-shaped stand-in (random weights)"})
    finally:
        if old is None:
            os.environ.pop("LCEXPLORER_HOME", None)
        else:
            os.environ["LCEXPLORER_HOME"] = old
    return "stand-in"


def write_small_catalog(folder: Path, n_objects: int = SMALL_N_OBJECTS, seed: int = 7) -> Path:
    """A small synthetic catalog in the ``<name>.lightcurves/objects.parquet`` layout (two classes, band R)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, objects = [], []
    for i in range(n_objects):
        oid = f"ui-{i:04d}"
        n = int(rng.integers(60, 120))
        t = np.sort(rng.uniform(48800.0, 49500.0, n))
        periodic = i % 2 == 0
        period = rng.uniform(0.3, 0.9) if periodic else 0.0
        amp = rng.uniform(0.3, 0.8) if periodic else 0.05
        mag = 17.0 + rng.normal(0, 0.5) + (amp * np.sin(2 * np.pi * t / period) if periodic else 0) \
            + rng.normal(0, 0.04, n)
        rows.append(pd.DataFrame({"object_id": oid, "time": t, "band": "R", "mag": mag,
                                  "mag_err": np.full(n, 0.04)}))
        objects.append({"object_id": oid, "label": "RRL-like" if periodic else "constant", "n_obs": n})
    pd.concat(rows, ignore_index=True).to_parquet(folder / f"{folder.name}.lightcurves.parquet", index=False)
    pd.DataFrame(objects).to_parquet(folder / f"{folder.name}.objects.parquet", index=False)
    return folder


@pytest.fixture(scope="session")
def ui_home(tmp_path_factory) -> Path:
    """A private LCEXPLORER_HOME holding the model the dashboard will use."""
    home = tmp_path_factory.mktemp("lcx_ui_home")
    install_ui_model(home)
    return home


@pytest.fixture(scope="session")
def ui_data_root(tmp_path_factory) -> Path:
    """A data folder (allowed via LCEXPLORER_DATA_DIRS) holding the small UI catalog."""
    root = tmp_path_factory.mktemp("lcx_ui_data")
    write_small_catalog(root / SMALL_CATALOG)
    return root


@pytest.fixture(scope="session")
def catalog_writer():
    """``write(folder, n_objects, seed)``: another synthetic catalog like the small one (a test's own size)."""
    return write_small_catalog


@pytest.fixture(scope="session")
def app_path() -> Path:
    """The project's ``app.py``; a missing app is a failure, not a skip."""
    path = PROJECT_ROOT / "app.py"
    assert path.exists(), f"{path} does not exist: the dashboard entry point is missing"
    return path


@pytest.fixture(scope="session")
def ui_server(panel_server_factory, app_path, ui_home, ui_data_root) -> PanelServer:
    """``app.py`` served on the small catalog."""
    catalog = ui_data_root / SMALL_CATALOG
    return panel_server_factory(app_path, {"LCEXPLORER_HOME": ui_home, "LCEXPLORER_CATALOG": catalog,
                                           "LCEXPLORER_DATA_DIRS": ui_data_root}, catalog=catalog)


@pytest.fixture(scope="session")
def ui_server_default(panel_server_factory, app_path, ui_home) -> PanelServer:
    """``app.py`` on its default first-start path (no LCEXPLORER_CATALOG)."""
    env = {"LCEXPLORER_HOME": ui_home}
    return panel_server_factory(app_path, env)


# ---------------------------------------------------------------------- Bokeh helpers (JS run in the page)
# Views are found through Bokeh.index (the ViewManager); an element is "inside" a CSS class when an
# ancestor carries it, crossing shadow roots (Panel renders components in shadow DOM).
BOKEH_JS = r"""
window.__lcx = window.__lcx || {
  inside(el, cls) {
    for (let n = el; n; n = n.parentNode || n.host) {
      if (n.classList && n.classList.contains(cls)) return true;
    }
    return false;
  },
  views() {
    if (!window.Bokeh || !Bokeh.index) return [];
    const idx = Bokeh.index;
    if (typeof idx.all_views === "function") return [...idx.all_views()];
    return Object.values(idx).flatMap(v => [v, ...(v.children ? [...v.children()] : [])]);
  },
  plots(cls, strict) {
    // plots inside `cls` first; when none carries the class (a pane may drop css_classes), all plots
    const plots = this.views().filter(v => v.frame && v.canvas_view && v.model && v.model.renderers);
    if (!cls) return plots;
    const marked = plots.filter(v => this.inside(v.el, cls));
    return (marked.length || strict) ? marked : plots;
  },
  sources() {
    const out = [];
    for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
      for (const m of doc.all_models) {
        if (m.data !== undefined && typeof m.get_length === "function") out.push(m);
      }
    }
    return out;
  },
  maxRows() {
    return Math.max(0, ...this.sources().map(s => s.get_length() || 0));
  },
  scatter(cls, minRows) {
    // the glyph renderer with the most rows in the first plot inside `cls` (or in any plot)
    let best = null;
    for (const plot of this.plots(cls)) {
      for (const r of plot.model.renderers) {
        const src = r.data_source;
        if (!src || typeof src.get_length !== "function") continue;
        if (!src.data || !src.data.x || !src.data.y) continue;  // points only: not line or image layers
        const n = src.get_length() || 0;
        if (n >= (minRows || 1) && (!best || n > best.n)) best = {plot, renderer: r, source: src, n};
      }
    }
    return best;
  },
  screenOf(plot, x, y) {
    const rect = plot.canvas_view.el.getBoundingClientRect();
    const sx = plot.frame.x_scale.compute(x), sy = plot.frame.y_scale.compute(y);
    return {x: rect.left + sx, y: rect.top + sy};
  },
  topAt(x, y) {
    // the element really under (x, y), descending into shadow roots
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  },
  onPlot(plot, x, y) {
    // true when a click at (x, y) lands on this plot (not on something drawn over it)
    for (let n = this.topAt(x, y); n; n = n.parentNode || n.host) if (n === plot.el) return true;
    return false;
  },
  frameBox(plot) {
    const rect = plot.canvas_view.el.getBoundingClientRect();
    const b = plot.frame.bbox;
    return {left: rect.left + b.left, top: rect.top + b.top, right: rect.left + b.right, bottom: rect.top + b.bottom};
  },
};
"""


class BokehPage:
    """Helpers that look into the Bokeh document of a page."""

    def __init__(self, page):
        self.page = page

    def js(self, body: str, arg=None):
        """Evaluate ``body`` (a function of ``(L, arg)``, L = helper object) in the page."""
        return self.page.evaluate(f"(arg) => {{ {BOKEH_JS}; const L = window.__lcx; return ({body})(L, arg); }}", arg)

    def wait(self, predicate_body: str, arg=None, timeout: float = 60_000, what: str = "condition"):
        """Wait (bounded) until ``predicate_body(L, arg)`` is truthy; returns its value."""
        handle = self.page.wait_for_function(
            f"(arg) => {{ {BOKEH_JS}; const L = window.__lcx; return ({predicate_body})(L, arg); }}",
            arg=arg, timeout=timeout, polling=250)
        return handle.json_value()


@pytest.fixture
def bokeh(page) -> BokehPage:
    """Bokeh JS helpers bound to the test's page."""
    return BokehPage(page)


@pytest.fixture(scope="session")
def downloads_dir() -> Path:
    """Where downloaded files are kept for inspection (``test-artifacts/downloads``)."""
    path = ARTIFACTS / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------- the dashboard, driven like a user
class Dashboard:
    """The Light-curve Explorer page, driven through its stable CSS classes (see explorer/dashboard/explorer.py)."""

    MAP = "lcx-map"

    def __init__(self, page, bokeh: BokehPage):
        self.page = page
        self.bokeh = bokeh
        self.server: PanelServer | None = None
        self.console: list[str] = []  # browser errors and warnings: a failure report shows them
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}")
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))

    # -- diagnostics
    def status_text(self) -> str:
        """Text of the status pane ('' when absent)."""
        loc = self.page.locator(".lcx-status")
        if not loc.count():
            return ""
        # Panel renders panes in shadow DOM: innerText of the host does not reach it
        return loc.first.evaluate("""e => Array.from((e.shadowRoot || e).children)
            .filter(c => !['STYLE', 'LINK', 'SCRIPT'].includes(c.tagName))
            .map(c => c.innerText || '').join(' ').trim()""", timeout=READ_TIMEOUT_MS)

    def fail(self, what: str, exc: Exception | None = None):
        """Fail the test with everything that helps: status pane, server log tail."""
        log = self.server.log_tail(40) if self.server else ""
        console = "\n".join(self.console[-15:])
        try:
            status = self.status_text()
        except Exception as read_error:  # the page itself may be stuck: the server's side still tells
            status = f"(not readable: {read_error})"
        dump = self.server.thread_dump() if self.server else ""
        pytest.fail(f"{what}: {exc}\n--- status pane: {status!r}\n--- browser console:\n{console}"
                    f"\n--- server log tail:\n{log}\n--- server threads now:\n{dump}", pytrace=False)

    # -- navigation
    def open(self, server: PanelServer) -> None:
        """Load the app and wait for the Bokeh document."""
        self.server = server
        self.page.goto(server.url)
        try:
            self.bokeh.wait("() => window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
        except Exception as exc:
            self.fail("the page never got a Bokeh document", exc)

    def _map_count(self, min_points: int) -> int:
        return self.bokeh.js("(L, n) => { const s = L.scatter('lcx-map', n); return s ? s.n : 0; }", min_points)

    def wait_map(self, min_points: int, timeout: float = 120_000) -> int:
        """Wait (bounded) for the final UMAP map with at least ``min_points`` points; returns the count.

        Fails at once when the status pane reports an error instead of waiting for the timeout.
        """
        deadline = time.monotonic() + timeout / 1000
        n, final = 0, False
        while time.monotonic() < deadline:
            status = self.status_text()
            if "error" in status.lower():
                self.fail(f"the dashboard reports an error while the map of >= {min_points} points is awaited")
            n = self._map_count(min_points)
            # the UMAP map replaces the PCA preview; its note names it
            final = n > 0 and self.page.get_by_text("UMAP of").count() > 0
            if final:
                n = self._map_count(min_points)  # re-read from the final plot
                if n:
                    return n
            self.page.wait_for_timeout(250)  # polling interval of the bounded loop above
        self.fail(f"the map with >= {min_points} points did not appear within {timeout / 1000:.0f} s "
                  f"(points seen: {n}, UMAP note: {final})")

    # -- map interactions
    def wait_map_settled(self, timeout_s: float = 15.0) -> None:
        """Wait (bounded) until the map's frame keeps its place and size between two reads.

        The map is responsive: after its first paint the page may lay it out again (a legend, a note,
        the light curve beside it), and a click computed from the first geometry would miss its point.
        """
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            # the plot's model id too: a redrawn map replaces the plot even where the geometry is the same
            box = self.bokeh.js("(L) => { const s = L.scatter('lcx-map', 1); "
                                "return s ? {...L.frameBox(s.plot), id: s.plot.model.id, n: s.n} : null; }")
            if box is not None and box == last:
                return
            last = box
            self.page.wait_for_timeout(500)  # polling interval of the bounded loop above
        self.fail("the map's layout did not settle")

    def map_painted_pixels(self) -> int:
        """Coloured pixels inside the map's frame, counted on a real screenshot (axes, grid and legend
        frame are grey): 0 when Chromium left the points unpainted although their data arrived."""
        import io

        from PIL import Image

        self.scroll_map_into_view()
        box = self.bokeh.js("(L) => { const s = L.scatter('lcx-map', 1); return s ? L.frameBox(s.plot) : null; }")
        if not box or box["right"] - box["left"] < 10 or box["bottom"] - box["top"] < 10:
            return 0
        png = self.page.screenshot(clip={"x": box["left"] + 1, "y": box["top"] + 1,
                                         "width": box["right"] - box["left"] - 2,
                                         "height": box["bottom"] - box["top"] - 2})
        hsv = np.asarray(Image.open(io.BytesIO(png)).convert("HSV"))
        return int(((hsv[..., 1] > 80) & (hsv[..., 2] > 40)).sum())

    def wait_map_painted(self, timeout_s: float = 30.0) -> int:
        """Wait (bounded) until the map's points are painted; returns the coloured pixel count."""
        deadline = time.monotonic() + timeout_s
        n = 0
        while time.monotonic() < deadline:
            n = self.map_painted_pixels()
            if n >= 50:
                return n
            self.page.wait_for_timeout(500)  # polling interval of the bounded loop above
        self.fail(f"the map's points were never painted ({n} coloured pixels in its frame)")

    def scroll_map_into_view(self) -> None:
        """Scroll the page so that the whole map is on screen (a tab below it may have scrolled it away)."""
        self.bokeh.js("(L) => { const s = L.scatter('lcx-map', 1); "
                      "if (s) s.plot.el.scrollIntoView({block: 'nearest', inline: 'nearest'}); }")

    def isolated_point(self) -> dict:
        """The map point farthest (on screen) from its nearest neighbour: {index, object_id, x, y, sx, sy}."""
        self.scroll_map_into_view()
        self.wait_map_settled()  # a map being replaced (e.g. after a catalog switch) is not measured
        return self.bokeh.js("""(L) => {
            const s = L.scatter('lcx-map', 1);
            const d = s.source.data, n = Math.min(s.n, 2000);
            const xs = [], ys = [];
            for (let i = 0; i < n; i++) { const p = L.screenOf(s.plot, d.x[i], d.y[i]); xs.push(p.x); ys.push(p.y); }
            const box = L.frameBox(s.plot);
            let best = -1, bestD = -1;
            for (let i = 0; i < n; i++) {
              if (xs[i] < box.left + 8 || xs[i] > box.right - 8 || ys[i] < box.top + 8 || ys[i] > box.bottom - 8) continue;
              if (!L.onPlot(s.plot, xs[i], ys[i])) continue;  // covered by another element
              let m = Infinity;
              for (let j = 0; j < n; j++) if (j !== i) m = Math.min(m, Math.hypot(xs[i] - xs[j], ys[i] - ys[j]));
              if (m > bestD) { bestD = m; best = i; }
            }
            if (best < 0) return null;
            const id = d.object_id ? String(d.object_id[best]) : null;
            return {index: best, object_id: id, x: d.x[best], y: d.y[best], sx: xs[best], sy: ys[best], gap: bestD};
        }""")

    def point_of(self, object_id: str) -> dict:
        """Screen position of ``object_id`` on the current map."""
        return self.bokeh.js("""(L, oid) => {
            const s = L.scatter('lcx-map', 1); const d = s.source.data;
            if (!d.object_id) return null;
            const i = Array.from(d.object_id).map(String).indexOf(oid);
            if (i < 0) return null;
            const p = L.screenOf(s.plot, d.x[i], d.y[i]);
            return {index: i, object_id: oid, x: d.x[i], y: d.y[i], sx: p.x, sy: p.y,
                    visible: L.onPlot(s.plot, p.x, p.y)};
        }""", object_id)

    def tap(self, point: dict, tries: int = 3) -> None:
        """Click the point and wait until the tapped-object pane names it.

        Bounded retries: on a loaded machine a click that lands while the map is being redrawn (a
        new plot after a layout or data update) reaches no plot and is lost, as it would be for a
        person, who then clicks again.
        """
        assert point, "no map point is visible to click (all covered by other elements?)"
        oid = point["object_id"]
        error = None
        for _ in range(tries):
            self.scroll_map_into_view()
            self.wait_map_settled()
            point = self.point_of(oid) or point  # where it is now, after any re-layout
            assert point.get("visible", True), f"{oid} is covered by another element on the page"
            self.page.mouse.click(point["sx"], point["sy"])
            try:
                self.page.locator(".lcx-tapped").get_by_text(oid).first.wait_for(timeout=15_000)
                return
            except Exception as exc:  # noqa: BLE001  lost click: settle and click again (bounded)
                error = exc
        self.fail(f"tapping {oid} did not show it ({tries} clicks)", error)

    def activate_tool(self, tool_type: str) -> None:
        """Make a toolbar tool of the map active (e.g. 'BoxSelectTool')."""
        ok = self.bokeh.js("""(L, t) => {
            const s = L.scatter('lcx-map', 1);
            const tool = s.plot.model.toolbar.tools.find(x => x.type === t);
            if (!tool) return false; tool.active = true; return true;
        }""", tool_type)
        assert ok, f"the map has no {tool_type} in its toolbar"

    DRAG_BOXES = ((0.05, 0.05, 0.95, 0.95), (0.05, 0.05, 0.6, 0.95), (0.05, 0.05, 0.45, 0.95),
                  (0.05, 0.05, 0.45, 0.5), (0.05, 0.5, 0.45, 0.95))

    def drag_box(self) -> int:
        """Drag a box over the map (the largest candidate whose corners are not covered and which holds
        points); returns how many points lie in the dragged box."""
        self.scroll_map_into_view()
        self.wait_map_settled()
        box = self.bokeh.js("(L) => L.frameBox(L.scatter('lcx-map', 1).plot)")
        for frac in self.DRAG_BOXES:
            x0 = box["left"] + frac[0] * (box["right"] - box["left"])
            y0 = box["top"] + frac[1] * (box["bottom"] - box["top"])
            x1 = box["left"] + frac[2] * (box["right"] - box["left"])
            y1 = box["top"] + frac[3] * (box["bottom"] - box["top"])
            ok = self.bokeh.js("(L, b) => { const p = L.scatter('lcx-map', 1).plot; "
                               "return L.onPlot(p, b[0], b[1]) && L.onPlot(p, b[2], b[3]); }", [x0, y0, x1, y1])
            if ok:
                break
        else:
            pytest.fail("every candidate drag box on the map is covered by another element")
        inside = self.bokeh.js("""(L, b) => {
            const s = L.scatter('lcx-map', 1), d = s.source.data; let k = 0;
            for (let i = 0; i < s.n; i++) { const p = L.screenOf(s.plot, d.x[i], d.y[i]);
              if (p.x >= b[0] && p.x <= b[2] && p.y >= b[1] && p.y <= b[3]) k++; }
            return k; }""", [x0, y0, x1, y1])
        self.page.mouse.move(x0, y0)
        self.page.mouse.down()
        self.page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
        self.page.mouse.move(x1, y1, steps=5)
        self.page.mouse.up()
        return inside

    def show_tab(self, name: str) -> None:
        """Click a tab header of the main area."""
        self.page.locator(".bk-tab", has_text=name).first.click()


@pytest.fixture
def dash(page, bokeh) -> Dashboard:
    """The dashboard page helper for one test."""
    return Dashboard(page, bokeh)
