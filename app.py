"""``panel serve app.py``: the Light-curve Explorer dashboard.

Opens ``$LCEXPLORER_CATALOG`` (default ``sample_catalogs/macho_like``) with the default model and
computes the map in the background on first load, so the page shows a populated map with no
user action.  Allowed catalog folders: ``sample_catalogs/``, ``../shared/data`` and
``$LCEXPLORER_DATA_DIRS``.  The page loads nothing from other hosts (fonts included).
"""

import faulthandler
import signal

import panel as pn

from explorer import offload
from explorer.dashboard.explorer import Explorer
from explorer.dashboard.page import LocalFast, local_template
from explorer.dashboard.warmup import start_warmup

# the page's design before any pane is made: a pane made under another design changes its stylesheets on its
# first update, and each such change makes Bokeh walk the whole document again (up to 1 s per update, measured)
pn.extension("tabulator", "filedropper", notifications=True, design=LocalFast)
if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>`: every thread's stack into the server's log (what holds it)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
offload.serve_default()  # UMAP fits, period searches, feature chunks in a worker process ($LCEXPLORER_WORKER_PROCS)
start_warmup()  # once per process: numba compile and the default map, off the first page's path

explorer = Explorer()
local_template("Light-curve Explorer", sidebar=[explorer.sidebar], main=[explorer.main]).servable()
