"""What does fine-tuning buy? Training speed, validation loss per epoch, kNN5 before/after, per catalog.

    python benchmarks/bench_finetune.py            # eros1_lmc (R) and asas_richards2012 (V), all objects, 3 epochs
    python benchmarks/bench_finetune.py --quick    # train on 300 / 150 objects for 2 epochs; kNN still on all objects
    python benchmarks/bench_finetune.py --device cuda   # the same on a GPU

Fine-tuning: ``explorer.astromer.training.finetune`` (the code behind ``lcexplorer finetune``) from
``astromer1-atlas``: masked-magnitude reconstruction as in ASTROMER v1 (50 % of each window probed, of
those 20 % left visible and 20 % randomised; RMSE on probed positions), Adam lr 1e-4 (beta2 0.98, eps
1e-9), batch 64, windows of 200, objects split 80/20 into training/validation (seed 0). Training uses no
labels, so it may see every object that the kNN is evaluated on (the usual way to adapt to a survey).

Classification before/after (the protocol of bench_representations, explorer.quality): the model's
``mean`` embedding per object (``explorer.representations``, non-overlapping windows), StandardScaler +
5-NN, 5-fold stratified CV with seed 0, on every object of the catalog; ASAS uses ``label_coarse`` with
'Other' left out. The 2-D figure is left out with ``--no-map`` (UMAP costs ~20 s per map).

Training windows/s: training windows divided by the time spent in training steps (forward, backward,
Adam), excluding validation. Prints a Markdown table and the machine's load; needs ../shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import SHARED, load_avg  # noqa: E402


def quality(catalog, spec: str, bands, column: str, exclude, with_map: bool):
    """kNN5 (full, and 2-D unless ``with_map`` is false) of one model's representation of ``catalog``."""
    from explorer.quality import map_quality
    from explorer.representations import compute_representation

    rep = compute_representation(catalog, spec, bands=bands)
    xy = None
    if with_map:
        from explorer.projection import Projection

        xy = Projection(column_weights=rep.column_weights()).fit_transform(rep.matrix)
    return map_quality(catalog.objects[column], rep.matrix, xy, column_weights=rep.column_weights(), exclude=exclude)


def main() -> None:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="train on a subset (300 EROS / 150 ASAS objects), 2 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 3, quick 2)")
    ap.add_argument("--train-limit", type=int, default=None, help="objects used for training (first N)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--base", default="astromer1-atlas")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when torch sees one)")
    ap.add_argument("--catalogs", default="eros1_lmc,asas_richards2012")
    ap.add_argument("--no-map", action="store_true", help="skip the 2-D (UMAP) kNN figure")
    ap.add_argument("--hidden", choices=("zero", "keep"), default="zero",
                    help="hidden points zeroed (default) or kept as in the original code (see make_pretraining)")
    ap.add_argument("--home", default=None, help="LCEXPLORER_HOME to use (default: a fresh temporary one)")
    args = ap.parse_args()
    if not (SHARED / "data").is_dir():
        sys.exit(f"../shared is absent ({SHARED}): this benchmark needs the real catalogs")
    os.environ["LCEXPLORER_HOME"] = args.home or tempfile.mkdtemp(prefix="lcx-bench-ft-")
    import torch

    from explorer.astromer import SingleBandEncoder
    from explorer.astromer.training import finetune
    from explorer.catalog import load_catalog

    epochs = args.epochs or (2 if args.quick else 3)
    cases = {
        "eros1_lmc": ("EROS-1", ["R"], "label", (), 300),
        "asas_richards2012": ("ASAS", ["V"], "label_coarse", ("Other",), 150),
    }
    threads = torch.get_num_threads()
    print(f"# fine-tuning benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {load_avg()}, torch {torch.__version__}, "
          f"{threads} threads, hidden points: {args.hidden})\n")
    SingleBandEncoder.from_pretraining(SHARED / "models" / "checkpoints" / "atlas.zip")   # into the private store
    rows, losses = [], []
    for key in [c.strip() for c in args.catalogs.split(",") if c.strip()]:
        label, bands, column, exclude, quick_limit = cases[key]
        catalog = load_catalog(SHARED / "data" / key)
        limit = args.train_limit or (quick_limit if args.quick else None)
        train_cat = catalog.take(np.arange(min(limit, len(catalog)))) if limit else catalog
        before = quality(catalog, args.base, bands, column, exclude, not args.no_map)
        name = f"{args.base}-ft-{key}"
        t0 = time.perf_counter()
        result = finetune(train_cat, args.base, name, bands=bands, epochs=epochs, lr=args.lr,
                          batch_size=args.batch_size, patience=epochs, device=args.device, overwrite=True, seed=0,
                          hidden=args.hidden)
        wall = time.perf_counter() - t0
        h = result.history
        after = quality(catalog, name, bands, column, exclude, not args.no_map)
        rows.append((label, "‖".join(bands), len(train_cat), h, wall, before, after))
        losses.append((label, h))
        print(f"{label}: done in {wall:.0f} s ({load_avg()})", flush=True)

    print("\n| catalog | band | objects trained | device | train windows/s | epochs | best epoch | "
          "kNN5 full before | after | kNN5 2-D before | after |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    for label, band, n, h, wall, before, after in rows:
        print(f"| {label} | {band} | {n} | {h.device} | {h.windows_per_second:.1f} | {len(h.epochs)} | {h.best_epoch} | "
              f"{fmt(before.knn_full)} | {fmt(after.knn_full)} | {fmt(before.knn_2d)} | {fmt(after.knn_2d)} |")
    print("\nvalidation loss (masked RMSE, mag) per epoch; epoch 0 = the base model:\n")
    print("| catalog | " + " | ".join(f"epoch {e}" for e in range(epochs + 1)) + " | train loss per epoch |")
    print("|---|" + "---:|" * (epochs + 1) + "---|")
    for label, h in losses:
        vals = [h.initial_val_loss] + list(h.val_loss)
        cells = [f"{v:.4f}" for v in vals] + ["–"] * (epochs + 1 - len(vals))
        print(f"| {label} | " + " | ".join(cells) + " | " + ", ".join(f"{v:.4f}" for v in h.train_loss) + " |")
    print(f"\nfinished with {load_avg()}")


if __name__ == "__main__":
    main()
