"""``lcexplorer map``: the 2-D map of an embeddings file, with the dashboard's projection and defaults."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli.output import OUTPUT_HELP, check_output, write_output

__all__ = ["register", "run", "read_labels"]


def register(subparsers) -> None:
    """Add the ``map`` subcommand."""
    p = subparsers.add_parser("map", help="2-D UMAP map of an embeddings Parquet file",
                              description="Map EMB.parquet (written by `lcexplorer embed`) to OUT (.parquet, "
                                          ".csv, .fits, .vot) with object_id, x, y. Columns are standardised (and block-weighted for "
                                          "hybrids) first, exactly as in the dashboard.")
    p.add_argument("embeddings", help="Parquet file from `lcexplorer embed`")
    p.add_argument("-o", "--out", required=True, help=f"output file (object_id, x, y), {OUTPUT_HELP}")
    p.add_argument("--n-neighbors", type=int, default=15)
    p.add_argument("--min-dist", type=float, default=0.1)
    p.add_argument("--metric", default="euclidean", choices=("euclidean", "cosine"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-standardize", action="store_true", help="map the raw vectors (not recommended)")
    p.add_argument("--labels", default=None, help="label-guided map: Parquet/CSV with object_id and --column")
    p.add_argument("--column", default="label", help="label column of --labels")
    p.add_argument("--target-weight", type=float, default=0.5, help="how much labels pull the map (0..1)")
    p.set_defaults(func=run)


def read_labels(path, column: str, object_ids):
    """Labels of ``object_ids`` (str array) from a Parquet/CSV table with ``object_id`` and ``column``."""
    import numpy as np
    import pandas as pd

    from explorer.errors import CatalogError

    try:
        if str(path).lower().endswith(".csv"):
            table = pd.read_csv(path, dtype={"object_id": str}, keep_default_na=False, na_values=[""])
        else:
            table = pd.read_parquet(path)
    except Exception as exc:
        raise CatalogError(f"cannot read labels file {path}: {exc}") from None
    for col in ("object_id", column):
        if col not in table.columns:
            raise CatalogError(f"labels file {path} has no {col!r} column (columns: {list(table.columns)})")
    table = table.assign(object_id=table["object_id"].astype(str)).drop_duplicates("object_id", keep="last")
    labels = table.set_index("object_id")[column].reindex(np.asarray(object_ids).astype(str))
    return labels.reset_index(drop=True)


def run(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer map``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.atomic import atomic_path
    from explorer.projection import Projection
    from explorer.representations import read_vectors

    check_output(args.out)
    vectors = read_vectors(args.embeddings)
    y = read_labels(args.labels, args.column, vectors.object_ids) if args.labels else None
    try:
        proj = Projection(n_neighbors=args.n_neighbors, min_dist=args.min_dist, metric=args.metric,
                          random_state=args.seed, standardize=not args.no_standardize,
                          column_weights=vectors.column_weights(), target_weight=args.target_weight)
        xy = proj.fit_transform(vectors.matrix, y)
    except ValueError as exc:
        from explorer.errors import ExplorerError

        raise ExplorerError(f"cannot map {args.embeddings}: {exc}") from None
    unmapped = vectors.object_ids[~proj.valid_].astype(str)
    meta = {"source": str(args.embeddings), "representation": vectors.meta.get("representation"),
            "projection": {k: v for k, v in proj.get_params().items() if k not in ("cache_dir", "column_weights")},
            "supervised": bool(proj.supervised_), "unmapped": unmapped.tolist(),
            "imputed": vectors.object_ids[proj.imputed_].astype(str).tolist()}
    table = pa.table({"object_id": pa.array(vectors.object_ids.astype(str), pa.string()),
                      "x": pa.array(xy[:, 0], pa.float32()), "y": pa.array(xy[:, 1], pa.float32())})
    table = table.replace_schema_metadata({"lcexplorer": json.dumps(meta, default=str)})

    def write_parquet(path):
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    write_output(write_parquet, args.out)
    n = len(vectors.object_ids)
    text = f"mapped {int(proj.valid_.sum())} of {n} objects"
    if proj.imputed_.any():
        text += f"; {int(proj.imputed_.sum())} placed on the blocks they have"
    if len(unmapped):
        text += f"; {len(unmapped)} without a position (no value): " + ", ".join(unmapped[:10])
        text += ", ..." if len(unmapped) > 10 else ""
    print(f"{text} [{'cache' if proj.cache_hit_ else f'{proj.fit_seconds_:.1f} s'}] -> {args.out}", file=sys.stderr)
    return 0
