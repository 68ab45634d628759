"""Benchmark of the catalog layer at survey scale (not a test).

    python benchmarks/bench_catalog.py [--objects 1000000] [--observations 50000000] [--repeats 1]

Builds a catalog from long-format arrays shaped like a Parquet string column (dictionary-encoded
object ids, as pyarrow reads them), then times ``Catalog.from_long`` (cleaning + grouping),
``content_hash`` (the embedding-cache key), ``band_subset`` and ``take`` of 10 % of the objects, and
reports the peak memory. Prints medians over the repeats.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import pyarrow as pa

from explorer.catalog import Catalog


def synthetic_long(n_objects: int, n_obs: int, seed: int = 0):
    """Long-format arrays: object ids (pyarrow strings), time, mag, mag_err, band (g/r)."""
    rng = np.random.default_rng(seed)
    lengths = rng.multinomial(n_obs, np.ones(n_objects) / n_objects)
    codes = np.repeat(np.arange(n_objects, dtype=np.int32), lengths)
    rng.shuffle(codes)  # observations arrive unsorted, as from a merged survey export
    ids = pa.array(np.char.add("ZTF", np.arange(n_objects).astype(str)))
    obj = pa.DictionaryArray.from_arrays(pa.array(codes), ids).cast(pa.string())
    band = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 2, n_obs).astype(np.int32)),
                                          pa.array(["g", "r"])).cast(pa.string())
    return obj, rng.uniform(58000, 60000, n_obs), rng.normal(18, 1, n_obs), rng.uniform(0.01, 0.1, n_obs), band


def main() -> None:
    """Run the benchmark and print medians."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--observations", type=int, default=50_000_000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    arrays = synthetic_long(args.objects, args.observations)
    times = {"from_long": [], "content_hash": [], "band_subset": [], "take 10%": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        cat = Catalog.from_long(*arrays)
        times["from_long"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cat.content_hash()
        times["content_hash"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cat.band_subset("g")
        times["band_subset"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cat.take(np.arange(0, len(cat), 10))
        times["take 10%"].append(time.perf_counter() - t0)
    print(cat.summary())
    for what, values in times.items():
        print(f"  {what:13s} median {statistics.median(values):7.2f} s  ({args.repeats} runs)")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
