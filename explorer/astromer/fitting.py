"""The training loop behind ``SingleBandEncoder.fit`` and the store export behind ``SingleBandEncoder.install``.

PyTorch is imported here only (optional extra ``train``). The loop follows the original
``ASTROMER.core.astromer.train``: Adam (beta2 0.98, eps 1e-9), masked RMSE on probed positions, the
validation loss after every epoch, weights saved when it improves, stop after ``patience`` epochs
without improvement. This module takes an encoder as an argument and never imports the encoder's
module, so ``encoder -> fitting`` runs one way (``training.finetune`` sits above both).
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from explorer.errors import ModelError

__all__ = ["FitHistory", "fit_encoder", "install_encoder", "evaluate_loss", "require_torch", "LOG_FILE"]

LOG_FILE = "log.csv"


def require_torch():
    """The torch module; ModelError saying how to install it when absent."""
    try:
        import torch
    except ImportError:
        raise ModelError("fine-tuning needs PyTorch: pip install -e '.[train]' (CPU wheel; CUDA is used when present)") from None
    return torch


@dataclass
class FitHistory:
    """What a fit did: losses per epoch, the best epoch, throughput and where the weights are."""

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    initial_val_loss: float | None = None
    best_epoch: int = 0               # 0: no epoch improved on the starting weights
    best_val_loss: float | None = None
    stopped_early: bool = False
    train_windows: int = 0
    seconds: float = 0.0
    windows_per_second: float = 0.0
    device: str = "cpu"
    project_path: str = ""

    def as_dict(self) -> dict:
        """JSON-ready form (model card, benchmark output)."""
        return asdict(self)


def _tensors(batch: dict, device):
    import torch

    out = {}
    for key in ("input", "times", "mask_in", "output", "mask_out"):
        if key not in batch:
            raise ModelError(f"a training batch lacks {key!r}: batches must come from make_pretraining")
        out[key] = torch.from_numpy(np.ascontiguousarray(batch[key], np.float32)).to(device)
    return out


def evaluate_loss(module, batches, device="cpu") -> float:
    """Mean masked RMSE of ``module`` over ``batches`` (eval mode, no gradients)."""
    import torch

    from explorer.astromer.torch_model import masked_rmse

    module.eval()
    losses = []
    with torch.no_grad():
        for batch in batches:
            t = _tensors(batch, device)
            _, pred = module(t["input"], t["times"], t["mask_in"])
            losses.append(float(masked_rmse(t["output"], pred, t["mask_out"])))
    if not losses:
        raise ModelError("the validation batches are empty: no window to evaluate")
    return float(np.mean(losses))


def _device(device):
    torch = require_torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' was asked for but torch sees no CUDA device here; use device='cpu'")
    return dev


def fit_encoder(encoder, train_batches, valid_batches, *, epochs=2, patience=40, lr=1e-3, project_path=".",
                verbose=0, device=None, seed=0, progress=None) -> FitHistory:
    """Train ``encoder`` (a SingleBandEncoder) in place; see ``SingleBandEncoder.fit``."""
    torch = require_torch()
    from explorer.astromer.torch_model import AstromerModule, masked_rmse

    weights = encoder._need_weights()
    for label, value in (("epochs", epochs), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ModelError(f"fit: {label} must be a positive integer, got {value!r}")
    if not float(lr) > 0:
        raise ModelError(f"fit: lr must be positive, got {lr!r}")
    dev = _device(device)
    torch.manual_seed(seed)
    module = AstromerModule.from_weights(weights, dropout=encoder.dropout, seed=seed).to(dev)
    project = Path(project_path)
    project.mkdir(parents=True, exist_ok=True)
    optimizer = torch.optim.Adam(module.parameters(), lr=float(lr), betas=(0.9, 0.98), eps=1e-9)
    history = FitHistory(device=str(dev), project_path=str(project))
    history.initial_val_loss = evaluate_loss(module, valid_batches, dev)
    best = history.initial_val_loss
    say = print if verbose else (lambda *a, **k: None)
    say(f"epoch 0: val_loss {best:.5f} (starting weights)")
    log_path = project / LOG_FILE
    with open(log_path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["epoch", "train_loss", "val_loss"])
    base_provenance = dict(weights.provenance, base=encoder.name or weights.source)
    waited = 0
    t_start = time.perf_counter()
    train_time = 0.0
    for epoch in range(1, int(epochs) + 1):
        module.train()
        losses = []
        t0 = time.perf_counter()
        n_batches = len(train_batches) if hasattr(train_batches, "__len__") else None
        for i, batch in enumerate(train_batches):
            t = _tensors(batch, dev)
            _, pred = module(t["input"], t["times"], t["mask_in"])
            loss = masked_rmse(t["output"], pred, t["mask_out"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            history.train_windows += int(t["input"].shape[0])
            if progress is not None:
                progress(epoch, i + 1, n_batches)
        if not losses:
            raise ModelError("the training batches are empty: no window to train on")
        train_time += time.perf_counter() - t0
        val = evaluate_loss(module, valid_batches, dev)
        train_loss = float(np.mean(losses))
        history.epochs.append(epoch)
        history.train_loss.append(train_loss)
        history.val_loss.append(val)
        with open(log_path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([epoch, f"{train_loss:.8g}", f"{val:.8g}"])
        if val < best:
            best, waited, history.best_epoch = val, 0, epoch
            module.to_weights(source=str(project), provenance=base_provenance).save(
                project, extra={"epoch": epoch, "val_loss": val, "train_loss": train_loss})
        else:
            waited += 1
        say(f"epoch {epoch}: train_loss {train_loss:.5f}  val_loss {val:.5f}"
            f"{'  (best)' if history.best_epoch == epoch else f'  (no improvement {waited}/{patience})'}")
        if waited >= patience:
            history.stopped_early = True
            say(f"early stopping: no improvement in {patience} epochs")
            break
    history.seconds = round(time.perf_counter() - t_start, 3)
    history.windows_per_second = round(history.train_windows / train_time, 2) if train_time > 0 else 0.0
    history.best_val_loss = best
    if history.best_epoch > 0:
        from explorer.astromer.weights import AstromerWeights

        encoder._set_weights(AstromerWeights.load(project), None, None)
    # else: no epoch beat the starting weights, which stay in place (nothing saved)
    encoder.history = history
    return history


def install_encoder(encoder, name, *, catalog=None, bands=None, overwrite=False, extra_card=None):
    """Export ``encoder``'s weights to ONNX with the converter's graph builder and install them with a card."""
    import hashlib

    import explorer
    from explorer.convert.config import pe_rates
    from explorer.convert.graph import OPSET
    from explorer.store import install_model, validate_name

    validate_name(name)
    weights = encoder._need_weights()
    history = encoder.history
    model = weights.to_onnx(metadata={"lcexplorer.source": "explorer.astromer fine-tuning",
                                      "lcexplorer.base_model": str(weights.provenance.get("base", ""))})
    data = model.SerializeToString()
    arch = weights.spec.summary()
    arch["pe_rates_first"] = [float(v) for v in pe_rates(weights.spec)[:4]]
    prov = weights.provenance
    training = {
        "base_model": prov.get("base") or prov.get("store_name") or encoder.name,
        "base_onnx_sha256": prov.get("onnx_sha256"),
        "base_source": prov.get("source"), "base_source_sha256": prov.get("source_sha256"),
        "weights_sha256": weights.sha256(),
        "weights_folder": history.project_path if history is not None else None,
    }
    if catalog is not None:
        training["catalog"] = {"name": getattr(catalog, "name", None), "source": getattr(catalog, "source", None),
                               "content_hash": catalog.content_hash(), "objects": len(catalog),
                               "bands": list(bands) if bands is not None else None}
    if history is not None:
        training.update(
            epochs_run=len(history.epochs), best_epoch=history.best_epoch, stopped_early=history.stopped_early,
            initial_val_loss=history.initial_val_loss, best_val_loss=history.best_val_loss,
            losses=[{"epoch": e, "train_loss": t, "val_loss": v}
                    for e, t, v in zip(history.epochs, history.train_loss, history.val_loss)],
            train_windows=history.train_windows, windows_per_second=history.windows_per_second,
            device=history.device, seconds=history.seconds,
        )
    training.update(extra_card or {})
    card = {
        "kind": "astromer1",
        "family": weights.spec.family,
        "description": f"Astromer encoder fine-tuned from {training['base_model']}"
                       + (f" on {training['catalog']['name']}" if catalog is not None else ""),
        "source": {"file": None, "path": None, "sha256": None, "weights_format": "lcexplorer-astromer-weights"},
        "config": weights.spec.config,
        "architecture": arch,
        "onnx": {"opset": OPSET, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                 "inputs": ["input", "times", "mask_in"], "outputs": [o.name for o in model.graph.output]},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "converter": {"name": "explorer.astromer", "package_version": explorer.__version__},
        "training": training,
        "notes": ["ONNX graph built by explorer.convert.graph.build_model from the fine-tuned weights"],
    }
    entry = install_model(name, data, card, overwrite=overwrite)
    from explorer.engine.session import file_sha256

    encoder._onnx_path, encoder.name = entry.onnx_path, name
    encoder.weights.provenance = dict(encoder.weights.provenance, store_name=name,
                                      onnx_sha256=file_sha256(entry.onnx_path))
    return entry


# --------------------------------------------------------------------------------------------------
# one call for the CLI, the benchmark and the dashboard
