"""Shared pytest fixtures: the ../shared folder and an isolated model store."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LCEXPLORER_SHARED", PROJECT_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (real catalogs and Astromer checkpoints); skips when absent."""
    if not (SHARED / "data").is_dir() or not (SHARED / "models").is_dir():
        pytest.skip(f"../shared is absent ({SHARED}): real catalogs and checkpoints are not available here")
    return SHARED


@pytest.fixture(scope="session")
def shared_data(shared_dir) -> Path:
    """../shared/data."""
    return shared_dir / "data"


@pytest.fixture(scope="session")
def shared_models(shared_dir) -> Path:
    """../shared/models."""
    return shared_dir / "models"


@pytest.fixture
def lcx_home(tmp_path, monkeypatch) -> Path:
    """An empty, private LCEXPLORER_HOME for one test."""
    home = tmp_path / "lcx_home"
    home.mkdir()
    monkeypatch.setenv("LCEXPLORER_HOME", str(home))
    return home


@contextlib.contextmanager
def isolated_store(tmp_path_factory, name: str, onnx_builder, kind: str):
    """LCEXPLORER_HOME holding one stand-in model, plus an empty offline Hub cache (for module fixtures)."""
    from explorer.store import install_model

    home = tmp_path_factory.mktemp("lcx_home")
    hf = tmp_path_factory.mktemp("hf")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCEXPLORER_HOME", str(home))
        mp.setenv("HF_HUB_CACHE", str(hf))
        mp.setenv("HF_HUB_OFFLINE", "1")
        install_model(name, onnx_builder(home / f"{name}.onnx"), {"kind": kind, "source": "tests/standin_models.py"})
        yield home
