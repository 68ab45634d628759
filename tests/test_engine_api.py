"""The light_curve.embed API on every family class, and the Hub path from a pre-filled cache, offline.

- light_curve.embed's documented examples (the doctests of its classes), plus one example per
  family in the same style, run twice in a fresh interpreter: as written, and with
  ``light_curve.embed`` replaced by ``explorer.engine``; both read the same stand-in files from a
  pre-filled Hugging Face cache with HF_HUB_OFFLINE=1, and must give equal arrays (and the printed
  shapes the documentation shows).
- ``preprocess_lc`` returns typed tensors equal to light_curve's, ``predict_tensors`` its numbers.
- ``from_hf`` and ``load_model(alias)`` of every family work offline from the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from explorer.engine import FAMILIES, load_model, model_class
from explorer.engine.sources import HUB_MODELS
from explorer.errors import ModelError
from standin_models import STANDIN_BUILDERS

lce = pytest.importorskip("light_curve.embed")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def prefill_hub_cache(cache: Path) -> dict:
    """Put a stand-in for every Hub file of every family where huggingface_hub's cache layout expects it."""
    paths = {}
    for alias, hub in HUB_MODELS.items():
        folder = cache / f"models--{hub.repo_id.replace('/', '--')}"
        target = folder / "snapshots" / COMMIT / hub.filename
        kwargs = {"d_model": FAMILIES[hub.kind].sizes[hub.size]} if hub.size else {}
        STANDIN_BUILDERS[hub.kind](target, **kwargs)
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        (folder / "refs" / "main").write_text(COMMIT)
        paths[alias] = target
    return paths


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf_hub")
    return cache, prefill_hub_cache(cache)


@pytest.fixture
def offline(hub_cache, monkeypatch):
    cache, paths = hub_cache
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return paths


# one example per family in the style of light_curve.embed's documentation (it has doctests for three)
EXTRA_EXAMPLES = {
    # ATAT's own example (bands g and r only, non-overlapping windows) raises in light_curve 0.13.3: the
    # four absent bands give no window; the same light curve with one window per band
    "ATAT-beginning": """
import numpy as np
from light_curve.embed import ATAT
model = ATAT.from_hf(output="sequence", band_groups={"u": 0, "g": 1, "r": 2, "i": 3, "z": 4, "Y": 5},
                     reduction="beginning")
time = np.linspace(0, 200, 100, dtype=np.float32)
flux = np.ones(100, dtype=np.float32)
band = np.array(["g", "r"] * 50)
embedding = model(time, flux, band)
""",
    "Astromer1": """
import numpy as np
from light_curve.embed import Astromer1
model = Astromer1.from_hf(output="mean")
rng = np.random.default_rng(1)
time = np.sort(rng.uniform(0, 1000, 450))
mag = rng.normal(17, 0.3, 450)
embedding = model(time, mag)
""",
    "Astromer2": """
import numpy as np
from light_curve.embed import Astromer2
model = Astromer2.from_hf(output="max", bands=["g", "r"], reduction="random-subsample", reduction_kwargs={"rng": 3})
rng = np.random.default_rng(2)
time = np.sort(rng.uniform(0, 1000, 500))
mag = rng.normal(17, 0.3, 500)
band = np.array(["g", "r"])[rng.integers(0, 2, 500)]
embedding = model(time, mag, band=band)
""",
    "Astromer1ZTF": """
import numpy as np
from light_curve.embed import Astromer1ZTF
model = Astromer1ZTF.from_hf("sequence", reduction=["beginning", "end"])
rng = np.random.default_rng(3)
time = np.sort(rng.uniform(58_200, 59_300, 260))
mag = rng.normal(18, 0.4, 260)
embedding = model(time, mag)
""",
    "Moment1": """
import numpy as np
from light_curve.embed import Moment1
model = Moment1.from_hf("small", reduction="non-overlapping-windows")
mag = np.random.default_rng(4).normal(16, 0.2, 1100)
embedding = model(mag)
""",
    "ChronosBolt": """
import numpy as np
from light_curve.embed import ChronosBolt
model = ChronosBolt.from_hf("tiny", output="sequence")
mag = np.random.default_rng(5).normal(16, 0.2, 300)
embedding = model(mag)
""",
    "Chronos2": """
import numpy as np
from light_curve.embed import Chronos2
model = Chronos2.from_hf()
mag = np.random.default_rng(6).normal(16, 0.2, 5000)
embedding = model(mag)
""",
}

# runs in a fresh interpreter: huggingface_hub reads HF_HUB_CACHE when it is imported
SCRIPT = r"""
import doctest, json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
import light_curve.embed as lce

extra = json.loads(sys.argv[2])
tests = {}
for name in ("ATCAT", "ATAT", "AstraCLR"):
    found = [t for t in doctest.DocTestFinder().find(getattr(lce, name), name) if t.name == name]
    tests[name] = [(ex.source, ex.want) for ex in found[0].examples]
import ast
for name, src in extra.items():   # one example per statement, as a doctest has them
    tests[name] = [(ast.get_source_segment(src, node) + "\n", "") for node in ast.parse(src).body]
out, report = {}, {}
for name, examples in tests.items():
    for module in ("light_curve.embed", "explorer.engine"):
        dt = doctest.DocTest([doctest.Example(s.replace("light_curve.embed", module), w) for s, w in examples],
                             {}, f"{name}[{module}]", None, 0, None)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        log = []
        runner.run(dt, out=log.append, clear_globs=False)
        report[f"{name}|{module}"] = [runner.failures, len(examples), type(dt.globs.get("model")).__module__,
                                      "".join(log)[-1500:]]
        if "embedding" in dt.globs:
            out[f"{name}|{module}"] = np.asarray(dt.globs["embedding"])
np.savez(sys.argv[1], **out)
print(json.dumps(report))
"""


def test_documented_examples_with_our_module(hub_cache, tmp_path):
    cache, _ = hub_cache
    env = dict(os.environ, HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    out = tmp_path / "embeddings.npz"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(out), json.dumps(EXTRA_EXAMPLES)], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    # light_curve's ATAT example refuses (ValueError): ours refuses the same light curve with a ModelError
    # (a ValueError) saying why, rather than returning numbers
    theirs, ours = report["ATAT|light_curve.embed"], report["ATAT|explorer.engine"]
    assert theirs[0] > 0 and "ValueError" in theirs[3]
    assert ours[0] == theirs[0] and "ModelError" in ours[3] and "different numbers of windows" in ours[3]
    names = ["ATCAT", "AstraCLR", *EXTRA_EXAMPLES]
    for name in names:
        theirs, ours = report[f"{name}|light_curve.embed"], report[f"{name}|explorer.engine"]
        assert theirs[0] == 0 and ours[0] == 0, (name, theirs[3], ours[3])   # every shown output (shapes) as documented
        assert theirs[2].startswith("light_curve.embed") and ours[2].startswith("explorer.engine")
    with np.load(out) as z:
        for name in names:
            want, got = z[f"{name}|light_curve.embed"], z[f"{name}|explorer.engine"]
            assert got.shape == want.shape and got.ndim == 4, name
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)


def _sessions(tmp_path):
    return {kind: load_model(build(tmp_path / f"{kind}.onnx"), kind=kind, threads=1)
            for kind, build in STANDIN_BUILDERS.items()}


def test_preprocess_lc_and_predict_tensors_match(tmp_path):
    """Typed tensors field by field (the same ONNX feed) and predict_tensors numbers, for every family."""
    models = _sessions(tmp_path)
    rng = np.random.default_rng(0)
    n = 420
    time = np.sort(rng.uniform(58_300, 59_300, n))
    mag = rng.normal(17, 0.3, n)
    err = np.full(n, 0.03)
    flux = 10 ** (-0.4 * (mag - 31.4))
    cases = {
        "astromer1": ((time, mag), dict(output="sequence", reduction="non-overlapping-windows"), "Astromer1"),
        "astromer1-ztf": ((time, mag), dict(output="mean", reduction=["middle", "end"]), "Astromer1ZTF"),
        "atcat": ((time, flux, err * flux, rng.integers(0, 6, n)), dict(output="mean"), "ATCAT"),
        "atat": ((time, flux, rng.integers(0, 6, n)), dict(output="sequence", reduction="end"), "ATAT"),
        "astraclr": ((time, mag, err, rng.integers(0, 3, n)), dict(reduction=["beginning", "end"]), "AstraCLR"),
        "moment1": (((mag),), dict(size="small", reduction="non-overlapping-windows"), "Moment1"),
        "chronos-bolt": (((mag),), dict(size="tiny", output="sequence"), "ChronosBolt"),
        "chronos2": (((mag),), dict(), "Chronos2"),
    }
    for kind, (arrays, options, name) in cases.items():
        theirs = getattr(lce, name)(models[kind].session, **options)
        ours_options = {k: v for k, v in options.items() if not (k == "size" and not FAMILIES[kind].sizes)}
        ours = model_class(kind)(models[kind], **ours_options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_t = theirs.preprocess_lc(*arrays)
            want = theirs.predict_tensors(want_t)
        got_t = ours.preprocess_lc(*arrays)
        if FAMILIES[kind].band_handling != "series":   # series: light_curve builds the context at predict time
            assert set(got_t) == set(want_t.asdict()), kind
            for field_name, value in want_t.asdict().items():
                np.testing.assert_allclose(got_t[field_name], value, rtol=1e-6, atol=1e-6,
                                           err_msg=f"{kind} {field_name}")
                assert got_t[field_name].dtype == value.dtype, (kind, field_name)
            np.testing.assert_array_equal(got_t.bool_mask.reshape(want_t.bool_mask.shape), want_t.bool_mask)
        got = ours.predict_tensors(got_t)
        assert got.shape == want.shape, kind
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=kind)
        # and __call__ = predict_tensors(preprocess_lc(...)) with the band axis in front (light_curve's Dim order)
        call = ours(*arrays)   # the band array is positional in every family's __call__, as in light_curve
        assert call.shape == (1,) + want.shape, kind
        np.testing.assert_allclose(call[0], want, rtol=1e-6, atol=1e-6, err_msg=f"{kind} __call__")


@pytest.mark.parametrize("kind", list(FAMILIES))
def test_from_hf_works_offline_from_the_cache(offline, kind):
    fam = FAMILIES[kind]
    cls = model_class(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls.from_hf(*([next(iter(fam.sizes))] if fam.sizes else []))
    assert model.model.origin == "hub" and model.kind == kind
    assert Path(model.model.path).resolve() == offline[fam.hub[0].alias].resolve()
    for hub in fam.hub:
        loaded = load_model(hub.alias, threads=1)
        assert loaded.kind == kind and loaded.card.get("size") == hub.size


def test_from_hf_session_kwargs_and_missing_file(offline, hub_cache):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    model = model_class("atat").from_hf("mean", ort_session_kwargs={"sess_options": so,
                                                                    "providers": ["CPUExecutionProvider"]})
    assert model.output == "mean" and model.model.origin == "hub"
    cache, paths = hub_cache
    moved = paths["chronos2"].with_suffix(".away")
    paths["chronos2"].rename(moved)
    try:
        with pytest.raises(ModelError, match="offline mode is on"):
            model_class("chronos2").from_hf()
    finally:
        moved.rename(paths["chronos2"])
    with pytest.raises(ModelError, match="unknown size 'huge'.*small, base, large"):
        model_class("moment1").from_hf("huge")


def test_store_kinds_detection_and_family_checks(tmp_path, lcx_home):
    """Store kinds come from the registry; a bare file's family is found from its interface; a class refuses
    another family's file unless the interfaces are the same."""
    from explorer import store
    from explorer.engine import embed_catalog
    from explorer.engine.families import default_output, outputs_for
    from explorer.engine.interfaces import detect_kind

    assert store.KINDS == tuple(FAMILIES)
    models = _sessions(tmp_path)
    for kind, model in models.items():
        detected = detect_kind(model.session)
        same = [k for k in FAMILIES if FAMILIES[k].interface.inputs == FAMILIES[kind].interface.inputs]
        assert detected == (same[0] if kind != "moment1" else "moment1"), kind
    store.install_model("my-atat", models["atat"].path, {"kind": "atat"})
    assert load_model("my-atat").kind == "atat"
    rng = np.random.default_rng(1)
    from explorer.catalog import Catalog

    n = 200
    cat = Catalog.from_long(np.repeat(["a", "b"], n // 2), np.tile(np.sort(rng.uniform(0, 300, n // 2)), 2),
                            rng.lognormal(7, 1, n), np.full(n, 30.0), np.array(list("ugrizY"))[rng.integers(0, 6, n)],
                            value_kind="flux", name="toy")
    res = embed_catalog(cat, "my-atat", reduction="beginning", cache=False)
    assert res.meta["output"] == default_output("atat") == "token" and res.embeddings.shape == (2, 192)
    assert outputs_for("atat") == ("token", "mean") and outputs_for("astraclr") == ("mean",)
    assert set(outputs_for(None)) == {"mean", "max", "last", "token"}
    model_class("astromer1-ztf")(models["astromer1"], output="max")   # the same interface: accepted
    with pytest.raises(ModelError, match="is a atcat model; it cannot drive atat"):
        model_class("atat")(models["atcat"])
    with pytest.raises(ModelError, match="gives 256-d embeddings, but size 'base'"):
        model_class("chronos-bolt")(models["chronos-bolt"], size="base")
    with pytest.raises(ModelError, match="ATAT is a multiband model: give band_groups"):
        model_class("atat")(models["atat"], bands=["g"])


def test_cli_lists_every_family(capsys):
    from explorer.cli import main

    assert main(["models", "families"]) == 0
    out = capsys.readouterr().out
    for kind, fam in FAMILIES.items():
        line = next(li for li in out.splitlines() if li.startswith(kind + " "))
        assert fam.class_name in line and f"{fam.default_output}*" in line
        assert all(h.alias in line for h in fam.hub)


def test_cli_embeds_with_a_new_family(tmp_path, lcx_home, capsys):
    """``lcexplorer embed`` with an ATAT file: LSST labels mapped, the family's default output (token)."""
    import pyarrow.parquet as pq

    from explorer.catalog import Catalog
    from explorer.cli import main

    rng = np.random.default_rng(2)
    n = 300
    cat = Catalog.from_long(np.repeat(["a", "b", "c"], n // 3), np.tile(np.sort(rng.uniform(0, 300, n // 3)), 3),
                            rng.lognormal(7, 1, n), np.full(n, 30.0), np.array(list("ugrizY"))[rng.integers(0, 6, n)],
                            value_kind="flux", name="toy")
    cat.to_parquet(tmp_path / "cat", name="toy")
    model = STANDIN_BUILDERS["atat"](tmp_path / "atat.onnx")
    out = tmp_path / "emb.parquet"
    rc = main(["embed", str(tmp_path / "cat"), "--model", str(model), "--reduction", "end", "--threads", "1",
               "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"lcexplorer"])
    assert meta["kind"] == "atat" and meta["output"] == "token" and meta["reduction"] == "end"
    assert table.num_rows == 3 and len(table.column("embedding")[0]) == 192
