"""Where models come from: a local .onnx path, the local model store, or the Hugging Face Hub.

Hub downloads go through ``huggingface_hub.hf_hub_download`` with the standard cache (``HF_HUB_CACHE``
/ ``HF_HOME``) and honour ``HF_HUB_OFFLINE=1``. Both are read when a model is loaded, not when
huggingface_hub was imported. Because an unreachable Hub makes huggingface_hub retry for ~25 s, a
quick TCP probe (bounded by ``LCEXPLORER_HUB_TIMEOUT`` seconds, default 3) runs first; if the
Hub cannot be reached the download runs cache-only, which is the same call as offline mode.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from explorer.families import hub_aliases
from explorer.engine.interfaces import INTERFACES, check_interface, detect_kind
from explorer.engine.session import OnnxModel, file_sha256, get_session, resolve_options
from explorer.errors import ModelError

__all__ = ["HubModel", "HUB_MODELS", "ModelInfo", "hub_cache_dir", "hub_offline", "hub_download", "hub_file",
           "load_model", "list_models"]


@dataclass(frozen=True)
class HubModel:
    """A public model file on the Hub."""

    repo_id: str
    filename: str
    kind: str
    size: str | None = None


# every Hub file of every registered family, by alias (see explorer.families)
HUB_MODELS = {alias: HubModel(h.repo_id, h.filename, fam.kind, h.size) for alias, (fam, h) in hub_aliases().items()}


@dataclass(frozen=True)
class ModelInfo:
    """One model the engine can load."""

    name: str
    kind: str
    source: str       # "hub", "store" or "path"
    available: bool   # usable without network
    detail: str


def hub_cache_dir() -> Path:
    """The huggingface cache folder, read from the environment now (HF_HUB_CACHE, HF_HOME)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set to a true value."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


_PROBE: dict = {}


def _hub_reachable(timeout: float) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` s (remembered for 60 s)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host, port = parsed.hostname or "huggingface.co", parsed.port or (443 if parsed.scheme != "http" else 80)
    cached = _PROBE.get((host, port))
    if cached and time.monotonic() - cached[1] < 60:
        return cached[0]
    result = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # name resolution ignores socket timeouts: run the probe in a thread and stop waiting after timeout
    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    ok = bool(result and result[0])
    _PROBE[(host, port)] = (ok, time.monotonic())
    return ok


def hub_download(repo_id: str, filename: str) -> Path:
    """Path of ``filename`` from Hub repo ``repo_id`` through the standard cache; ModelError if unobtainable."""
    from huggingface_hub import hf_hub_download

    timeout = float(os.environ.get("LCEXPLORER_HUB_TIMEOUT", "3"))
    cache_dir = hub_cache_dir()
    if hub_offline():
        local_only, reason = True, "offline mode is on (HF_HUB_OFFLINE=1)"
    elif not _hub_reachable(timeout):
        local_only, reason = True, f"the Hub ({os.environ.get('HF_ENDPOINT', 'https://huggingface.co')}) cannot be reached"
    else:
        local_only, reason = False, "the download failed"
    try:
        return Path(hf_hub_download(repo_id, filename, cache_dir=str(cache_dir), local_files_only=local_only,
                                    etag_timeout=timeout))
    except Exception as exc:  # LocalEntryNotFoundError, HTTP errors, OfflineModeIsEnabled, ...
        raise ModelError(
            f"cannot get {filename} from the Hugging Face Hub repo {repo_id}: {reason} and it is not in the "
            f"local cache {cache_dir}. Download it where the Hub is reachable "
            f"(huggingface-cli download {repo_id} {filename}) and copy the cache, or load a local .onnx file "
            f"or a store model instead. ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc


def _looks_like_path(source: str) -> bool:
    return source.endswith(".onnx") or os.sep in source or "/" in source or Path(source).is_file()


def _resolve(source, kind):
    """(path, name, kind, origin, card) for a source."""
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ModelError(f"ONNX model file not found: {path}")
        return path, str(path), kind, "path", {}
    if not isinstance(source, str):
        raise ModelError(f"model source must be a store name, a Hub alias or a path, got {source!r}")
    from explorer.store import get_entry, list_store, models_dir, store_problems

    store_names = [e.name for e in list_store()]
    broken = {p.name: p for p in store_problems()}
    if source in broken:
        get_entry(source)  # raises the ModelError naming the folder and what is wrong with it
    if source in store_names:
        entry = get_entry(source)
        card_kind = entry.card.get("kind")
        if kind is not None and card_kind and kind != card_kind:
            raise ModelError(f"store model {source!r} is a {card_kind} model, not {kind}")
        return entry.onnx_path, source, kind or card_kind, "store", entry.card
    if source in HUB_MODELS:
        hub = HUB_MODELS[source]
        if kind is not None and kind != hub.kind:
            raise ModelError(f"Hub model {source!r} is a {hub.kind} model, not {kind}")
        card = {"repo_id": hub.repo_id, "filename": hub.filename}
        if hub.size is not None:
            card["size"] = hub.size
        return hub_download(hub.repo_id, hub.filename), source, hub.kind, "hub", card
    in_store = ", ".join(store_names) if store_names else ("no usable model" if broken else "store is empty")
    if broken:
        in_store += f"; broken folders: {', '.join(sorted(broken))}"
    raise ModelError(
        f"unknown model {source!r}: not a file, not in the local store {models_dir()} ({in_store}), "
        f"and not a Hub alias ({', '.join(HUB_MODELS)})"
    )


def hub_file(alias: str) -> Path:
    """Local path of the Hub file behind ``alias`` (downloaded into the HF cache; offline: the cache only)."""
    if alias not in HUB_MODELS:
        raise ModelError(f"unknown Hub alias {alias!r}; expected one of {', '.join(HUB_MODELS)}")
    hub = HUB_MODELS[alias]
    return hub_download(hub.repo_id, hub.filename)


def load_model(source, *, kind=None, threads=None, inter_threads=None, providers=None, quantize=False,
               fast_math=False) -> OnnxModel:
    """Load a model from a store name, a Hub alias or an .onnx path, and check its interface.

    ``kind`` (a registered family, see ``explorer.families``) is taken from the store card or the
    Hub alias, or guessed from the inputs of a bare file (families sharing an interface, e.g. Astromer
    1 / 2, cannot be told apart: see ``detect_kind``). ``quantize=True`` runs the int8 dynamically quantised copy of the file.
    CUDA sessions compute in exact float32 unless ``fast_math=True`` (TF32).
    """
    if kind is not None and kind not in INTERFACES:
        raise ModelError(f"unknown model kind {kind!r}; expected one of {', '.join(INTERFACES)}")
    options = resolve_options(threads, inter_threads, providers, fast_math)
    path, name, kind, origin, card = _resolve(source, kind)
    session = get_session(path, options)
    if kind is None:
        kind = detect_kind(session)
        if kind is None:
            names = ", ".join(a.name for a in session.get_inputs())
            known = "; ".join(f"{k}: {', '.join(s.name for s in i.inputs)}" for k, i in INTERFACES.items())
            raise ModelError(f"{path} has inputs ({names}), which match no known model interface ({known}); "
                             "pass kind= to see what differs")
    check_interface(session, INTERFACES[kind], f"{name} ({path})" if str(path) != name else name)
    source_sha = file_sha256(path)
    if quantize:
        from explorer.engine.quantize import quantize_model

        qpath = quantize_model(path, source_sha)
        session = get_session(qpath, options)
        check_interface(session, INTERFACES[kind], f"int8 copy of {name} ({qpath})")
    return OnnxModel(path=Path(path), name=name, kind=kind, origin=origin, session=session, options=options,
                     card=dict(card), quantized=bool(quantize), source_sha256=source_sha)


def list_models() -> list[ModelInfo]:
    """Store models and Hub aliases, with whether each can be used now; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    from explorer.store import list_store

    problems = []
    infos = [ModelInfo(e.name, e.kind, "store", e.onnx_path.is_file(), str(e.onnx_path))
             for e in list_store(errors=problems)]
    # broken folders are listed as unavailable, with what is wrong, rather than hidden
    infos += [ModelInfo(p.name, "", "store", False, p.problem) for p in problems]
    cache_dir = hub_cache_dir()
    for alias, hub in HUB_MODELS.items():
        try:
            cached = try_to_load_from_cache(hub.repo_id, hub.filename, cache_dir=str(cache_dir))
        except Exception:  # a malformed cache folder must not break listing
            cached = None
        if isinstance(cached, str) and Path(cached).is_file():
            infos.append(ModelInfo(alias, hub.kind, "hub", True, f"{hub.repo_id}/{hub.filename} cached at {cached}"))
        else:
            where = "offline mode is on" if hub_offline() else "downloads on first use"
            infos.append(ModelInfo(alias, hub.kind, "hub", False,
                                   f"{hub.repo_id}/{hub.filename} not in {cache_dir} ({where})"))
    return infos
