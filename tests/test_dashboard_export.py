"""Export of labels, selections, embeddings and map coordinates (CSV / Parquet) with provenance."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.catalog import Catalog
from explorer.dashboard.export import (
    ExportError,
    build_provenance,
    export_coordinates,
    export_embeddings,
    export_labels,
    export_selection,
    read_export,
)

REQUIRED = {"created_utc", "catalog", "catalog_sha256", "model", "model_sha256", "output", "reduction",
            "bands", "embedding_seed", "umap", "packages"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    rng = np.random.default_rng(1)
    ids = np.repeat([f"star#{i}" for i in range(12)], 10)  # '#' in ids: the CSV reader must not cut them
    return Catalog.from_long(ids, np.tile(np.arange(10.0), 12), rng.normal(17, 0.2, 120),
                             np.full(120, 0.02), name="toy-export")


@pytest.fixture(scope="module")
def provenance(catalog) -> dict:
    meta = {"model": "astromer1-macho", "sha256": "ab" * 32, "kind": "astromer1", "output": "mean",
            "reduction": "non-overlapping-windows", "bands": ["R"], "seed": 0}
    umap = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "random_state": 42}
    return build_provenance(catalog, embedding_meta=meta, projection=umap)


def test_provenance_is_complete(provenance, catalog):
    assert REQUIRED <= set(provenance)
    assert provenance["catalog"] == "toy-export"
    assert provenance["catalog_sha256"] == catalog.content_hash()
    assert provenance["model"] == "astromer1-macho" and provenance["model_sha256"] == "ab" * 32
    assert provenance["umap"]["n_neighbors"] == 15
    assert set(provenance["packages"]) == {"explorer", "numpy", "onnxruntime", "umap-learn", "panel"}
    assert provenance["packages"]["numpy"] == np.__version__
    assert provenance["created_utc"].endswith("+00:00")
    json.dumps(provenance)  # serialisable as is


def test_provenance_reads_projection_object(catalog):
    from explorer.projection import Projection

    proj = Projection(n_neighbors=30, min_dist=0.05, metric="cosine", random_state=7)
    prov = build_provenance(catalog, projection=proj, model="m", seed=3)
    assert prov["umap"] == {"n_neighbors": 30, "min_dist": 0.05, "metric": "cosine", "random_state": 7,
                            "pca": "auto", "pca_components": 50}
    assert prov["embedding_seed"] == 3 and prov["model"] == "m" and prov["output"] is None


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_embeddings_round_trip(fmt, catalog, provenance):
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(len(catalog), 8)).astype(np.float32)
    xy = rng.normal(size=(len(catalog), 2))
    data, name = export_embeddings(catalog.object_ids, emb, provenance, fmt, xy=xy)
    assert name.startswith("toy-export-embeddings-") and name.endswith("." + fmt)
    frame, prov = read_export(data)
    assert prov == provenance
    assert list(frame["object_id"]) == list(catalog.object_ids)
    if fmt == "parquet":
        back = np.stack(frame["embedding"].to_numpy())
    else:
        back = frame[[f"embedding_{j}" for j in range(8)]].to_numpy(np.float32)
        assert frame.columns[0] == "object_id"
    np.testing.assert_array_equal(back, emb)
    np.testing.assert_allclose(frame[["x", "y"]].to_numpy(), xy, rtol=1e-8)


def test_parquet_embedding_is_fixed_size_float32_list(catalog, provenance):
    emb = np.ones((len(catalog), 5), np.float32)
    data, _ = export_embeddings(catalog.object_ids, emb, provenance, "parquet")
    schema = pq.read_schema(io.BytesIO(data))
    field = schema.field("embedding")
    assert pa.types.is_fixed_size_list(field.type)
    assert field.type.list_size == 5 and field.type.value_type == pa.float32()
    assert json.loads(schema.metadata[b"lcexplorer"]) == provenance


def test_csv_header_is_readable_by_pandas(catalog, provenance):
    labels = pd.Series(pd.array(["RR Lyrae", None, "Cepheid"] + [None] * 9, dtype="string"),
                       index=pd.Index(catalog.object_ids, name="object_id"))
    data, name = export_labels(labels, provenance, "csv")
    text = data.decode()
    assert text.startswith("# lcexplorer-export: 1\n")
    assert "# model: astromer1-macho\n" in text and '# bands: ["R"]\n' in text
    assert "# catalog_sha256: " + catalog.content_hash() in text
    # the documented pandas call works for ids without '#'
    plain = text.replace("star#", "star_")
    frame = pd.read_csv(io.StringIO(plain), comment="#")
    assert list(frame.columns) == ["object_id", "label"] and len(frame) == 2
    # read_export keeps '#' inside values
    frame, prov = read_export(data)
    assert list(frame["object_id"]) == ["star#0", "star#2"] and list(frame["label"]) == ["RR Lyrae", "Cepheid"]
    assert prov["umap"]["metric"] == "euclidean" and prov["embedding_seed"] == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_selection_and_coordinates_round_trip(fmt, catalog, provenance, tmp_path):
    sel = pd.DataFrame({"n_obs": [10, 10], "object_id": ["star#3", "star#4"], "x": [0.5, -1.25]})
    data, name = export_selection(sel, provenance, fmt)
    (tmp_path / name).write_bytes(data)
    frame, prov = read_export(tmp_path / name)
    assert list(frame.columns) == ["object_id", "n_obs", "x"]
    assert list(frame["object_id"]) == ["star#3", "star#4"] and prov["catalog"] == "toy-export"

    labels = pd.Series(["Cepheid"], index=["star#1"])
    xy = np.arange(len(catalog) * 2, dtype=float).reshape(-1, 2) / 3
    data, name = export_coordinates(catalog.object_ids, xy, provenance, fmt, labels=labels)
    frame, prov = read_export(data)
    np.testing.assert_allclose(frame[["x", "y"]].to_numpy(), xy, rtol=1e-9)
    assert frame.loc[1, "label"] == "Cepheid" and pd.isna(frame.loc[0, "label"])
    assert REQUIRED <= set(prov)


def test_bad_input_is_refused(catalog, provenance):
    with pytest.raises(ExportError, match="xlsx"):
        export_selection(pd.DataFrame({"object_id": ["a"]}), provenance, "xlsx")
    with pytest.raises(ExportError, match="2-D"):
        export_embeddings(catalog.object_ids, np.zeros((12, 4, 3)), provenance)
    with pytest.raises(ExportError, match="11 object ids for 12"):
        export_embeddings(catalog.object_ids[:11], np.zeros((12, 4)), provenance)
    with pytest.raises(ExportError, match="object_id"):
        export_selection(pd.DataFrame({"x": [1]}), provenance)
    with pytest.raises(ExportError, match="not a Light-curve Explorer"):
        read_export(b"a,b\n1,2\n")
