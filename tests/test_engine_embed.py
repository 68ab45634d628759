"""Whole-catalog embedding: windows, result alignment, robustness, cache, int8 mode and the CLI."""

from __future__ import annotations

import json
import threading

import numpy as np
import pyarrow.parquet as pq
import pytest

from explorer.catalog import Catalog
from explorer.engine import ATCAT, Astromer1, NonOverlappingWindows, embed_catalog, load_model, reduction_from_name
from explorer.engine.windows import all_segments, band_segments, build_windows
from explorer.errors import ModelError
from standin_models import build_astromer_standin, build_atcat_standin


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standin_embed")
    return {
        "a1": build_astromer_standin(folder / "a1.onnx"),
        "a1b": build_astromer_standin(folder / "a1b.onnx", seed=1),
        "atcat": build_atcat_standin(folder / "atcat.onnx"),
    }


def toy_catalog(lengths, bands=("R", "B"), seed=0, value_kind="mag"):
    """Objects with the given numbers of observations, bands alternating."""
    rng = np.random.default_rng(seed)
    ids, t, v, e, b = [], [], [], [], []
    for k, n in enumerate(lengths):
        ids += [f"obj{k}"] * n
        t.append(np.sort(rng.uniform(0, 1000, n)) + 50000)
        v.append(rng.normal(18, 0.3, n) if value_kind == "mag" else rng.normal(1000, 100, n))
        e.append(np.full(n, 0.05))
        b.append(np.array(bands)[np.arange(n) % len(bands)])
    import pandas as pd

    objects = pd.DataFrame({"object_id": [f"obj{k}" for k in range(len(lengths))]})
    return Catalog.from_long(np.array(ids), np.concatenate(t), np.concatenate(v), np.concatenate(e),
                             np.concatenate(b), objects=objects, value_kind=value_kind, name="toy")


def test_vectorised_windows():
    offsets = np.cumsum([0, 0, 1, 199, 200, 201, 450])
    w = build_windows(all_segments(offsets), NonOverlappingWindows(), 200)
    assert w.row_windows.tolist() == [1, 1, 1, 2, 3]           # the empty object has no row
    assert w.row_segment.tolist() == [1, 2, 3, 4, 5]
    assert (w.obs[-1] >= 0).sum() == 50 and w.obs[-1, 0] == offsets[5] + 400
    assert (w.obs >= 0).sum() == offsets[-1]                    # every observation used exactly once
    m = build_windows(all_segments(offsets), reduction_from_name("middle,end"), 200)
    assert m.row_strategy.tolist() == [0, 1] * 5
    assert m.obs[-2, 0] == offsets[5] + 450 // 2 - 100 and m.obs[-1, 0] == offsets[5] + 250
    band = np.array([0, 1] * (offsets[-1] // 2) + [0] * (offsets[-1] % 2), np.int16)
    seg = band_segments(offsets, band, [np.array([1], np.int16), np.array([0], np.int16)])
    assert seg.length.reshape(-1, 2).sum(axis=1).tolist() == np.diff(offsets).tolist()
    assert (band[seg.pool[seg.start[1::2][3]: seg.start[1::2][3] + seg.length[1::2][3]]] == 0).all()


def test_result_alignment_empty_objects_and_bands(files, lcx_home):
    cat = toy_catalog([30, 0, 450, 5], bands=("R", "B"))
    # obj3 has 5 observations: 3 R, 2 B; give obj0 only R by construction below
    res = embed_catalog(cat, load_model(files["a1"], threads=1), bands=["R", "B"], cache=False)
    assert res.embeddings.shape == (6, 256)
    assert res.object_index.tolist() == [0, 0, 2, 2, 3, 3]
    assert res.band.tolist() == ["R", "B"] * 3
    mat = res.matrix()
    assert mat.shape == (4, 512) and np.isnan(mat[1]).all() and np.isfinite(mat[[0, 2, 3]]).all()
    np.testing.assert_array_equal(mat[2, 256:], res.embeddings[3])
    used = res.observations_used(2)
    assert len(used) == 450 and used.min() == cat.offsets[2]
    assert res.window_obs.shape[1] == 200 and len(res.window_row) == 2 + 2 * 2 + 2 - 0
    frame = res.to_frame()
    assert frame.object_id.tolist() == ["obj0", "obj0", "obj2", "obj2", "obj3", "obj3"]


def test_one_bad_light_curve_does_not_kill_the_catalog(files):
    cat = toy_catalog([40, 40, 40])
    cat.time[cat.offsets[1]:cat.offsets[2]] = np.linspace(1e300, 3e300, 40)  # float32 overflow -> NaN output
    res = embed_catalog(cat, load_model(files["a1"], threads=1), cache=False)
    assert res.object_index.tolist() == [0, 2]
    assert res.meta["failed"][0]["object_id"] == "obj1" and "non-finite" in res.meta["failed"][0]["error"]
    assert np.isnan(res.matrix()[1]).all() and np.isfinite(res.matrix()[[0, 2]]).all()


def test_progress_and_batches(files):
    cat = toy_catalog([300] * 7 + [20])
    calls = []
    res = embed_catalog(cat, load_model(files["a1"], threads=1), batch_size=4, cache=False,
                        progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 15) and calls[-1] == (15, 15) and len(calls) == 5
    ref = embed_catalog(cat, load_model(files["a1"], threads=1), batch_size=64, cache=False)
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=1e-5)


def test_cache_hits_and_misses(files, lcx_home):
    cat = toy_catalog([250, 30, 0, 12])
    model = load_model(files["a1"], threads=1)
    first = embed_catalog(cat, model, output="mean")
    assert first.meta["from_cache"] is False and first.meta["inference_windows"] == 4
    second = embed_catalog(cat, model, output="mean")
    assert second.meta["from_cache"] is True and second.meta["inference_windows"] == 0
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    np.testing.assert_array_equal(first.window_obs, second.window_obs)
    assert second.block_strategies == first.block_strategies
    assert (lcx_home / "embeddings").is_dir()
    variants = [
        dict(output="max"),
        dict(output="mean", reduction="end"),
        dict(output="mean", bands=["R"]),
        dict(output="mean", reduction="random-subsample", seed=1),
    ]
    for kw in variants:
        assert embed_catalog(cat, model, **kw).meta["from_cache"] is False, kw
    assert embed_catalog(cat, model, output="mean", reduction="random-subsample", seed=2).meta["from_cache"] is False
    assert embed_catalog(cat, load_model(files["a1b"], threads=1)).meta["from_cache"] is False
    other = toy_catalog([250, 30, 0, 12], seed=1)
    assert embed_catalog(other, model).meta["from_cache"] is False
    assert embed_catalog(cat, model, cache=lcx_home / "elsewhere").meta["from_cache"] is False
    assert embed_catalog(cat, model, cache=lcx_home / "elsewhere").meta["from_cache"] is True


def test_atcat_extra_bands_and_magnitudes(files):
    cat = toy_catalog([30, 12, 20], bands=("g", "r", "X"), value_kind="flux")
    model = load_model(files["atcat"], threads=1)
    with pytest.raises(ModelError, match=r"bands \['X'\] that band_groups does not map"):
        embed_catalog(cat, model, output="last", band_groups={"g": 1, "r": 2})
    res = embed_catalog(cat, model, output="last", band_groups={"g": 1, "r": 2}, allow_extra_bands=True, cache=False)
    assert res.object_index.tolist() == [0, 1, 2] and res.embeddings.shape == (3, 384)
    used = res.observations_used(0)
    assert set(cat.band[used].tolist()) == {cat.bands.index("g"), cat.bands.index("r")}
    with pytest.raises(ModelError, match="needs band_groups"):
        embed_catalog(cat, model, output="last", allow_extra_bands=True)
    with pytest.raises(ModelError, match="not bands"):
        ATCAT(model, bands=["g"])
    with pytest.raises(ModelError, match="LSST indices 0-5"):
        ATCAT(model, band_groups={"g": 7})
    two = embed_catalog(cat, model, output="mean", band_groups=[{"g": 1}, {"r": 2}], allow_extra_bands=True,
                        cache=False)
    assert two.matrix().shape == (3, 768) and set(two.band) == {"g", "r"}
    mags = toy_catalog([30, 12], bands=("g", "r"))
    assert np.isfinite(embed_catalog(mags, model, output="mean", cache=False).embeddings).all()


def test_astromer_embeds_flux_catalogs_through_ab_magnitudes(files):
    """Fluxes go in as 31.4 - 2.5 log10(flux); non-positive fluxes are left out, never fed as NaN."""
    model = load_model(files["a1"], threads=1)
    flux = toy_catalog([260, 40, 3], value_kind="flux")
    flux.value[::7] = -flux.value[::7]  # difference-imaging fluxes can be negative
    ok = flux.value > 0
    ids = np.repeat(flux.object_ids, flux.n_obs)
    mags = Catalog.from_long(ids[ok], flux.time[ok], 31.4 - 2.5 * np.log10(flux.value[ok]), flux.error[ok],
                             np.asarray(flux.bands)[flux.band[ok]], name="toy-mag")
    for bands in (None, ["R"]):
        from_flux = embed_catalog(flux, model, bands=bands, cache=False)
        from_mag = embed_catalog(mags, model, bands=bands, cache=False)
        np.testing.assert_allclose(from_flux.embeddings, from_mag.embeddings, rtol=1e-6, atol=1e-6)
        used = from_flux.window_obs[from_flux.window_obs >= 0]
        assert ok[used].all() and np.isfinite(from_flux.embeddings).all()
    assert from_flux.meta["mag_zp"] == 31.4  # one zero-point name for every family


def test_astromer_refuses_unknown_bands(files):
    model = load_model(files["a1"], threads=1)
    with pytest.raises(ModelError, match="band 'V' is not in catalog"):
        embed_catalog(toy_catalog([10]), model, bands=["V"], cache=False)


def int8_vs_float32(shared_data, f32, q, *, n_objects):
    """Embeddings of the first eros1_lmc R-band light curves by both models, and their cosines."""
    import pandas as pd

    lc = pd.read_parquet(shared_data / "eros1_lmc" / "eros1_lmc.lightcurves.parquet")
    lc = lc[lc.object_id.isin(lc.object_id.drop_duplicates().iloc[:n_objects]) & (lc.band == "R")]
    cat = Catalog.from_long(lc.object_id.values, lc.time.values, lc.mag.values, lc.mag_err.values, name="eros")
    a = embed_catalog(cat, f32, cache=False).embeddings
    b = embed_catalog(cat, q, cache=False).embeddings
    return a, b, (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_int8_mode(files, lcx_home, shared_data):
    big = build_astromer_standin(lcx_home / "a1-big.onnx", width=64, n_blocks=2, n_heads=4, ffn=64)
    f32 = load_model(big, threads=2)
    q = load_model(big, threads=2, quantize=True)
    qfile = list((lcx_home / "quantized").glob("*-int8*.onnx"))
    assert len(qfile) == 1 and qfile[0].name.startswith(f32.sha256)
    assert q.quantized and q.sha256 == f32.sha256 + "+int8" and q.session is not f32.session
    inode = qfile[0].stat().st_ino  # a rewrite would replace the file (atomic rename: a new inode)
    assert load_model(big, threads=2, quantize=True).session is q.session
    assert qfile[0].stat().st_ino == inode
    a, b, cos = int8_vs_float32(shared_data, f32, q, n_objects=20)
    assert cos.min() > 0.98 and not np.array_equal(a, b)


def test_cli_embed(files, lcx_home, tmp_path, capsys):
    from explorer.cli import main

    cat = toy_catalog([250, 30, 0, 12])
    folder = tmp_path / "cat"
    cat.to_parquet(folder, name="toy")
    out = tmp_path / "emb.parquet"
    rc = main(["embed", str(folder), "--model", str(files["a1"]), "--reduction", "beginning,end", "--output", "max",
               "--bands", "R,B", "--threads", "1", "-o", str(out)])
    assert rc == 0
    table = pq.read_table(out)
    assert table.column_names == ["object_id", "band", "strategy", "embedding"]
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[256]"
    assert table.num_rows == 3 * 2 * 2
    meta = json.loads(table.schema.metadata[b"lcexplorer"])
    assert meta["output"] == "max" and meta["strategies"] == ["beginning", "end"] and meta["kind"] == "astromer1"
    rc = main(["embed", str(folder), "--model", "nope", "-o", str(out)])
    assert rc == 2 and "unknown model 'nope'" in capsys.readouterr().err
    rc = main(["embed", str(folder), "--model", str(files["a1"]), "--threads", "1", "--int8", "-o", str(out)])
    assert rc == 0
    table = pq.read_table(out)
    assert table.column_names == ["object_id", "embedding"] and table.num_rows == 3
    assert json.loads(table.schema.metadata[b"lcexplorer"])["quantized"] is True


def test_int8_mode_on_a_converted_checkpoint(lcx_home, shared_models, shared_data):
    """The converter writes Gemm + com.microsoft.Attention graphs: int8 must quantise their dense layers."""
    import onnx

    from explorer.convert import convert_checkpoint

    path = lcx_home / "macho.onnx"
    path.write_bytes(convert_checkpoint(shared_models / "checkpoints" / "macho.zip").onnx_bytes())
    f32 = load_model(path, threads=2)
    q = load_model(path, threads=2, quantize=True)
    qfile = next((lcx_home / "quantized").glob("*-int8*.onnx"))
    ops = {n.op_type for n in onnx.load(str(qfile)).graph.node}
    assert "MatMulInteger" in ops and "Gemm" not in ops
    a, b, cos = int8_vs_float32(shared_data, f32, q, n_objects=30)
    # Astromer 1 (no residuals) is quantisation-sensitive: the benchmark reports the exact figures
    assert np.median(cos) > 0.95 and not np.array_equal(a, b)


def test_observations_used_and_matrix_blocks_match_their_definitions(files):
    model = load_model(files["a1"], threads=1)
    cat = toy_catalog([450, 30, 0, 5, 260])
    for kwargs in ({"bands": ["R", "B"], "reduction": "beginning,end"}, {"reduction": "non-overlapping-windows"}):
        res = embed_catalog(cat, model, cache=False, **kwargs)
        for i in range(len(cat)):
            rows = np.flatnonzero(res.object_index == i)
            obs = res.window_obs[np.isin(res.window_row, rows)]
            np.testing.assert_array_equal(res.observations_used(i), np.unique(obs[obs >= 0]))
        k = len(res.block_bands) * len(res.block_strategies)
        m = res.matrix().reshape(len(cat), k, -1)
        for r in range(len(res.embeddings)):
            b = res.block_bands.index(res.band[r]) * len(res.block_strategies) + res.block_strategies.index(res.strategy[r])
            np.testing.assert_array_equal(m[res.object_index[r], b], res.embeddings[r])


class BadWindowError(ValueError):
    """What the picky model raises for a window holding a marked observation."""


class PickyAstromer(Astromer1):
    """Astromer 1 whose preparation refuses windows holding the time -1 (a data-dependent error inside
    ``prepare``: the batch is retried window by window and only that window's row fails)."""

    def prepare(self, obs, arrays, buffers):
        if (arrays["time"][obs[obs >= 0]] == -1.0).any():
            raise BadWindowError(f"window holds the time -1 ({len(obs)} windows)")
        return super().prepare(obs, arrays, buffers)


def eros_r(shared_data, n_objects):
    """The first ``n_objects`` EROS-1 R-band light curves of ../shared."""
    import pandas as pd

    lc = pd.read_parquet(shared_data / "eros1_lmc" / "eros1_lmc.lightcurves.parquet")
    lc = lc[lc.object_id.isin(lc.object_id.drop_duplicates().iloc[:n_objects]) & (lc.band == "R")]
    return Catalog.from_long(lc.object_id.values, lc.time.values, lc.mag.values, lc.mag_err.values, name="eros")


def producer_threads():
    return [t for t in threading.enumerate() if t.name == "explorer-batch-producer"]


def test_pipelined_and_sequential_batches_agree_bit_for_bit(files, shared_data):
    """Real EROS-1 light curves, a real session: pipelining changes no bit, bad windows included."""
    real = eros_r(shared_data, 120)
    time = real.time.copy()
    bad, nan = real.offsets[5], real.offsets[40]
    time[bad] = -1.0                    # prepare() refuses the window holding it (the first: times stay sorted)
    time[nan:nan + 40] = np.linspace(1e300, 3e300, 40)   # float32 overflow: a non-finite output
    cat = Catalog.from_long(np.repeat(real.object_ids, real.n_obs), time, real.value, real.error, name="eros-spoilt")
    model = load_model(files["a1"], threads=2)
    for make, kwargs in ((PickyAstromer, dict(reduction="non-overlapping-windows")),
                         (PickyAstromer, dict(output="mean", reduction="random-subsample", seed=4)),
                         (Astromer1, dict(reduction="end"))):
        runs = [make(model, **kwargs).embed_catalog(cat, batch_size=5, cache=False, pipeline=p) for p in (False, True)]
        serial, piped = runs
        assert (serial.meta["pipelined"], piped.meta["pipelined"]) == (False, True)
        np.testing.assert_array_equal(piped.embeddings, serial.embeddings)
        np.testing.assert_array_equal(piped.object_index, serial.object_index)
        np.testing.assert_array_equal(piped.window_row, serial.window_row)
        assert piped.meta["failed"] == serial.meta["failed"]
        assert len(serial.embeddings) == len(cat) - len(serial.meta["failed"])
        if kwargs.get("reduction") == "non-overlapping-windows":   # every observation is in a window
            failed = {f["object_id"]: f["error"] for f in serial.meta["failed"]}
            assert failed.keys() == {cat.object_ids[5], cat.object_ids[40]}
            assert failed[cat.object_ids[5]] == "BadWindowError: window holds the time -1 (1 windows)"
            assert "non-finite" in failed[cat.object_ids[40]]
    # one window per batch: the lone window runs twice in both modes
    one = [Astromer1(model).embed_catalog(eros_r(shared_data, 6), batch_size=1, cache=False, pipeline=p)
           for p in (False, True)]
    np.testing.assert_array_equal(one[0].embeddings, one[1].embeddings)
    assert not producer_threads()


def test_pipeline_defaults_to_cuda_sessions_only(files):
    from explorer.engine.runner import use_pipeline

    import dataclasses

    from explorer.engine.session import OnnxModel

    model = load_model(files["a1"], threads=1)
    assert model.options.providers == ("CPUExecutionProvider",) and not use_pipeline(Astromer1(model))
    cuda = dataclasses.replace(model.options, providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert use_pipeline(Astromer1(dataclasses.replace(model, options=cuda)))   # how a CUDA model is told apart
    assert not use_pipeline(Astromer1(OnnxModel.from_session(model.session, kind="astromer1")))  # its providers
    cat = toy_catalog([300] * 5)
    assert embed_catalog(cat, model, batch_size=2, cache=False).meta["pipelined"] is False
    assert embed_catalog(cat, model, batch_size=2, cache=False, pipeline=True).meta["pipelined"] is True
    assert embed_catalog(cat, model, batch_size=64, cache=False, pipeline=True).meta["pipelined"] is False  # 1 batch
    with pytest.raises(ModelError, match="pipeline must be True, False or None"):
        embed_catalog(cat, model, cache=False, pipeline="yes")


class Stop(BaseException):
    """Not an Exception: neither the window-by-window retry nor the producer may swallow it."""


def test_pipelined_run_cancelled_mid_run_leaves_no_thread(files, shared_data):
    from explorer.dashboard.jobs import JobCancelled

    cat = eros_r(shared_data, 80)
    model = load_model(files["a1"], threads=2)
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 3 * 4:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        embed_catalog(cat, model, batch_size=4, cache=False, pipeline=True, progress=progress)
    assert seen == [0, 4, 8, 12] and not producer_threads()

    class Interrupting(Astromer1):
        def prepare(self, obs, arrays, buffers):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == 4:
                raise Stop("from prepare")
            return super().prepare(obs, arrays, buffers)

    for pipeline in (False, True):   # a BaseException from prepare reaches the caller in both modes
        with pytest.raises(Stop, match="from prepare"):
            Interrupting(model).embed_catalog(cat, batch_size=4, cache=False, pipeline=pipeline)
        assert not producer_threads()
