"""The GEMM ceiling of an ONNX encoder and its per-op profile (used by ``bench_engine.py --ceiling``).

The ceiling is the time that plain float32 GEMMs of the model's own shapes take on this machine, with
the same threads: every ``Gemm`` / ``MatMul`` with a constant weight (rows = batch x positions) and,
per ``com.microsoft.Attention``, its fused QKV projection plus the per-head score and value products
(batch x heads matrices of positions x head size). Each shape runs as a one-``MatMul`` onnxruntime
session (MLAS, as the model) and, for the 2-D ones, as ``numpy.matmul`` (OpenBLAS); the faster counts. Nothing else
the model does (layer norms, softmax, activations, reshapes, positional encoding, pooling) is in it,
so a model at 100 % would spend no time outside its GEMMs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict

import numpy as np


def gemm_shapes(model_path: str, batch: int) -> list[tuple[str, tuple, tuple, bool]]:
    """(label, A shape, B shape, B constant) of every matrix product of the model at ``batch`` windows."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(model_path)
    inits = {i.name: numpy_helper.to_array(i).shape for i in m.graph.initializer}
    positions = m.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    rows = batch * positions
    shapes = []
    for node in m.graph.node:
        if node.op_type == "Attention":
            heads = next(a.i for a in node.attribute if a.name == "num_heads")
            d, d3 = inits[node.input[1]]
            hs = d3 // 3 // heads
            shapes += [(f"{node.name} QKV", (rows, d), (d, d3), True),
                       (f"{node.name} QK^T", (batch, heads, positions, hs), (batch, heads, hs, positions), False),
                       (f"{node.name} PV", (batch, heads, positions, positions), (batch, heads, positions, hs), False)]
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in inits and len(inits[node.input[1]]) == 2:
            k, n = inits[node.input[1]]
            shapes.append((node.name, (rows, k), (k, n), True))
    return shapes


def flops(a_shape, b_shape) -> float:
    """Floating-point operations of one matrix product."""
    return 2.0 * float(np.prod(a_shape)) * b_shape[-1]


class GemmCeiling:
    """The model's GEMMs as plain products; ``run()`` times one pass (seconds, the faster backend per shape)."""

    def __init__(self, model_path: str, batch: int, threads: int, session_options):
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper

        rng = np.random.default_rng(0)
        self.items = []
        for label, a, b, const in gemm_shapes(model_path, batch):
            wb = rng.standard_normal(b).astype(np.float32)
            inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(a))]
            inits = [onnx.numpy_helper.from_array(wb, "b")] if const else []
            if not const:
                inputs.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, list(b)))
            graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "gemm", inputs,
                                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
            mm = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
            mm.ir_version = 8
            sess = ort.InferenceSession(mm.SerializeToString(), session_options, providers=["CPUExecutionProvider"])
            feed = {"a": rng.standard_normal(a).astype(np.float32)}
            if not const:
                feed["b"] = wb
            self.items.append((label, sess, feed, wb, flops(a, b)))
        self.flops = sum(it[-1] for it in self.items)
        self.best: dict[str, list[float]] = defaultdict(list)
        self.threads = threads

    def run(self) -> tuple[float, float]:
        """One pass over every product: (wall, CPU) seconds, per shape the faster of onnxruntime MatMul and numpy."""
        wall = cpu = 0.0
        for label, sess, feed, wb, _ in self.items:
            c0, t0 = time.process_time(), time.perf_counter()
            sess.run(None, feed)
            c1, t1 = time.process_time(), time.perf_counter()
            w, c = t1 - t0, c1 - c0
            if wb.ndim == 2:  # numpy's stacked (4-D) products loop in Python-level C without BLAS: not a ceiling
                np.matmul(feed["a"], wb)
                c2, t2 = time.process_time(), time.perf_counter()
                w, c = min(w, t2 - t1), min(c, c2 - c1)
            self.best[label].append(w)
            wall += w
            cpu += c
        return wall, cpu

    def rates(self) -> list[tuple[str, float]]:
        """(label, GFLOP/s) per product from the median of the passes so far."""
        return [(label, f / np.median(self.best[label]) / 1e9) for label, _, _, _, f in self.items]


def profile_ops(model_path: str, feeds: list, output: str, session_options, repeats: int = 3) -> dict:
    """onnxruntime's per-node profile over ``repeats`` passes of ``feeds``: op type -> microseconds."""
    import onnxruntime as ort

    so = session_options
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    sess.run([output], feeds[0])
    for _ in range(repeats):
        for f in feeds:
            sess.run([output], f)
    path = sess.end_profiling()
    with open(path) as fh:
        events = json.load(fh)
    per_op: dict[str, float] = defaultdict(float)
    runs = 0.0
    starts = sorted(ev["ts"] for ev in events if ev.get("name") == "model_run")
    after_warmup = starts[1] if len(starts) > 1 else 0
    for ev in events:
        if ev.get("ts", 0) < after_warmup:
            continue
        if ev.get("cat") == "Node" and ev["name"].endswith("_kernel_time"):
            per_op[ev["args"]["op_name"]] += ev["dur"]
        elif ev.get("name") == "model_run":
            runs += ev["dur"]
    per_op["(between kernels)"] = max(runs - sum(per_op.values()), 0.0)
    return dict(per_op)
