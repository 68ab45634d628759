"""Partitioned catalogs: HATS/LSDB catalogs with nested light curves, and folders of long-format Parquet.

A partition is the unit of work of a distributed job: it is read on a worker, turned into an
in-memory :class:`explorer.catalog.Catalog` and embedded there. Partitions never meet on the client.

- HATS: ``lsdb.read_hats(folder)``; one partition per HEALPix pixel, read lazily by lsdb/Dask; the
  light curves are the catalog's nested column (``nested-pandas``), the other columns are the
  objects table. Output rows carry ``Norder``, ``Npix`` and ``_healpix_29``.
- Parquet folder: every ``*.parquet`` file below the folder (hidden and ``_`` files ignored) is one
  partition in long format (one row per observation); all observations of an object must be in one
  file (checked when the results are read: an id in two partitions is an error naming both).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.catalog.readers.collections import is_hats, open_hats
from explorer.errors import CatalogError

__all__ = ["Partition", "PartitionedSource", "open_partitioned", "is_hats", "write_hats", "write_parquet_partitions"]



@dataclass(frozen=True)
class Partition:
    """One partition: its display name, the output file stem, and what the worker needs to read it."""

    name: str                 # "Norder=7/Npix=132309" or the file path relative to the folder
    stem: str                 # output file "part-<stem>.parquet" (unique, file-system safe)
    columns: dict = field(default_factory=dict)   # partitioning columns written with every row


@dataclass
class PartitionedSource:
    """A partitioned catalog: its kind ("hats" or "parquet"), path and partitions (in a stable order)."""

    kind: str
    path: Path
    partitions: list
    nested_column: str | None = None
    id_column: str | None = None
    _hats: object = None     # the lsdb catalog (client side only: used to build the read tasks)

    def read_tasks(self) -> list:
        """One Dask-delayed (HATS) or path (Parquet) per partition, in partition order."""
        if self.kind == "hats":
            return list(self._hats.to_delayed())
        return [str(self.path / p.name) for p in self.partitions]


def _safe_stem(text: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9=._-]+", "_", text).strip("._") or "partition"
    # two names that only differ in unsafe characters must not share an output file
    return f"{stem[:80]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def open_partitioned(path, *, nested_column=None, id_column=None) -> PartitionedSource:
    """Open a HATS catalog folder or a folder of long-format Parquet files as partitions (no data read)."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog path not found: {path}")
    if is_hats(path):
        return _open_hats(path, nested_column, id_column)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet")
                       if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
        if not files:
            raise CatalogError(f"{path} holds neither a HATS catalog (hats.properties) nor any .parquet file")
        parts = [Partition(str(f.relative_to(path)), _safe_stem(str(f.relative_to(path).with_suffix(""))),
                           {"partition": str(f.relative_to(path))}) for f in files]
        return PartitionedSource("parquet", path, parts, id_column=id_column)
    raise CatalogError(f"{path} is a file; a distributed job reads a HATS catalog folder or a folder of "
                       "long-format Parquet files partitioned by object")


def _open_hats(path: Path, nested_column, id_column) -> PartitionedSource:
    cat = open_hats(path)
    if hasattr(cat, "nested_columns"):
        nested = list(cat.nested_columns)
    else:  # pragma: no cover - older lsdb
        nested = []
    if nested_column is None:
        if len(nested) != 1:
            raise CatalogError(f"HATS catalog {path} has nested columns {nested or '(none)'}; "
                               "name the light-curve column (nested_column=...)")
        nested_column = nested[0]
    elif nested_column not in nested:
        raise CatalogError(f"column {nested_column!r} is not a nested column of HATS catalog {path} "
                           f"(nested columns: {', '.join(nested) or 'none'})")
    from explorer.catalog.columns import detect_object_id

    base = [c for c in cat.columns if c not in nested]
    id_column = detect_object_id(base, column=id_column, source=f"HATS catalog {path}")
    parts = []
    for pix in cat.get_healpix_pixels():
        name = f"Norder={pix.order}/Npix={pix.pixel}"
        parts.append(Partition(name, f"Norder={pix.order}-Npix={pix.pixel}",
                               {"Norder": int(pix.order), "Npix": int(pix.pixel)}))
    return PartitionedSource("hats", path, parts, nested_column=nested_column, id_column=id_column, _hats=cat)


def load_partition(data, *, kind: str, name: str, nested_column=None, id_column=None):
    """Turn one partition (a NestedFrame from lsdb, or a Parquet path) into a Catalog; errors name it.

    Returns ``(catalog, extra)`` where ``extra`` is a DataFrame of per-object columns to keep
    (``_healpix_29`` for HATS), indexed like ``catalog.objects``, or None.
    """
    import pandas as pd

    from explorer.catalog import load_catalog

    if kind == "parquet":
        return load_catalog(data, name=Path(name).stem), None
    frame = data.reset_index()   # _healpix_29 becomes a column; rows are numbered 0..n-1
    if len(frame) == 0:
        return None, None
    flat = frame[nested_column].nest.to_flat()
    base = frame.drop(columns=[nested_column])
    ids = base[id_column].astype(str).to_numpy()
    rows = flat.index.to_numpy()
    long = pd.DataFrame({c: flat[c].to_numpy() for c in flat.columns})
    long.insert(0, "object_id", ids[rows])
    objects = pd.DataFrame({c: base[c].to_numpy() for c in base.columns if c != id_column})
    objects.insert(0, "object_id", ids)
    catalog = load_catalog(long, objects=objects, name=name.replace("/", "-"))
    extra = None
    if "_healpix_29" in objects.columns:
        by_id = pd.Series(objects["_healpix_29"].to_numpy(), index=ids)
        extra = pd.DataFrame({"_healpix_29": by_id.reindex(catalog.object_ids).to_numpy()})
    return catalog, extra


def write_hats(catalog, out, *, name=None, partition_rows=None, ra_column="ra", dec_column="dec",
               nested_column="lc") -> Path:
    """Write a catalog (a Catalog, or a folder ``load_catalog`` reads) as a HATS catalog with nested light curves.

    Uses lsdb's own writer (``lsdb.from_dataframe(...).write_catalog``): the objects table holds
    ``ra``/``dec``; every object's observations become one nested row (time, band, value, error named
    as in the catalog's value kind: ``mag``/``mag_err`` or ``flux``/``flux_err``).
    """
    import lsdb
    import nested_pandas as npd
    import pandas as pd

    from explorer.catalog import Catalog, load_catalog

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    objects = cat.objects.drop(columns=[c for c in ("empty",) if c in cat.objects.columns])
    for col in (ra_column, dec_column):
        if col not in objects.columns:
            raise CatalogError(f"catalog {cat.name!r} has no {col!r} column: HATS partitions by sky position")
    value, err = ("mag", "mag_err") if cat.value_kind == "mag" else ("flux", "flux_err")
    owner = np.repeat(cat.object_ids.astype(str), np.diff(cat.offsets))
    long = pd.DataFrame({"time": cat.time, "band": np.asarray(cat.bands, dtype=object)[cat.band].astype(str),
                         value: cat.value, err: cat.error}, index=pd.Index(owner, name="object_id"))
    base = npd.NestedFrame(objects.set_index("object_id")).join_nested(long, nested_column).reset_index()
    lcat = lsdb.from_dataframe(base, ra_column=ra_column, dec_column=dec_column, partition_rows=partition_rows,
                               catalog_name=name or cat.name)
    out = Path(out)
    lcat.write_catalog(out, catalog_name=name or cat.name)
    return out


def write_parquet_partitions(catalog, out, n_files: int) -> Path:
    """Write a catalog as ``n_files`` long-format Parquet files, each object's observations in one file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.catalog import Catalog, load_catalog

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    value, err = ("mag", "mag_err") if cat.value_kind == "mag" else ("flux", "flux_err")
    bands = np.asarray(cat.bands, dtype=object)
    bounds = np.linspace(0, len(cat), n_files + 1).astype(int)
    for k in range(n_files):
        a, b = cat.offsets[bounds[k]], cat.offsets[bounds[k + 1]]
        owner = np.repeat(cat.object_ids[bounds[k]:bounds[k + 1]].astype(str), np.diff(cat.offsets[bounds[k]:bounds[k + 1] + 1]))
        table = pa.table({"object_id": owner, "time": cat.time[a:b], "band": bands[cat.band[a:b]].astype(str),
                          value: cat.value[a:b], err: cat.error[a:b]})
        pq.write_table(table, out / f"part-{k:05d}.parquet")
    return out
