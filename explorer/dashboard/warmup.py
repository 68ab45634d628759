"""Server-start work that keeps the first page fast: the default catalog's map (and so UMAP's numba code).

``start_warmup()`` runs once per process in a daemon thread: it embeds and projects the default
catalog with the default model through the same content-keyed caches a session uses (``state.EMBEDDINGS`` / ``state.MAPS``, backed by the engine's and the
projection's disk caches).  A session asking for that map meanwhile waits for this one computation
instead of starting a second one; later server starts find it on disk.
"""

from __future__ import annotations

import logging
import threading
import time

from explorer import offload

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_THREAD: threading.Thread | None = None
TIMINGS: dict[str, float] = {}


def configure_numba_cache() -> str | None:
    """Use the store's numba cache (``explorer.numba_cache.configure``); call before numba is imported.

    The install step (``python -m explorer.numba_cache`` in ``scripts/start-app``) filled that folder,
    so neither the server nor its worker compiles UMAP's code again. Returns the folder (None when it
    cannot be made).
    """
    from explorer import numba_cache

    return numba_cache.configure()


def warm(precompute: bool = True) -> dict[str, float]:
    """Compute the default catalog's map into the shared caches (this compiles UMAP's numba code); timings (s).

    The generic ``projection.warm_up`` (the code path of catalogs above 4096 objects) runs in the worker
    process when the app has one (``offload``), where the sessions' fits run; in-process it runs only
    when there is no default map to compute: numba compiles while holding the GIL, so a long compile in
    a server stalls every session's event loop, and nobody waits for that path yet.
    """
    t0 = time.perf_counter()
    done = False
    if precompute:
        from .sources import default_catalog
        from .state import ExplorerState

        catalog = default_catalog()
        if catalog:
            # its first look puts the seeded sample's vectors on disk: a session's first look reads them
            # there, and grows from this run's embedding of the whole catalog (one computation per key)
            state = ExplorerState(catalog)
            state.refresh_models()
            if state.can_compute():
                t = time.perf_counter()
                state.run()
                TIMINGS["default_map_s"] = time.perf_counter() - t
                done = True
    from explorer.projection import warm_up

    if offload.pool() is not None:
        # the sessions' UMAP fits run in the worker process: compile there, where it stalls no session
        TIMINGS["worker_numba_s"] = offload.call(warm_up)
    elif not done:
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

    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    timings = warm(precompute=True)
    print("warm-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return 0
