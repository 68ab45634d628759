"""numba's on-disk cache for UMAP and pynndescent, under the store: compiled once per machine, loaded after.

A fresh process that imports ``umap`` and fits a map compiles numba code for tens of seconds:
pynndescent's functions are cacheable (``cache=True``), umap-learn's are not (no ``cache=True``), so
even with a filled cache every process compiled UMAP's layout again. ``configure()`` points
``NUMBA_CACHE_DIR`` at ``<store>/numba`` (the same folder for the install step, the test run, the
served app and its worker processes) and turns caching on for umap-learn's module-level numba
functions as their modules are imported, before anything compiles them. ``fill()`` (``python -m
explorer.numba_cache``, run by ``scripts/start-app`` and ``scripts/run-tests``) compiles the code
paths of our maps once into that folder; later processes load them in about a second.

numba keys its cache by the source file of each function (path, modification time, size) and by
the CPU, so the cache of one machine and one installation is never used by another: a changed
umap-learn or another CPU compiles again, once.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["cache_dir", "configure", "enable_caching", "fill", "is_filled", "main", "UMAP_MODULES", "STAMP"]

# umap-learn's modules with module-level numba functions (none of them declares cache=True)
STAMP = "filled.json"  # written by fill(): for which installation and CPU the folder was filled
UMAP_MODULES = ("umap.utils", "umap.distances", "umap.sparse", "umap.layouts", "umap.spectral", "umap.umap_")


def cache_dir() -> Path | None:
    """``$NUMBA_CACHE_DIR`` when set, else ``store_root()/numba`` (created); None when it cannot be made."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    try:
        from explorer.store import store_root

        folder = store_root() / "numba"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only store: numba keeps its default (next to the sources)
        log.warning("no numba cache folder: %s", exc)
        return None
    return folder


def enable_caching(module) -> int:
    """Turn on numba's disk cache for the not yet compiled numba functions of ``module``; returns how many.

    A function compiled already (an eager signature at import) keeps its in-memory code. numba keys a
    cached function by its Python source, not by its options: of two dispatchers made from one Python
    function (umap's serial and ``parallel=True`` layout epochs) only the serial one is cached, so the
    seeded (serial, reproducible) layout never loads the parallel code.
    """
    try:
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # no numba: nothing to cache
        return 0
    by_source: dict = {}
    for value in list(vars(module).values()):
        if isinstance(value, Dispatcher):
            by_source.setdefault(value.py_func, []).append(value)
    n = 0
    for group in by_source.values():
        if len(group) > 1:
            group = [d for d in group if not d.targetoptions.get("parallel")]
        if len(group) != 1:
            continue
        disp = group[0]
        if isinstance(disp._cache, NullCache) and not disp.signatures:
            disp.enable_caching()
            n += 1
    return n


class _CachingFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of umap-learn's modules so that caching is on right after each module runs."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in UMAP_MODULES:
            return None
        sys.meta_path.remove(self)  # find the real spec without finding ourselves again
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                enable_caching(module)

            def __getattr__(self, name):  # get_source, get_data, ...: tracebacks and resources as before
                return getattr(loader, name)

        spec.loader = Loader()
        return spec


_FINDER = _CachingFinder()


def configure() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` (unless set) and cache umap-learn's numba functions; returns the folder.

    Call it before ``umap`` / ``pynndescent`` are imported (pynndescent binds its cache folder at
    import); a umap module imported already gets caching for the functions it has not compiled yet.
    Idempotent.
    """
    folder = cache_dir()
    if folder is not None:
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        if "numba" in sys.modules:  # numba read its configuration at import: make it read the folder again
            from numba.core import config

            if config.CACHE_DIR != str(folder):
                config.reload_config()
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    for name in UMAP_MODULES:
        if name in sys.modules:
            enable_caching(sys.modules[name])
    return str(folder) if folder is not None else None


def _stamp() -> dict:
    """What the cached code depends on: versions, umap-learn's source files, the interpreter and the CPU."""
    from importlib.metadata import version

    import llvmlite.binding as llvm

    spec = importlib.util.find_spec("umap")
    folder = Path(spec.origin).parent
    return {"versions": {p: version(p) for p in ("numba", "umap-learn", "pynndescent")},
            "sources": {f.name: [f.stat().st_mtime_ns, f.stat().st_size] for f in sorted(folder.glob("*.py"))},
            "python": sys.version, "executable": sys.executable, "cpu": llvm.get_host_cpu_name(),
            "features": llvm.get_host_cpu_features().flatten()}


def is_filled() -> bool:
    """True when :func:`fill` ran into this folder for this installation and CPU (its stamp file matches)."""
    folder = cache_dir()
    try:
        return folder is not None and json.loads((folder / STAMP).read_text()) == _stamp()
    except (OSError, ValueError):
        return False


def fill(metrics=("euclidean", "cosine")) -> dict[str, float]:
    """Compile the numba code of our maps into the cache (seconds when it is filled already); timings (s).

    Covers: ``import umap`` (pynndescent's cached functions), fits on the exact-neighbour path (every
    map up to ``projection.EXACT_NEIGHBOURS_MAX`` objects, and every default map above that, fitted on a
    sample of ``DEFAULT_SAMPLE`` <= that: UMAP's fuzzy graph and layout) at 4500 and 300 points (UMAP's
    epochs differ below 10k), per metric. Not NN-descent (``neighbours="approximate"`` or unsampled maps
    above 50k): pynndescent compiles a closure per ``NNDescent`` object, which no cache keeps.
    """
    configure()
    timings = {}
    t0 = time.perf_counter()
    import numpy as np
    import umap  # noqa: F401  (pynndescent's cached functions load or compile here)

    from explorer.projection import Projection

    timings["import_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    for metric in metrics:
        t = time.perf_counter()
        for n in (4500, 300):
            X = rng.normal(size=(n, 8)).astype(np.float32)
            Projection(metric=metric, n_epochs=5, cache=False).fit(X)
        timings[f"{metric}_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    folder = cache_dir()
    if folder is not None:
        from explorer.atomic import atomic_path

        with atomic_path(folder / STAMP) as tmp:
            Path(tmp).write_text(json.dumps(_stamp()))
    return timings


def main(argv=None) -> int:
    """Fill the numba cache (install step; at once when filled already); ``--where``: print its folder."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m explorer.numba_cache", description=main.__doc__)
    ap.add_argument("--where", action="store_true", help="print the cache folder and exit")
    ap.add_argument("--force", action="store_true", help="run the fits even when the folder is filled already")
    args = ap.parse_args(argv)
    if args.where:
        print(cache_dir() or "")
        return 0
    if not args.force and is_filled():
        print(f"numba cache {cache_dir()}: filled already for this installation and CPU")
        return 0
    timings = fill()
    print(f"numba cache {os.environ.get('NUMBA_CACHE_DIR')}: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
