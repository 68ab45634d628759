"""Engine speed settings that must not change a number: onnxruntime's thread spinning, the GEMM ceiling shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.engine import Astromer1, load_model
from explorer.engine.session import SPINNING_ENV, default_spinning, get_session, resolve_options
from explorer.errors import ModelError
from standin_models import build_astromer_standin

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_spinning_is_off_by_default_and_set_by_the_environment(monkeypatch):
    monkeypatch.delenv(SPINNING_ENV, raising=False)
    assert default_spinning() is False
    assert resolve_options(threads=1).spinning is False
    so = resolve_options(threads=1).to_ort()
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.setenv(SPINNING_ENV, "1")
    assert resolve_options(threads=1).spinning is True
    assert resolve_options(threads=1).to_ort().get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert resolve_options(threads=1, spinning=False).spinning is False
    monkeypatch.setenv(SPINNING_ENV, "yes")
    with pytest.raises(ModelError, match=SPINNING_ENV):
        resolve_options(threads=1)
    monkeypatch.delenv(SPINNING_ENV)
    with pytest.raises(ModelError, match="spinning"):
        resolve_options(threads=1, spinning="on")


def test_spinning_changes_no_number(tmp_path, monkeypatch):
    """The same file with spinning on and off (two sessions, 2 threads) gives bit-identical embeddings."""
    path = build_astromer_standin(tmp_path / "a.onnx", width=64, n_blocks=2, n_heads=4, ffn=64)
    rng = np.random.default_rng(3)
    feed = {"input": rng.normal(size=(16, 200, 1)).astype(np.float32),
            "times": np.sort(rng.uniform(0, 500, (16, 200, 1)), axis=1).astype(np.float32),
            "mask_in": (rng.uniform(size=(16, 200, 1)) > 0.3).astype(np.float32)}
    outs = [get_session(path, resolve_options(threads=2, spinning=s)).run(["mean", "sequence"], feed)
            for s in (False, True)]
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    monkeypatch.delenv(SPINNING_ENV, raising=False)
    model = load_model(path, threads=2)
    assert model.options.spinning is False and model.session is get_session(path, model.options)
    t = np.sort(rng.uniform(0, 900, 300))
    m = rng.normal(15, 0.3, 300)
    on = Astromer1(get_session(path, resolve_options(threads=2, spinning=True)))(t, m)
    np.testing.assert_array_equal(Astromer1(model)(t, m), on)


def test_ceiling_shapes_follow_the_model(tmp_path):
    """The benchmark's GEMM ceiling uses the model's own products: QKV, scores, values, dense layers."""
    from engine_ceiling import flops, gemm_shapes

    path = build_astromer_standin(tmp_path / "b.onnx", width=64, n_blocks=2, n_heads=4, ffn=32)
    shapes = gemm_shapes(str(path), batch=8)
    dense = [(a, b) for _, a, b, const in shapes if const]
    assert dense and all(a[0] == 8 * 200 for a, _ in dense)
    total = sum(flops(a, b) for _, a, b, _ in shapes)
    assert total > 0
