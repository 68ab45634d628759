"""The page template: FastListTemplate with every resource served by the Panel server itself."""

from __future__ import annotations

import panel as pn
from panel.theme import fast as _fast


class Fast(_fast.Fast):
    """The Fast design without its Google-fonts stylesheet (the page must work offline).

    Named ``Fast`` on purpose: Panel finds a design's bundled files under ``<class name>/``.
    """

    _resources = {k: v for k, v in _fast.Fast._resources.items() if k != "font"}


LocalFast = Fast


def local_template(title: str, *, sidebar: list, main: list, sidebar_width: int = 330):
    """A responsive FastListTemplate (sidebar + main) that requests nothing from other hosts."""
    return pn.template.FastListTemplate(
        title=title, sidebar=sidebar, main=main, sidebar_width=sidebar_width, design=LocalFast,
        font="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", main_layout=None, theme_toggle=False,
    )
