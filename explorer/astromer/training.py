"""Fine-tuning end to end: ``finetune`` (CLI ``lcexplorer finetune``, dashboard, benchmark).

Splits the objects, builds the masked batches (``data``), trains an encoder (``encoder`` ->
``fitting``) and installs it in the store. The loop itself is in :mod:`explorer.astromer.fitting`;
its names are re-exported here for older callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from explorer.astromer.fitting import (  # noqa: F401  (re-exported)
    LOG_FILE,
    FitHistory,
    evaluate_loss,
    fit_encoder,
    install_encoder,
    require_torch,
)
from explorer.errors import ModelError

__all__ = ["FitHistory", "fit_encoder", "install_encoder", "evaluate_loss", "finetune", "FinetuneResult",
           "require_torch", "LOG_FILE", "split_objects"]


@dataclass
class FinetuneResult:
    """The fine-tuned encoder, its history and its store entry (None when not installed)."""

    encoder: object
    history: FitHistory
    entry: object | None
    train_objects: int
    val_objects: int


def split_objects(n: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``n`` object rows into (train, validation), both sorted, both non-empty."""
    if not 0.0 < val_frac < 1.0:
        raise ModelError(f"val_frac must be between 0 and 1, got {val_frac!r}")
    if n < 2:
        raise ModelError(f"fine-tuning needs at least 2 objects (one to train, one to validate), got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, int(round(n * val_frac))), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def finetune(catalog, base, name=None, *, bands=None, epochs=3, lr=1e-4, batch_size=64, patience=3,
             val_frac=0.2, max_obs=200, msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0, project_path=None,
             device=None, overwrite=False, verbose=0, progress=None, hidden="zero") -> FinetuneResult:
    """Fine-tune ``base`` (from_pretraining name) on ``catalog`` and install the result as ``name``.

    Objects are split (seeded) into training and validation; training masks are redrawn every epoch,
    validation masks stay fixed so epochs compare. ``name=None`` trains without installing. ``hidden``:
    see ``make_pretraining`` ("zero": hidden magnitudes set to 0; "keep": the original's leaky masking).
    """
    from explorer.astromer.data import make_pretraining
    from explorer.astromer.encoder import SingleBandEncoder
    from explorer.catalog import Catalog, load_catalog
    from explorer.store import store_root, validate_name

    require_torch()
    if name is not None:
        validate_name(name)
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    if isinstance(bands, str):
        bands = [b for b in bands.split(",") if b]
    train_rows, val_rows = split_objects(len(catalog), val_frac, seed)
    options = dict(max_obs=max_obs, msk_frac=msk_frac, rnd_frac=rnd_frac, same_frac=same_frac, bands=bands,
                   hidden=hidden)
    train = make_pretraining(catalog.take(train_rows), batch_size=batch_size, shuffle=True, seed=seed, redraw=True,
                             **options)
    valid = make_pretraining(catalog.take(val_rows), batch_size=batch_size, seed=seed + 1, **options)
    encoder = SingleBandEncoder.from_pretraining(base)
    if project_path is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        project_path = store_root() / "finetune" / f"{name or 'run'}-{stamp}"
    history = encoder.fit(train, valid, epochs=epochs, patience=patience, lr=lr, project_path=project_path,
                          verbose=verbose, device=device, seed=seed, progress=progress)
    entry = None
    if name is not None:
        entry = encoder.install(name, catalog=catalog, bands=bands, overwrite=overwrite, extra_card={
            "split": {"seed": seed, "val_frac": val_frac, "train_objects": len(train_rows),
                      "val_objects": len(val_rows)},
            "masking": {"max_obs": max_obs, "msk_frac": msk_frac, "rnd_frac": rnd_frac, "same_frac": same_frac,
                        "hidden": hidden},
            "optimizer": {"name": "adam", "lr": lr, "betas": [0.9, 0.98], "eps": 1e-9, "batch_size": batch_size},
            "epochs_requested": epochs, "patience": patience,
        })
    return FinetuneResult(encoder, history, entry, len(train_rows), len(val_rows))
