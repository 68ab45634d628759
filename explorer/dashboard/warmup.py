"""Server-start work that keeps the first page fast: numba compile and the default catalog's map.

``start_warmup()`` runs once per process in a daemon thread: it compiles UMAP's numba code, then
embeds and projects the default catalog with the default model through the same content-keyed
caches a session uses (``state.EMBEDDINGS`` / ``state.MAPS``, backed by the engine's and the
projection's disk caches).  A session asking for that map meanwhile waits for this one computation
instead of starting a second one; later server starts find it on disk.
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_THREAD: threading.Thread | None = None
TIMINGS: dict[str, float] = {}


def configure_numba_cache() -> str | None:
    """Point ``NUMBA_CACHE_DIR`` at ``<store>/numba`` (unless set) so cached compiled code survives restarts.

    Must run before numba is imported to take effect; returns the folder (None when it cannot be made).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    try:
        from explorer.store import store_root

        folder = store_root() / "numba"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only store: numba keeps its default (next to the sources)
        log.warning("no numba cache folder: %s", exc)
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    return str(folder)


def warm(precompute: bool = True) -> dict[str, float]:
    """Compute the default catalog's map into the shared caches, then compile UMAP for other sizes; timings (s).

    The default map comes first: it compiles exactly the UMAP code the first page needs, while the
    generic warm-up compiles the path of larger catalogs, which nobody waits for yet.
    """
    from explorer.projection import warm_up

    t0 = time.perf_counter()
    if precompute:
        from .sources import default_catalog
        from .state import ExplorerState

        catalog = default_catalog()
        if catalog:
            state = ExplorerState(catalog)
            state.refresh_models()
            if state.can_compute():
                t = time.perf_counter()
                state.run()
                TIMINGS["default_map_s"] = time.perf_counter() - t
    t = time.perf_counter()
    TIMINGS["numba_s"] = warm_up()
    TIMINGS["total_s"] = time.perf_counter() - t0
    log.info("warm-up done: %s", TIMINGS)
    return TIMINGS


def start_warmup(precompute: bool = True) -> threading.Thread:
    """Start :func:`warm` in a background thread once per process (later calls return the same thread)."""
    global _THREAD
    with _LOCK:
        if _THREAD is None:
            def run():
                try:
                    warm(precompute)
                except Exception:  # noqa: BLE001  a failed warm-up only costs the first user time
                    log.exception("dashboard warm-up failed")

            _THREAD = threading.Thread(target=run, name="lcx-warmup", daemon=True)
            _THREAD.start()
        return _THREAD


def main(argv=None) -> int:
    """Build the default map into the disk caches (install step of scripts/start-app)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--no-numba", action="store_true", help="only the default map, no generic UMAP compile")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    timings = warm(precompute=True) if not args.no_numba else _default_map_only()
    print("warm-up: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


def _default_map_only() -> dict[str, float]:
    from .sources import default_catalog
    from .state import ExplorerState

    t = time.perf_counter()
    catalog = default_catalog()
    if catalog:
        state = ExplorerState(catalog)
        state.refresh_models()
        if state.model_available():
            state.run()
    TIMINGS["default_map_s"] = time.perf_counter() - t
    return TIMINGS
