"""CUDA numerics options: exact float32 by default, TF32 only on request; part of the session and cache keys.

No GPU here: the onnxruntime provider list and the keys are checked as data; the CPU path must be
unchanged (same providers passed to onnxruntime, same model identity as before the option existed).
"""

from __future__ import annotations

import numpy as np
import pytest

from standin_models import build_astromer_standin


def test_cpu_session_is_unchanged():
    from explorer.engine.session import SessionOptions, resolve_options

    opts = resolve_options(threads=1)
    assert opts == SessionOptions(1, 1, ("CPUExecutionProvider",), False)
    assert opts.ort_providers() == ["CPUExecutionProvider"]      # no provider options on the CPU
    assert opts.numerics_tag == ""


def test_cuda_is_exact_by_default_and_fast_math_opts_in():
    from explorer.engine.session import SessionOptions

    exact = SessionOptions(4, 1, ("CUDAExecutionProvider", "CPUExecutionProvider"))
    fast = SessionOptions(4, 1, ("CUDAExecutionProvider", "CPUExecutionProvider"), fast_math=True)
    assert exact.ort_providers() == [("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"]
    assert fast.ort_providers() == [("CUDAExecutionProvider", {"use_tf32": "1"}), "CPUExecutionProvider"]
    # distinct sessions (the session cache is keyed by the options) and distinct cache identities
    assert exact != fast and hash(exact) != hash(fast)
    assert {exact.numerics_tag, fast.numerics_tag} == {"+cuda", "+cuda-tf32"}


def test_fast_math_without_cuda_is_refused(tmp_path):
    import onnxruntime as ort

    from explorer.engine import load_model
    from explorer.errors import ModelError

    path = build_astromer_standin(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="fast_math"):
        load_model(path, fast_math=True)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ModelError, match="CUDA"):
            load_model(path, providers="cuda", fast_math=True)


def test_model_identity_and_provenance_carry_the_numerics(tmp_path):
    from explorer.engine import load_model
    from explorer.engine.session import SessionOptions, file_sha256

    path = build_astromer_standin(tmp_path / "m.onnx")
    cpu = load_model(path, threads=1)
    assert cpu.sha256 == file_sha256(path)                  # CPU cache keys as before
    assert cpu.describe()["fast_math"] is False
    # the identity a CUDA session would have (the option, not the device, is what is checked here)
    cpu.options = SessionOptions(1, 1, ("CUDAExecutionProvider", "CPUExecutionProvider"), fast_math=True)
    assert cpu.sha256 == file_sha256(path) + "+cuda-tf32"


def test_cli_fast_math_needs_cuda(tmp_path, lcx_home, capsys):
    from explorer.cli import main

    path = build_astromer_standin(tmp_path / "m.onnx")
    code = main(["embed", str(tmp_path), "--model", str(path), "--fast-math", "-o", str(tmp_path / "o.parquet")])
    assert code != 0
    assert "--cuda" in capsys.readouterr().err


def test_embedding_does_not_depend_on_batch_size(shared_data, tmp_path):
    """Partitions batch windows differently: pooled means must not depend on the batching (exact)."""
    from explorer.catalog import load_catalog
    from explorer.engine import embed_catalog, load_model

    cat = load_catalog(shared_data / "macho_alcock_sample")
    model = load_model(build_astromer_standin(tmp_path / "m.onnx"), threads=1)
    ref = embed_catalog(cat, model, cache=False, batch_size=64)
    n_win = ref.meta["n_windows"]
    for bs in (1, 7, n_win - 1):      # n_win - 1 leaves one lone window in the last batch
        np.testing.assert_array_equal(embed_catalog(cat, model, cache=False, batch_size=bs).matrix(), ref.matrix())
