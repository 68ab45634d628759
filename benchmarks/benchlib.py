"""What several benchmarks share: the project and ../shared locations, a note of the machine's load, and
the median wall time of repeated calls."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LCEXPLORER_SHARED", ROOT.parent / "shared"))
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project's own package
    sys.path.insert(0, str(ROOT))


def load_avg() -> str:
    """The 1-minute load average and core count, to note how busy the machine was."""
    try:
        return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


def median_time(fn, repeats: int) -> float:
    """Median wall time (seconds) of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
