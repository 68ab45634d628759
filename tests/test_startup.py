"""The numba cache under the store (explorer.numba_cache): folder, caching switched on, reused by a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer import numba_cache

ROOT = Path(__file__).resolve().parents[1]

MODULE = textwrap.dedent('''
    import numba

    def _step(x):
        s = 0.0
        for v in x:
            s += v * v
        return s

    serial = numba.njit(_step)
    parallel = numba.njit(parallel=True)(_step)

    @numba.njit
    def double(x):
        return 2.0 * x

    @numba.njit("f8(f8)")
    def eager(x):
        return x + 1.0
''')


def _run(code: str, env: dict) -> dict:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cache_dir_is_under_the_store_unless_set(tmp_path, monkeypatch):
    monkeypatch.setenv("LCEXPLORER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert numba_cache.cache_dir() == tmp_path / "home" / "numba"
    assert (tmp_path / "home" / "numba").is_dir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert numba_cache.cache_dir() == tmp_path / "elsewhere"


def test_enable_caching_picks_serial_twin_and_skips_compiled(tmp_path, monkeypatch):
    (tmp_path / "lcx_numba_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import lcx_numba_mod as mod
    from numba.core.caching import FunctionCache, NullCache

    assert numba_cache.enable_caching(mod) == 2  # serial and double; not parallel (same source), not eager
    assert isinstance(mod.serial._cache, FunctionCache)
    assert isinstance(mod.parallel._cache, NullCache)
    assert isinstance(mod.double._cache, FunctionCache)
    assert isinstance(mod.eager._cache, NullCache)
    assert numba_cache.enable_caching(mod) == 0  # idempotent


def test_cached_code_is_loaded_by_a_new_process(tmp_path):
    """Compiled once into the store's folder, a second interpreter loads it instead of compiling."""
    (tmp_path / "lcx_numba_mod2.py").write_text(MODULE)
    env = dict(os.environ, LCEXPLORER_HOME=str(tmp_path / "home"), PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    env.pop("NUMBA_CACHE_DIR", None)
    code = textwrap.dedent('''
        import json, os, numpy as np
        from explorer import numba_cache
        numba_cache.configure()
        import lcx_numba_mod2 as mod
        numba_cache.enable_caching(mod)
        mod.serial(np.ones(3)); mod.double(1.0)
        print(json.dumps({"dir": os.environ["NUMBA_CACHE_DIR"],
                          "hits": sum(mod.serial.stats.cache_hits.values()),
                          "misses": sum(mod.serial.stats.cache_misses.values())}))
    ''')
    first = _run(code, env)
    assert first["dir"] == str(tmp_path / "home" / "numba")
    assert (first["hits"], first["misses"]) == (0, 1)
    assert list(Path(first["dir"]).rglob("*.nbi"))
    second = _run(code, env)
    assert (second["hits"], second["misses"]) == (1, 0)


def test_configure_caches_umap_layout_but_not_its_parallel_twin(tmp_path):
    """In a fresh process, umap-learn's layout epoch (used by seeded maps) is cached, the parallel one not."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("LCEXPLORER_HOME", str(tmp_path / "home"))
    code = textwrap.dedent('''
        import json
        from explorer import numba_cache
        numba_cache.configure()
        import umap.layouts as L, umap.umap_ as U
        from numba.core.caching import FunctionCache
        print(json.dumps({
            "serial": isinstance(L._nb_optimize_layout_euclidean_single_epoch._cache, FunctionCache),
            "parallel": isinstance(L._nb_optimize_layout_euclidean_single_epoch_parallel._cache, FunctionCache),
            "smooth": isinstance(U.smooth_knn_dist._cache, FunctionCache)}))
    ''')
    assert _run(code, env) == {"serial": True, "parallel": False, "smooth": True}


@pytest.mark.parametrize("script", ["start-app", "run-tests"])
def test_install_steps_fill_the_cache(script):
    """Both set-up commands of the README fill the numba cache before the app or the tests start."""
    text = (ROOT / "scripts" / script).read_text()
    assert "python3 -m explorer.numba_cache" in text


def test_install_step_returns_at_once_when_filled(tmp_path, monkeypatch):
    """A folder filled for this installation and CPU is not filled again; another stamp means fill again."""
    folder = tmp_path / "numba"
    folder.mkdir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(folder))
    assert not numba_cache.is_filled()
    (folder / numba_cache.STAMP).write_text(json.dumps(numba_cache._stamp()))
    assert numba_cache.is_filled()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "explorer.numba_cache"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and "filled already" in out.stdout
    stamp = numba_cache._stamp()
    stamp["versions"]["umap-learn"] = "0.0.0"
    (folder / numba_cache.STAMP).write_text(json.dumps(stamp))
    assert not numba_cache.is_filled()
    (folder / numba_cache.STAMP).write_text("{not json")
    assert not numba_cache.is_filled()
