"""The hover preview: the light curve and chosen fields of the object under the pointer on the map."""

from __future__ import annotations

import panel as pn

from .base import StatePane, TextMultiChoice, text_pane, with_css
from .neighbours import thumbnail_svg


class HoverPane(StatePane):
    """A small light curve (folded when a period is known) of ``state.hovered_id``, drawn on the server."""

    def __init__(self, **params):
        super().__init__(**params)
        self.picture = pn.pane.HTML("", width=232, height=142, margin=2, css_classes=["lcx-hover-preview"])
        self.text = text_pane("lcx-hover-text", "Hover over the map to preview a light curve.")
        self.fields = with_css(TextMultiChoice.from_param(self.p("hover_fields"), width=260),
                               "lcx-hover-fields")
        self.watch(self.refresh, ["hovered_id", "hover_fields", "catalog"])

    def refresh(self) -> None:
        """Draw the hovered object (or nothing)."""
        s = self.state
        oid = s.hovered_id
        if not oid or s.catalog is None:  # nothing under the pointer (or a new catalog): nothing stale shown
            self.picture.object = ""
            self.text.object = "Hover over the map to preview a light curve."
            return
        try:
            self.picture.object = thumbnail_svg(s, oid, title=oid)
            self.text.object = s.hover_text(oid)
        except KeyError:
            return

    def __panel__(self):
        return pn.Row(self.picture, pn.Column(self.text, self.fields, sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")
