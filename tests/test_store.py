"""The local model store: layout, cards, atomic install, errors."""

from __future__ import annotations

import json
import os

import pytest

from explorer import store
from explorer.errors import ModelError


def _card(**extra):
    return {"kind": "astromer1", "family": "test", **extra}


def test_store_root_follows_env(lcx_home):
    assert store.store_root() == lcx_home
    assert store.models_dir() == lcx_home / "models"


def test_store_root_defaults_to_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("LCEXPLORER_HOME", raising=False)
    assert store.store_root() == store.Path(platformdirs.user_cache_dir("lcexplorer"))


def test_install_list_get(lcx_home, tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"onnx-bytes")
    entry = store.install_model("model-a", src, _card(note="x"))
    assert entry.onnx_path == lcx_home / "models" / "model-a" / "model.onnx"
    assert entry.onnx_path.read_bytes() == b"onnx-bytes"
    card = json.loads((entry.onnx_path.parent / "card.json").read_text())
    assert card["name"] == "model-a" and card["note"] == "x" and card["kind"] == "astromer1"
    store.install_model("model-b", b"other", _card())
    assert [e.name for e in store.list_store()] == ["model-a", "model-b"]
    got = store.get_entry("model-b")
    assert got.onnx_path.read_bytes() == b"other" and got.kind == "astromer1"


def test_missing_name_lists_available(lcx_home):
    store.install_model("present", b"x", _card())
    with pytest.raises(ModelError, match=r"'absent'.*available: present"):
        store.get_entry("absent")


def test_overwrite_rules(lcx_home):
    store.install_model("m", b"one", _card())
    with pytest.raises(ModelError, match="already installed"):
        store.install_model("m", b"two", _card())
    assert store.get_entry("m").onnx_path.read_bytes() == b"one"
    store.install_model("m", b"two", _card(), overwrite=True)
    assert store.get_entry("m").onnx_path.read_bytes() == b"two"
    # no temporary folders left behind
    assert sorted(os.listdir(lcx_home / "models")) == ["m"]


def test_failed_install_leaves_nothing(lcx_home, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        store.install_model("m", tmp_path / "missing.onnx", _card())
    assert store.list_store() == []
    assert [p for p in (lcx_home / "models").iterdir()] == []


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "x" * 200])
def test_invalid_names(lcx_home, name):
    with pytest.raises(ModelError, match="invalid model name"):
        store.install_model(name, b"x", _card())


def test_unknown_kind_refused(lcx_home):
    with pytest.raises(ModelError, match="kind 'bert'"):
        store.install_model("m", b"x", {"kind": "bert"})


def test_broken_folders_are_skipped(lcx_home):
    (lcx_home / "models" / "half").mkdir(parents=True)
    (lcx_home / "models" / "half" / "model.onnx").write_bytes(b"x")  # no card
    store.install_model("ok", b"x", _card())
    assert [e.name for e in store.list_store()] == ["ok"]


def test_remove(lcx_home):
    store.install_model("m", b"x", _card())
    store.remove_model("m")
    assert store.list_store() == []


# ---------------------------------------------------------------------- broken entries (issue 12, item 6)
def _break(home, name, how):
    folder = home / "models" / name
    if how == "unknown-kind":
        (folder / "card.json").write_text('{"kind": "weird"}')
        return "kind 'weird'"
    if how == "corrupt-card":
        (folder / "card.json").write_text('{"kind": "astromer1",')
        return "card.json is not valid JSON"
    if how == "card-not-object":
        (folder / "card.json").write_text('["astromer1"]')
        return "JSON list, not an object"
    if how == "no-card":
        (folder / "card.json").unlink()
        return "card.json is missing"
    if how == "no-model":
        (folder / "model.onnx").unlink()
        return "model.onnx is missing"
    if how == "empty-model":
        (folder / "model.onnx").write_bytes(b"")
        return "model.onnx is empty"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["unknown-kind", "corrupt-card", "card-not-object", "no-card", "no-model",
                                 "empty-model"])
def test_broken_entry_is_a_clear_error_and_listed_as_broken(lcx_home, how):
    store.install_model("good", b"x", _card())
    store.install_model("bad", b"x", _card())
    what = _break(lcx_home, "bad", how)
    with pytest.raises(ModelError) as err:
        store.get_entry("bad")
    msg = str(err.value)
    assert what in msg and "'bad'" in msg and str(lcx_home / "models" / "bad") in msg
    assert "KeyError" not in msg and "store is empty" not in msg
    problems = []
    assert [e.name for e in store.list_store(errors=problems)] == ["good"]
    assert [p.name for p in problems] == ["bad"] and what in problems[0].problem
    assert [p.name for p in store.store_problems()] == ["bad"]
    # an unknown name still lists what is there, broken ones included
    with pytest.raises(ModelError, match=r"available: good; broken: bad"):
        store.get_entry("other")
    store.remove_model("bad")  # a broken model can be removed
    assert store.store_problems() == []


def test_only_broken_entries_do_not_read_as_an_empty_store(lcx_home):
    store.install_model("only", b"x", _card())
    _break(lcx_home, "only", "unknown-kind")
    with pytest.raises(ModelError, match="none usable; broken: only"):
        store.get_entry("missing")


def test_install_removes_temporaries_of_killed_installs(lcx_home):
    models = lcx_home / "models"
    stale, young = models / ".tmp-m-abc123", models / ".old-m-def456"
    for folder in (stale, young):
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"x" * 10)
    past = os.path.getmtime(stale) - 2 * store.STALE_TEMP_S
    os.utime(stale, (past, past))
    store.install_model("m", b"x", _card())
    assert not stale.exists() and young.exists()
    assert [e.name for e in store.list_store()] == ["m"]


@pytest.mark.parametrize("how", ["unknown-kind", "corrupt-card", "no-model"])
def test_engine_and_model_list_name_a_broken_store_folder(lcx_home, monkeypatch, tmp_path, how):
    """load_model / list_models (library, CLI, app) say what is wrong with a broken folder, never 'store is empty'."""
    from explorer.cli import main
    from explorer.engine import list_models, load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    store.install_model("bad", b"x", _card())
    what = _break(lcx_home, "bad", how)
    with pytest.raises(ModelError) as err:
        load_model("bad")
    assert what in str(err.value) and "store is empty" not in str(err.value)
    with pytest.raises(ModelError, match="broken folders: bad"):
        load_model("other")
    info = {m.name: m for m in list_models()}["bad"]
    assert info.source == "store" and not info.available and what in info.detail
    assert main(["embed", str(tmp_path), "--model", "bad", "-o", str(tmp_path / "o.parquet")]) == 2
