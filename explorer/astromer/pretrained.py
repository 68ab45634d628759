"""Where ``SingleBandEncoder.from_pretraining(name)`` finds weights: store, local checkpoints, download.

Order: a path the user gives (checkpoint or saved folder); a store model of that name; the store model
``astromer1-<name>``; a checkpoint ``<name>.zip`` (or ``.tar.gz``) in the checkpoint folders, converted
and installed into the store; finally the original library's download URL
(``https://github.com/astromer-science/weights/raw/main/<name>.zip``, or the template in
``LCEXPLORER_ASTROMER_WEIGHTS_URL``), saved under ``store_root()/downloads`` and installed the same way.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from explorer.errors import ConversionError, ModelError

__all__ = ["WEIGHTS_URL", "checkpoint_dirs", "find_checkpoint", "download_weights", "resolve_pretrained"]

# The original library's source (ASTROMER.models.SingleBandEncoder.from_pretraining).
WEIGHTS_URL = "https://github.com/astromer-science/weights/raw/main/{name}.zip"
_SUFFIXES = (".zip", ".tar.gz", ".tgz")


def checkpoint_dirs() -> list[Path]:
    """Folders searched for ``<name>.zip``: $LCEXPLORER_SHARED/models/checkpoints, ../shared, ./weights, downloads."""
    from explorer.store import store_root

    dirs = []
    env = os.environ.get("LCEXPLORER_SHARED")
    if env:
        dirs.append(Path(env) / "models" / "checkpoints")
    dirs.append(Path(__file__).resolve().parents[2].parent / "shared" / "models" / "checkpoints")
    dirs.append(Path("weights"))  # the original library downloads into ./weights/<name>
    dirs.append(store_root() / "downloads")
    return dirs


def find_checkpoint(name: str) -> Path | None:
    """The first ``<name>.zip``/``.tar.gz`` (or extracted ``<name>/`` folder) in :func:`checkpoint_dirs`."""
    for folder in checkpoint_dirs():
        for suffix in _SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                return path
        if (folder / name).is_dir() and any((folder / name).glob("conf.json")):
            return folder / name
    return None


def download_weights(url: str, dest: Path, *, timeout: float | None = None) -> Path:
    """Download ``url`` to ``dest`` (atomic); ModelError saying what failed and how to get the file by hand."""
    from explorer.atomic import atomic_path

    timeout = float(os.environ.get("LCEXPLORER_DOWNLOAD_TIMEOUT", "10")) if timeout is None else timeout
    dest = Path(dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
            with open(tmp, "wb") as fh:
                shutil.copyfileobj(response, fh)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ModelError(f"cannot download {url}: {reason}") from None
    return dest


def _install_checkpoint(path: Path, store_name: str) -> str:
    from explorer.convert import import_checkpoint
    from explorer.store import get_entry

    try:
        get_entry(store_name)
        return store_name
    except ModelError:
        pass
    entry = import_checkpoint(path, store_name)
    return entry.name


def _how_to(name: str, url: str) -> str:
    return (f"Get {name}.zip where that address is reachable ({url}), then either "
            f"`lcexplorer models import {name}.zip --name astromer1-{name}` or "
            f"SingleBandEncoder.from_pretraining('path/to/{name}.zip'); a folder written by "
            "SingleBandEncoder.fit or save_weights works too")


def resolve_pretrained(name: str | Path):
    """(AstromerWeights, store name or None, onnx path or None) for ``from_pretraining(name)``."""
    from explorer.astromer.weights import is_saved_weights, read_checkpoint_weights, weights_from_store
    from explorer.convert import suggest_name
    from explorer.convert.importer import convert_checkpoint
    from explorer.store import list_store, store_root, validate_name

    text = str(name)
    path = Path(text).expanduser()
    looks_like_path = isinstance(name, Path) or "/" in text or os.sep in text or text.endswith(_SUFFIXES + (".h5",))
    if looks_like_path or path.exists():
        if is_saved_weights(path):
            return read_checkpoint_weights(path), None, None
        if not path.exists():
            raise ModelError(f"weights source {path} not found")
        from explorer.engine.session import file_sha256
        from explorer.store import get_entry

        store_name = suggest_name(convert_checkpoint(path))
        try:
            entry = get_entry(store_name)
        except ModelError:
            entry = None
        if entry is None:
            store_name = _install_checkpoint(path, store_name)
        elif not path.is_file() or (entry.card.get("source") or {}).get("sha256") != file_sha256(path):
            # a different model already has that store name: use this checkpoint without installing it
            return read_checkpoint_weights(path), None, None
        weights, entry = weights_from_store(store_name)
        return weights, store_name, entry.onnx_path
    store = {e.name for e in list_store()}
    for candidate in (text, f"astromer1-{text}"):
        if candidate in store:
            weights, entry = weights_from_store(candidate)
            return weights, candidate, entry.onnx_path
    try:
        validate_name(f"astromer1-{text}")
    except ModelError:
        raise ModelError(f"{text!r} is neither a weights path nor a valid model or survey name") from None
    found = find_checkpoint(text)
    url = os.environ.get("LCEXPLORER_ASTROMER_WEIGHTS_URL", WEIGHTS_URL).format(name=text)
    if found is None:
        dest = store_root() / "downloads" / f"{text}.zip"
        try:
            found = download_weights(url, dest)
        except ModelError as exc:
            searched = ", ".join(str(d) for d in checkpoint_dirs())
            raise ModelError(
                f"no weights for {text!r}: not in the local model store (models: {', '.join(sorted(store)) or 'none'}), "
                f"no checkpoint {text}.zip in {searched}, and {exc}. {_how_to(text, url)}"
            ) from None
    try:
        store_name = _install_checkpoint(found, f"astromer1-{text}")
    except ConversionError as exc:
        raise ModelError(f"weights for {text!r} at {found} cannot be used: {exc}") from None
    weights, entry = weights_from_store(store_name)
    return weights, store_name, entry.onnx_path
