"""Opt-in int8 mode: onnxruntime dynamic quantisation (MatMul weights int8), cached on disk.

The quantised file lives in ``store_root()/quantized/<source sha256>-int8.onnx`` (next to the
embeddings cache), so each source model is quantised once per machine.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from explorer.errors import ModelError

__all__ = ["quantized_dir", "quantize_model"]


def quantized_dir(root: Path | None = None) -> Path:
    """Folder of the quantised model files."""
    if root is not None:
        return Path(root)
    from explorer.store import store_root

    return store_root() / "quantized"


def quantize_model(source: Path, source_sha256: str, *, root: Path | None = None) -> Path:
    """Return the int8 version of ``source``, quantising it (atomically) if not already cached."""
    folder = quantized_dir(root)
    target = folder / f"{source_sha256}-int8.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        previous = logging.root.manager.disable
        # the quantiser logs a generic "consider pre-processing" warning on the root logger for every model
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(str(source), tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        except Exception as exc:  # the quantiser raises assorted types on odd graphs
            raise ModelError(f"int8 quantisation of {source} failed: {exc}") from exc
        finally:
            logging.disable(previous)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
