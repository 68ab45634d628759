"""Issue 19, outputs: tables as Parquet, CSV, FITS and VOTable with provenance, read back by astropy; the CLI's -o.

The CLI runs as a real subprocess (``python -m explorer.cli``) with a stand-in ONNX model; the files
are read back with astropy (FITS, VOTable), pyarrow and pandas.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table

from explorer.catalog import load_catalog
from explorer.errors import ExplorerError
from explorer.tables import read_table, table_bytes, table_format, write_table
from standin_models import build_astromer_standin

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = {"model": "astromer1-macho", "seed": 0, "umap": {"n_neighbors": 15, "random_state": 42},
              "note": "x" * 300, "catalog": "eros1_lmc"}


def frame():
    return pd.DataFrame({"object_id": ["a", "b", "c"], "embedding": [np.arange(4, dtype=np.float32) + i for i in range(3)],
                         "label": ["RR Lyrae", None, "Mira"], "origin": ["manual", "suggested", "manual"],
                         "x": [0.5, 1.5, np.nan]})


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".fits.gz", ".vot"])
def test_write_table_round_trips_with_provenance(tmp_path, suffix):
    path = write_table(frame(), tmp_path / f"t{suffix}", PROVENANCE)
    table, provenance = read_table(path)
    assert provenance == PROVENANCE
    assert table.column_names == ["object_id", "embedding", "label", "origin", "x"]
    assert table.column("object_id").to_pylist() == ["a", "b", "c"]
    np.testing.assert_array_equal(np.stack(table.column("embedding").to_numpy(zero_copy_only=False)),
                                  np.stack(frame()["embedding"]))
    assert table.column("origin").to_pylist() == ["manual", "suggested", "manual"]
    assert table.column("label").to_pylist()[0] == "RR Lyrae"


def test_fits_and_votable_read_by_astropy_itself(tmp_path):
    fits_path = write_table(frame(), tmp_path / "t.fits", PROVENANCE)
    with fits.open(fits_path) as hdul:
        header = hdul[1].header
        assert header["ORIGIN"].startswith("lcexplorer") and json.loads(header["LCXPROV"]) == PROVENANCE
        assert header["HIERARCH LCX model"] == "astromer1-macho"
    t = Table.read(fits_path)
    assert len(t) == 3 and t["embedding"].shape == (3, 4) and list(t["object_id"]) == ["a", "b", "c"]
    vot_path = write_table(frame(), tmp_path / "t.vot", PROVENANCE)
    first = parse(str(vot_path)).get_first_table()
    infos = {i.name: i.value for i in first.infos}
    assert json.loads(infos["lcexplorer"]) == PROVENANCE and infos["seed"] == "0"
    t = Table.read(vot_path, format="votable")
    assert len(t) == 3 and t["embedding"].shape == (3, 4)
    # the bytes of a download are the file's bytes
    assert table_bytes(frame(), ".vot", PROVENANCE) == vot_path.read_bytes()
    assert Table.read(io.BytesIO(table_bytes(frame(), ".fits", PROVENANCE)), format="fits")["x"][1] == 1.5


def test_csv_spreads_vectors_and_unknown_suffixes_are_refused(tmp_path):
    path = write_table(frame(), tmp_path / "t.csv", PROVENANCE)
    back = pd.read_csv(path)
    assert back.columns.tolist() == ["object_id", "embedding_0", "embedding_1", "embedding_2", "embedding_3", "label",
                                     "origin", "x"]
    assert back["embedding_3"].tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(ExplorerError, match=r"cannot tell the table format of 'out.xlsx'.*\.fits"):
        table_format("out.xlsx")
    with pytest.raises(ExplorerError, match="vectors of different lengths"):
        write_table(pd.DataFrame({"object_id": ["a", "b"], "v": [np.zeros(2), np.zeros(3)]}), tmp_path / "bad.fits")


# ---------------------------------------------------------------------- CLI
def run_cli(args, home):
    env = dict(os.environ, LCEXPLORER_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory, shared_data):
    """40 objects of the real EROS-1 catalog as a FITS long table (the CLI reads FITS too)."""
    folder = shared_data / "eros1_lmc"
    if not folder.exists():
        pytest.skip(f"{folder} is not there")
    cat = load_catalog(folder).take(np.arange(40))
    out = tmp_path_factory.mktemp("cli_formats")
    rows = np.repeat(cat.object_ids, cat.n_obs)
    Table({"object_id": rows, "time": cat.time, "mag": cat.value, "mag_err": cat.error,
           "band": np.asarray(cat.bands)[cat.band]}).write(out / "eros40.fits")
    return out, cat, build_astromer_standin(out / "a1.onnx")


def test_cli_embed_and_map_write_every_format(small_catalog, tmp_path):
    out, cat, model = small_catalog
    home = tmp_path / "home"
    emb = {}
    for suffix in (".parquet", ".fits", ".vot", ".csv"):
        emb[suffix] = tmp_path / f"emb{suffix}"
        run = run_cli(["embed", str(out / "eros40.fits"), "--model", str(model), "--bands", "R", "--threads", "1",
                       "-o", str(emb[suffix])], home)
        assert run.returncode == 0, run.stderr[-3000:]
    parquet = pq.read_table(emb[".parquet"])
    ids = parquet.column("object_id").to_pylist()
    assert len(ids) == len(set(ids)) == 40 and set(ids) == set(cat.object_ids)    # one row per object
    vectors = np.stack(parquet.column("embedding").to_numpy(zero_copy_only=False))
    for suffix in (".fits", ".vot"):
        t = Table.read(emb[suffix], format="fits" if suffix == ".fits" else "votable")
        assert list(t["object_id"]) == ids and t["embedding"].shape == vectors.shape
        np.testing.assert_array_equal(np.asarray(t["embedding"]), vectors)
        assert read_table(emb[suffix])[1]["kind"] == "astromer1"     # the provenance came along
    csv = pd.read_csv(emb[".csv"], dtype={"object_id": str})
    assert csv["object_id"].tolist() == ids and csv.shape[1] == 1 + vectors.shape[1]
    maps = {}
    for suffix in (".fits", ".vot"):
        maps[suffix] = tmp_path / f"map{suffix}"
        run = run_cli(["map", str(emb[".parquet"]), "--n-neighbors", "5", "-o", str(maps[suffix])], home)
        assert run.returncode == 0, run.stderr[-3000:]
    a = Table.read(maps[".fits"])
    b = Table.read(maps[".vot"], format="votable")
    assert a.colnames == ["object_id", "x", "y"] and list(a["object_id"]) == ids and len(b) == 40
    np.testing.assert_array_equal(np.asarray(a["x"]), np.asarray(b["x"]))   # the same seeded map
    run = run_cli(["map", str(emb[".parquet"]), "-o", str(tmp_path / "map.xlsx")], home)
    assert run.returncode == 2 and "cannot tell the table format of" in run.stderr
