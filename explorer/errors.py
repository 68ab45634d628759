"""Exception types shared by every layer of the explorer."""


class ExplorerError(Exception):
    """Base class of every error raised on purpose by the explorer."""


class CatalogError(ExplorerError, ValueError):
    """Bad catalog input; the message names the file, column and object at fault."""


class ModelError(ExplorerError, ValueError):
    """A model that cannot be found, loaded or used (interface mismatch, Hub unreachable, ...)."""


class ConversionError(ExplorerError, ValueError):
    """A checkpoint the converter refuses (not a checkpoint, bad CRC, unknown config, ...)."""
