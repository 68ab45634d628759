"""``lcexplorer next``, ``classify`` and ``anomalies``: classify a catalog from a few labels, choose what to
label next, rank the odd ones (``explorer.discover``) from a vectors file written by ``lcexplorer embed``."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register", "run_next", "run_classify", "run_anomalies", "write_table"]

_LABEL_HELP = ("CSV or Parquet with object_id and the --column column (the dashboard's <catalog>.labels.csv works "
               "as is: only origin 'manual' counts unless --origins says more)")


def _add_label_args(p) -> None:
    p.add_argument("vectors", help="Parquet file from `lcexplorer embed` (one vector per object)")
    p.add_argument("--labels", required=True, help=_LABEL_HELP)
    p.add_argument("--column", default="label", help="label column of --labels (default: label)")
    p.add_argument("--origins", default="manual",
                   help="comma list of label origins used when the file has an origin column "
                        "(manual, suggested, predicted; 'all' = every row)")
    p.add_argument("--seed", type=int, default=0, help="seed of the classifier and of tie-breaking")


def register(subparsers) -> None:
    """Add the ``next``, ``classify`` and ``anomalies`` subcommands."""
    from explorer.discover.active import DEFAULT_STRATEGY, STRATEGIES

    p = subparsers.add_parser("next", help="print the ids of the objects to label next (active learning)",
                              description="Print the N object ids to label next, one per line (nothing else on "
                                          "stdout; notes go to stderr).")
    _add_label_args(p)
    p.add_argument("-n", type=int, default=10, help="how many objects (default 10)")
    p.add_argument("--strategy", default=DEFAULT_STRATEGY, choices=list(STRATEGIES),
                   help=f"how to choose (default {DEFAULT_STRATEGY}: cluster representatives first, then the "
                        "smallest margin between the two most probable classes)")
    p.set_defaults(func=run_next)

    p = subparsers.add_parser("classify", help="classify every object from the labelled ones",
                              description="Write object_id, prediction, probability (of the predicted class) and "
                                          "p_<class> per class for every object; print the estimated accuracy "
                                          "(cross-validated on the labels).")
    _add_label_args(p)
    p.add_argument("-o", "--out", required=True, help="output .parquet or .csv")
    p.set_defaults(func=run_classify)

    p = subparsers.add_parser("anomalies", help="rank objects by anomaly score (coniferest isolation forest)",
                              description="Write object_id, score (higher = more anomalous) and rank (1 = most "
                                          "anomalous); with --feedback the ranking follows the user's answers.")
    p.add_argument("vectors", help="Parquet file from `lcexplorer embed`")
    p.add_argument("-o", "--out", required=True, help="output .parquet or .csv")
    p.add_argument("--feedback", default=None, help="CSV with object_id,anomaly (1 anomaly, 0 not interesting)")
    p.add_argument("--method", default="aad", choices=("aad", "pine"),
                   help="how feedback re-ranks: AADForest (default) or PineForest")
    p.add_argument("--trees", type=int, default=100, help="trees of the forest (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_anomalies)


def write_table(frame, path, meta: dict) -> str:
    """Write ``frame`` to ``.parquet`` (provenance in the schema metadata) or ``.csv``, atomically."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.atomic import atomic_path
    from explorer.errors import ExplorerError

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise ExplorerError(f"cannot write {path}: the output is .parquet or .csv")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.replace_schema_metadata({"lcexplorer": json.dumps(meta, default=str)})
            pq.write_table(table, tmp)
    return str(path)


def _inputs(args):
    """(prepared vectors, labels aligned to them) with every note on stderr."""
    from explorer.discover.vectors import label_vector, load_vectors, read_label_table

    data = load_vectors(args.vectors)
    origins = None if args.origins.strip() == "all" else tuple(o.strip() for o in args.origins.split(",") if o.strip())
    table = read_label_table(args.labels, args.column, origins=origins)
    labels = label_vector(data.object_ids, table)
    for note in table.notes():
        print(f"lcexplorer: {note}", file=sys.stderr)
    if data.unusable_ids:
        print(f"lcexplorer: {len(data.unusable_ids)} object(s) have no vector and are left out: "
              f"{', '.join(data.unusable_ids[:5])}", file=sys.stderr)
    return data, labels


def run_next(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer next``."""
    from explorer.discover.active import make_strategy, suggest_next
    from explorer.errors import ExplorerError

    if args.n < 1:
        raise ExplorerError(f"-n must be at least 1, not {args.n}")
    data, labels = _inputs(args)
    strategy = make_strategy(args.strategy)
    rows = suggest_next(data.X, labels, args.n, strategy=strategy, seed=args.seed)
    for note in strategy.notes:
        print(f"lcexplorer: {note}", file=sys.stderr)
    if len(rows) < args.n:
        print(f"lcexplorer: only {len(rows)} unlabelled object(s) with a vector are left", file=sys.stderr)
    sys.stdout.write("".join(f"{oid}\n" for oid in data.object_ids[rows]))
    return 0


def run_classify(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer classify``."""
    from explorer.discover.classifier import Classifier, estimate_accuracy

    data, labels = _inputs(args)
    model = Classifier(seed=args.seed).fit(data.X, labels)
    if len(model.unusable_labels_):
        print(f"lcexplorer: {len(model.unusable_labels_)} labelled object(s) have no vector and were not used: "
              f"{', '.join(data.object_ids[model.unusable_labels_][:5])}", file=sys.stderr)
    frame = model.classify(data.X, data.object_ids)
    estimate = estimate_accuracy(data.X, labels, classifier=Classifier(seed=args.seed), seed=args.seed)
    meta = {"vectors": str(args.vectors), "representation": data.meta.get("representation"),
            "labels": str(args.labels), "column": args.column, "origins": args.origins,
            "classifier": model.get_params(), "calibration": model.calibrated_,
            "temperature": model.temperature_,
            "labels_per_class": model.labels_per_class_, "accuracy": estimate.accuracy,
            "accuracy_stderr": estimate.stderr, "folds": estimate.n_folds, "no_vector": data.unusable_ids}
    path = write_table(frame, args.out, meta)
    print(estimate.summary())
    print(f"{len(frame)} objects classified into {len(model.classes_)} classes -> {path}", file=sys.stderr)
    return 0


def run_anomalies(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer anomalies``."""
    import numpy as np

    from explorer.discover.anomaly import feedback_vector, rank_anomalies
    from explorer.discover.feedback import read_feedback
    from explorer.discover.vectors import load_vectors

    data = load_vectors(args.vectors)
    feedback = read_feedback(args.feedback) if args.feedback else None
    fb = feedback_vector(data.object_ids, feedback)
    if feedback is not None:
        unknown = sorted(set(feedback.index) - set(data.object_ids.tolist()))
        if unknown:
            print(f"lcexplorer: {len(unknown)} feedback row(s) name objects not in the vectors, not used: "
                  f"{', '.join(unknown[:5])}", file=sys.stderr)
    frame = rank_anomalies(data.X, data.object_ids, fb, method=args.method, n_trees=args.trees, seed=args.seed)
    meta = {"vectors": str(args.vectors), "representation": data.meta.get("representation"),
            "feedback": str(args.feedback) if args.feedback else None, "n_feedback": int(np.isfinite(fb).sum()),
            "method": args.method if feedback is not None and len(feedback) else "isolation-forest",
            "trees": args.trees, "seed": args.seed, "no_vector": data.unusable_ids}
    path = write_table(frame, args.out, meta)
    print(f"{len(frame)} objects ranked ({meta['method']}, {meta['n_feedback']} feedback answers) -> {path}",
          file=sys.stderr)
    return 0
