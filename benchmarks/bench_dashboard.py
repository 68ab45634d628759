"""Dashboard benchmark (library API, no browser).

1. Time to first interactive map for a catalog of ``--objects`` objects (10 000 by default):
   a *cold* start (new process, empty LCEXPLORER_HOME apart from the model: no embedding, projection or
   catalog cache) and a *cached* start (a second new process on the same home: the engine's and the
   projection's disk caches are warm).  Each start runs in its own subprocess and reports its phases:
   imports, catalog load, embedding, PCA preview (the first map the user can interact with), the map
   figure built for the browser, and UMAP (its own cost is measured in the projection benchmark).
2. Server time from a tap to the light-curve plot on a map of ``--tap-points`` points (1 000 000 by
   default): ``ExplorerState.select_at(x, y)`` + ``light_curve_frame`` + ``plots.light_curve_figure``,
   median over ``--taps`` taps (target: under 150 ms).  The map coordinates come from a random
   embedding projected with the real PCA preview path, so only the tap path is measured.

3. The served app in Chromium (``--served``): time from ``panel serve app.py`` to the first populated
   UMAP map of the default catalog on a fresh LCEXPLORER_HOME (model installed, nothing else) and on the
   second start (caches on disk), target <= 30 s / <= 5 s; and the browser time from a click on the map to
   the tapped light curve drawn, at 100 000 and 1 000 000 points (datashaded), target <= 300 ms.

The model is the real converted MACHO Astromer when ../shared is present (imported with the
converter), else the Astromer-shaped stand-in of tests/standin_models.py (same interface and cost
class as the real one only with --standin-full; the default stand-in is small).

    python benchmarks/bench_dashboard.py            # full: 10k-object starts, 1M-point taps
    python benchmarks/bench_dashboard.py --quick    # 1k-object starts, 100k-point taps
    python benchmarks/bench_dashboard.py --served   # + the served app in Chromium (first map, browser taps)
"""

from __future__ import annotations

import time

_T_PROCESS = time.perf_counter()  # before the heavy imports: a start includes them

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LCEXPLORER_SHARED", ROOT.parent / "shared"))
MODEL_NAME = "astromer1-macho"
TAP_TARGET_MS = 150.0


# ---------------------------------------------------------------------- data
def write_catalog(folder: Path, n_objects: int, *, seed: int = 0, min_obs: int = 80, max_obs: int = 200) -> Path:
    """A synthetic single-band catalog (periodic and constant stars) in the <name>.lightcurves/objects layout."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_obs = rng.integers(min_obs, max_obs + 1, n_objects)
    total = int(n_obs.sum())
    obj = np.repeat(np.arange(n_objects), n_obs)
    t = rng.uniform(48800.0, 51500.0, total)
    order = np.lexsort((t, obj))
    obj, t = obj[order], t[order]
    period = rng.uniform(0.2, 30.0, n_objects)
    amp = np.where(rng.random(n_objects) < 0.5, rng.uniform(0.1, 1.0, n_objects), 0.0)
    base = rng.normal(18.0, 1.0, n_objects)
    mag = base[obj] + amp[obj] * np.sin(2 * np.pi * t / period[obj]) + rng.normal(0, 0.05, total)
    ids = np.array([f"bench-{i:07d}" for i in range(n_objects)])
    name = folder.name
    pd.DataFrame({"object_id": ids[obj], "time": t, "band": "R", "mag": mag, "mag_err": np.full(total, 0.05)}
                 ).to_parquet(folder / f"{name}.lightcurves.parquet", index=False)
    pd.DataFrame({"object_id": ids, "period": period, "n_obs": n_obs}).to_parquet(
        folder / f"{name}.objects.parquet", index=False)
    return folder


def install_model(home: Path, standin: bool) -> str:
    """Put the benchmark model into ``home``; returns what was installed."""
    env = {**os.environ, "LCEXPLORER_HOME": str(home)}
    checkpoint = SHARED / "models" / "checkpoints" / "macho.zip"
    if checkpoint.exists() and not standin:
        cli = "import sys; from explorer.cli import main; sys.exit(main(sys.argv[1:]))"
        subprocess.run([sys.executable, "-c", cli, "models", "import", str(checkpoint), "--name", MODEL_NAME],
                       env=env, check=True, capture_output=True, cwd=ROOT)
        return "converted macho.zip (real Astromer 1)"
    sys.path.insert(0, str(ROOT / "tests"))
    from standin_models import build_astromer_standin

    os.environ["LCEXPLORER_HOME"] = str(home)
    from explorer.store import install_model as store_install

    onnx = build_astromer_standin(home / "standin.onnx", n_blocks=2, n_heads=4, width=256, ffn=128)
    store_install(MODEL_NAME, Path(onnx), card={"kind": "astromer1", "source": "tests/standin_models.py"},
                  overwrite=True)
    return "Astromer-shaped stand-in (real-model size, random weights)"


# ---------------------------------------------------------------------- one start (child process)
def child_start(catalog_dir: str) -> dict:
    """One dashboard start in this fresh process: open catalog, embed, first map, figure, UMAP."""
    phases = {}
    t = time.perf_counter()
    import holoviews as hv

    from explorer.dashboard import ExplorerState, plots

    hv.extension("bokeh", logo=False)
    phases["imports_s"] = time.perf_counter() - _T_PROCESS
    t = time.perf_counter()
    state = ExplorerState(catalog_dir)
    state.refresh_models()
    state.model = MODEL_NAME
    phases["catalog_s"] = time.perf_counter() - t
    marks = {}

    def progress(frac, msg):
        if msg.startswith("PCA preview") and "pca" not in marks:
            marks["pca"] = time.perf_counter()

    t_run = time.perf_counter()
    state.embed()
    phases["embed_s"] = time.perf_counter() - t_run
    t = time.perf_counter()
    state.project("pca")
    frame = state.points_frame()
    _, kind = state.color_values()
    element, _, _ = plots.map_element(frame, kind, state.color_by)
    hv.render(element, backend="bokeh")
    phases["first_map_s"] = time.perf_counter() - t
    t = time.perf_counter()
    state.project("umap")
    phases["umap_s"] = time.perf_counter() - t
    phases["first_interactive_map_s"] = time.perf_counter() - _T_PROCESS - phases["umap_s"]
    phases["umap_map_ready_s"] = time.perf_counter() - _T_PROCESS
    phases["embed_cached"] = bool(state.last_embed_cached)
    phases["n_points"] = int(len(state.map.index))
    phases["inference_runs"] = state.inference_runs
    return phases


def run_start(catalog_dir: Path, home: Path) -> dict:
    """Run ``child_start`` in a new interpreter with LCEXPLORER_HOME=home."""
    env = {**os.environ, "LCEXPLORER_HOME": str(home), "LCEXPLORER_DATA_DIRS": str(catalog_dir.parent)}
    env.pop("LCEXPLORER_CATALOG", None)
    proc = subprocess.run([sys.executable, __file__, "--_start", str(catalog_dir)], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dashboard start failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- taps
def bench_taps(n_points: int, n_taps: int, seed: int = 1) -> dict:
    """Median server time of tap -> light-curve figure on a map of n_points objects."""
    import numpy as np

    from explorer.catalog import Catalog
    from explorer.dashboard import ExplorerState, plots

    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    n_obs = rng.integers(3, 8, n_points)
    long_rows = rng.choice(n_points, max(n_taps, 1), replace=False)
    n_obs[long_rows] = 600  # the tapped objects have realistic (long) light curves
    obj = np.repeat(np.arange(n_points), n_obs)
    ids = np.char.add("o", np.arange(n_points).astype(str))
    time_ = rng.uniform(0, 3000, len(obj))
    cat = Catalog.from_long(ids[obj], time_, rng.normal(18, 0.3, len(obj)), np.full(len(obj), 0.05),
                            name=f"tap-{n_points}")
    build_catalog_s = time.perf_counter() - t
    state = ExplorerState(cat)
    t = time.perf_counter()
    state.use_embedding(rng.normal(size=(n_points, 16)).astype(np.float32))
    index_s = time.perf_counter() - t
    coords = state.map.coords
    targets = coords[long_rows]
    times, obs_counts = [], []
    for x, y in targets:
        t = time.perf_counter()
        row = state.select_at(float(x), float(y))
        lc = state.light_curve_frame(state.selected_id)
        plots.light_curve_figure(lc, value_kind=cat.value_kind, title=state.selected_id)
        times.append(time.perf_counter() - t)
        obs_counts.append(len(lc))
        assert row is not None
    times_ms = np.array(times) * 1e3
    return {"n_points": n_points, "n_taps": n_taps, "median_ms": float(np.median(times_ms)),
            "p90_ms": float(np.percentile(times_ms, 90)), "max_ms": float(times_ms.max()),
            "median_obs": float(statistics.median(obs_counts)), "build_catalog_s": build_catalog_s,
            "projection_index_s": index_s}


def bench_explore(n_points: int, reps: int = 7, seed: int = 2) -> dict:
    """Server time of a hover preview and of a cross-filter on a map of ``n_points`` objects.

    The whole page (``Explorer``) is built into a Bokeh document, so every watcher runs as when served:
    hover = ``hover_at`` + the preview pane's SVG and text; cross-filter = a bar-chart click
    (``toggle_category``) -> filter mask, the map redrawn with the filtered-out points grey, every
    linked chart refilled and the objects table filtered.  Medians over ``reps``.
    """
    import numpy as np
    import pandas as pd
    import panel as pn
    from bokeh.document import Document

    from explorer.catalog import Catalog
    from explorer.dashboard.explorer import Explorer
    from explorer.dashboard.state import ExplorerState

    rng = np.random.default_rng(seed)
    n_obs = rng.integers(20, 60, n_points)
    obj = np.repeat(np.arange(n_points), n_obs)
    ids = np.char.add("o", np.arange(n_points).astype(str))
    objects = pd.DataFrame({"object_id": ids, "cls": rng.choice(["RRL", "CEP", "EB", "LPV", "QSO"], n_points),
                            "period": 10 ** rng.uniform(-0.7, 2.8, n_points)})
    cat = Catalog.from_long(ids[obj], rng.uniform(0, 3000, len(obj)), rng.normal(18, 0.3, len(obj)),
                            np.full(len(obj), 0.05), objects=objects, name=f"explore-{n_points}")
    state = ExplorerState(cat)
    state.use_embedding(rng.normal(size=(n_points, 16)).astype(np.float32))
    state.color_by = "cls"
    ex = Explorer(state=state, autorun=False)
    doc = Document()
    pn.Column(ex.sidebar, ex.main).get_root(doc)
    coords = state.map.coords
    hover, cross = [], []
    for i in range(reps + 1):
        x, y = coords[rng.integers(n_points)]
        t = time.perf_counter()
        oid = state.hover_at(float(x), float(y))
        if i:  # the first of each is a warm-up
            hover.append((time.perf_counter() - t) * 1e3)
        assert oid and oid in ex.hover.text.object
    for i in range(reps + 1):
        t = time.perf_counter()
        state.toggle_category("cls", "RRL")  # keep RRL / drop the filter, alternately
        if i:
            cross.append((time.perf_counter() - t) * 1e3)
    return {"n_points": n_points, "hover_ms": statistics.median(hover), "cross_filter_ms": statistics.median(cross)}


# ---------------------------------------------------------------------- served app in Chromium
CHROMIUM = os.environ.get("LCEXPLORER_CHROMIUM", "/usr/bin/chromium")
TEXT_JS = """(cls) => {
  // text of the plain-text pane carrying CSS class `cls` (it lives in a shadow root: read the Bokeh model)
  for (const doc of (window.Bokeh ? Bokeh.documents : [])) for (const m of doc.all_models) {
    if ((m.css_classes || []).includes(cls) && typeof m.text === 'string') return m.text;
  }
  return '';
}"""
VIEWS_JS = """const idx = Bokeh.index;
  const views = typeof idx.all_views === 'function' ? [...idx.all_views()]
    : Object.values(idx).flatMap(v => [v, ...(v.children ? [...v.children()] : [])]);"""
MAP_JS = """() => {
  const out = [];
  for (const doc of (window.Bokeh ? Bokeh.documents : [])) for (const m of doc.all_models) {
    if (m.data !== undefined && typeof m.get_length === 'function' && m.data.object_id) out.push(m.get_length());
  }
  return Math.max(0, ...out);
}"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app: Path, env: dict):
    """Start ``panel serve app`` (own process group); returns (process, url, t_start)."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(app), "--port", str(port), "--address",
                             "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, f"http://127.0.0.1:{port}/{app.stem}", t0


def _stop(proc) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _goto_when_up(page, url: str, proc, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with {proc.returncode}")
        try:
            page.goto(url, timeout=60_000)
            return
        except Exception:  # noqa: BLE001  not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def _served_page(env: dict):
    """``panel serve app.py`` with ``env`` (LCEXPLORER_CATALOG / NUMBA_CACHE_DIR of this process dropped)
    and a Chromium page on it once it answers; yields ``(page, t0)`` (t0: when the server was started)."""
    from playwright.sync_api import sync_playwright

    for var in ("LCEXPLORER_CATALOG", "NUMBA_CACHE_DIR"):
        os.environ.pop(var, None)
    proc, url, t0 = _serve(ROOT / "app.py", env)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            _goto_when_up(page, url, proc)
            yield page, t0
            browser.close()
    finally:
        _stop(proc)


def bench_first_map(home: Path, timeout_s: float = 600) -> dict:
    """Seconds from ``panel serve app.py`` to a populated UMAP map of the default catalog in Chromium."""
    with _served_page({"LCEXPLORER_HOME": str(home)}) as (page, t0):
        t_page = time.perf_counter() - t0
        page.evaluate(FILL_JS)  # what the map shows over time (the first look growing)
        page.wait_for_function(f"() => / of \\d+ objects/.test(({TEXT_JS})('lcx-map-note'))",
                               timeout=timeout_s * 1000, polling=250)
        t_first = time.perf_counter() - t0  # the first look, the PCA preview, or the UMAP map when cached
        page.wait_for_function(f"() => ({TEXT_JS})('lcx-map-note').includes('UMAP of')",
                               timeout=timeout_s * 1000, polling=250)
        n = page.evaluate(MAP_JS)
        t_map = time.perf_counter() - t0
        fill = [(t, *_on_map(note)) for t, note in page.evaluate("() => window.__fill")]
    return {"page_s": t_page, "first_map_s": t_first, "first_umap_map_s": t_map, "points": n,
            "fill": [(t, n, what) for t, n, what in fill if n > 0]}


FILL_JS = """() => { window.__fill = []; const t0 = performance.now(); let last = '';
  setInterval(() => {
    let note = '';
    for (const doc of (window.Bokeh ? Bokeh.documents : [])) for (const m of doc.all_models)
      if ((m.css_classes || []).includes('lcx-map-note') && typeof m.text === 'string') note = m.text;
    if (note !== last) { last = note; window.__fill.push([(performance.now() - t0) / 1000, note.slice(0, 300)]); }
  }, 100); }"""


def _on_map(note: str) -> tuple[int, str]:
    """(objects on the map, what the map is) read from the map's note (the note is made from the view on
    screen; the browser tests check that its count is the number of points drawn)."""
    import html
    import re

    note = html.unescape(note)
    found = re.search(r"(\d+) of \d+ objects embedded", note) or re.search(r"of (\d+) objects", note)
    what = re.sub(r"<[^>]+>", "", note).split(":")[0].split(" of ")[0].split(" (")[0]
    return (int(found.group(1)) if found else 0), what


def bench_large_first_look(home: Path, n_objects: int, watch_s: float) -> dict:
    """A served ``n_objects`` simulated catalog: seconds from the page load to the first points, and how the
    map fills (points on screen over time) for ``watch_s`` seconds or until the UMAP map."""
    from explorer.simulate import simulate_macho_like, write_catalog as write_sim

    folder = home.parent / "large-data" / f"sim{n_objects}"
    t = time.perf_counter()
    write_sim(simulate_macho_like(n_objects, n_fields=max(30, n_objects // 100)), folder)
    made_s = time.perf_counter() - t
    # the operator's choice for a big catalog: the served size limits (5M observation rows) lifted
    env = {"LCEXPLORER_HOME": str(home), "LCEXPLORER_CATALOG": str(folder),
           "LCEXPLORER_DATA_DIRS": str(folder.parent), "LCEXPLORER_MAX_ROWS": "0", "LCEXPLORER_MAX_CELLS": "0",
           "LCEXPLORER_MAX_UPLOAD_BYTES": "0", "LCEXPLORER_MAX_OBJECTS": "0"}
    with _served_page(env) as (page, t0):
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000)
        page.evaluate(FILL_JS)
        t_page = time.perf_counter() - t0
        deadline = time.monotonic() + watch_s
        while time.monotonic() < deadline:
            fill = page.evaluate("() => window.__fill")
            if fill and "UMAP of" in fill[-1][1]:
                break
            time.sleep(1.0)
        fill = [(t, *_on_map(note)) for t, note in page.evaluate("() => window.__fill")]
    shown = [(t, n) for t, n, _ in fill if n > 0]
    return {"objects": n_objects, "catalog_made_s": made_s, "page_s": t_page,
            "first_points_s": shown[0][0] if shown else None, "fill": shown, "final": fill[-1][2] if fill else ""}


TAP_APP = """
import numpy as np, panel as pn
from explorer.catalog import Catalog
from explorer.dashboard.explorer import Explorer
from explorer.dashboard.page import LocalFast, local_template
from explorer.dashboard.state import ExplorerState

pn.extension("tabulator", notifications=True, design=LocalFast)
N = {n}
if "cat" not in pn.state.cache:
    rng = np.random.default_rng(1)
    n_obs = rng.integers(3, 8, N)
    obj = np.repeat(np.arange(N), n_obs)
    ids = np.char.add("o", np.arange(N).astype(str))
    cat = Catalog.from_long(ids[obj], rng.uniform(0, 3000, len(obj)), rng.normal(18, 0.3, len(obj)),
                            np.full(len(obj), 0.05), name="tap")
    pn.state.cache["cat"] = (cat, rng.normal(size=(N, 8)).astype(np.float32))
cat, matrix = pn.state.cache["cat"]
state = ExplorerState(cat)
state.use_embedding(matrix)
ex = Explorer(state=state, autorun=False)
local_template("tap bench", sidebar=[ex.sidebar], main=[ex.main]).servable()
"""


def bench_browser_taps(n_points: int, n_taps: int = 10) -> dict:
    """Median browser time from a click on the (datashaded) map to the tapped light curve drawn."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lcx-bench-tap-") as tmp:
        app = Path(tmp) / "tap_app.py"
        app.write_text(TAP_APP.format(n=n_points))
        proc, url, _ = _serve(app, {"LCEXPLORER_HOME": str(Path(tmp) / "home")})
        times = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                _goto_when_up(page, url, proc, timeout_s=600)
                page.wait_for_function(f"() => ({TEXT_JS})('lcx-map-note').includes('of {n_points} objects')",
                                       timeout=600_000, polling=500)
                frame = page.wait_for_function("""() => {
                    if (!window.Bokeh || !Bokeh.index) return null;
                    """ + VIEWS_JS + """
                    for (const v of views) {
                      if (v.frame && v.canvas_view && v.model.toolbar
                          && v.model.toolbar.tools.some(t => t.type === 'LassoSelectTool')) {
                        const r = v.canvas_view.el.getBoundingClientRect(), b = v.frame.bbox;
                        return {x: r.left + b.left, y: r.top + b.top, w: b.width, h: b.height};
                      }
                    }
                    return null; }""", timeout=120_000, polling=500).json_value()
                # the raster drawn (not only the note): the first tap must reach a live plot
                page.wait_for_function("""() => [...Bokeh.documents[0].all_models].some(
                    m => m.data && m.data.image && m.data.image.length > 0)""", timeout=120_000, polling=250)
                tapped = f"() => ({TEXT_JS})('lcx-tapped')"
                rng = __import__("random").Random(0)
                for _ in range(n_taps):
                    x = frame["x"] + frame["w"] * (0.3 + 0.4 * rng.random())
                    y = frame["y"] + frame["h"] * (0.3 + 0.4 * rng.random())
                    before = page.evaluate(tapped)
                    t = time.perf_counter()
                    page.mouse.click(x, y)
                    page.wait_for_function(f"(before) => {{ const t = ({tapped})(); "
                                           "return t.includes(' - your label') && t !== before; }",
                                           arg=before, timeout=60_000, polling=20)
                    times.append((time.perf_counter() - t) * 1e3)
                browser.close()
        finally:
            _stop(proc)
    return {"n_points": n_points, "median_ms": statistics.median(times), "max_ms": max(times), "taps": len(times)}

# ---------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k-object starts, 100k-point taps")
    parser.add_argument("--objects", type=int, default=None, help="objects of the start catalog (10000)")
    parser.add_argument("--tap-points", type=int, default=None, help="points on the tap map (1000000)")
    parser.add_argument("--taps", type=int, default=50, help="taps measured (median reported)")
    parser.add_argument("--standin", action="store_true", help="use the stand-in model even when ../shared exists")
    parser.add_argument("--skip-starts", action="store_true", help="only the tap benchmark")
    parser.add_argument("--served", action="store_true",
                        help="also the served app in Chromium: first map from a cold/cached start, browser taps")
    parser.add_argument("--served-only", action="store_true",
                        help="only the served app's first map (cold / cached start), no library starts or taps")
    parser.add_argument("--large", type=int, default=0, metavar="N",
                        help="only the served app on a simulated N-object catalog: first points, how the map fills")
    parser.add_argument("--watch", type=float, default=300.0, help="seconds --large watches the map fill (300)")
    parser.add_argument("--explore", action="store_true",
                        help="only hover-preview and cross-filter latency at 10k, 100k and 1M objects")
    parser.add_argument("--_start", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._start:
        print(json.dumps(child_start(args._start)))
        return 0

    if args.explore:
        print(f"bench_dashboard --explore: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        for n in ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]):
            res = bench_explore(n)
            print(f"  {n:>9,} objects: hover preview {res['hover_ms']:.0f} ms (target 200), "
                  f"cross-filter {res['cross_filter_ms']:.0f} ms (target 500)", flush=True)
        return 0
    if args.large:
        print(f"bench_dashboard --large {args.large}: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        with tempfile.TemporaryDirectory(prefix="lcx-bench-large-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            print(f"model: {install_model(home, args.standin)}")
            res = bench_large_first_look(home, args.large, args.watch)
        print(f"  catalog of {res['objects']:,} simulated objects written in {res['catalog_made_s']:.0f} s; page at "
              f"{res['page_s']:.1f} s after panel serve; first points {res['first_points_s']} s after the page "
              f"loaded (target 10 s)")
        for t, n in res["fill"]:
            print(f"    {t:7.1f} s: {n:,} points on the map")
        print(f"  last note: {res['final']}; load {os.getloadavg()[0]:.1f}")
        return 0
    n_objects = args.objects or (1_000 if args.quick else 10_000)
    n_tap = args.tap_points or (100_000 if args.quick else 1_000_000)
    print(f"bench_dashboard: python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
          f"{' (quick)' if args.quick else ''}")
    with tempfile.TemporaryDirectory(prefix="lcx-bench-dash-") as tmp:
        tmp = Path(tmp)
        if not args.skip_starts and not args.served_only:
            home = tmp / "home"
            home.mkdir()
            what = install_model(home, args.standin)
            catalog = write_catalog(tmp / "data" / f"bench{n_objects}", n_objects)
            print(f"model: {what}; catalog: {n_objects} objects, one band")
            for label in ("cold", "cached"):
                res = run_start(catalog, home)
                print(f"  {label:6s} start: first interactive map {res['first_interactive_map_s']:.2f} s "
                      f"(imports {res['imports_s']:.2f}, catalog {res['catalog_s']:.2f}, "
                      f"embedding {res['embed_s']:.2f}{' [cache]' if res['embed_cached'] else ''}, "
                      f"PCA map + figure {res['first_map_s']:.2f}); UMAP +{res['umap_s']:.2f} s "
                      f"-> final map at {res['umap_map_ready_s']:.2f} s; {res['n_points']} points")
            shutil.rmtree(home, ignore_errors=True)
        if not args.served_only:
            res = bench_taps(n_tap, args.taps)
            verdict = "OK" if res["median_ms"] < TAP_TARGET_MS else "OVER TARGET"
            print(f"tap -> light-curve plot on {res['n_points']:,} points: median {res['median_ms']:.1f} ms, "
                  f"p90 {res['p90_ms']:.1f} ms, max {res['max_ms']:.1f} ms over {res['n_taps']} taps "
                  f"(median {res['median_obs']:.0f} obs; target < {TAP_TARGET_MS:.0f} ms: {verdict}); "
                  f"setup: catalog {res['build_catalog_s']:.1f} s, map index {res['projection_index_s']:.1f} s")
        if args.served or args.served_only:
            home = tmp / "served-home"
            home.mkdir()
            print(f"served app, default catalog; model: {install_model(home, args.standin)}")
            # the project's install step (scripts/start-app): UMAP's numba code compiled into the home
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "explorer.numba_cache"], check=True, cwd=ROOT,
                           env={k: v for k, v in {**os.environ, "LCEXPLORER_HOME": str(home)}.items()
                                if k != "NUMBA_CACHE_DIR"}, capture_output=True)
            print(f"  install step (numba cache into the fresh home): {time.perf_counter() - t:.1f} s")
            for label in ("cold", "cached"):
                res = bench_first_map(home)
                print(f"  {label:6s} start: page at {res['page_s']:.1f} s, first populated map at "
                      f"{res['first_map_s']:.1f} s, UMAP map ({res['points']} points) at "
                      f"{res['first_umap_map_s']:.1f} s after panel serve "
                      f"(target {'30' if label == 'cold' else '5'} s); "
                      f"after the page loaded: first points {res['first_map_s'] - res['page_s']:.1f} s (target 5 s), "
                      f"full map {res['first_umap_map_s'] - res['page_s']:.1f} s (target 20 s)")
                print("    on the map after the page loaded: " + ", ".join(
                    f"{t:.1f} s {n} ({what})" for t, n, what in res["fill"]))
            for n in ([] if args.served_only else [100_000] if args.quick else [100_000, 1_000_000]):
                res = bench_browser_taps(n)
                print(f"  browser tap -> light curve at {n:,} points: median {res['median_ms']:.0f} ms, "
                      f"max {res['max_ms']:.0f} ms over {res['taps']} taps (target 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
