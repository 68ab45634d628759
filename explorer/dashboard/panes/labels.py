"""Labelling: choose or add a label, give it to the tapped object or to the whole selection."""

from __future__ import annotations

import panel as pn

from .base import StatePane, text_pane, with_css


class LabelsPane(StatePane):
    """Label chooser, new-label box and the two apply buttons (empty labels are refused by the state)."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.label_select = with_css(pn.widgets.Select.from_param(self.p("label_choice"), sizing_mode="stretch_width"),
                                     "lcx-label-select")
        self.label_input = with_css(pn.widgets.TextInput.from_param(self.p("new_label"), placeholder="new label",
                                                                    sizing_mode="stretch_width"), "lcx-label-input")
        self.label_add = pn.widgets.Button(label="Add label", width=90, align="end", css_classes=["lcx-label-add"])
        self.label_apply = pn.widgets.Button(label="Label tapped object", color="success",
                                             css_classes=["lcx-label-apply"])
        self.label_apply_sel = pn.widgets.Button(label="Label selection", color="success",
                                                 css_classes=["lcx-label-apply-selection"])
        self.label_add.on_click(self.action("adding a label", s.add_label))
        self.label_apply.on_click(self.action("labelling the tapped object", s.assign_label, None, "tapped"))
        self.label_apply_sel.on_click(self.action("labelling the selection", s.assign_label, None, "selection"))
        self.read_only = text_pane("lcx-labels-read-only", "", visible=False)
        self.watch(self._show_mode, ["catalog"])
        self._show_mode()

    def _show_mode(self) -> None:
        """Label actions off, and a sentence why, where this session may not write labels."""
        store = self.state.label_store if self.state.catalog is not None else None
        reason = store.read_only_reason if store is not None else None
        for widget in (self.label_input, self.label_add, self.label_apply, self.label_apply_sel):
            widget.disabled = reason is not None
        self.read_only.object, self.read_only.visible = reason or "", reason is not None

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("### Labels", margin=(0, 5)), self.label_select,
                         pn.Row(self.label_input, self.label_add, sizing_mode="stretch_width"),
                         pn.Row(self.label_apply, self.label_apply_sel), self.read_only, sizing_mode="stretch_width")
