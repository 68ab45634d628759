"""The Explorer in a real Jupyter kernel: the example notebook runs and displays the dashboard."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.catalog import load_catalog
from standin_models import build_astromer_standin
from conftest import PROJECT_ROOT

nbclient = pytest.importorskip("nbclient", reason="nbclient (test extra) is needed to run the example notebook")
nbformat = pytest.importorskip("nbformat")


def test_example_notebook_displays_the_explorer(tmp_path, lcx_home, monkeypatch):
    from explorer.store import install_model

    sample = load_catalog(PROJECT_ROOT / "sample_catalogs" / "macho_like")
    small = sample.take(np.arange(0, len(sample), len(sample) // 120), name="nb_small")
    small.to_parquet(tmp_path / "nb_small")
    onnx_path = build_astromer_standin(tmp_path / "standin.onnx")
    install_model("nb-standin", onnx_path, card={"kind": "astromer1", "source": "tests/standin_models.py"})
    monkeypatch.setenv("LCX_CATALOG", str(tmp_path / "nb_small"))
    monkeypatch.setenv("LCX_MODEL", "nb-standin")

    nb = nbformat.read(PROJECT_ROOT / "examples" / "explorer.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(PROJECT_ROOT / "examples")}})
    client.execute()

    display = nb.cells[2].outputs
    mimetypes = {m for out in display for m in out.get("data", {})}
    # a Panel viewable renders as a Bokeh/HoloViews bundle in Jupyter, not as a plain repr
    assert "application/vnd.holoviews_exec.v0+json" in mimetypes, mimetypes
    assert "data" in nb.cells[4].outputs[0], nb.cells[4].outputs
    selection = nb.cells[4].outputs[0]["data"]["text/plain"]
    assert "object_id" in selection and "macho_like_" in selection
