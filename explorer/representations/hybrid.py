"""Hybrid representation: an embedding and the classic features side by side, each block balanced.

Every column is standardised, then each part (all embedding columns, all feature columns) is weighted
``1 / sqrt(width)``, so a 512-wide embedding and 72 features weigh the same in distances. Plain
concatenation lets the wide embedding drown the features (measured on EROS-1: worse than features
alone); balanced, the hybrid is as good as the features and keeps what the embedding adds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from explorer.representations.base import Params, RepresentationResult

__all__ = ["Hybrid", "balance_blocks"]


def balance_blocks(parts: list[RepresentationResult], names: list[str]) -> tuple:
    """Blocks of the parts concatenated, each part's blocks weighted 1/sqrt(width of the part)."""
    blocks, pos = [], 0
    for part in parts:
        weight = 1.0 / np.sqrt(part.dim)
        for b in part.blocks:
            blocks.append(replace(b, start=pos + b.start, stop=pos + b.stop, weight=float(weight)))
        pos += part.dim
    return tuple(blocks)


class Hybrid(Params):
    """``embedding`` (an Embedding) + ``features`` (a Features), each part weighted 1/sqrt(its width)."""

    _params = ("embedding", "features")
    name = "hybrid"

    def __init__(self, embedding, features=None):
        self.embedding = embedding
        self.features = features

    def compute(self, catalog, *, progress=None, cache=True) -> RepresentationResult:
        """Both parts (each through its own cache) concatenated with balanced weights."""
        from explorer.representations.features import Features

        features = self.features if self.features is not None else Features(bands=self.embedding.bands)

        def stage(lo, hi):
            return None if progress is None else (lambda f, msg: progress(lo + (hi - lo) * f, msg))

        emb = self.embedding.compute(catalog, progress=stage(0.0, 0.8), cache=cache)
        feat = features.compute(catalog, progress=stage(0.8, 1.0), cache=cache)
        blocks = balance_blocks([emb, feat], ["embedding", "features"])
        name = f"hybrid:{emb.meta.get('representation')}"
        meta = {"representation": name, "parts": [emb.meta, feat.meta],
                "weights": {"embedding": 1 / np.sqrt(emb.dim), "features": 1 / np.sqrt(feat.dim)}}
        names = ([f"{b.name}:{j}" for b in emb.blocks for j in range(b.width)] + list(feat.column_names or ()))
        return RepresentationResult(
            matrix=np.hstack([emb.matrix, feat.matrix]).astype(np.float32), object_ids=emb.object_ids,
            blocks=blocks, meta=meta, missing=pd.concat([emb.missing, feat.missing], ignore_index=True),
            column_names=tuple(names), embedding=emb.embedding,
        )
