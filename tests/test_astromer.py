"""explorer.astromer without torch: SingleBandEncoder weights and inference, make_pretraining.

Real checkpoints and reference outputs from ../shared/models, real EROS-1 light curves, real
ONNX Runtime sessions; each test has its own private model store.
"""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from explorer.astromer import SingleBandEncoder
from explorer.astromer.data import make_pretraining
from explorer.errors import ModelError


@pytest.fixture(scope="module")
def eros40(shared_data):
    """The first 40 EROS-1 LMC objects, both bands (about 240 observations: two windows each)."""
    from explorer.catalog import load_catalog

    return load_catalog(shared_data / "eros1_lmc").take(np.arange(40))


def _lcs(catalog):
    return [catalog.light_curve(i)[["time", "value", "error"]].to_numpy() for i in range(len(catalog))]


@pytest.fixture
def offline(monkeypatch):
    """Downloads go to a closed local port: fast, certain failure without any network."""
    monkeypatch.setenv("LCEXPLORER_ASTROMER_WEIGHTS_URL", "http://127.0.0.1:9/{name}.zip")
    monkeypatch.setenv("LCEXPLORER_DOWNLOAD_TIMEOUT", "3")


def test_from_pretraining_macho_reproduces_reference(lcx_home, shared_models, offline):
    ref = np.load(shared_models / "reference" / "macho.npz")
    enc = SingleBandEncoder.from_pretraining("macho")   # converts ../shared's macho.zip into the store
    assert enc.name == "astromer1-macho" and (lcx_home / "models" / "astromer1-macho" / "model.onnx").is_file()
    offsets = ref["raw_offsets"]
    lcs = [np.stack([ref["raw_time"][a:b], ref["raw_mag"][a:b], np.zeros(b - a)], axis=1)
           for a, b in zip(offsets[:-1], offsets[1:])]
    ids = list(ref["object_id"])
    valid = ref["mask_in"][:, :, 0] > 0.5
    for output, tol in (("mean", 5e-4), ("max", 2e-3)):
        got = enc.encode(lcs, ids, concatenate=False, output=output)
        assert got.shape == ref[output].shape
        assert np.abs(got - ref[output]).max() < tol, output
    seq = enc.encode(lcs, ids, concatenate=False, output="sequence")
    assert [len(s) for s in seq] == list(valid.sum(axis=1))
    assert max(np.abs(s - r[v]).max() for s, r, v in zip(seq, ref["sequence"], valid) if len(s)) < 2e-3
    # concatenate=True: per object the average of its windows' means (synthetic_450obs has three)
    per_object = enc.encode(lcs, ids)
    expected = np.stack([ref["mean"][ref["window_object"] == k].mean(axis=0) for k in range(len(ids))])
    assert np.abs(per_object - expected).max() < 5e-4
    assert (np.bincount(ref["window_object"]) > 1).any()


def test_encode_equals_embed_catalog(lcx_home, shared_models, eros40, offline):
    from explorer.engine import embed_catalog

    enc = SingleBandEncoder.from_pretraining(shared_models / "checkpoints" / "atlas.zip")
    assert enc.name == "astromer1-atlas"
    X = enc.encode(_lcs(eros40), list(eros40.object_ids))          # batch_size=1, as the original
    reference = embed_catalog(eros40, "astromer1-atlas", output="mean", reduction="non-overlapping-windows",
                              cache=False)
    assert reference.meta["n_windows"] > len(eros40)                # objects with several windows
    assert X.dtype == np.float32 and X.shape == (40, 256)
    assert np.abs(X - reference.matrix()).max() <= 1e-6
    # arrays sharing an id are one object: the average over all their windows
    lcs = _lcs(eros40)[:3]
    both = enc.encode(lcs, ["a", "b", "a"], batch_size=8)
    windows = enc.encode(lcs, concatenate=False, batch_size=8)
    n_win = [2, 2, 2]
    assert both.shape == (2, 256) and windows.shape == (sum(n_win), 256)
    assert np.allclose(both[0], windows[[0, 1, 4, 5]].mean(axis=0), atol=1e-6)
    # the original library's return: the valid positions of the object's windows, concatenated
    seqs = enc.encode(lcs, ["a", "b", "c"], output="sequence", batch_size=8)
    assert [len(s) for s in seqs] == [len(lc) for lc in lcs]


def test_load_weights_original_formats_and_errors(tmp_path, shared_models, lcx_home):
    from explorer.astromer import read_checkpoint_weights

    with zipfile.ZipFile(shared_models / "checkpoints" / "macho.zip") as zf:
        zf.extractall(tmp_path)
    enc = SingleBandEncoder()
    with pytest.raises(ModelError, match="from_pretraining"):
        enc.encode([np.zeros((3, 3))])
    enc.load_weights(tmp_path / "macho")                              # TF2 checkpoint folder (weights.index)
    archive = read_checkpoint_weights(shared_models / "checkpoints" / "macho.zip")
    assert all(np.array_equal(enc.weights.encoder[k], v) for k, v in archive.encoder.items())
    assert enc.weights.head is not None                               # the pre-training head comes along
    with zipfile.ZipFile(shared_models / "checkpoints" / "atlas.zip") as zf:
        zf.extractall(tmp_path)
    enc.load_weights(tmp_path / "atlas")                              # Keras HDF5 weights.h5
    assert enc.weights.provenance["weights_format"] == "keras-hdf5"
    with pytest.raises(ModelError, match="dff 128.*built with 2, 256, 4, 256"):
        SingleBandEncoder(dff=256).load_weights(tmp_path / "macho")
    with pytest.raises(ModelError, match="not found"):
        enc.load_weights(tmp_path / "nowhere")
    with pytest.raises(ModelError, match=r"dataset\[1\] \(id b\) has 1 rows with a non-finite"):
        enc.encode([np.ones((3, 3)), np.array([[0.0, np.nan, 0.0]])], ["a", "b"])
    with pytest.raises(ModelError, match="maxlen"):
        SingleBandEncoder(maxlen=100)


def test_from_pretraining_offline_says_how_to_get_weights(lcx_home, offline):
    with pytest.raises(ModelError) as info:
        SingleBandEncoder.from_pretraining("nosuchsurvey")
    msg = str(info.value)
    assert "cannot download http://127.0.0.1:9/nosuchsurvey.zip" in msg
    assert "lcexplorer models import nosuchsurvey.zip --name astromer1-nosuchsurvey" in msg
    assert "not in the local model store" in msg


def test_from_pretraining_download_path(lcx_home, shared_models, tmp_path, monkeypatch):
    # the original library's download code path, fed from a local file:// address (no network here)
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(shared_models / "checkpoints" / "atlas.zip", served / "mysurvey.zip")
    monkeypatch.setenv("LCEXPLORER_ASTROMER_WEIGHTS_URL", served.as_uri() + "/{name}.zip")
    enc = SingleBandEncoder.from_pretraining("mysurvey")
    assert enc.name == "astromer1-mysurvey"
    assert (lcx_home / "downloads" / "mysurvey.zip").read_bytes() == (served / "mysurvey.zip").read_bytes()
    again = SingleBandEncoder.from_pretraining("mysurvey")            # now from the store, no download
    assert again.weights.sha256() == enc.weights.sha256()
    monkeypatch.setenv("LCEXPLORER_ASTROMER_WEIGHTS_URL", served.as_uri() + "/{name}.zip")
    (served / "mysurvey.zip").unlink()
    assert SingleBandEncoder.from_pretraining("astromer1-mysurvey").name == "astromer1-mysurvey"


# ---------------------------------------------------------------------------------------------- pretraining

def _windows_of(batch):
    return zip(batch["length"], batch["mask_out"][:, :, 0], batch["mask_in"][:, :, 0], batch["input"][:, :, 0],
               batch["output"][:, :, 0])


@pytest.mark.parametrize("msk, rnd, same", [(0.5, 0.2, 0.2), (0.15, 0.1, 0.1), (1.0, 0.0, 0.0), (0.3, 1.0, 0.0)])
def test_make_pretraining_exact_counts(eros40, msk, rnd, same):
    data = make_pretraining(eros40, batch_size=16, max_obs=200, msk_frac=msk, rnd_frac=rnd, same_frac=same,
                            bands=["R"], seed=3)
    assert len(data) == 3 and data.n_windows == 40
    for batch in data:
        for n, probed, seen, inp, true in _windows_of(batch):
            k = int(np.floor(n * msk + 1e-9))
            n_same = int(np.ceil(k * same - 1e-9))
            n_rand = int(np.ceil((k - n_same) * rnd - 1e-9))
            hidden = probed.astype(bool) & (seen == 0)
            assert probed[:n].sum() == k and probed[n:].sum() == 0 and seen[n:].sum() == 0
            assert hidden.sum() == k - n_same - n_rand
            assert np.all(inp[hidden] == 0)
            changed = probed.astype(bool) & ~hidden & (inp != true)
            assert changed.sum() <= n_rand                     # random values may coincide with the true one
            assert np.array_equal(inp[~probed.astype(bool)], true[~probed.astype(bool)])


def test_make_pretraining_statistics_and_seeding(eros40):
    data = make_pretraining(eros40, batch_size=40, max_obs=200, msk_frac=0.5, rnd_frac=0.2, same_frac=0.2,
                            bands=["R"], seed=7, redraw=True)
    probed = np.zeros(200)
    hidden = np.zeros(200)
    passes = 200
    for _ in range(passes):
        (batch,) = list(data)
        first = batch["length"] >= 100                          # every window has >= 100 valid positions here
        probed[:100] += batch["mask_out"][first, :100, 0].sum(axis=0)
        hidden[:100] += (batch["mask_out"][first, :100, 0] * (1 - batch["mask_in"][first, :100, 0])).sum(axis=0)
        n_rows = first.sum()
    # each of the first 100 positions is probed with probability floor(0.5 n)/n ~ 0.5: 5 sigma binomial bands
    trials = passes * n_rows
    freq = probed[:100] / trials
    assert np.all(np.abs(freq - 0.5) < 5 * np.sqrt(0.25 / trials) + 0.01)
    assert abs(hidden[:100].sum() / probed[:100].sum() - 0.62) < 0.02   # ~ (k - ceil(.2k) - ceil(.2 .8k)) / k
    # seeded: same seed, same batches; another seed, other masks; no redraw: identical passes
    a = [b["mask_out"] for b in make_pretraining(eros40, batch_size=8, msk_frac=0.5, bands="R", seed=1)]
    b = [b["mask_out"] for b in make_pretraining(eros40, batch_size=8, msk_frac=0.5, bands="R", seed=1)]
    c = [b["mask_out"] for b in make_pretraining(eros40, batch_size=8, msk_frac=0.5, bands="R", seed=2)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not all(np.array_equal(x, y) for x, y in zip(a, c))
    fixed = make_pretraining(eros40, batch_size=8, msk_frac=0.5, bands="R", shuffle=True)
    assert all(np.array_equal(x["input"], y["input"]) for x, y in zip(fixed, fixed))


def test_make_pretraining_unmasked_equals_engine_inputs(eros40, lcx_home, shared_models):
    from explorer.engine.models import Astromer1
    from explorer.engine.reductions import NonOverlappingWindows
    from explorer.engine.windows import all_segments, build_windows
    from explorer.astromer.encoder import lightcurve_arrays

    lcs = _lcs(eros40)                                        # both bands: two windows per object
    (batch,) = list(make_pretraining(lcs, batch_size=1000, max_obs=200))
    data, _ = lightcurve_arrays(lcs)
    enc = SingleBandEncoder.from_pretraining(shared_models / "checkpoints" / "atlas.zip")
    embedder = Astromer1(enc.onnx_model())
    windows = build_windows(all_segments(data.offsets), NonOverlappingWindows(), 200)
    feeds = embedder.prepare(windows.obs, embedder.model_arrays(data), embedder.make_buffers(len(windows.obs)))
    for name in ("input", "times", "mask_in"):
        assert np.array_equal(batch[name], feeds[name]), name
    assert batch["mask_out"].sum() == 0


def test_make_pretraining_options_and_errors(eros40):
    sampled = make_pretraining(eros40, batch_size=64, sampling=True, max_obs=50, bands=["B"], seed=0)
    (batch,) = list(sampled)
    assert len(batch["length"]) == 40 and batch["length"].max() == 50
    assert list(batch["id"]) == list(eros40.object_ids)
    two = make_pretraining(eros40, batch_size=1000, max_obs=100, bands=["R", "B"], repeat=2)
    (batch,) = list(two)
    per_band = [np.diff(eros40.band_subset(b).offsets) for b in ("R", "B")]
    assert two.n_windows == sum(int((-(-n // 100)).sum()) for n in per_band) > 80
    assert len(batch["id"]) == 2 * two.n_windows and batch["id"][0].endswith("_R") and batch["id"][1].endswith("_R")
    # hidden="keep": the original's masking, hidden points keep their true magnitude (only mask_in hides them)
    keep = make_pretraining(eros40, batch_size=64, max_obs=200, msk_frac=0.5, bands="R", hidden="keep", seed=4)
    zero = make_pretraining(eros40, batch_size=64, max_obs=200, msk_frac=0.5, bands="R", seed=4)
    (k,), (z,) = list(keep), list(zero)
    hidden = (k["mask_out"] > 0) & (k["mask_in"] == 0)
    assert hidden.sum() > 0 and np.array_equal(k["mask_in"], z["mask_in"])
    assert np.array_equal(k["input"][hidden], k["output"][hidden]) and np.all(z["input"][hidden] == 0)
    with pytest.raises(ModelError, match="hidden must be"):
        make_pretraining(eros40, bands="R", hidden="drop")
    with pytest.raises(ModelError, match="bands B, R.*bands=\\['R'\\]"):
        make_pretraining(eros40)
    with pytest.raises(ModelError, match="msk_frac"):
        make_pretraining(eros40, bands="R", msk_frac=1.5)
    with pytest.raises(ModelError, match="max_obs = 300"):
        make_pretraining(eros40, bands="R", max_obs=300)


def test_inference_and_cli_import_without_torch():
    # torch is an optional extra: only fit/finetune import it
    import subprocess
    import sys

    code = ("import sys, explorer.astromer, explorer.astromer.training, explorer.cli.finetune; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
