"""Cache size cap (issue 12, item 5): LRU eviction over the cache folders, info, clear, the CLI.

Real files in a private LCEXPLORER_HOME; ages are set with os.utime, as a cache file's use would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from explorer import diskcache
from explorer.diskcache import CACHE_FOLDERS, cache_info, clear_cache, enforce_cap, parse_size, touch
from explorer.errors import ExplorerError


def _file(home, folder, name, size, age_s):
    path = home / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


@pytest.fixture
def filled(lcx_home):
    """Four cache files (oldest first) plus the user's things that must never be evicted."""
    files = {
        "e_old": _file(lcx_home, "embeddings", "a.npz", 4000, 4000),
        "p_mid": _file(lcx_home, "projections", "umap-1.npz", 3000, 3000),
        "r_sub": _file(lcx_home, "representations", "features/x.npz", 2000, 2000),
        "e_new": _file(lcx_home, "embeddings", "b.npz", 1000, 1000),
    }
    keep = [_file(lcx_home, "labels", "cat.labels.csv", 50_000, 9000),
            _file(lcx_home, "models/m", "model.onnx", 50_000, 9000)]
    return files, keep


def test_parse_size():
    assert parse_size("5G") == 5 * 1024**3 and parse_size("500 MB") == 500 * 1024**2
    assert parse_size("1.5e9") == 1_500_000_000 and parse_size("2048") == 2048
    assert parse_size("0") is None and parse_size("none") is None
    with pytest.raises(ValueError, match="'lots' is not a size"):
        parse_size("lots")


def test_info_lists_every_cache_folder(filled, lcx_home):
    info = cache_info()
    assert list(info) == list(CACHE_FOLDERS)
    assert (info["embeddings"].n_files, info["embeddings"].n_bytes) == (2, 5000)
    assert (info["representations"].n_files, info["representations"].n_bytes) == (1, 2000)
    assert (info["quantized"].n_files, info["quantized"].n_bytes) == (0, 0)
    assert info["projections"].path == lcx_home / "projections"


def test_enforce_cap_evicts_least_recently_used_and_never_user_files(filled):
    files, keep = filled
    report = enforce_cap(2500)
    assert report.bytes_before == 10_000 and report.bytes_after == 1000
    assert report.removed == [files["e_old"], files["p_mid"], files["r_sub"]]
    assert files["e_new"].exists() and all(p.exists() for p in keep)
    assert not (files["r_sub"].parent).exists()  # empty subfolder tidied, the cache folder itself stays
    assert (files["r_sub"].parent.parent).is_dir()
    assert enforce_cap(2500).removed == []  # already under the cap


def test_touch_on_read_makes_a_file_recently_used(filled):
    files, _ = filled
    touch(files["e_old"])  # a cache hit
    past = time.time() - 100
    os.utime(files["e_old"], (past, past))  # used 100 s ago: newer than every other file
    report = enforce_cap(4500)
    assert files["e_old"].exists()
    assert report.removed == [files["p_mid"], files["r_sub"], files["e_new"]]


def test_files_in_use_are_kept_even_over_the_cap(lcx_home):
    fresh = _file(lcx_home, "embeddings", "just-written.npz", 5000, 0)
    old = _file(lcx_home, "projections", "umap-old.npz", 5000, 5000)
    report = enforce_cap(1000)
    assert fresh.exists() and not old.exists()
    assert report.over_cap and report.kept_recent == 1


def test_cap_comes_from_the_environment(filled, monkeypatch):
    files, _ = filled
    monkeypatch.setenv("LCEXPLORER_CACHE_MAX_BYTES", "6000")
    assert enforce_cap().removed == [files["e_old"]]
    monkeypatch.setenv("LCEXPLORER_CACHE_MAX_BYTES", "none")
    assert enforce_cap().max_bytes is None
    monkeypatch.setenv("LCEXPLORER_CACHE_MAX_BYTES", "lots")  # a typo must not break an embedding
    assert enforce_cap().max_bytes == diskcache.DEFAULT_MAX_BYTES
    monkeypatch.delenv("LCEXPLORER_CACHE_MAX_BYTES")
    assert diskcache.cache_max_bytes() == 5 * 1024**3


def test_clear_one_cache_or_all(filled):
    files, keep = filled
    assert clear_cache("embeddings") == (2, 5000)
    assert not files["e_old"].exists() and files["p_mid"].exists()
    assert clear_cache("all") == (2, 5000)
    assert all(p.exists() for p in keep)
    with pytest.raises(ExplorerError, match="unknown cache 'models'"):
        clear_cache("models")


def test_the_writers_cache_folders_are_the_capped_ones(lcx_home):
    """Each module that writes a cache writes it into a folder of CACHE_FOLDERS."""
    from explorer.engine.cache import default_cache_dir
    from explorer.engine.quantize import quantized_dir
    from explorer.projection import projection_cache_dir

    writers = {default_cache_dir(), projection_cache_dir(), quantized_dir()}
    try:
        from explorer.representations.base import representation_cache_dir
    except ImportError:  # the representations package is optional here
        pass
    else:
        writers.add(representation_cache_dir())
    assert writers <= set(diskcache.cache_folders().values())


def _cli(*args, home):
    env = dict(os.environ, LCEXPLORER_HOME=str(home), LCEXPLORER_CACHE_MAX_BYTES="8000")
    return subprocess.run([sys.executable, "-m", "explorer.cli", "cache", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_info_trim_clear(filled, lcx_home):
    files, keep = filled
    run = _cli("info", home=lcx_home)
    assert run.returncode == 0, run.stderr
    assert "embeddings" in run.stdout and "2 files" in run.stdout and "representations" in run.stdout
    assert "cap 7.8 KiB" in run.stdout
    run = _cli("trim", home=lcx_home)
    assert run.returncode == 0 and "removed 1 file(s)" in run.stdout
    assert not files["e_old"].exists()
    run = _cli("clear", "--what", "projections", home=lcx_home)
    assert run.returncode == 0 and "removed 1 file(s)" in run.stdout and not files["p_mid"].exists()
    run = _cli("clear", home=lcx_home)
    assert run.returncode == 0 and "removed 2 file(s)" in run.stdout
    assert all(p.exists() for p in keep)
    run = _cli("clear", "--what", "models", home=lcx_home)
    assert run.returncode == 2 and "invalid choice" in run.stderr
