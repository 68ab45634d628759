"""Who may write labels on a served app (``LCEXPLORER_LABELS``): shared, read-only, per-user.

Real label files in a real catalog folder; the state and the labels pane are the ones the app serves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.catalog import Catalog
from explorer.dashboard.labels import LabelStore, LabelsReadOnly, labels_mode
from explorer.errors import ExplorerError


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    """A small catalog with a source folder (labels are saved beside it in shared mode)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cat"
    folder.mkdir()
    frame = pd.concat([pd.DataFrame({"object_id": f"o{i}", "time": np.sort(rng.uniform(0, 100, 20)),
                                     "mag": rng.normal(17, 0.2, 20), "mag_err": 0.02}) for i in range(6)])
    path = folder / "cat.csv"
    frame.to_csv(path, index=False)
    from explorer.catalog import load_catalog

    return load_catalog(path)


def files_in(*folders) -> set:
    return {p for f in folders if f.exists() for p in f.rglob("*") if p.is_file()}


def test_mode_from_the_environment(monkeypatch):
    monkeypatch.delenv("LCEXPLORER_LABELS", raising=False)
    assert labels_mode() == "shared"
    monkeypatch.setenv("LCEXPLORER_LABELS", "Read-Only")
    assert labels_mode() == "read-only"
    monkeypatch.setenv("LCEXPLORER_LABELS", "readonly")  # a typo must not silently mean "shared"
    with pytest.raises(ExplorerError, match="LCEXPLORER_LABELS='readonly' is not one of shared, per-user, read-only"):
        labels_mode()


def test_read_only_shows_labels_and_writes_nothing(catalog, lcx_home, monkeypatch):
    shared = LabelStore(catalog)
    shared.assign(["o1"], "RR Lyrae")
    folder = shared.path.parent
    before = {p: p.stat().st_mtime_ns for p in files_in(folder, lcx_home)}
    monkeypatch.setenv("LCEXPLORER_LABELS", "read-only")
    store = LabelStore(catalog)
    assert not store.writable and "read-only" in store.read_only_reason and store.read_only_reason in store.notice
    assert store.labels["o1"] == "RR Lyrae"  # the catalog's labels are shown
    for write in (lambda: store.assign(["o2"], "odd class"), lambda: store.clear(["o1"]),
                  lambda: store.add_label("new class")):
        with pytest.raises(LabelsReadOnly, match="read-only on this server"):
            write()
    assert "new class" not in store.label_set and "odd class" not in store.label_set
    assert {p: p.stat().st_mtime_ns for p in files_in(folder, lcx_home)} == before, "a read-only store wrote a file"


def test_per_user_files_are_separate_and_anonymous_is_read_only(catalog, lcx_home, monkeypatch):
    shared = LabelStore(catalog)
    shared.assign(["o0"], "non-variable")
    monkeypatch.setenv("LCEXPLORER_LABELS", "per-user")
    alice, bob = LabelStore(catalog, user="alice"), LabelStore(catalog, user="bob")
    alice.assign(["o1"], "RR Lyrae")
    bob.assign(["o1"], "Cepheid")
    assert alice.path != bob.path and alice.path.parent.parent == lcx_home / "labels" / "users"
    assert LabelStore(catalog, user="alice").labels["o1"] == "RR Lyrae"
    assert LabelStore(catalog, user="bob").labels["o1"] == "Cepheid"
    assert pd.isna(LabelStore(catalog, user="alice").labels["o0"])  # a user's file starts empty
    assert shared.labels["o1"] is pd.NA or pd.isna(shared.labels["o1"]), "a user's label reached the shared file"
    # names a file system folds together stay apart
    assert LabelStore(catalog, user="a/b").path != LabelStore(catalog, user="a_b").path
    anonymous = LabelStore(catalog, user=None)
    assert not anonymous.writable and "not signed in" in anonymous.read_only_reason
    assert anonymous.labels["o0"] == "non-variable"  # the shared labels, read-only
    with pytest.raises(LabelsReadOnly):
        anonymous.assign(["o2"], "RR Lyrae")


def test_state_and_pane_follow_the_mode(catalog, lcx_home, monkeypatch):
    """The served view: in read-only mode the label actions are disabled and say why; the state refuses."""
    from explorer.dashboard.panes.labels import LabelsPane
    from explorer.dashboard.state import ExplorerState

    monkeypatch.setenv("LCEXPLORER_LABELS", "read-only")
    state = ExplorerState(catalog)
    pane = LabelsPane(state=state)
    assert pane.label_apply.disabled and pane.label_add.disabled and pane.label_input.disabled
    assert pane.read_only.visible and "read-only" in pane.read_only.object
    assert "read-only" in state.status
    state.selected_id = "o1"
    with pytest.raises(LabelsReadOnly):
        state.assign_label("RR Lyrae")
    monkeypatch.setenv("LCEXPLORER_LABELS", "per-user")
    signed_in = ExplorerState(catalog, labels_user="carol")
    pane = LabelsPane(state=signed_in)
    assert not pane.label_apply.disabled and not pane.read_only.visible
    signed_in.selected_id = "o1"
    signed_in.assign_label("RR Lyrae")
    assert "carol" in str(signed_in.label_store.path)
