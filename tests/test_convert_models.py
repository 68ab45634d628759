"""Convert every shared Astromer checkpoint, verify against the reference outputs, and check refusals."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from explorer import store
from explorer.convert import convert_checkpoint, import_checkpoint, verify_tensors
from explorer.convert.config import load_config, map_tf_variables, spec_from_config
from explorer.convert.tfckpt import read_checkpoint
from explorer.errors import ConversionError

CHECKPOINTS = {
    "macho.zip": "astromer1-macho",
    "atlas.zip": "astromer1-atlas",
    "astromer_1.tar.gz": "astromer-2023-paper",
    "astromer_2.tar.gz": "astromer-2023-nsp",
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory, shared_models):
    """All four checkpoints imported (with reference checks) into one private store, once per module."""
    home = tmp_path_factory.mktemp("lcx_home")
    old = os.environ.get("LCEXPLORER_HOME")
    os.environ["LCEXPLORER_HOME"] = str(home)
    try:
        entries, seconds = {}, {}
        for archive in CHECKPOINTS:
            t0 = time.perf_counter()
            entries[archive] = import_checkpoint(shared_models / "checkpoints" / archive)
            seconds[archive] = time.perf_counter() - t0
        yield entries, seconds, home
    finally:
        if old is None:
            os.environ.pop("LCEXPLORER_HOME", None)
        else:
            os.environ["LCEXPLORER_HOME"] = old


def _session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("archive", list(CHECKPOINTS))
def test_import_names_and_card(installed, archive):
    entries, _, home = installed
    entry = entries[archive]
    assert entry.name == CHECKPOINTS[archive]
    assert entry.onnx_path == home / "models" / entry.name / "model.onnx"
    card = json.loads((entry.onnx_path.parent / "card.json").read_text())
    assert card["kind"] == "astromer1"
    assert len(card["source"]["sha256"]) == 64 and card["source"]["file"] == archive
    assert card["converter"]["version"] and card["created"]
    checks = {c["path"]: c for c in card["verification"]}
    assert set(checks) == {"tensors", "end-to-end"}, "both the tensor and the engine end-to-end checks must run"
    for check in checks.values():
        assert check["passed"]
        assert all(v <= check["tolerance"][k] for k, v in check["max_abs_diff"].items())


@pytest.mark.parametrize("archive", list(CHECKPOINTS))
def test_outputs_match_reference(installed, shared_models, archive):
    entry = installed[0][archive]
    ref_name = archive.split(".")[0]
    ref = np.load(shared_models / "reference" / f"{ref_name}.npz")
    report = verify_tensors(entry.onnx_path, shared_models / "reference" / f"{ref_name}.npz")
    assert report.passed, str(report)
    # the spec's tolerances, asserted here explicitly
    tol = {"macho": (2e-3, 5e-4, 2e-3), "atlas": (5e-4, 5e-4, 5e-4)}.get(ref_name, (1e-4, 1e-4, 1e-4))
    out = dict(zip(["mean", "max", "sequence"], _session(entry.onnx_path).run(
        ["mean", "max", "sequence"], {k: ref[k] for k in ("input", "times", "mask_in")})))
    assert np.abs(out["sequence"] - ref["sequence"]).max() <= tol[0]
    assert np.abs(out["mean"] - ref["mean"]).max() <= tol[1]
    assert np.abs(out["max"] - ref["max"]).max() <= tol[2]
    assert np.all(out["max"][ref["mask_in"].sum(axis=(1, 2)) == 0] == -1e9) or ref["mask_in"].sum(axis=(1, 2)).min() > 0


def test_nsp_model_cls_output(installed, shared_models):
    entry = installed[0]["astromer_2.tar.gz"]
    ref = np.load(shared_models / "reference" / "astromer_2.npz")
    cls = _session(entry.onnx_path).run(["cls"], {k: ref[k] for k in ("input", "times", "mask_in")})[0]
    assert np.abs(cls - ref["cls"]).max() < 1e-4
    assert any("not the public astromer2" in n for n in entry.card["notes"])


def test_graph_shape_and_interface(installed):
    model = onnx.load(installed[0]["macho.zip"].onnx_path)
    onnx.checker.check_model(model)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("LayerNormalization") == 4 and ops.count("Attention") == 2
    assert "Transpose" not in ops
    assert [i.name for i in model.graph.input] == ["input", "times", "mask_in"]
    assert [o.name for o in model.graph.output] == ["mean", "max", "sequence"]
    for vi in model.graph.input:
        dims = vi.type.tensor_type.shape.dim
        assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [200, 1]


def test_dynamic_batch_consistent(installed, shared_models):
    ref = np.load(shared_models / "reference" / "macho.npz")
    sess = _session(installed[0]["macho.zip"].onnx_path)
    feeds = {k: ref[k] for k in ("input", "times", "mask_in")}
    full = sess.run(["mean"], feeds)[0]
    one = np.concatenate([sess.run(["mean"], {k: v[i:i + 1] for k, v in feeds.items()})[0] for i in range(5)])
    np.testing.assert_allclose(one, full[:5], atol=1e-5)


def test_engine_loads_store_name(installed, shared_models):
    pytest.importorskip("explorer.engine")
    from explorer.engine import Astromer1, load_model

    ref = np.load(shared_models / "reference" / "atlas.npz")
    model = load_model("astromer1-atlas")
    k = 3  # object 3: a single window
    t = ref["raw_time"][ref["raw_offsets"][k]:ref["raw_offsets"][k + 1]]
    m = ref["raw_mag"][ref["raw_offsets"][k]:ref["raw_offsets"][k + 1]]
    out = Astromer1(model, output="mean")(t, m)
    np.testing.assert_allclose(out[0, 0, 0], ref["mean"][k], atol=5e-4)


def test_macho_converts_fast(installed):
    assert installed[1]["macho.zip"] < 10.0, installed[1]


def test_standard_ops_variant_matches(shared_models):
    ref = np.load(shared_models / "reference" / "macho.npz")
    converted = convert_checkpoint(shared_models / "checkpoints" / "macho.zip", attention="onnx")
    assert {n.domain for n in converted.model.graph.node} <= {""}
    report = verify_tensors(converted.model, shared_models / "reference" / "macho.npz")
    assert report.passed, str(report)
    assert ref["sequence"].shape == (48, 200, 256)


def test_cli(installed, capsys, shared_models):
    from explorer.cli import main

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name in CHECKPOINTS.values():
        assert name in out
    assert main(["models", "path", "astromer1-macho"]) == 0
    assert capsys.readouterr().out.strip() == str(installed[0]["macho.zip"].onnx_path)
    assert main(["models", "import", str(shared_models / "checkpoints" / "macho.zip")]) == 2
    assert "already installed" in capsys.readouterr().err
    assert main(["models", "path", "nope"]) == 2


# ------------------------------------------------------------------------------------------------
# Refusals (corrupted copies live in tmp_path; ../shared is never modified)


@pytest.fixture
def macho_copy(tmp_path, shared_models):
    with zipfile.ZipFile(shared_models / "checkpoints" / "macho.zip") as zf:
        zf.extractall(tmp_path)
    return tmp_path / "macho"


def _edit_conf(folder, **changes):
    path = folder / "conf.json"
    conf = json.loads(path.read_text())
    conf.update(changes)
    path.write_text(json.dumps(conf))


def test_refuses_unknown_config_key(macho_copy):
    _edit_conf(macho_copy, attention_variant="linear")
    with pytest.raises(ConversionError, match=r"attention_variant = 'linear'"):
        convert_checkpoint(macho_copy)


def test_refuses_unsupported_value(macho_copy):
    _edit_conf(macho_copy, use_leak=True)
    with pytest.raises(ConversionError, match="use_leak = True"):
        convert_checkpoint(macho_copy)


def test_refuses_missing_variables(macho_copy):
    _edit_conf(macho_copy, layers=3)
    with pytest.raises(ConversionError, match=r"missing variables: layer_with_weights-0/enc_layers/2/"):
        convert_checkpoint(macho_copy)


def test_refuses_wrong_shapes(macho_copy):
    _edit_conf(macho_copy, dff=64)
    with pytest.raises(ConversionError, match=r"enc_layers/0/ffn/layer_with_weights-0/kernel: expected \[256, 64\], got \[256, 128\]"):
        convert_checkpoint(macho_copy)


def test_refuses_extra_variable(macho_copy):
    variables = read_checkpoint(macho_copy).variables()
    cfg, path = load_config(macho_copy)
    spec = spec_from_config(cfg, str(path))
    variables["layer_with_weights-0/mask_token"] = np.zeros(1, np.float32)
    with pytest.raises(ConversionError, match="unexpected variables: layer_with_weights-0/mask_token"):
        map_tf_variables(variables, spec, "macho")


def test_refuses_corrupted_archive_tensor(macho_copy, tmp_path):
    data = macho_copy / "weights.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in macho_copy.rglob("*"):
            zf.write(f, f.relative_to(macho_copy.parent))
    with pytest.raises(ConversionError, match=r"CRC mismatch for tensor '.+'"):
        convert_checkpoint(archive)


def test_refuses_nsp_mismatch(tmp_path, shared_models):
    with tarfile.open(shared_models / "checkpoints" / "astromer_2.tar.gz") as tf:
        tf.extractall(tmp_path, filter="data")
    conf = tmp_path / "config.toml"
    conf.write_text("\n".join(l for l in conf.read_text().splitlines() if not l.startswith("nsp_prob")))
    with pytest.raises(ConversionError, match="lacks nsp_prob, but the weights have the NSP segment input"):
        convert_checkpoint(tmp_path)


def test_refuses_avg_layers(tmp_path, shared_models):
    with tarfile.open(shared_models / "checkpoints" / "astromer_1.tar.gz") as tf:
        tf.extractall(tmp_path, filter="data")
    conf = tmp_path / "config.toml"
    conf.write_text(conf.read_text().replace("avg_layers = false", "avg_layers = true"))
    with pytest.raises(ConversionError, match="avg_layers = True"):
        convert_checkpoint(tmp_path)


def test_refuses_truncated_h5(tmp_path, shared_models):
    with zipfile.ZipFile(shared_models / "checkpoints" / "atlas.zip") as zf:
        zf.extractall(tmp_path)
    h5 = tmp_path / "atlas" / "weights.h5"
    h5.write_bytes(h5.read_bytes()[:50_000])
    with pytest.raises(ConversionError, match="weights.h5"):
        convert_checkpoint(h5)


def test_refuses_non_checkpoints(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(ConversionError, match="not an Astromer checkpoint"):
        convert_checkpoint(junk)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConversionError, match="holds no Astromer checkpoint"):
        convert_checkpoint(empty)
    fake_zip = tmp_path / "fake.zip"
    fake_zip.write_bytes(b"PK not really")
    with pytest.raises(ConversionError, match="not a valid zip archive"):
        convert_checkpoint(fake_zip)


def test_refuses_two_checkpoints(tmp_path, shared_models):
    for name in ("macho.zip", "atlas.zip"):
        with zipfile.ZipFile(shared_models / "checkpoints" / name) as zf:
            zf.extractall(tmp_path)
    with pytest.raises(ConversionError, match="several checkpoints"):
        convert_checkpoint(tmp_path)


def test_import_refuses_model_off_reference(lcx_home, shared_models, tmp_path):
    # atlas weights checked against the macho reference: must be refused, nothing installed
    with pytest.raises(ConversionError, match="does not reproduce macho.npz"):
        import_checkpoint(shared_models / "checkpoints" / "atlas.zip", reference=shared_models / "reference" / "macho.npz",
                          end_to_end=False)
    assert store.list_store() == []
