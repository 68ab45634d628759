"""Model sources (path, store, Hub cache / offline), interface checks, sessions and their errors."""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort
import pytest

from explorer.engine import Astromer1, list_models, load_model
from explorer.engine.session import get_session, resolve_options
from explorer.errors import ModelError
from standin_models import build_astromer_standin, build_atcat_standin


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standin_files")
    return {
        "astromer": build_astromer_standin(folder / "astromer.onnx"),
        "atcat": build_atcat_standin(folder / "atcat.onnx"),
        "narrow": build_astromer_standin(folder / "narrow.onnx", d_model=64),
    }


def hub_cache(root, repo, filename, source_file):
    """Lay out a huggingface cache with one file, as hf_hub_download leaves it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / f"models--{repo.replace('/', '--')}"
    snap = repo_dir / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / filename).write_bytes(source_file.read_bytes())
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    return snap / filename


def test_path_source_detects_kind_and_checks_interface(files):
    m = load_model(files["astromer"], threads=1)
    assert (m.kind, m.origin, m.path) == ("astromer1", "path", files["astromer"])
    assert len(m.sha256) == 64
    assert load_model(str(files["atcat"]), threads=1).kind == "atcat"


def test_interface_mismatch_names_outputs(files):
    with pytest.raises(ModelError) as err:
        load_model(files["narrow"])
    msg = str(err.value)
    assert "'mean' has size 64 on axis 1, expected 256" in msg
    assert "'sequence'" in msg and "'max'" in msg


def test_interface_mismatch_names_inputs(files):
    with pytest.raises(ModelError) as err:
        load_model(files["atcat"], kind="astromer1")
    msg = str(err.value)
    assert "missing input 'times'" in msg and "unexpected input 'flux'" in msg


def test_missing_file_and_unknown_name(files, lcx_home):
    with pytest.raises(ModelError, match="not found"):
        load_model(files["astromer"].parent / "absent.onnx")
    with pytest.raises(ModelError) as err:
        load_model("no-such-model")
    assert "store is empty" in str(err.value) and "astromer1, astromer2, atcat" in str(err.value)


def test_store_source(files, lcx_home):
    from explorer.store import install_model

    install_model("mini-astromer2", files["astromer"], {"kind": "astromer2"})
    m = load_model("mini-astromer2", threads=1)
    assert (m.kind, m.origin, m.name) == ("astromer2", "store", "mini-astromer2")
    with pytest.raises(ModelError) as err:
        load_model("other")
    assert "mini-astromer2" in str(err.value)
    infos = {i.name: i for i in list_models()}
    assert infos["mini-astromer2"].source == "store" and infos["mini-astromer2"].available


def test_hub_cache_offline(files, tmp_path, monkeypatch, lcx_home):
    cached = hub_cache(tmp_path / "hf", "light-curve/astromer1", "astromer1.onnx", files["astromer"])
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = load_model("astromer1", threads=1)
    assert (m.kind, m.origin) == ("astromer1", "hub")
    assert m.path.resolve() == cached.resolve()
    infos = {i.name: i for i in list_models()}
    assert infos["astromer1"].available and not infos["astromer2"].available
    with pytest.raises(ModelError) as err:
        load_model("atcat")
    msg = str(err.value)
    assert "offline mode" in msg and "light-curve/atcat" in msg and "atcat_f32.onnx" in msg


def test_hub_unreachable_fails_fast(files, tmp_path, monkeypatch, lcx_home):
    """No network: an empty cache fails within seconds with a clear message; a filled one still loads."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")   # discard port: nothing listens
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="cannot be reached"):
        load_model("astromer2")
    assert time.monotonic() - t0 < 8
    hub_cache(tmp_path / "hf", "light-curve/astromer2", "astromer2.onnx", files["astromer"])
    assert load_model("astromer2", threads=1).kind == "astromer2"


def test_sessions_are_reused_and_options_explicit(files):
    a = load_model(files["astromer"], threads=1)
    b = load_model(files["astromer"], threads=1)
    c = load_model(files["astromer"], threads=2)
    assert a.session is b.session and a.session is not c.session
    opts = resolve_options()
    assert opts.inter_threads == 1 and opts.providers == ("CPUExecutionProvider",)
    so = opts.to_ort()
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    with pytest.raises(ModelError, match="threads must be a positive integer"):
        resolve_options(threads=0)
    with pytest.raises(ModelError, match="not found"):
        get_session(files["astromer"].parent / "gone.onnx", opts)


def test_cuda_asked_but_absent(files):
    if "CUDAExecutionProvider" in ort.get_available_providers():
        m = load_model(files["astromer"], providers="cuda")
        assert "CUDAExecutionProvider" in m.session.get_providers()
        return
    with pytest.raises(ModelError, match="CUDA was asked for"):
        load_model(files["astromer"], providers="cuda")


def test_bad_output_and_reduction_names(files):
    m = load_model(files["astromer"], threads=1)
    with pytest.raises(ModelError, match="unknown output 'last'.*mean, max, sequence"):
        Astromer1(m, output="last")
    with pytest.raises(ModelError, match="unknown reduction 'sideways'"):
        Astromer1(m, reduction="sideways")
    with pytest.raises(ModelError, match="cannot be combined"):
        Astromer1(m, reduction="beginning,non-overlapping-windows")
    with pytest.raises(ModelError, match="integer seed"):
        Astromer1(m, reduction="random-subsample", seed=1.5)


def test_wraps_a_plain_session(files):
    session = ort.InferenceSession(str(files["astromer"]))
    model = Astromer1(session, output="max", reduction="beginning")
    out = model(np.arange(10.0), np.sin(np.arange(10.0)))
    assert out.shape == (1, 1, 1, 256) and np.isfinite(out).all()
