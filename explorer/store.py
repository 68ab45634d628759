"""The local model store: ``$LCEXPLORER_HOME/models/<name>/{model.onnx,card.json}``.

Installs are atomic: files are written under a temporary folder inside ``models/`` and moved into
place with ``os.replace``, so a reader never sees a half-written model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from explorer.errors import ModelError

__all__ = [
    "StoreEntry",
    "store_root",
    "models_dir",
    "install_model",
    "list_store",
    "get_entry",
    "remove_model",
    "validate_name",
    "MODEL_FILE",
    "CARD_FILE",
]

MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
KINDS = ("astromer1", "astromer2", "atcat")
# Names double as folder names and CLI arguments: keep them portable.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class StoreEntry:
    """One installed model: its name, the ONNX file and its JSON card."""

    name: str
    onnx_path: Path
    card: dict

    @property
    def kind(self) -> str:
        """The model interface family (``card["kind"]``)."""
        return str(self.card.get("kind", ""))


def store_root() -> Path:
    """The store root: ``$LCEXPLORER_HOME``, else the platform user cache folder ``lcexplorer``."""
    env = os.environ.get("LCEXPLORER_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("lcexplorer"))


def models_dir() -> Path:
    """``store_root() / "models"`` (not created here)."""
    return store_root() / "models"


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid store name, else raise ModelError saying why."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in (".", ".."):
        raise ModelError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' "
            "(at most 128 characters, starting with a letter or digit)"
        )
    return name


def install_model(name: str, onnx_source: Path | str | bytes, card: dict, *, overwrite: bool = False) -> StoreEntry:
    """Install an ONNX model (a file path or its bytes) with its card under ``name``; atomic.

    Raises ModelError if ``name`` exists and ``overwrite`` is false, or the card has an unknown kind.
    """
    validate_name(name)
    if not isinstance(card, dict):
        raise ModelError(f"model card for {name!r} must be a dict, got {type(card).__name__}")
    kind = card.get("kind")
    if kind not in KINDS:
        raise ModelError(f"model card for {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}")
    card = dict(card, name=name)
    card_text = json.dumps(card, indent=2, sort_keys=True, default=str)

    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists() and not overwrite:
        raise ModelError(f"model {name!r} is already installed at {final}; pass overwrite=True (--overwrite) to replace it")

    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    try:
        if isinstance(onnx_source, (bytes, bytearray, memoryview)):
            (tmp / MODEL_FILE).write_bytes(bytes(onnx_source))
        else:
            src = Path(onnx_source)
            if not src.is_file():
                raise ModelError(f"ONNX file to install not found: {src}")
            shutil.copyfile(src, tmp / MODEL_FILE)
        (tmp / CARD_FILE).write_text(card_text, encoding="utf-8")
        if final.exists():
            # os.replace cannot replace a non-empty folder: move the old one aside first, then swap.
            old = Path(tempfile.mkdtemp(prefix=f".old-{name}-", dir=root))
            os.replace(final, old / name)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(old / name, final)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return StoreEntry(name=name, onnx_path=final / MODEL_FILE, card=card)


def _read_entry(folder: Path) -> StoreEntry | None:
    onnx_path = folder / MODEL_FILE
    card_path = folder / CARD_FILE
    if not onnx_path.is_file() or not card_path.is_file():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(card, dict):
        return None
    return StoreEntry(name=folder.name, onnx_path=onnx_path, card=card)


def list_store() -> list[StoreEntry]:
    """All installed models, sorted by name (folders without a readable card are skipped)."""
    root = models_dir()
    if not root.is_dir():
        return []
    entries = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        entry = _read_entry(folder)
        if entry is not None:
            entries.append(entry)
    return entries


def get_entry(name: str) -> StoreEntry:
    """The installed model ``name``; ModelError listing the available names when missing."""
    if isinstance(name, str) and _NAME_RE.match(name):
        entry = _read_entry(models_dir() / name)
        if entry is not None:
            return entry
    available = [e.name for e in list_store()]
    listing = ", ".join(available) if available else "none installed"
    raise ModelError(f"model {name!r} is not in the local store {models_dir()} (available: {listing})")


def remove_model(name: str) -> None:
    """Delete an installed model; ModelError if it is not installed."""
    entry = get_entry(name)
    shutil.rmtree(entry.onnx_path.parent)
