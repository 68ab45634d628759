"""Issue 18 items 10 and 11: every object without an embedding is named with its reason, doubtful times are said.

Real stand-in ONNX model, real runner; the CLI runs as a subprocess (``python -m explorer.cli``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer.catalog import Catalog
from explorer.engine import embed_catalog, load_model
from explorer.engine.diagnose import MAX_TIME_SPAN_DAYS, summary
from standin_models import build_astromer_standin

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = build_astromer_standin(tmp_path_factory.mktemp("diag") / "a1.onnx")
    return path, load_model(path, threads=1)


def catalog(kind="mag", n=5, length=40, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"o{k}" for k in range(n)], length)
    t = np.concatenate([np.sort(rng.uniform(0, 1000, length)) + 50000 for _ in range(n)])
    v = rng.normal(18, 0.3, n * length) if kind == "mag" else rng.normal(1000, 100, n * length)
    return ids, t, v


def test_non_positive_fluxes_are_named(model):
    ids, t, v = catalog("flux")
    v[40:80] = 0.0
    v[80:120] = -5.0
    v[120:159] = -1.0     # o3 keeps one positive flux: embedded
    cat = Catalog.from_long(ids, t, v, value_kind="flux", name="neg")
    res = embed_catalog(cat, model[1], cache=False)
    assert sorted(set(res.object_index.tolist())) == [0, 3, 4]
    assert res.meta["failed"] == []
    no_data = {d["object_id"]: d["reason"] for d in res.meta["no_data"]}
    assert set(no_data) == {"o1", "o2"}
    assert all("no usable observation" in r and "40 fluxes" in r for r in no_data.values())
    assert np.isnan(res.matrix()[[1, 2]]).all()


def test_empty_objects_and_bands_not_embedded_are_named(model):
    ids, t, v = catalog()
    band = np.where(np.arange(len(t)) < 80, "R", "B")   # o0, o1 only R; o2.. only B
    objects = pd.DataFrame({"object_id": [f"o{k}" for k in range(6)]})   # o5 has no observation
    cat = Catalog.from_long(ids, t, v, None, band, objects=objects)
    res = embed_catalog(cat, model[1], bands=["R"], cache=False)
    reasons = {d["object_id"]: d["reason"] for d in res.meta["no_data"]}
    assert reasons == {"o2": "no observation in the bands embedded", "o3": "no observation in the bands embedded",
                       "o4": "no observation in the bands embedded", "o5": "no observations"}


def test_one_stray_time_is_said(model):
    ids, t, v = catalog()
    t[45] = 1e12                            # o1: one observation at time 1e12
    cat = Catalog.from_long(ids, t, v, name="t12")
    res = embed_catalog(cat, model[1], cache=False)
    assert len(set(res.object_index.tolist())) == 5   # still embedded: one doubtful point is not a failure
    warned = res.meta["warnings"]
    assert [w["object_id"] for w in warned] == ["o1"]
    assert "1e+12" in warned[0]["warning"] and f"{MAX_TIME_SPAN_DAYS:.0e}" in warned[0]["warning"]
    assert "o1" in summary(res.meta)
    clean = embed_catalog(Catalog.from_long(*catalog()), model[1], cache=False)
    assert clean.meta["warnings"] == [] and clean.meta["no_data"] == [] and summary(clean.meta) == ""


def run_cli(args, home):
    env = dict(os.environ, LCEXPLORER_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_cli_names_objects_without_an_embedding_and_why(model, tmp_path):
    ids, t, v = catalog("flux")
    v[40:80] = -3.0                                         # o1: no magnitude
    t[125] = 1e12                                           # o3: one stray time
    cat = Catalog.from_long(ids, t, v, value_kind="flux", name="mixed")
    cat.time[cat.offsets[2]:cat.offsets[3]] = np.linspace(1e300, 3e300, 40)   # o2: non-finite embedding
    folder = tmp_path / "mixed"
    cat.to_parquet(folder, name="mixed")
    out = tmp_path / "emb.parquet"
    run = run_cli(["embed", str(folder), "--model", str(model[0]), "--threads", "1", "--no-cache", "-o", str(out)],
                  tmp_path / "home")
    assert run.returncode == 0, run.stderr[-3000:]
    err = run.stderr
    assert "embeddings of 3 of 5 objects" in err, err
    line = next(ln for ln in err.splitlines() if ln.startswith("objects:"))
    assert "1 failed (o2" in line and "non-finite embedding" in line
    assert "1 with no usable observation (o1)" in line
    assert "doubtful times (o3" in line
    assert "without data" not in err
    meta = json.loads(pq.read_schema(out).metadata[b"lcexplorer"])
    assert [d["object_id"] for d in meta["no_data"]] == ["o1"]
