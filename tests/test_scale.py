"""Distributed embedding on a real dask.distributed LocalCluster (2 worker processes) over a real HATS
catalog (written by lsdb from ../shared/data) and a folder of long-format Parquet files.

The distributed results must equal single-process ``embed_catalog`` / ``compute_representation``
exactly; a bad partition is named and skipped or raised; a killed worker loses and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import isolated_store  # at import: later, "conftest" may name tests/ui/conftest.py
from standin_models import build_astromer_standin

pytest.importorskip("lsdb")
pytest.importorskip("distributed")

MODEL = "astromer1-standin"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A private LCEXPLORER_HOME with a stand-in Astromer 1 model (set before the workers start: they inherit it)."""
    with isolated_store(tmp_path_factory, MODEL, lambda p: build_astromer_standin(p, seed=3), "astromer1") as home:
        yield home


@pytest.fixture(scope="module")
def macho(shared_data):
    from explorer.catalog import load_catalog

    return load_catalog(shared_data / "macho_alcock_sample")


@pytest.fixture(scope="module")
def hats_dir(macho, tmp_path_factory):
    """The MACHO sample as a HATS catalog with nested light curves, written by lsdb (several HEALPix pixels)."""
    from explorer.scale import write_hats

    return write_hats(macho, tmp_path_factory.mktemp("hats") / "macho", partition_rows=20)


@pytest.fixture(scope="module")
def parquet_dir(macho, tmp_path_factory):
    from explorer.scale import write_parquet_partitions

    return write_parquet_partitions(macho, tmp_path_factory.mktemp("pq"), 4)


@pytest.fixture(scope="module")
def client(store):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    with Client(cluster) as c:
        yield c
    cluster.close()


def _aligned(catalog, ids):
    index = catalog.objects["object_id"].astype(str).to_numpy()
    pos = pd.Index(index).get_indexer(ids)
    assert (pos >= 0).all()
    return pos


def test_hats_catalog_astromer_equals_single_process(store, macho, hats_dir, client, tmp_path):
    from explorer.engine import embed_catalog, load_model
    from explorer.scale import open_partitioned, read_embeddings
    from explorer.scale.job import embed_partitioned

    source = open_partitioned(hats_dir)
    assert source.kind == "hats" and len(source.partitions) >= 4, "the test needs several HEALPix partitions"
    out = tmp_path / "out"
    report = embed_partitioned(hats_dir, MODEL, out, scheduler=client, threads=1)
    assert not report.failed and len(report.partitions) == len(source.partitions)

    got = read_embeddings(out)
    ref = embed_catalog(macho, load_model(MODEL, threads=1), cache=False)
    assert sorted(got.object_ids) == sorted(macho.object_ids.astype(str))
    np.testing.assert_array_equal(got.matrix, ref.matrix()[_aligned(macho, got.object_ids)])
    # partitioning columns travel with every row
    assert {"Norder", "Npix", "_healpix_29"} <= set(got.columns.columns)
    # one ONNX Runtime session per worker process, reused by all its partitions
    sessions: dict = {}
    for p in report.partitions:
        sessions.setdefault(p["pid"], set()).add(p["session"])
    assert len(sessions) <= 2 and all(len(s) == 1 for s in sessions.values())
    assert sum(len(s) for s in sessions.values()) < len(report.partitions)
    # the folder is a plain Parquet dataset, and the manifest says it is complete
    frame = pd.read_parquet(out)
    assert len(frame) == len(macho) and frame["object_id"].is_unique
    assert json.loads((out / "_lcexplorer_manifest.json").read_text())["complete"] is True


@pytest.mark.parametrize("kind", ["parquet", "hats"])
def test_features_equal_single_process(kind, macho, parquet_dir, hats_dir, client, tmp_path, lcx_home):
    from explorer.representations import compute_representation
    from explorer.scale import embed_partitioned, open_partitioned, read_embeddings

    src = parquet_dir if kind == "parquet" else hats_dir
    report = embed_partitioned(src, "features", tmp_path / "out", scheduler=client)
    assert not report.failed and len(report.partitions) == len(open_partitioned(src).partitions) > 1
    got = read_embeddings(tmp_path / "out")
    ref = compute_representation(macho, "features", cache=False)
    # each partition alone would pick its own periodogram grid: the job uses the catalog's
    assert {b: g["n_log2"] for b, g in report.spec["grids"].items()} == {
        b: int(np.log2(g["n_points"] - 1)) for b, g in ref.meta["periodogram_grids"].items()}
    np.testing.assert_array_equal(got.matrix, ref.matrix[_aligned(macho, got.object_ids)])


def test_cli_scheduler_local2_writes_a_parquet_folder(store, macho, hats_dir, tmp_path):
    from explorer.engine import embed_catalog, load_model

    out = tmp_path / "cli_out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(p) for p in sys.path if p]))
    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "embed", str(hats_dir), "--model", MODEL,
                           "--scheduler", "local:2", "-o", str(out)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "partitions" in proc.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns[:2]) == ["object_id", "embedding"] and frame["object_id"].is_unique
    ids = frame["object_id"].astype(str).to_numpy()
    ref = embed_catalog(macho, load_model(MODEL), cache=False).matrix()[_aligned(macho, ids)]
    np.testing.assert_array_equal(np.stack(frame["embedding"].to_numpy()), ref)


def test_joins_a_running_scheduler_by_address(store, macho, parquet_dir, client, tmp_path):
    """scheduler="tcp://host:port" joins the running cluster (here the fixture's) and leaves it running."""
    from explorer.engine import embed_catalog, load_model
    from explorer.scale import embed_partitioned, read_embeddings

    address = client.scheduler.address
    assert address.startswith("tcp://")
    report = embed_partitioned(parquet_dir, MODEL, tmp_path / "out", scheduler=address, threads=1, reduction="beginning")
    assert report.n_workers == 2 and not report.failed
    got = read_embeddings(tmp_path / "out")
    ref = embed_catalog(macho, load_model(MODEL, threads=1), reduction="beginning", cache=False).matrix()
    np.testing.assert_array_equal(got.matrix, ref[_aligned(macho, got.object_ids)])
    assert len(client.scheduler_info()["workers"]) == 2      # still running after the job


def test_bad_partition_is_named_and_skipped_or_raised(store, parquet_dir, client, tmp_path):
    import shutil

    from explorer.scale import PartitionError, embed_partitioned, read_embeddings, read_manifest

    src = tmp_path / "src"
    shutil.copytree(parquet_dir, src)
    bad = sorted(src.glob("*.parquet"))[1]
    bad.write_bytes(b"PAR1 this is not a parquet file")
    good_ids = set(pd.concat([pd.read_parquet(f) for f in src.glob("*.parquet") if f != bad])["object_id"])

    with pytest.raises(PartitionError, match=bad.name):
        embed_partitioned(src, MODEL, tmp_path / "raise", scheduler=client, threads=1, retries=0)
    assert read_manifest(tmp_path / "raise")["complete"] is False

    report = embed_partitioned(src, MODEL, tmp_path / "skip", scheduler=client, threads=1, retries=1,
                               on_error="skip")
    assert [p["partition"] for p in report.failed] == [bad.name]
    assert "2 attempt" in report.failed[0]["error"]
    got = read_embeddings(tmp_path / "skip")
    assert set(got.object_ids) == good_ids and len(got.object_ids) == len(good_ids)
    assert not got.complete
    # nothing half-written: only whole part files, no temporary file left behind
    assert not [f for f in (tmp_path / "skip").iterdir() if f.name.startswith(".")]


def test_object_in_two_partitions_is_an_error_naming_them(store, parquet_dir, client, tmp_path):
    import shutil

    from explorer.errors import CatalogError
    from explorer.scale import embed_partitioned, read_embeddings

    src = tmp_path / "src"
    shutil.copytree(parquet_dir, src)
    first = sorted(src.glob("*.parquet"))[0]
    shutil.copy(first, src / "copy.parquet")
    embed_partitioned(src, MODEL, tmp_path / "out", scheduler=client, threads=1)
    with pytest.raises(CatalogError, match="copy.parquet"):
        read_embeddings(tmp_path / "out")


def test_map_fits_a_seeded_sample_and_places_the_rest_on_the_cluster(store, parquet_dir, client, tmp_path):
    from explorer.projection import Projection
    from explorer.scale import embed_partitioned, map_partitioned, read_embeddings

    out = tmp_path / "out"
    embed_partitioned(parquet_dir, MODEL, out, scheduler=client, threads=1)
    report = map_partitioned(out, scheduler=client, sample=30, n_epochs=30)
    assert report.n_objects == 48 and report.n_sample == 30
    got = read_embeddings(out)
    assert got.coords is not None and np.isfinite(got.coords).all()
    # the same map computed here, in one process: fit on the same seeded sample, transform the others
    order = np.concatenate([pd.read_parquet(f, columns=["object_id"])["object_id"].to_numpy()
                            for f in sorted(out.glob("part-*.parquet"))])
    assert list(got.object_ids) == list(order)
    rows = np.sort(np.random.default_rng(42).choice(48, 30, replace=False))
    mapped = pd.read_parquet(report.path).set_index("object_id").loc[got.object_ids]
    assert set(np.flatnonzero(mapped["sampled"].to_numpy())) == set(rows)
    proj = Projection(random_state=42, sample=None, n_epochs=30, cache=False).fit(got.matrix[rows])
    np.testing.assert_array_equal(got.coords[rows], proj.embedding_)
    rest = np.setdiff1d(np.arange(48), rows)
    np.testing.assert_array_equal(got.coords[rest], proj.transform(got.matrix[rest]))


def test_killed_worker_loses_and_duplicates_no_row(store, shared_data, client, tmp_path):
    """SIGKILL a worker while it holds a partition: Dask reruns it elsewhere; every object once."""
    from explorer.catalog import load_catalog
    from explorer.scale import embed_partitioned, read_embeddings, write_parquet_partitions

    eros = load_catalog(shared_data / "eros1_lmc")
    src = write_parquet_partitions(eros, tmp_path / "eros", 8)
    killed = []

    def kill_busy_worker(done, total, name):
        if killed or done >= total:
            return
        busy = [addr for addr, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    report = embed_partitioned(src, MODEL, tmp_path / "out", scheduler=client, threads=1, progress=kill_busy_worker)
    assert killed, "no worker was busy when the first partition finished"
    assert not report.failed
    got = read_embeddings(tmp_path / "out")
    assert len(got.object_ids) == len(set(got.object_ids))
    expected = set(eros.object_ids[eros.n_obs > 0].astype(str))
    assert set(got.object_ids) == expected
    assert not [f.name for f in (tmp_path / "out").iterdir() if f.name.startswith(".")]   # no orphan temp file
