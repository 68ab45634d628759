"""``panel serve app.py``: the Light-curve Explorer dashboard.

Opens ``$LCEXPLORER_CATALOG`` (default ``sample_catalogs/macho_like``) with the default model and
computes the map in the background on first load, so the page shows a populated map with no
user action. Allowed catalog folders: ``sample_catalogs/``, ``../shared/data`` and
``$LCEXPLORER_DATA_DIRS``.
"""

import panel as pn

from explorer.dashboard.explorer import Explorer

pn.extension("tabulator", notifications=False, sizing_mode="fixed")

explorer = Explorer()
template = pn.template.FastListTemplate(
    title="Light-curve Explorer",
    sidebar=[explorer.sidebar],
    main=[explorer.main],
    sidebar_width=360,
)
template.servable()
