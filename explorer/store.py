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
import time
from dataclasses import dataclass
from pathlib import Path

from explorer.families import kinds as _family_kinds
from explorer.errors import ModelError

__all__ = [
    "StoreEntry",
    "store_root",
    "models_dir",
    "install_model",
    "list_store",
    "get_entry",
    "StoreProblem",
    "store_problems",
    "KINDS",
    "remove_model",
    "validate_name",
    "MODEL_FILE",
    "CARD_FILE",
]

MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
KINDS = _family_kinds()   # every registered model family (explorer.families)
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
    _remove_stale_temporaries(root)
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


# An install takes seconds; a temporary folder this old was left by a killed process.
STALE_TEMP_S = 3600.0


def _remove_stale_temporaries(root: Path) -> None:
    """Remove ``.tmp-*`` / ``.old-*`` folders that killed installs left in ``root`` (older than STALE_TEMP_S)."""
    now = time.time()
    for folder in root.glob(".*-*"):
        if not folder.name.startswith((".tmp-", ".old-")) or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            if now - folder.stat().st_mtime > STALE_TEMP_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # removed meanwhile by another install
            continue


@dataclass(frozen=True)
class StoreProblem:
    """A model folder that is not a usable entry: its name, folder and what is wrong with it."""

    name: str
    folder: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}"


def _check_entry(folder: Path) -> StoreEntry:
    """The entry in ``folder``; ModelError naming the folder and what is wrong when it is broken."""
    onnx_path = folder / MODEL_FILE
    card_path = folder / CARD_FILE

    def broken(what: str) -> ModelError:
        return ModelError(f"model {folder.name!r} in the local store is broken: {what} (folder {folder})")

    if not card_path.is_file():
        raise broken(f"{CARD_FILE} is missing")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise broken(f"{CARD_FILE} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise broken(f"{CARD_FILE} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise broken(f"{CARD_FILE} cannot be read ({exc.strerror})") from None
    if not isinstance(card, dict):
        raise broken(f"{CARD_FILE} holds a JSON {type(card).__name__}, not an object")
    kind = card.get("kind")
    if kind not in KINDS:
        raise broken(f"{CARD_FILE} has kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if not onnx_path.is_file():
        raise broken(f"{MODEL_FILE} is missing")
    if onnx_path.stat().st_size == 0:
        raise broken(f"{MODEL_FILE} is empty (0 bytes)")
    return StoreEntry(name=folder.name, onnx_path=onnx_path, card=card)


def _model_folders() -> list[Path]:
    root = models_dir()
    if not root.is_dir():
        return []
    # dot-folders are our own install temporaries, never entries
    return [f for f in sorted(root.iterdir()) if not f.name.startswith(".") and f.is_dir()]


def list_store(errors: list | None = None) -> list[StoreEntry]:
    """All usable installed models, sorted by name.

    Broken folders (no or corrupt card, unknown kind, missing model file) are not entries; pass a
    list as ``errors`` to receive one :class:`StoreProblem` per broken folder, so that a caller can
    say "1 broken model" instead of "the store is empty".
    """
    entries = []
    for folder in _model_folders():
        try:
            entries.append(_check_entry(folder))
        except ModelError as exc:
            if errors is not None:
                errors.append(StoreProblem(folder.name, folder, str(exc)))
    return entries


def store_problems() -> list[StoreProblem]:
    """The broken model folders of the store (empty when every folder is a usable entry)."""
    problems: list[StoreProblem] = []
    list_store(errors=problems)
    return problems


def get_entry(name: str) -> StoreEntry:
    """The installed model ``name``.

    ModelError listing the available names when there is no such folder, or naming the folder and
    what is wrong (corrupt card, unknown kind, missing model file) when it is broken.
    """
    if isinstance(name, str) and _NAME_RE.match(name) and name not in (".", ".."):
        folder = models_dir() / name
        if folder.is_dir():
            return _check_entry(folder)
    problems: list[StoreProblem] = []
    available = [e.name for e in list_store(errors=problems)]
    listing = ", ".join(available) if available else "none usable"
    if problems:
        listing += f"; broken: {', '.join(p.name for p in problems)}"
    raise ModelError(f"model {name!r} is not in the local store {models_dir()} (available: {listing})")


def remove_model(name: str) -> None:
    """Delete an installed model, broken ones included; ModelError if there is no such model."""
    validate_name(name)
    folder = models_dir() / name
    if not folder.is_dir():
        get_entry(name)  # raises, listing what is available
    shutil.rmtree(folder)
