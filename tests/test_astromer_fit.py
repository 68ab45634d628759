"""explorer.astromer fine-tuning (PyTorch): module == ONNX, a real 1-epoch fit, weights, store export, CLI.

Real parts only: the ATLAS checkpoint from ../shared/models, 40 EROS-1 LMC objects (R band), real
onnxruntime sessions and a private model store.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="fine-tuning needs PyTorch (pip install -e '.[train]' or '.[test]')")

from explorer.astromer import SingleBandEncoder  # noqa: E402
from explorer.astromer.data import make_pretraining  # noqa: E402
from explorer.astromer.torch_model import AstromerModule  # noqa: E402
from explorer.astromer.weights import AstromerWeights, read_checkpoint_weights  # noqa: E402
from explorer.errors import ModelError  # noqa: E402

INTERFACE = ("input", "times", "mask_in")


@pytest.fixture(scope="module")
def eros40(shared_data):
    from explorer.catalog import load_catalog

    return load_catalog(shared_data / "eros1_lmc").take(np.arange(40))


@pytest.fixture(scope="module")
def eros_windows(eros40):
    (batch,) = list(make_pretraining(eros40, batch_size=1000, max_obs=200, bands=["R", "B"]))
    return batch


def _onnx_outputs(model, batch):
    import onnxruntime as ort

    data = model.SerializeToString() if hasattr(model, "SerializeToString") else str(model)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {k: batch[k] for k in INTERFACE})))


def _torch_outputs(module, batch):
    module.eval()
    with torch.no_grad():
        x, t, m = (torch.from_numpy(batch[k]) for k in INTERFACE)
        seq, _ = module(x, t, m)
        out = module.pooled(seq, m)
    return {"sequence": seq.numpy(), "mean": out["mean"].numpy(), "max": out["max"].numpy()}


def _assert_equal_1e5(torch_out, onnx_out):
    """mean: 1e-5 absolute; sequence and max: 1e-5 of each window's largest |value|.

    The v1 encoder has no residuals and its layer norms rescale attention outputs of std 35-60, so
    float32 rounding alone (torch float32 vs float64) moves single sequence entries by ~2e-4 on values
    up to ~17; relative to the window's scale both paths agree to better than 1e-5.
    """
    assert np.abs(torch_out["mean"] - onnx_out["mean"]).max() <= 1e-5
    for name in ("sequence", "max"):
        a, b = torch_out[name], onnx_out[name]
        diff = np.abs(a - b).reshape(len(a), -1).max(axis=1)
        scale = np.abs(b).reshape(len(b), -1).max(axis=1)
        assert np.all(diff <= 1e-5 * scale), (name, float((diff / scale).max()))


def test_torch_module_equals_converted_onnx(shared_models, eros_windows):
    from explorer.convert import convert_checkpoint

    converted = convert_checkpoint(shared_models / "checkpoints" / "atlas.zip")
    weights = read_checkpoint_weights(shared_models / "checkpoints" / "atlas.zip")
    module = AstromerModule.from_weights(weights)
    _assert_equal_1e5(_torch_outputs(module, eros_windows), _onnx_outputs(converted.model, eros_windows))
    # the module gives its weights back bit for bit, head included
    back = module.to_weights()
    for role, arr in weights.arrays().items():
        assert np.array_equal(back.arrays()[role], arr), role


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, shared_models, eros40):
    """One real fit: ATLAS, 32 training / 8 validation EROS-1 objects (R), 1 epoch, installed in a private store."""
    from explorer.astromer.training import finetune

    home = tmp_path_factory.mktemp("lcx_home")
    project = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCEXPLORER_HOME", str(home))
        base = SingleBandEncoder.from_pretraining(shared_models / "checkpoints" / "atlas.zip")
        result = finetune(eros40, "astromer1-atlas", "eros-ft", bands=["R"], epochs=1, lr=1e-3, batch_size=8,
                          project_path=project, seed=0)
        yield {"result": result, "base": base, "project": project, "home": home, "mp": mp}


def test_fit_lowers_validation_loss_and_logs(fitted):
    h = fitted["result"].history
    assert h.epochs == [1] and h.best_epoch == 1
    assert h.val_loss[0] < h.initial_val_loss
    assert h.train_windows == 32 and h.windows_per_second > 0
    with open(fitted["project"] / "log.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["epoch", "train_loss", "val_loss"]
    assert len(rows) == 2 and int(rows[1][0]) == 1
    assert float(rows[1][2]) == pytest.approx(h.val_loss[0], rel=1e-6)


def test_saved_weights_load_back_bit_identically(fitted, shared_models):
    enc = fitted["result"].encoder
    reread = SingleBandEncoder()
    reread.load_weights(fitted["project"])
    assert set(reread.weights.arrays()) == set(enc.weights.arrays())
    for role, arr in enc.weights.arrays().items():
        assert arr.tobytes() == reread.weights.arrays()[role].tobytes(), role
    base = fitted["base"].weights
    assert any(not np.array_equal(base.encoder[k], enc.weights.encoder[k]) for k in base.encoder)  # it trained
    # a changed weights file is refused, naming the file
    meta = json.loads((fitted["project"] / "astromer.json").read_text())
    meta["weights_sha256"] = "0" * 64
    bad = fitted["project"].parent / "tampered"
    AstromerWeights.load(fitted["project"]).save(bad)
    (bad / "astromer.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="weights.npz does not match"):
        SingleBandEncoder().load_weights(bad)


def test_installed_model_equals_torch_module_and_has_a_card(fitted, eros_windows, eros40):
    from explorer.engine import embed_catalog, load_model
    from explorer.store import get_entry

    entry = get_entry("eros-ft")
    card = entry.card
    training = card["training"]
    assert training["base_model"] == "astromer1-atlas"
    assert training["catalog"]["content_hash"] == eros40.content_hash()
    assert training["epochs_run"] == 1 and training["losses"][0]["val_loss"] < training["initial_val_loss"]
    assert training["weights_folder"] == str(fitted["project"])
    module = AstromerModule.from_weights(AstromerWeights.load(fitted["project"]))
    _assert_equal_1e5(_torch_outputs(module, eros_windows), _onnx_outputs(entry.onnx_path, eros_windows))
    # the engine loads it like any store model, and from_pretraining gets the head back from the weights folder
    assert load_model("eros-ft").kind == "astromer1"
    X = embed_catalog(eros40, "eros-ft", bands=["R"], cache=False).matrix()
    assert np.isfinite(X).all()
    again = SingleBandEncoder.from_pretraining("eros-ft")
    assert again.weights.head is not None
    assert np.array_equal(again.weights.head["head/reg/kernel"], module.to_weights().head["head/reg/kernel"])


def test_no_improvement_keeps_starting_weights(lcx_home, shared_models, eros40, tmp_path):
    enc = SingleBandEncoder.from_pretraining(shared_models / "checkpoints" / "atlas.zip")
    start = {k: v.copy() for k, v in enc.weights.encoder.items()}
    train = make_pretraining(eros40.take(np.arange(8)), batch_size=8, max_obs=200, msk_frac=0.5, bands="R")
    valid = make_pretraining(eros40.take(np.arange(8, 16)), batch_size=8, max_obs=200, msk_frac=0.5, bands="R")
    h = enc.fit(train, valid, epochs=3, patience=1, lr=50.0, project_path=tmp_path / "run")   # diverges at once
    assert h.stopped_early and h.epochs == [1] and h.best_epoch == 0
    assert all(np.array_equal(start[k], enc.weights.encoder[k]) for k in start)
    assert not (tmp_path / "run" / "weights.npz").exists()
    with pytest.raises(ModelError, match="make_pretraining"):
        enc.fit([{"input": np.zeros((1, 200, 1), np.float32)}], valid, epochs=1, project_path=tmp_path / "x")
    with pytest.raises(ModelError, match="epochs"):
        enc.fit(train, valid, epochs=0, project_path=tmp_path / "x")


def test_cli_finetune(lcx_home, shared_models, capsys):
    from explorer.cli import main
    from explorer.store import get_entry

    SingleBandEncoder.from_pretraining(shared_models / "checkpoints" / "atlas.zip")   # installs astromer1-atlas
    code = main(["finetune", str(shared_models.parent / "data" / "eros1_lmc"), "--base", "astromer1-atlas",
                 "--name", "eros-cli", "--bands", "R", "--epochs", "1", "--lr", "1e-3", "--batch-size", "8",
                 "--limit", "20"])
    out = capsys.readouterr().out
    assert code == 0
    assert "epoch 0: val_loss" in out and "epoch 1: train_loss" in out and "installed eros-cli" in out
    assert get_entry("eros-cli").card["training"]["catalog"]["objects"] == 20
    # an existing name is refused before any training
    code = main(["finetune", str(shared_models.parent / "data" / "eros1_lmc"), "--base", "astromer1-atlas",
                 "--name", "eros-cli", "--bands", "R", "--limit", "20"])
    assert code == 2 and "already installed" in capsys.readouterr().err
