"""Classify a catalog with few labels and find the odd ones: learning curves, calibration, anomaly recall, speed.

    python benchmarks/bench_discover.py             # everything (about 20 min on 2 quiet cores)
    python benchmarks/bench_discover.py --quick     # 1 seed, EROS-1 only, budgets up to 64, timing at 20k

Protocol (issue 22): vectors are the ``light_curve`` features of ``../shared/data/eros1_lmc`` (R||B, 4 classes)
and ``asas_richards2012`` (V; ``label_coarse`` with 'Other' left out, 5 classes), prepared as the map's. The
user's first 4 labels are random (seeded); then a strategy asks for 4 objects at a time, they get their true
labels and the classifier (``explorer.discover.Classifier``, uncalibrated as in ``suggest_next``) is
retrained; accuracy is measured on every object not yet labelled; mean of seeds 0..S-1.

- curves: every strategy and the random baseline at each budget, and the labels needed to reach 0.85;
- estimators: extra-trees / random forest / logistic regression under the default strategy (EROS-1);
- calibration: log loss and expected calibration error (top label, 10 bins) on the unlabelled objects of
  the forest's own frequencies vs the temperature (default) vs the sigmoid calibration, random labels;
- anomalies (whole catalogs; fine labels, and ASAS's coarse ones): the rarest classes' objects (3 or more)
  among the 50 / 100 top-ranked (IsolationForest) vs the random expectation; then the user answers on the
  top 20 (1 = the rarest class, 0 = anything else) and the rarest class is counted among the next 50
  objects not yet seen: no feedback, PineForest, AADForest;
- speed at 100k objects (simulated 72-d vectors, 64 labels, 20 feedback answers): one "next batch" round
  (train + probabilities of a 20k pool + choice; cluster-margin's k-means once, first round apart) and
  one anomaly re-rank (forest with feedback + scores of every object); medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import SHARED, load_avg  # noqa: E402

STRATEGIES = ("cluster-margin", "margin", "entropy", "diverse-margin", "random")


def catalog_vectors(name: str, bands, column: str, exclude=()):
    """(prepared vectors, true labels) of a shared catalog; features cached by the representation cache."""
    from explorer.catalog import load_catalog
    from explorer.discover import prepare_vectors
    from explorer.representations import Features

    catalog = load_catalog(SHARED / "data" / name)
    keep = ~catalog.objects[column].isin(list(exclude)).to_numpy()
    if not keep.all():
        catalog = catalog.take(np.flatnonzero(keep))
    data = prepare_vectors(Features(bands=bands).compute(catalog))
    truth = catalog.objects.set_index("object_id").loc[data.object_ids, column].to_numpy().astype(object)
    return data, truth, catalog.objects.set_index("object_id").loc[data.object_ids, "label"].to_numpy()


def curves(data, truth, budgets, seeds, strategies=STRATEGIES, estimator="extra-trees") -> pd.DataFrame:
    """Mean accuracy on the unlabelled objects per strategy (rows) and budget (columns)."""
    from explorer.discover import Classifier
    from explorer.discover.curves import learning_curve

    rows = {}
    for name in strategies:
        t0 = time.perf_counter()
        acc = [learning_curve(data.X, truth, name, budgets=budgets, seed=s,
                              classifier=Classifier(estimator=estimator, calibration="none", seed=s))["accuracy"]
               for s in range(seeds)]
        rows[name] = np.mean(acc, axis=0)
        print(f"  {name:15s} {np.round(rows[name], 3)} per seed at {budgets[-1]}: "
              f"{np.round([a.iloc[-1] for a in acc], 3)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return pd.DataFrame(rows, index=list(budgets)).T


def labels_to_reach(table: pd.DataFrame, target=0.85) -> pd.Series:
    """First budget whose mean accuracy reaches ``target`` (text '> max' otherwise)."""
    return table.apply(lambda r: str(next((b for b, a in r.items() if a >= target), f"> {table.columns[-1]}")),
                       axis=1)


def markdown(table: pd.DataFrame, extra: dict | None = None) -> str:
    """A Markdown table: strategies by budget, plus extra columns."""
    cols = [str(c) for c in table.columns] + list(extra or {})
    lines = ["| labels | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        cells = [f"{v:.3f}" for v in row] + [str(extra[k][name]) for k in (extra or {})]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def frame_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (without the optional ``tabulate`` package)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|---" * len(frame.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def calibration(data, truth, sizes, seeds) -> pd.DataFrame:
    """Log loss and top-label ECE on the unlabelled objects, raw forest vs temperature vs sigmoid, random labels."""
    from sklearn.metrics import log_loss

    from explorer.discover import Classifier

    out = []
    for n in sizes:
        for method in ("none", "temperature", "sigmoid"):
            ll, ece, acc = [], [], []
            for s in range(seeds):
                rng = np.random.default_rng(100 + s)
                labels = np.full(len(truth), None, object)
                rows = rng.choice(len(truth), n, replace=False)
                labels[rows] = truth[rows]
                model = Classifier(calibration=method, seed=s).fit(data.X, labels)
                rest = labels == None  # noqa: E711
                proba = model.predict_proba(data.X[rest])
                known = np.isin(truth[rest], model.classes_)
                p, t = proba[known], truth[rest][known]
                with warnings.catch_warnings():   # the 1e-6 floor makes rows sum to a hair over 1
                    warnings.simplefilter("ignore", UserWarning)
                    ll.append(log_loss(t, np.clip(p, 1e-6, 1), labels=model.classes_))
                top = p.max(axis=1)
                right = model.classes_[p.argmax(axis=1)] == t
                bins = np.minimum((top * 10).astype(int), 9)
                ece.append(sum(abs(right[bins == b].mean() - top[bins == b].mean()) * (bins == b).mean()
                               for b in range(10) if (bins == b).any()))
                acc.append(right.mean())
            out.append({"labels": n, "calibration": method, "log_loss": np.mean(ll), "ece": np.mean(ece),
                        "accuracy": np.mean(acc)})
    return pd.DataFrame(out)


def anomaly_recall(data, fine_labels, seeds, n_rare=3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rarest classes in the top 50/100 vs random; feedback re-rank on the rarest class)."""
    from explorer.discover import rank_anomalies

    counts = pd.Series(fine_labels).value_counts()
    rare = [c for c in counts[counts >= 3].index[::-1][:n_rare]]   # classes of 1-2 objects say little
    n = len(fine_labels)
    rows, fb_rows = [], []
    for s in range(seeds):
        base = rank_anomalies(data.X, data.object_ids, seed=s)
        order = np.argsort(base["rank"].to_numpy())
        for c in rare:
            rows.append({"class": c, "objects": int(counts[c]), "top50": int((fine_labels[order[:50]] == c).sum()),
                         "top100": int((fine_labels[order[:100]] == c).sum())})
        target = rare[0]
        fb = np.full(n, np.nan)
        fb[order[:20]] = (fine_labels[order[:20]] == target).astype(float)
        unseen = np.isnan(fb)
        fb_rows.append({"method": "no feedback", "next50": int((fine_labels[order[20:70]] == target).sum())})
        for method in ("pine", "aad"):
            ranked = rank_anomalies(data.X, data.object_ids, fb, method=method, seed=s)
            new = np.argsort(ranked["rank"].to_numpy())
            new = new[unseen[new]][:50]
            fb_rows.append({"method": method, "next50": int((fine_labels[new] == target).sum())})
    table = pd.DataFrame(rows).groupby(["class", "objects"], sort=False).mean().reset_index()
    table["random50"] = table["objects"] * 50 / n
    table["random100"] = table["objects"] * 100 / n
    table["x_random50"] = table["top50"] / table["random50"]
    fb_table = pd.DataFrame(fb_rows).groupby("method", sort=False).mean().reset_index()
    fb_table["class"] = rare[0]
    fb_table["random_next50"] = counts[rare[0]] * 50 / n
    return table, fb_table


def speed(n_objects: int, repeats: int) -> dict:
    """Median seconds of one next-batch round and one anomaly re-rank on simulated vectors."""
    from explorer.discover import AnomalyRanker, ClusterMargin, suggest_next

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (8, 72))
    cls = rng.integers(0, 8, n_objects)
    X = (centres[cls] + rng.normal(size=(n_objects, 72))).astype(np.float32)
    labels = np.full(n_objects, None, object)
    asked = rng.choice(n_objects, 64, replace=False)
    labels[asked] = [f"c{c}" for c in cls[asked]]
    out = {}
    strategy = ClusterMargin()
    t0 = time.perf_counter()
    suggest_next(X, labels, 16, strategy=strategy)
    out["next batch, first round (k-means)"] = time.perf_counter() - t0
    for name in ("cluster-margin", "margin", "diverse-margin"):
        chosen = strategy if name == "cluster-margin" else name
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            suggest_next(X, labels, 16, strategy=chosen, seed=r)
            times.append(time.perf_counter() - t0)
        out[f"next batch ({name})"] = statistics.median(times)
    fb = np.full(n_objects, np.nan)
    fb[rng.choice(n_objects, 20, replace=False)] = rng.integers(0, 2, 20)
    for method in ("none", "pine", "aad"):
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            AnomalyRanker(method="pine" if method == "none" else method, seed=r).fit(
                X, None if method == "none" else fb).score(X)
            times.append(time.perf_counter() - t0)
        out[f"anomaly scores ({'isolation forest' if method == 'none' else method + ' re-rank'})"] = \
            statistics.median(times)
    return out


def main(argv=None) -> int:
    """Run the benchmark and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--objects", type=int, default=100_000, help="objects of the speed test")
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    budgets = (8, 16, 32, 64) if args.quick else (8, 16, 32, 64, 96, 128)
    print(f"bench_discover: {load_avg()} at start, {seeds} seed(s)", flush=True)
    sets = [("eros1_lmc", ["R", "B"], "label", ())]
    if not args.quick:
        sets.append(("asas_richards2012", None, "label_coarse", ("Other",)))
    for name, bands, column, exclude in sets:
        data, truth, fine = catalog_vectors(name, bands, column, exclude)
        print(f"\n## {name} ({len(truth)} objects, {len(set(truth))} classes of {column}), {load_avg()}", flush=True)
        table = curves(data, truth, budgets, seeds)
        diff = (table - table.loc["random"]).round(3)
        print(markdown(table, {"labels to 0.85": labels_to_reach(table).to_dict()}))
        print("\ndifference to random:\n" + markdown(diff))
        if name == "eros1_lmc":
            print(f"\n### estimators under cluster-margin ({load_avg()})", flush=True)
            est = pd.concat([curves(data, truth, budgets[:4], seeds, ("cluster-margin",), e).rename(index={
                "cluster-margin": e}) for e in ("extra-trees", "random-forest", "logistic")])
            print(markdown(est))
            print(f"\n### calibration, random labels ({load_avg()})", flush=True)
            print(frame_markdown(calibration(data, truth, (16, 64, 128), seeds).round(3)))
        if exclude:   # anomalies need no class left out: the whole catalog
            data, truth, fine = catalog_vectors(name, bands, column)
        for kind, classes in (("label", fine), (column, truth))[:1 if column == "label" else 2]:
            print(f"\n### anomalies, {len(fine)} objects, classes of {kind} ({load_avg()})", flush=True)
            rec, fb = anomaly_recall(data, classes.astype(str), seeds)
            print(frame_markdown(rec.round(2)))
            print("\nfeedback on the top 20, the rarest class among the next 50 unseen:")
            print(frame_markdown(fb.round(2)))
    n = 20_000 if args.quick else args.objects
    print(f"\n## speed at {n} objects ({load_avg()})", flush=True)
    for k, v in speed(n, 3 if args.quick else 5).items():
        print(f"| {k} | {v:.3f} s |")
    print(f"\nload at the end: {load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
