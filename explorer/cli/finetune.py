"""``lcexplorer finetune``: fine-tune an Astromer model on a catalog (masked-magnitude reconstruction) and install it."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``finetune`` subcommand."""
    p = subparsers.add_parser(
        "finetune", help="fine-tune an Astromer model on a catalog and install it in the model store",
        description="Fine-tune BASE on CATALOG with ASTROMER's masked-magnitude reconstruction (PyTorch, extra "
                    "'train'), print the losses per epoch, and install the best weights as NAME (ONNX built by "
                    "the converter's graph builder). Objects are split into training and validation sets.")
    p.add_argument("catalog", help="catalog path (folder, Parquet or CSV)")
    p.add_argument("--base", required=True,
                   help="model to start from: store name (astromer1-atlas), survey name (macho, atlas) or checkpoint path")
    p.add_argument("--name", required=True, help="store name of the fine-tuned model")
    p.add_argument("--bands", default=None, help="comma-separated bands; each band of an object is one light curve "
                                                 "(required when the catalog has several bands)")
    p.add_argument("--epochs", type=int, default=3, help="maximum number of epochs")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate")
    p.add_argument("--batch-size", type=int, default=64, help="windows per training step")
    p.add_argument("--patience", type=int, default=3, help="epochs without validation improvement before stopping")
    p.add_argument("--val-frac", type=float, default=0.2, help="fraction of objects held out for validation")
    p.add_argument("--max-obs", type=int, default=200, help="observations per training window (at most 200)")
    p.add_argument("--msk-frac", type=float, default=0.5, help="fraction of observations probed per window")
    p.add_argument("--rnd-frac", type=float, default=0.2, help="fraction of probed values replaced by random ones")
    p.add_argument("--same-frac", type=float, default=0.2, help="fraction of probed values left visible")
    p.add_argument("--hidden", choices=("zero", "keep"), default="zero",
                   help="hidden points: magnitude set to 0 (default) or kept as the original code does (the v1 "
                        "attention mask does not hide them)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N objects (quick runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the masks and the dropout")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when torch sees one)")
    p.add_argument("--project", default=None, help="folder for weights and log.csv (default: under the store)")
    p.add_argument("--overwrite", action="store_true", help="replace an installed model of the same name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``lcexplorer finetune``."""
    import numpy as np

    from explorer.astromer.training import finetune
    from explorer.catalog import load_catalog
    from explorer.errors import ModelError
    from explorer.store import get_entry, validate_name

    validate_name(args.name)
    if not args.overwrite:
        try:
            existing = get_entry(args.name)
        except ModelError:
            existing = None
        if existing is not None:  # refuse before training, not after
            raise ModelError(f"model {args.name!r} is already installed at {existing.onnx_path}; use --overwrite")
    catalog = load_catalog(args.catalog)
    if args.limit is not None:
        if args.limit < 2:
            raise ModelError(f"--limit must be at least 2, got {args.limit}")
        catalog = catalog.take(np.arange(min(args.limit, len(catalog))))
    print(f"catalog: {catalog.summary()}", flush=True)
    result = finetune(catalog, args.base, args.name, bands=args.bands, epochs=args.epochs, lr=args.lr,
                      batch_size=args.batch_size, patience=args.patience, val_frac=args.val_frac,
                      max_obs=args.max_obs, msk_frac=args.msk_frac, rnd_frac=args.rnd_frac, same_frac=args.same_frac,
                      seed=args.seed, project_path=args.project, device=args.device, overwrite=args.overwrite,
                      verbose=1, hidden=args.hidden)
    h = result.history
    print(f"trained on {result.train_objects} objects, validated on {result.val_objects}; {h.train_windows} "
          f"training windows at {h.windows_per_second:.1f} windows/s on {h.device}")
    if h.best_epoch == 0:
        print("no epoch improved the validation loss: the installed model has the base weights")
    print(f"weights and log.csv: {h.project_path}")
    print(f"installed {result.entry.name}: {result.entry.onnx_path}")
    return 0
