"""Fine-tune the chosen Astromer model on the open catalog: epochs, progress, a loss plot, then the new model."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css


class FineTunePane(StatePane):
    """Name, epochs and learning rate; the button runs the training in the job runner; losses per epoch."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = pn.widgets
        self.name_input = with_css(w.TextInput.from_param(self.p("finetune_name"), placeholder="e.g. atlas-on-eros",
                                                          sizing_mode="stretch_width"), "lcx-finetune-name")
        self.epochs = with_css(w.IntInput.from_param(self.p("finetune_epochs"), width=120), "lcx-finetune-epochs")
        self.lr = with_css(w.FloatInput.from_param(self.p("finetune_lr"), width=140), "lcx-finetune-lr")
        self.button = w.Button(label="Fine-tune on this catalog", css_classes=["lcx-finetune"], width=220)
        self.note = text_pane("lcx-finetune-note", "")
        self.plot = pn.pane.Bokeh(None, css_classes=["lcx-finetune-plot"], height=220, width=420)
        self.button.on_click(self.action("fine-tuning", s.tuning.start))
        self.watch(self.refresh, ["finetune_history", "model"])
        self.watch(self._busy, ["busy"], obj=s.jobs)
        self.refresh()

    def _busy(self) -> None:
        self.button.disabled = bool(self.state.jobs.busy)

    def refresh(self) -> None:
        """The losses of the last fine-tuning as text and as a plot."""
        from bokeh.plotting import figure

        s = self.state
        h = s.finetune_history
        if h is None:
            self.note.object = (f"Adapts {s.model or 'the chosen model'} to this catalog (masked-magnitude "
                                "reconstruction, as in the ASTROMER papers) and installs it as a new model. "
                                "Needs PyTorch (pip install -e .[train]); a few minutes per epoch on a CPU.")
            self.plot.object = None
            return
        rows = [f"epoch {e}: train {t:.4f}, validation {v:.4f}" for e, t, v in zip(h.epochs, h.train_loss, h.val_loss)]
        self.note.object = (f"validation loss before: {h.initial_val_loss:.4f}; best epoch {h.best_epoch}\n"
                            + "\n".join(rows))
        fig = figure(height=220, width=420, title="Fine-tuning loss (masked-magnitude RMSE)", toolbar_location=None,
                     x_axis_label="epoch", y_axis_label="RMSE")
        epochs = [0] + list(h.epochs)
        fig.line(epochs, [h.initial_val_loss] + list(h.val_loss), legend_label="validation", color="#d62728")
        fig.scatter(epochs, [h.initial_val_loss] + list(h.val_loss), color="#d62728")
        fig.line(list(h.epochs), list(h.train_loss), legend_label="training", color="#1f77b4")
        self.plot.object = fig

    def __panel__(self):
        return pn.Column(self.name_input, pn.Row(self.epochs, self.lr), self.button, self.note, self.plot,
                         sizing_mode="stretch_width")
