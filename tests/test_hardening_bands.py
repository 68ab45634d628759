"""Many bands, few objects: every map, PCA and neighbour matrix stays bounded (issue 18, item 1).

A 12-object CSV with 40 bands (480 kB) used to run for more than 10 minutes at 3.6 GB: the PCA
before UMAP decomposed a (bands x 256)^2 covariance. Now the components are computed in the smaller
side of the matrix, and bands side by side are capped by ``LCEXPLORER_MAX_CONCAT_BANDS`` with a
clear message. The time bounds here are generous (a loaded 2-core machine); UMAP's one-off numba
compilation is done before the clock starts, since it does not depend on the input.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.state import ExplorerState, ResultCache
from explorer.errors import CatalogError
from explorer.projection import Projection, pca_preview, prepare_matrix
from explorer.projection.pca import EXACT_MAX_SIDE, _by_covariance, _fit_pca, _fix_signs
from explorer.representations import Embedding, Features
from explorer.representations.base import MAX_CONCAT_BANDS_ENV

MODEL = "astromer1-macho"
WALL_S = 60.0
PEAK_BYTES = 500e6


def _write_bands_csv(path, n_bands: int, n_objects: int = 12, n_per_band: int = 20):
    rng = np.random.default_rng(n_bands)
    parts = []
    for i in range(n_objects):
        for b in range(n_bands):
            t = np.sort(rng.uniform(0, 300, n_per_band))
            mag = 17 + 0.3 * np.sin(2 * np.pi * t / (0.5 + i)) + rng.normal(0, 0.05, n_per_band)
            parts.append(pd.DataFrame({"object_id": f"o{i:02d}", "time": t, "mag": mag, "mag_err": 0.05,
                                       "band": f"b{b:02d}"}))
    pd.concat(parts).to_csv(path, index=False)
    return path


def _write_band_per_row_csv(path, n_rows: int = 3000):
    rng = np.random.default_rng(0)
    pd.DataFrame({"object_id": [f"o{i % 12:02d}" for i in range(n_rows)], "time": rng.uniform(0, 100, n_rows),
                  "mag": rng.normal(17, 0.1, n_rows), "band": [f"band{i:05d}" for i in range(n_rows)]}
                 ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory, shared_models):
    """A private store holding the MACHO Astromer checkpoint converted by our converter (real weights)."""
    from explorer.convert import import_checkpoint

    home = tmp_path_factory.mktemp("lcx_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCEXPLORER_HOME", str(home))
        import_checkpoint(shared_models / "checkpoints" / "macho.zip", name=MODEL, verify=False)
        yield home


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many_bands")
    return {"40": _write_bands_csv(folder / "bands40.csv", 40), "16": _write_bands_csv(folder / "bands16.csv", 16),
            "per_row": _write_band_per_row_csv(folder / "band_per_row.csv"), "folder": folder}


@pytest.fixture(scope="module")
def umap_compiled():
    """UMAP's numba code compiled once (tens of seconds on a cold, loaded process; not the input's cost)."""
    Projection(cache=False, n_epochs=5).fit(np.random.default_rng(0).normal(size=(12, 60)))


class _Budget:
    """Wall clock and traced peak (NumPy's arrays are traced) of a block."""

    def __enter__(self):
        tracemalloc.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return False

    def check(self):
        assert self.seconds < WALL_S, f"took {self.seconds:.1f} s (bound {WALL_S} s)"
        assert self.peak < PEAK_BYTES, f"peak {self.peak / 1e6:.0f} MB (bound {PEAK_BYTES / 1e6:.0f} MB)"


def _state(path, folder, monkeypatch, representation="embedding") -> ExplorerState:
    """A dashboard state on ``path`` (served limits, default band limit), MACHO Astromer chosen."""
    monkeypatch.delenv(MAX_CONCAT_BANDS_ENV, raising=False)
    monkeypatch.setenv("LCEXPLORER_DATA_DIRS", str(folder))
    st = ExplorerState(str(path), embed_cache=ResultCache(), map_cache=ResultCache())
    st.refresh_models()
    st.model = MODEL
    st.representation = representation
    return st


# ------------------------------------------------------------------------- PCA in the smaller side
def test_gram_pca_equals_covariance_pca():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(30, 5)) @ rng.normal(size=(5, EXACT_MAX_SIDE + 200))
         + 0.01 * rng.normal(size=(30, EXACT_MAX_SIDE + 200))).astype(np.float32)
    fitted = _fit_pca(x, 4)   # 30 rows, 1224 columns: the Gram path
    xc = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    reference = _fix_signs(_by_covariance(xc, 4))
    np.testing.assert_allclose(fitted.components, reference, atol=1e-6)
    # more components than the rows' rank: zero rows, not noise
    many = _fit_pca(x, 50)
    assert many.components.shape == (50, x.shape[1])
    assert np.allclose(many.components[30:], 0.0)


def test_randomized_pca_finds_the_leading_subspace():
    rng = np.random.default_rng(4)
    n, d = EXACT_MAX_SIDE + 300, EXACT_MAX_SIDE + 100
    signal = rng.normal(size=(n, 3)) * [10.0, 5.0, 2.0]
    x = (signal @ np.linalg.qr(rng.normal(size=(d, 3)))[0].T + 0.01 * rng.normal(size=(n, d))).astype(np.float32)
    fitted = _fit_pca(x, 3)
    xc = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    reference = _fix_signs(_by_covariance(xc, 3))
    np.testing.assert_allclose(np.abs(fitted.components @ reference.T), np.eye(3), atol=1e-4)
    again = _fit_pca(x, 3)
    np.testing.assert_array_equal(again.components, fitted.components)  # seeded: reproducible


def test_wide_matrix_maps_within_bounds(umap_compiled):
    x = np.random.default_rng(5).normal(size=(12, 40 * 256)).astype(np.float32)
    with _Budget() as budget:
        coords = Projection(cache=False).fit_transform(x)
        preview = pca_preview(prepare_matrix(x)[0])
    budget.check()
    assert np.isfinite(coords).all() and np.isfinite(preview).all()


# ------------------------------------------------------------------------- real files, real models
def test_forty_bands_map_with_features_and_astromer_when_allowed(home, files, umap_compiled, monkeypatch):
    monkeypatch.setenv(MAX_CONCAT_BANDS_ENV, "40")
    cat = load_catalog(files["40"])
    assert len(cat.bands) == 40 and len(cat) == 12
    for rep in (Features(), Embedding(MODEL)):
        with _Budget() as budget:
            result = rep.compute(cat, cache=False)
            prepared, ok = prepare_matrix(result.matrix, column_weights=result.column_weights())
            preview = pca_preview(prepared[ok])
            coords = Projection(cache=False, column_weights=result.column_weights()).fit_transform(result.matrix)
        budget.check()
        assert result.matrix.shape[1] in (40 * 36, 40 * 256)
        assert np.isfinite(coords).all() and np.isfinite(preview).all()


def test_forty_bands_refused_at_once_by_default_in_the_dashboard_state(home, files, monkeypatch):
    for representation in ("embedding", "features", "hybrid"):
        st = _state(files["40"], files["folder"], monkeypatch, representation)
        with _Budget() as budget, pytest.raises(CatalogError) as err:
            st.run()
        budget.check()
        text = str(err.value)
        assert "40 bands side by side" in text and "'b00'" in text and MAX_CONCAT_BANDS_ENV in text
        assert "at most 16" in text


def test_sixteen_bands_map_in_the_dashboard_state(home, files, umap_compiled, monkeypatch):
    st = _state(files["16"], files["folder"], monkeypatch)
    with _Budget() as budget:
        m = st.run()
    budget.check()
    assert st.matrix.shape == (12, 16 * 256)
    assert np.isfinite(m.coords).all() and "12 of 12 objects mapped" in st.status


@pytest.mark.parametrize("representation", ["embedding", "features"])
def test_one_band_per_row_is_refused_with_the_limit(home, files, monkeypatch, representation):
    st = _state(files["per_row"], files["folder"], monkeypatch, representation)
    with _Budget() as budget, pytest.raises(CatalogError, match=r"3000 bands side by side .*'band00000'"):
        st.run()
    budget.check()


def test_bad_limit_setting_is_named(monkeypatch, files):
    monkeypatch.setenv(MAX_CONCAT_BANDS_ENV, "many")
    with pytest.raises(CatalogError, match=f"{MAX_CONCAT_BANDS_ENV}='many' is not a whole number"):
        Features().compute(load_catalog(files["16"]), cache=False)
    monkeypatch.setenv(MAX_CONCAT_BANDS_ENV, "0")  # no limit
    Features(bands=["b00", "b01"]).compute(load_catalog(files["16"]), cache=False)


def test_an_embeddings_file_with_one_band_per_row_is_refused(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.representations import read_vectors

    monkeypatch.delenv(MAX_CONCAT_BANDS_ENV, raising=False)
    n = 100
    table = pa.table({"object_id": [f"o{i % 3}" for i in range(n)], "band": [f"b{i}" for i in range(n)],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(n * 4, np.float32)), 4)})
    pq.write_table(table, tmp_path / "vectors.parquet")
    with pytest.raises(CatalogError, match=r"embeddings file .*vectors.parquet .* 100 bands side by side .*'b0'"):
        read_vectors(tmp_path / "vectors.parquet")
