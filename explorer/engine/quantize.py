"""Opt-in int8 mode: onnxruntime dynamic quantisation of the dense layers, cached on disk.

The quantised file lives in ``store_root()/quantized/<source sha256>-int8.onnx`` (next to the
embeddings cache), so each source model is quantised once per machine.

onnxruntime's dynamic quantiser handles ``MatMul`` but not ``Gemm``; our converter writes every
dense layer as one ``Gemm`` (bias folded, best for float32), so the Gemms are first rewritten as
``MatMul`` + ``Add``. Attention stays float32: Astromer 1
has no residual connections and its layer norms amplify attention-output errors, so quantising the
fused QKV projection costs far more accuracy than it buys speed (see benchmarks/bench_engine.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from explorer.atomic import atomic_path
from explorer.errors import ModelError

__all__ = ["quantized_dir", "quantize_model", "gemm_to_matmul"]

# bump when the recipe changes, so cached files from an older recipe are not reused
_RECIPE = "v2"


def quantized_dir(root: Path | None = None) -> Path:
    """Folder of the quantised model files."""
    if root is not None:
        return Path(root)
    from explorer.store import store_root

    return store_root() / "quantized"


def gemm_to_matmul(model):
    """Rewrite plain ``Gemm`` nodes (no transposes, alpha = beta = 1) as ``MatMul`` + ``Add``, in place."""
    from onnx import helper

    nodes = []
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = (node.op_type == "Gemm" and not attrs.get("transA", 0) and not attrs.get("transB", 0)
                 and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0)
        if not plain:
            nodes.append(node)
            continue
        has_bias = len(node.input) > 2 and node.input[2]
        product = node.output[0] + "_matmul" if has_bias else node.output[0]
        nodes.append(helper.make_node("MatMul", list(node.input[:2]), [product], name=node.name + "_matmul"))
        if has_bias:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]], name=node.name + "_bias"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def quantize_model(source: Path, source_sha256: str, *, root: Path | None = None) -> Path:
    """Return the int8 version of ``source``, quantising it (atomically) if not already cached."""
    folder = quantized_dir(root)
    target = folder / f"{source_sha256}-int8-{_RECIPE}.onnx"
    from explorer.diskcache import after_write

    # no touch() on a hit: sessions are reused by file stamp, and a new mtime would reload the session
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    plain_target = folder / f"{source_sha256}-matmul.onnx"
    with atomic_path(plain_target) as plain, atomic_path(target) as tmp:
        onnx.save(gemm_to_matmul(onnx.load(str(source))), plain)
        previous = logging.root.manager.disable
        # the quantiser logs a generic "consider pre-processing" warning on the root logger for every model
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(plain, tmp, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"],
                             # outputs of com.microsoft ops (Attention) have no inferred type: they are float
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        except Exception as exc:  # the quantiser raises assorted types on odd graphs
            raise ModelError(f"int8 quantisation of {source} failed: {exc}") from exc
        finally:
            logging.disable(previous)
    plain_target.unlink()  # only an intermediate: the int8 file is what is kept
    after_write()
    return target
