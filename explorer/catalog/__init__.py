"""In-memory light-curve catalogs: the :class:`Catalog`, its loaders and the cleaning report.

``from explorer.catalog import Catalog, load_catalog, CleaningReport``
"""

from explorer.catalog.cleaning import CleaningReport
from explorer.catalog.columns import ColumnMap, detect_columns
from explorer.catalog.core import Catalog, scalar_columns
from explorer.catalog.loaders import CATALOG_SUFFIXES, CatalogLimits, load_catalog, load_catalog_bytes

__all__ = ["CATALOG_SUFFIXES", "Catalog", "CatalogLimits", "CleaningReport", "ColumnMap", "detect_columns", "load_catalog",
           "load_catalog_bytes", "scalar_columns"]
