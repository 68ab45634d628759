"""A first look that fills while the catalog is embedded (issue 20): the engine hands out the objects it
has finished, with their final vectors, and the first look places them beside their sample neighbours.

Real stand-in ONNX model, real engine batches, real PCA / UMAP, no browser.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.dashboard.state import ExplorerState, ResultCache
from explorer.engine import embed_catalog, load_model
from explorer.engine import runner

from conftest import isolated_store
from standin_models import build_astromer_standin
from test_dashboard_state import MODEL, make_catalog


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with isolated_store(tmp_path_factory, MODEL, build_astromer_standin, "astromer1") as home:
        yield home


def two_band_catalog(n: int):
    """Objects with an R and a B light curve (some without B): side by side, an object is finished only
    when both of its bands are."""
    from explorer.catalog import Catalog

    rng = np.random.default_rng(5)
    ids, t, m, band = [], [], [], []
    for i in range(n):
        for b in (("R", "B") if i % 7 else ("R",)):
            k = int(rng.integers(30, 240))
            ids += [f"o{i:03d}"] * k
            t.append(np.sort(rng.uniform(0, 300, k)))
            m.append(17 + rng.normal(0, 0.3, k))
            band += [b] * k
    t, m = np.concatenate(t), np.concatenate(m)
    return Catalog.from_long(np.array(ids), t, m, np.full(len(t), 0.05), band=np.array(band), name="two bands")


@pytest.mark.parametrize("bands", [None, ("R", "B")])
def test_what_the_engine_hands_out_early_is_the_final_vector(env, bands):
    cat = make_catalog(n=60, seed=3) if bands is None else two_band_catalog(60)
    peeks = []
    result = embed_catalog(cat, load_model(MODEL), batch_size=16, cache=False, bands=list(bands) if bands else None,
                           partial=lambda peek: peeks.append(peek()))
    final = result.matrix()
    assert len(peeks) > 3, "one batch only: nothing was handed out early"
    counts = [p.n_objects for p in peeks]
    assert counts == sorted(counts) and counts[0] < len(cat) and counts[-1] == len(cat), counts
    for p in peeks:
        rows, matrix = p.matrix()
        assert len(rows) and (rows < p.n_objects).all()
        # bit for bit: the vector handed out early is the one in the final result
        assert np.array_equal(matrix, final[rows], equal_nan=True)
    rows, _ = peeks[-1].matrix()
    assert set(rows) == set(np.flatnonzero(np.isfinite(final).any(axis=1)))


def test_the_first_look_fills_as_objects_are_embedded_and_ends_on_the_same_map(env, tmp_path, monkeypatch):
    monkeypatch.setenv("LCEXPLORER_FIRST_LOOK_ABOVE", "50")
    monkeypatch.setenv("LCEXPLORER_FIRST_LOOK_GROW_S", "0")  # look after every batch: test catalogs are fast
    monkeypatch.setattr(runner, "DEFAULT_BATCH_SIZE", 16)
    cat = make_catalog(n=150, seed=16)
    st = ExplorerState(cat, model=MODEL, embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=tmp_path / "grow.labels.csv")
    st.refresh_models()
    views = []
    st.pipeline.param.watch(lambda e: views.append(e.new) if e.new is not None else None, ["map"])
    st.run()
    assert st.pipeline.inference_runs == 1  # the model ran (no cache): the first look grew from it
    monkeypatch.setenv("LCEXPLORER_FIRST_LOOK_ABOVE", "0")
    plain = ExplorerState(make_catalog(n=150, seed=16), model=MODEL, embed_cache=ResultCache(),
                          map_cache=ResultCache(), labels_path=tmp_path / "plain.labels.csv")
    plain.refresh_models()
    plain.run()  # no first look (the vectors from the engine's disk cache, the map its own UMAP fit)
    looks = [v for v in views if v.stage == "sample"]
    assert len(looks) >= 3, [v.stage for v in views]
    sizes = [len(v.index) for v in looks]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0], sizes
    sample = looks[0]
    drawn = np.isfinite(sample.coords).all(axis=1)
    for v in looks[1:]:
        # the sample stays where it was; the others join it, each with a position and its final vector
        assert np.array_equal(v.coords[drawn], sample.coords[drawn])
        placed = np.isfinite(v.coords).all(axis=1) & ~drawn
        assert placed.sum() == v.params["placed"] > 0
        assert f"{placed.sum()} placed beside their nearest sample objects" in v.note()
        assert np.array_equal(v.embedding.matrix[placed], plain.matrix[placed])
        row = int(np.flatnonzero(placed)[0])
        assert st.row_of(cat.object_ids[row]) == row
        near, _ = v.neighbours(row, 3)  # a placed object has neighbours on the map already
        assert len(near) == 3 and np.isfinite(v.coords[near]).all()
    assert views[-1].stage == "umap"
    assert np.array_equal(st.matrix, plain.matrix, equal_nan=True)
    assert np.allclose(st.map.coords, plain.map.coords, equal_nan=True)


def test_a_caller_waiting_for_another_computation_hears_it_grow():
    """A session behind the server's warm-up waits for the warm-up's embedding (one computation per key)
    and hears the objects it finishes, so its first look grows too."""
    import threading
    import time

    cache = ResultCache()
    started, go = threading.Event(), threading.Event()
    heard, results = [], {}

    def compute():  # the warm-up's run: says what it has finished while it computes
        started.set()
        assert go.wait(60)
        cache.tell("key", "first objects")
        return "vectors"

    def owner():
        results["owner"] = cache.get_or_compute("key", compute)

    def waiter():
        with cache.listening("key", heard.append):
            results["waiter"] = cache.get_or_compute("key", lambda: pytest.fail("computed twice"))

    threads = [threading.Thread(target=owner)]
    threads[0].start()
    assert started.wait(60)
    threads.append(threading.Thread(target=waiter))
    threads[1].start()
    deadline = time.monotonic() + 60
    while "key" not in cache._listeners and time.monotonic() < deadline:
        time.sleep(0.01)
    go.set()
    for t in threads:
        t.join(60)
    assert heard == ["first objects"]
    assert results == {"owner": ("vectors", False), "waiter": ("vectors", True)}
    assert "key" not in cache._listeners  # nobody listens once it is done
