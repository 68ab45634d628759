"""One reader per input format, each turning its input into a :class:`~explorer.catalog.Catalog`.

``limits`` (size limits, the per-load context) and ``inputs`` (a file from disk or memory, suffixes,
shared checks) are used by all; ``parquet`` and ``csv`` read files into Arrow tables; ``table``
(long format) and ``nested`` (one row per object) turn tables into catalogs; ``folder``, ``arrays``
and ``frame`` are the loaders for folders, lists of arrays and DataFrames. ``explorer.catalog.loaders``
picks the reader for an input.
"""
