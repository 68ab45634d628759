"""Fine-tuning the chosen Astromer model on the open catalog, from the dashboard."""

from __future__ import annotations

import numpy as np
import param

from explorer.errors import ExplorerError, ModelError

from ..jobs import JobRunner
from .catalogs import CatalogSession
from .common import Messages, Part
from .models import ModelChoice


class FineTuning(Part):
    """Name, epochs and learning rate of a fine-tuning, and the losses of the last one."""

    finetune_name = param.String(default="", label="Name of the fine-tuned model",
                                 doc="Store name the fine-tuned model is installed under.")
    finetune_epochs = param.Integer(default=2, bounds=(1, 50), label="Epochs", doc="Training epochs (early stopping).")
    finetune_lr = param.Number(default=1e-4, bounds=(1e-6, 1e-2), label="Learning rate", doc="Adam learning rate.")
    finetune_history = param.Parameter(default=None, constant=True,
                                       doc="FitHistory of the last fine-tuning (losses per epoch), None before.")

    session = param.ClassSelector(class_=CatalogSession, constant=True)
    models = param.ClassSelector(class_=ModelChoice, constant=True)
    messages = param.ClassSelector(class_=Messages, constant=True)
    jobs = param.ClassSelector(class_=JobRunner, constant=True)

    def checked_name(self, name: str | None = None) -> str:
        """The store name to install under; an ExplorerError saying what to type when it is unusable."""
        from explorer.store import validate_name

        name = (self.finetune_name if name is None else name).strip()
        if not name:
            raise ExplorerError("type a name for the fine-tuned model first")
        validate_name(name)
        return name

    def start(self) -> bool:
        """Check the settings at once (a missing name is said, not logged), then fine-tune in the background."""
        self.checked_name()
        self.models.check_model()
        return self.jobs.submit("Fine-tuning", self.fine_tune)

    def fine_tune(self, name: str | None = None, *, epochs: int | None = None, lr: float | None = None,
                  batch_size: int = 64, max_objects: int | None = None, bands=None):
        """Fine-tune the chosen Astromer model on the open catalog (masked-magnitude reconstruction) and
        install it as ``name`` when an epoch improved on the base model; returns the FitHistory.

        Long work: run it through ``jobs`` (the dashboard does). Needs the ``train`` extra (PyTorch).
        """
        from explorer.astromer.training import finetune
        from explorer.store import remove_model

        cat = self.session.require()
        base = self.models.check_model()
        name = self.checked_name(name)
        if self.models.model_kind(base) not in ("astromer1",):
            raise ModelError(f"fine-tuning needs an Astromer 1 model; {base!r} is {self.models.model_kind(base)}")
        epochs = int(self.finetune_epochs if epochs is None else epochs)
        lr = float(self.finetune_lr if lr is None else lr)
        data = cat if max_objects is None or len(cat) <= max_objects else cat.take(np.arange(max_objects))

        def progress(epoch, batch, n_batches):
            done = (epoch - 1 + batch / max(n_batches or batch, 1)) / epochs
            message = f"Fine-tuning {base} on {cat.name}: epoch {epoch}/{epochs}, batch {batch}/{n_batches or '?'}"
            self.jobs.report(min(done, 0.99), message)
            self.messages.say(message)

        self.jobs.report(0.0, f"Fine-tuning {base} on {cat.name} ({len(data)} objects, {epochs} epochs)...")
        result = finetune(data, base, name, bands=bands, epochs=epochs, lr=lr, batch_size=batch_size,
                          progress=progress)
        h = result.history
        self._out(finetune_history=h)
        losses = ", ".join(f"{v:.4f}" for v in h.val_loss)
        if not h.best_epoch:
            # the best weights are the base model's own: installing them under a new name would mislead
            remove_model(name)
            self.models.refresh_models()
            self.messages.say(f"Fine-tuning {base} did not improve on it (validation loss {h.initial_val_loss:.4f}"
                              f" -> {losses}): {name} was not installed. Try more epochs or another learning rate.")
            return h
        self.models.refresh_models()
        self.messages.say(f"Fine-tuned {base} -> {name}: validation loss {h.initial_val_loss:.4f} -> {losses} "
                          f"(best epoch {h.best_epoch}). {name} is in the model list; choose it and press Embed "
                          "to compare.")
        return h
