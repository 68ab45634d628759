"""Maps made elsewhere: the embeddings (and map) a scale-out job wrote, shown without recomputing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError


def open_embeddings(state, out_dir) -> list[str]:
    """Show the embeddings (and map, when the job made one) that ``lcexplorer embed ... -o out_dir`` wrote
    for the open catalog; returns the ids of catalog objects the folder lacks (no position, named)."""
    from explorer.scale import read_embeddings

    cat = state.session.require()
    res = read_embeddings(out_dir)
    if len(np.unique(res.object_ids)) != len(res.object_ids):
        raise ExplorerError(f"{out_dir} holds several rows per object (one per band or strategy): open a job "
                            "run with concatenated bands")
    ids = cat.object_ids.astype(str)
    pos = pd.Index(res.object_ids).get_indexer(ids)
    have = pos >= 0
    if not have.any():
        raise ExplorerError(f"no object of catalog {cat.name!r} is in {out_dir}")
    matrix = np.full((len(cat), res.matrix.shape[1]), np.nan, np.float32)
    matrix[have] = res.matrix[pos[have]]
    coords = None
    if res.coords is not None:
        coords = np.full((len(cat), 2), np.nan)
        coords[have] = res.coords[pos[have]]
    state.pipeline.use_embedding(matrix, coords)
    lacking = [str(i) for i in ids[~have]]
    text = f"Opened {int(have.sum())} embeddings from {out_dir}" + (" with their map" if coords is not None else "")
    if lacking:
        text += (f"; {len(lacking)} objects of {cat.name} are not in it (no position): "
                 + ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else ""))
    state.messages.say(text + ".")
    return lacking
