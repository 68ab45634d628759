"""Embeddings of an ONNX model as a representation: one vector per object, bands concatenated.

A single-band model (Astromer) on a multi-band catalog embeds each band on its own and concatenates
the per-band vectors (R||B): measured on EROS-1, far better maps than one band or all bands mixed
into one sequence. An object that lacks a band is kept: that band's block is NaN and listed in
``missing``, the map places it on the bands it has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import ModelError
from explorer.representations.base import Block, Params, RepresentationResult, check_concat_bands

__all__ = ["Embedding", "MULTIBAND_KINDS"]

from explorer.engine.families import FAMILIES, default_band_groups, default_output  # noqa: E402  (data only)

# models that take all bands at once (no per-band concatenation), from the family registry
MULTIBAND_KINDS = tuple(k for k, f in FAMILIES.items() if f.band_handling == "multi")
SERIES_KINDS = tuple(k for k, f in FAMILIES.items() if f.band_handling == "series")


def _reindex_observations(result, catalog, subset, bands):
    """Point ``window_obs`` of an embedding of ``catalog.band_subset(bands)`` at ``catalog``'s observations."""
    from dataclasses import replace

    codes = [catalog.bands.index(b) for b in bands]
    # band_subset keeps objects and the time order within each: its observations are these, in order
    full_index = np.flatnonzero(np.isin(catalog.band, codes))
    if len(full_index) != subset.n_observations:
        return result  # cleaning differed (should not happen): keep indices of the subset rather than lie
    obs = result.window_obs
    return replace(result, window_obs=np.where(obs >= 0, full_index[np.maximum(obs, 0)], -1))


class Embedding(Params):
    """Embeddings of ``model`` (store name, Hub alias, .onnx path or an OnnxModel).

    Parameters
    ----------
    output : str or None
        Model output; None = the model kind's default (``mean`` for Astromer, ``last`` for ATCAT).
    reduction : str
        Window reduction (see ``explorer.engine.reduction_from_name``).
    bands : list of str or None
        Bands to use; None = every band of the catalog.
    concat_bands : bool
        Single-band models: embed each band separately and concatenate (default). False feeds the
        chosen bands to the model as one light curve.
    seed : int
        Seed of the random-subsample reduction.
    model_options : dict or None
        Passed to the model class (ATCAT: ``band_groups``, ``allow_extra_bands``, ``mag_zp``;
        Astromer: ``flux_zp``).
    """

    _params = ("model", "output", "reduction", "bands", "concat_bands", "seed", "batch_size", "model_options")
    name = "embedding"

    def __init__(self, model, output=None, reduction="non-overlapping-windows", bands=None, concat_bands=True,
                 seed=0, batch_size=None, model_options=None):
        self.model = model
        self.output = output
        self.reduction = reduction
        self.bands = bands
        self.concat_bands = concat_bands
        self.seed = seed
        self.batch_size = batch_size
        self.model_options = model_options

    def _model(self):
        from explorer.engine import OnnxModel, load_model

        return self.model if isinstance(self.model, OnnxModel) else load_model(self.model)

    def label(self) -> str:
        """The model's name as shown to users."""
        return getattr(self.model, "name", None) or str(self.model)

    def compute(self, catalog, *, progress=None, cache=True, partial=None) -> RepresentationResult:
        """Embed ``catalog`` (engine cache honoured) and return one vector per object.

        ``partial(peek)``: called while the model runs; ``peek()`` gives ``(rows, matrix)``, the catalog
        rows finished so far and their final vectors (see ``explorer.engine.runner.Partial``).
        """
        from explorer.engine import embed_catalog

        model = self._model()
        kind = model.kind
        output = self.output or default_output(kind)
        bands = None if self.bands is None else [str(b) for b in ([self.bands] if isinstance(self.bands, str)
                                                                 else self.bands)]
        if bands is not None:
            unknown = [b for b in bands if b not in catalog.bands]
            if unknown:
                raise ModelError(f"band(s) {unknown} are not in catalog {catalog.name!r} (it has {list(catalog.bands)})")
        data, engine_bands = catalog, None
        options = dict(self.model_options or {})
        if kind in MULTIBAND_KINDS:
            if bands is not None and len(bands) < len(catalog.bands) and "band_groups" not in options:
                # the other bands' observations stay in the catalog (plots, indices) but are not fed
                options.update(band_groups=default_band_groups(bands, kind), allow_extra_bands=True)
        elif kind in SERIES_KINDS:
            chosen = bands if bands is not None else [str(b) for b in catalog.bands]
            if len(chosen) != 1:
                raise ModelError(f"{model.name} ({kind}) reads one time series: choose one band of catalog "
                                 f"{catalog.name!r} (it has {', '.join(map(str, catalog.bands))})")
            if len(catalog.bands) > 1:
                data = catalog.band_subset(chosen)
        elif self.concat_bands:
            engine_bands = bands if bands is not None else [str(b) for b in catalog.bands]
            check_concat_bands(engine_bands, f"embedding catalog {catalog.name!r} with {model.name} "
                               "(one block per band)",
                               alternative=", or turn bands side by side off (one light curve of all bands)")
        elif bands is not None and len(bands) < len(catalog.bands):
            data = catalog.band_subset(bands)

        def report(done, total):
            if progress is not None:
                progress(done / max(total, 1), f"embedding with {model.name}: {done}/{total} windows")

        peeks = None if partial is None else (lambda peek: partial(lambda: peek().matrix()))
        result = embed_catalog(data, model, output=output, reduction=self.reduction, bands=engine_bands,
                               seed=self.seed, batch_size=self.batch_size, progress=report, cache=cache,
                               partial=peeks, **options)
        if data is not catalog:
            result = _reindex_observations(result, catalog, data, bands)
        return self._from_embedding(result, catalog, model.name, output)

    def _from_embedding(self, result, catalog, model_name: str, output: str) -> RepresentationResult:
        matrix = result.matrix()
        if matrix.ndim != 2 or (len(result.embeddings) and result.embeddings.ndim != 2):
            raise ModelError(f"output {output!r} gives a sequence per object; a map needs one vector (mean, max, last)")
        d = result.dim
        blocks, missing = [], []
        ids = np.asarray(catalog.object_ids).astype(str)
        failed = {(f["object_id"], f.get("band", ""), f.get("strategy", "")): f["error"]
                  for f in result.meta.get("failed", [])}
        has = np.zeros((len(catalog), len(result.block_bands) * len(result.block_strategies)), bool)
        if len(result.object_index):
            has[result.object_index, result._block()] = True
        present = catalog.bands_present()  # [n_objects, n_bands]: one pass, not one slice per object
        for bi, band in enumerate(result.block_bands):
            in_band = present[:, catalog.bands.index(band)] if band in catalog.bands else None
            for si, strategy in enumerate(result.block_strategies):
                k = bi * len(result.block_strategies) + si
                name = ":".join(x for x in (model_name, band, strategy if len(result.block_strategies) > 1 else "")
                                if x)
                blocks.append(Block(name, k * d, (k + 1) * d))
                rows = np.flatnonzero(~has[:, k])
                if in_band is None:
                    default = np.full(len(rows), "no usable observation", dtype=object)
                else:
                    default = np.where(in_band[rows], "not embedded (no usable observation)",
                                       f"no observation in band {band}").astype(object)
                reasons = [failed.get((ids[i], band, strategy), r) for i, r in zip(rows, default)]
                missing.extend(zip(ids[rows], [name] * len(rows), reasons))
        meta = {"representation": model_name, "model": result.meta.get("model", model_name),
                "model_sha256": result.meta.get("sha256"), "kind": result.meta.get("kind"), "output": output,
                "reduction": self.reduction, "bands": list(result.block_bands), "concat_bands": bool(self.concat_bands),
                "seed": self.seed, "from_cache": bool(result.meta.get("from_cache")),
                "seconds": result.meta.get("seconds"), "engine": {k: v for k, v in result.meta.items() if k not in ("failed",)}}
        return RepresentationResult(matrix=matrix, object_ids=ids, blocks=tuple(blocks), meta=meta,
                                    missing=pd.DataFrame(missing, columns=["object_id", "block", "reason"]),
                                    embedding=result)
