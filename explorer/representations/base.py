"""What every representation returns (``RepresentationResult``), its blocks, and the on-disk cache.

A representation turns a catalog into one vector per object. The vector is made of *blocks* (the
features of one band, the embedding of one band, ...); each block carries the weight it gets after
per-column standardisation, so that the map, the neighbours and the quality figures all see the same
prepared space (``explorer.projection.prepare_matrix``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.atomic import atomic_path

__all__ = ["Block", "RepresentationResult", "RepresentationCache", "representation_cache_dir", "max_concat_bands",
           "check_concat_bands", "MAX_CONCAT_BANDS_ENV", "DEFAULT_MAX_CONCAT_BANDS"]

FORMAT_VERSION = 1
# Bands side by side (features per band, single-band embeddings per band) widen the vector by a block
# per band: 16 bands of a 256-wide embedding are 4,096 columns per object. A catalog with one band per
# row would otherwise ask for thousands of blocks (measured: a 1.8 TiB allocation). Operators change it
# with the environment variable (0: no limit).
MAX_CONCAT_BANDS_ENV = "LCEXPLORER_MAX_CONCAT_BANDS"
DEFAULT_MAX_CONCAT_BANDS = 16


def max_concat_bands() -> int | None:
    """The most bands put side by side: ``$LCEXPLORER_MAX_CONCAT_BANDS`` (default 16; 0: no limit)."""
    import os

    from explorer.errors import CatalogError

    raw = os.environ.get(MAX_CONCAT_BANDS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CONCAT_BANDS
    try:
        value = int(raw)
    except ValueError:
        raise CatalogError(f"environment variable {MAX_CONCAT_BANDS_ENV}={raw!r} is not a whole number") from None
    return None if value <= 0 else value


def check_concat_bands(bands, what: str, *, alternative: str = "") -> None:
    """CatalogError naming ``what``, the bands and the limit when more than ``max_concat_bands()`` go side by side.

    Checked before any per-band work, so the refusal takes no time whatever the number of bands.
    """
    from explorer.errors import CatalogError

    limit = max_concat_bands()
    bands = [str(b) for b in bands]
    if limit is None or len(bands) <= limit:
        return
    shown = ", ".join(repr(b) for b in bands[:8]) + (f", ... ({len(bands) - 8} more)" if len(bands) > 8 else "")
    raise CatalogError(
        f"{what} would put {len(bands)} bands side by side ({shown}); at most "
        f"{limit} are allowed ({MAX_CONCAT_BANDS_ENV}={limit}, set by the operator; 0: no limit): choose at "
        f"most {limit} bands{alternative}")


@dataclass(frozen=True)
class Block:
    """Columns ``[start, stop)`` of a representation matrix, e.g. the features of band R."""

    name: str
    start: int
    stop: int
    weight: float = 1.0

    @property
    def width(self) -> int:
        """Number of columns."""
        return self.stop - self.start

    def as_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "start": self.start, "stop": self.stop, "weight": self.weight}


@dataclass
class RepresentationResult:
    """One vector per catalog object, with its blocks, provenance and every object that lacks a part.

    ``matrix`` is float32 ``[n_objects, dim]`` aligned with ``catalog.objects``; a block an object
    could not get (a band it lacks, a light curve the extractor refused) is NaN there and listed in
    ``missing`` (object_id, block, reason). Objects whose whole row is NaN have no map position:
    ``unmapped()`` names them.
    """

    matrix: np.ndarray
    object_ids: np.ndarray
    blocks: tuple
    meta: dict = field(default_factory=dict)
    missing: pd.DataFrame = None
    column_names: tuple | None = None
    embedding: object = None  # the EmbeddingResult behind an embedding block (observations fed to the model)

    def __post_init__(self):
        if self.missing is None:
            self.missing = pd.DataFrame({"object_id": pd.Series([], dtype=str), "block": pd.Series([], dtype=str),
                                         "reason": pd.Series([], dtype=str)})

    @property
    def dim(self) -> int:
        """Vector length."""
        return int(self.matrix.shape[1])

    def column_weights(self) -> np.ndarray:
        """Weight of every column after standardisation (its block's weight), float64 ``[dim]``."""
        w = np.ones(self.dim, np.float64)
        for b in self.blocks:
            w[b.start:b.stop] = b.weight
        return w

    def unmapped(self) -> pd.DataFrame:
        """Objects with no usable value at all (no map position): object_id and the reasons."""
        empty = ~np.isfinite(self.matrix).any(axis=1)
        ids = self.object_ids[empty].astype(str)
        reasons = (self.missing.groupby("object_id")["reason"].agg(lambda r: "; ".join(dict.fromkeys(r)))
                   if len(self.missing) else pd.Series(dtype=str))
        return pd.DataFrame({"object_id": ids, "reason": [reasons.get(i, "no value") for i in ids]})

    def partial(self) -> pd.DataFrame:
        """Objects that have a vector but lack a block (mapped on the blocks they have)."""
        has_any = np.isfinite(self.matrix).any(axis=1)
        ids = set(self.object_ids[has_any].astype(str))
        return self.missing[self.missing["object_id"].isin(ids)].reset_index(drop=True)

    def summary(self) -> str:
        """One line: objects, dimension, blocks, and what is missing."""
        un, part = self.unmapped(), self.partial()
        text = (f"{len(self.object_ids)} objects x {self.dim} ({', '.join(b.name for b in self.blocks)}) "
                f"[{self.meta.get('representation', '?')}]")
        if len(part):
            text += f"; {part['object_id'].nunique()} objects lack a block (mapped on the blocks they have)"
        if len(un):
            text += f"; {len(un)} objects without any value: " + ", ".join(un["object_id"].head(5))
            text += ", ..." if len(un) > 5 else ""
        return text

    def to_parquet(self, path) -> Path:
        """Write ``object_id`` + fixed-size list ``embedding`` (float32), one row per object.

        Schema metadata ``lcexplorer`` holds the provenance with the blocks and their weights, so
        ``lcexplorer map`` prepares the vectors exactly as the dashboard does.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        flat = np.ascontiguousarray(self.matrix, np.float32)
        table = pa.table({
            "object_id": pa.array(self.object_ids.astype(str), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), self.dim),
        })
        meta = dict(self.meta, blocks=[b.as_dict() for b in self.blocks], embedding_shape=[self.dim],
                    column_names=list(self.column_names) if self.column_names else None,
                    missing=self.missing.to_dict(orient="records"))
        table = table.replace_schema_metadata({"lcexplorer": json.dumps(meta, default=str)})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    def select_blocks(self, names) -> "RepresentationResult":
        """A result made of some blocks only (in the given order)."""
        chosen = [next(b for b in self.blocks if b.name == n) for n in names]
        cols = np.concatenate([np.arange(b.start, b.stop) for b in chosen])
        blocks, pos = [], 0
        for b in chosen:
            blocks.append(replace(b, start=pos, stop=pos + b.width))
            pos += b.width
        missing = self.missing[self.missing["block"].isin(list(names))].reset_index(drop=True)
        names_out = tuple(np.asarray(self.column_names)[cols]) if self.column_names else None
        return replace(self, matrix=self.matrix[:, cols], blocks=tuple(blocks), missing=missing,
                       column_names=names_out)


def representation_cache_dir() -> Path:
    """``store_root()/representations``."""
    from explorer.store import store_root

    return store_root() / "representations"


class RepresentationCache:
    """A folder of computed representation matrices, one ``.npz`` per key (written atomically)."""

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else representation_cache_dir()

    def path(self, key: str) -> Path:
        """File of one key."""
        return self.root / f"rep-{key[:40]}.npz"

    def load(self, key: str) -> RepresentationResult | None:
        """The cached result, or None when absent or unreadable (then it is recomputed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                result = RepresentationResult(
                    matrix=z["matrix"], object_ids=z["object_ids"],
                    blocks=tuple(Block(**b) for b in meta.pop("blocks")),
                    meta=meta, missing=pd.DataFrame(meta.pop("missing"), columns=["object_id", "block", "reason"]),
                    column_names=tuple(meta.pop("column_names")) if meta.get("column_names") else None,
                )
                meta.pop("column_names", None)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            import logging

            logging.getLogger(__name__).warning("ignoring unreadable representation cache %s: %s", path, exc)
            return None
        from explorer.diskcache import touch

        touch(path)  # recently used: the size cap evicts least recently used files first
        result.meta.update(from_cache=True, cache_file=str(path))
        return result

    def save(self, key: str, result: RepresentationResult) -> Path:
        """Write ``result`` under ``key``."""
        path = self.path(key)
        meta = dict(result.meta, blocks=[b.as_dict() for b in result.blocks],
                    missing=result.missing.astype(str).to_dict(orient="records"),
                    column_names=list(result.column_names) if result.column_names else None)
        meta.pop("from_cache", None)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, matrix=result.matrix, object_ids=np.asarray(result.object_ids, str),
                     meta=np.array(json.dumps(meta, default=str)))
        from explorer.diskcache import after_write

        after_write()
        return path


def _compute_cached(rep, catalog, progress, cache, cache_cls) -> RepresentationResult:
    """``rep._compute(catalog, progress)`` through the on-disk cache (``cache``: True, a folder or False)."""
    import logging
    import time

    from explorer.engine.cache import cache_key

    store, key = None, None
    if cache is not False and cache is not None:
        store = cache_cls(None if cache is True else cache)
        key = cache_key(dict(rep.key_parts(catalog), catalog=catalog.content_hash(), format=FORMAT_VERSION))
        hit = store.load(key)
        if hit is not None and len(hit.object_ids) == len(catalog):
            if progress is not None:
                progress(1.0, f"{rep.name}: from cache")
            return hit
    t0 = time.perf_counter()
    result = rep._compute(catalog, progress)
    result.meta.update(seconds=round(time.perf_counter() - t0, 3), from_cache=False)
    if store is not None:
        try:
            store.save(key, result)
        except OSError as exc:  # a read-only cache folder must not break the result itself
            logging.getLogger(__name__).warning("could not write representation cache: %s", exc)
    return result


class Params:
    """scikit-learn style parameter access for classes whose ``__init__`` only stores ``_params``."""

    _params: tuple = ()

    def get_params(self) -> dict:
        """Constructor parameters."""
        return {p: getattr(self, p) for p in self._params}

    def set_params(self, **params):
        """Change constructor parameters; an unknown name is an error naming the known ones."""
        for k, v in params.items():
            if k not in self._params:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r} (it has {', '.join(self._params)})")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"
