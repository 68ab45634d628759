"""Light-curve Explorer: embed light-curve catalogs with pretrained transformers and explore them."""

__version__ = "0.1.0"
