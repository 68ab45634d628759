"""Dask schedulers: ``local:N`` (a LocalCluster of N worker processes) or ``tcp://host:port`` (join one)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from explorer.errors import ExplorerError

__all__ = ["parse_scheduler", "cluster_client"]


def parse_scheduler(text: str) -> tuple[str, object]:
    """``("local", n_workers)`` or ``("address", "tcp://host:port")``; ValueError naming the forms otherwise."""
    text = str(text).strip()
    if text.startswith("local:"):
        n = text[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--scheduler local:N needs a positive worker count, got {text!r}")
        return "local", int(n)
    if text == "local":
        return "local", max(1, (os.cpu_count() or 1))
    if "://" in text:
        return "address", text
    raise ValueError(f"--scheduler is local:N (N worker processes here) or tcp://host:port (a running "
                     f"scheduler), got {text!r}")


@contextlib.contextmanager
def cluster_client(scheduler, *, memory_limit="auto") -> Iterator[object]:
    """A ``dask.distributed.Client`` for ``scheduler`` (a string as above, or an existing Client).

    ``local:N`` starts N single-threaded worker processes (each runs one ONNX Runtime session with
    cores/N threads) and closes them on exit; an address joins a running cluster and leaves it running.
    """
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    kind, value = parse_scheduler(scheduler)
    if kind == "local":
        cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=memory_limit, silence_logs=50)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(value, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ExplorerError(f"cannot reach the Dask scheduler at {value}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def worker_threads(client) -> int:
    """ONNX Runtime / feature threads per task: the cores of the busiest host divided among its workers."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    hosts: dict = {}
    for w in info.get("workers", {}).values():
        hosts.setdefault(w.get("host"), []).append(w.get("nthreads", 1))
    if not hosts:
        return 1
    cores = os.cpu_count() or 1
    return max(1, min(cores // max(sum(t) for t in hosts.values()), cores))


def _takes_n_workers(client) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters
