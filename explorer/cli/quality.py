"""``lcexplorer quality``: kNN5 accuracy (full space and 2-D) and trustworthiness of a map for a label column."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``quality`` subcommand."""
    p = subparsers.add_parser(
        "quality", help="how well a representation / map separates labelled classes",
        description="FILE is an embeddings Parquet (`lcexplorer embed`) or a map Parquet (`lcexplorer map`: "
                    "object_id, x, y). For embeddings, the map is computed with the default projection "
                    "(or read from --map) and all three figures are printed; for a map alone, the 2-D kNN.")
    p.add_argument("file", help="embeddings or map Parquet")
    p.add_argument("--labels", required=True, help="Parquet/CSV table with object_id and the label column")
    p.add_argument("--column", default="label", help="label column")
    p.add_argument("--map", default=None, help="map Parquet of the embeddings (default: compute it)")
    p.add_argument("--exclude", default="", help="comma-separated labels to leave out (e.g. Other)")
    p.add_argument("--k", type=int, default=5, help="neighbours of the kNN classifier")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def _read_xy(path, object_ids=None):
    import numpy as np
    import pandas as pd

    from explorer.errors import CatalogError

    frame = pd.read_parquet(path)
    for col in ("object_id", "x", "y"):
        if col not in frame.columns:
            raise CatalogError(f"map file {path} has no {col!r} column (columns: {list(frame.columns)})")
    frame["object_id"] = frame["object_id"].astype(str)
    if object_ids is None:
        return frame["object_id"].to_numpy(str), frame[["x", "y"]].to_numpy(np.float64)
    xy = frame.set_index("object_id")[["x", "y"]].reindex(np.asarray(object_ids, str)).to_numpy(np.float64)
    return np.asarray(object_ids, str), xy


def run(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer quality``."""
    import pyarrow.parquet as pq

    from explorer.cli.map import read_labels
    from explorer.projection import Projection
    from explorer.quality import map_quality
    from explorer.representations import read_vectors

    columns = pq.read_schema(args.file).names
    exclude = [x.strip() for x in args.exclude.split(",") if x.strip()]
    if "embedding" in columns:
        vectors = read_vectors(args.file)
        ids, X, weights = vectors.object_ids, vectors.matrix, vectors.column_weights()
        if args.map:
            ids, xy = _read_xy(args.map, ids)
        else:
            xy = Projection(column_weights=weights).fit_transform(X)
    else:
        ids, xy = _read_xy(args.file)
        X = weights = None
    labels = read_labels(args.labels, args.column, ids)
    q = map_quality(labels, X, xy, column_weights=weights, exclude=exclude, k=args.k, column=args.column)
    if args.json:
        print(json.dumps(q.as_dict(), indent=1))
        return 0

    def f(v):
        return "n/a" if v is None else f"{v:.4f}"

    print(f"labels: {args.column} — {q.n_labelled} labelled objects, {len(q.classes)} classes "
          f"({', '.join(f'{k} {v}' for k, v in q.classes.items())})")
    if q.excluded:
        print(f"left out: {', '.join(f'{k}: {v}' for k, v in q.excluded.items())}")
    print(f"kNN{q.k} accuracy, full space: {f(q.knn_full)}")
    print(f"kNN{q.k} accuracy, 2-D map:    {f(q.knn_2d)}")
    print(f"trustworthiness@{q.trust_k}:       {f(q.trustworthiness)}" + (f" ({q.n_trust} objects)" if q.n_trust else ""))
    print(f"protocol: StandardScaler + {q.k}-NN, {q.folds}-fold stratified CV (seed {q.seed})", file=sys.stderr)
    return 0
