"""Build the ONNX graph of an Astromer encoder (public 200-position interface) with ``onnx.helper``.

The graph is shaped for onnxruntime rather than traced from a framework:
- rows are kept 2-D ([batch*positions, d_model]) so every dense layer is one ``Gemm`` with its bias;
- Q, K and V come from one fused [d, 3d] projection inside ``com.microsoft.Attention``, onnxruntime's
  fused multi-head attention kernel, which also adds the v1 "+1" mask as an attention bias;
- layer norms are single ``LayerNormalization`` ops (opset 18).
``attention="onnx"`` builds the same model from standard ops only (MatMul/Softmax), for runtimes
without the com.microsoft domain.

Forward passes follow ../shared/models/ASTROMER-FORMAT.md sections 6 (v1) and 7 (2023 models).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from explorer.convert.config import ModelSpec, pe_rates

__all__ = ["build_model", "OPSET", "CONTRIB_DOMAIN"]

OPSET = 18
CONTRIB_DOMAIN = "com.microsoft"
NSP_CLS_MAGNITUDE = -99.0  # the CLS position's magnitude in the 2023 NSP input format
NSP_FIRST_SEGMENT = 100  # observations 0..99 of a window are segment 2, the rest segment 1
MAX_FILL = -1e9  # public interface: padded positions of the `max` output


class _Graph:
    """Small helper: unique names, initializers and nodes."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value, dtype=np.float32) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, *, outputs: list[str] | None = None,
           domain: str | None = None, **attrs) -> str:
        outs = outputs or [self.name(hint or op_type.lower())]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), domain=domain, **attrs))
        return outs[0]


def _positional(g: _Graph, times: str, spec: ModelSpec, rows: str) -> str:
    """PE[n, i] = sin(t*w_i) for even i, cos(t*w_i) for odd i, as [rows, d] (2-D)."""
    rate = pe_rates(spec)
    even = g.op("Mul", [times, g.const("pe_rate_even", rate[0::2])], "angle_even")
    odd = g.op("Mul", [times, g.const("pe_rate_odd", rate[1::2])], "angle_odd")
    axis = g.const("axis_last", [-1], np.int64)
    s = g.op("Unsqueeze", [g.op("Sin", [even]), axis])
    c = g.op("Unsqueeze", [g.op("Cos", [odd]), axis])
    both = g.op("Concat", [s, c], "pe_pairs", axis=-1)  # [..., d/2, 2] interleaves sin and cos
    return g.op("Reshape", [both, rows], "pe")


def _attention_onnx(g: _Graph, x2: str, w: dict, layer: int, spec: ModelSpec, bias: str | None, shapes: dict) -> str:
    """Multi-head attention from standard ops; returns the heads side by side as [rows, d]."""
    h, hs, p = spec.num_heads, spec.head_size, spec.positions
    wqkv = np.concatenate([w[f"{layer}/{k}/kernel"] for k in ("wq", "wk", "wv")], axis=1)
    bqkv = np.concatenate([w[f"{layer}/{k}/bias"] for k in ("wq", "wk", "wv")])
    qkv = g.op("Gemm", [x2, g.const(f"l{layer}_wqkv", wqkv), g.const(f"l{layer}_bqkv", bqkv)], "qkv")
    qkv = g.op("Reshape", [qkv, g.const("qkv_shape", [-1, p, 3, h, hs], np.int64)])
    qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, B, H, P, hs]
    q, k, v = (g.name(n) for n in ("q", "k", "v"))
    g.op("Split", [qkv, g.const("split3", [1, 1, 1], np.int64)], outputs=[q, k, v], axis=0)
    sq = g.const("axis0", [0], np.int64)
    q, k, v = (g.op("Squeeze", [t, sq]) for t in (q, k, v))
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = g.op("MatMul", [q, kt], "scores")
    scores = g.op("Mul", [scores, g.const("inv_sqrt_hs", 1.0 / np.sqrt(hs))])
    if bias is not None:
        scores = g.op("Add", [scores, bias])
    probs = g.op("Softmax", [scores], "probs", axis=-1)
    out = g.op("MatMul", [probs, v], "heads")
    out = g.op("Transpose", [out], perm=[0, 2, 1, 3])
    return g.op("Reshape", [out, shapes["rows"]], "attn")


def _attention_contrib(g: _Graph, x2: str, w: dict, layer: int, spec: ModelSpec, bias: str | None, shapes: dict) -> str:
    """com.microsoft.Attention: fused QKV projection + scaled dot-product attention (+ additive bias)."""
    wqkv = np.concatenate([w[f"{layer}/{k}/kernel"] for k in ("wq", "wk", "wv")], axis=1)
    bqkv = np.concatenate([w[f"{layer}/{k}/bias"] for k in ("wq", "wk", "wv")])
    x3 = g.op("Reshape", [x2, shapes["seq"]], "x3")
    inputs = [x3, g.const(f"l{layer}_wqkv", wqkv), g.const(f"l{layer}_bqkv", bqkv)]
    if bias is not None:
        inputs += ["", "", bias]  # mask_index, past: unused; attention_bias is input 5
    out = g.op("Attention", inputs, "attn3", domain=CONTRIB_DOMAIN, num_heads=spec.num_heads)
    return g.op("Reshape", [out, shapes["rows"]], "attn")


def build_model(weights: dict[str, np.ndarray], spec: ModelSpec, *, attention: str = "contrib",
                doc: str = "", metadata: dict | None = None) -> onnx.ModelProto:
    """The ONNX model: inputs ``input``, ``times``, ``mask_in`` [batch, 200, 1] (mask 1 = valid);
    outputs ``mean``, ``max`` [batch, d], ``sequence`` [batch, 200, d] (and ``cls`` for NSP models)."""
    if attention not in ("contrib", "onnx"):
        raise ValueError(f"attention must be 'contrib' or 'onnx', got {attention!r}")
    g = _Graph()
    d, n, p = spec.d_model, spec.window, spec.positions
    shapes = {
        "rows": g.const("rows_shape", [-1, d], np.int64),
        "seq": g.const("seq_shape", [-1, p, d], np.int64),
        "col": g.const("col_shape", [-1, 1], np.int64),
    }
    x_in, t_in, m_in = "input", "times", "mask_in"

    if spec.nsp:
        # 2023 NSP format (spec section 7): segment ids, min-max scaled times, one CLS position first.
        count = g.op("CumSum", [m_in, g.const("axis1", 1, np.int64)], "valid_count")
        first = g.op("Cast", [g.op("LessOrEqual", [count, g.const("nsp_first", NSP_FIRST_SEGMENT)])], to=TensorProto.FLOAT)
        seg = g.op("Mul", [m_in, g.op("Add", [first, g.const("one", 1.0)])], "segment")
        axes1 = g.const("axes1", [1], np.int64)
        tmin = g.op("ReduceMin", [t_in, axes1], keepdims=1)
        tmax = g.op("ReduceMax", [t_in, axes1], keepdims=1)
        span = g.op("Sub", [tmax, tmin], "span")
        flat = g.op("Equal", [span, g.const("zero", 0.0)], "flat")
        safe = g.op("Where", [flat, g.const("one_f", 1.0), span])
        frac = g.op("Div", [g.op("Sub", [t_in, tmin]), safe])
        frac = g.op("Where", [flat, g.const("zero_f", 0.0), frac])
        t_scaled = g.op("Add", [frac, g.const("one_off", 1.0)], "t_scaled")
        batch = g.op("Slice", [g.op("Shape", [x_in]), g.const("s0", [0], np.int64), g.const("s1", [1], np.int64)])
        cls_shape = g.op("Concat", [batch, g.const("ones2", [1, 1], np.int64)], axis=0)
        zeros = g.op("Expand", [g.const("zero3", np.zeros((1, 1, 1))), cls_shape], "cls_zero")
        cls_mag = g.op("Expand", [g.const("cls_mag", np.full((1, 1, 1), NSP_CLS_MAGNITUDE)), cls_shape])
        x_all = g.op("Concat", [cls_mag, x_in], "x_all", axis=1)
        t_all = g.op("Concat", [zeros, t_scaled], "t_all", axis=1)
        s_all = g.op("Concat", [zeros, seg], "s_all", axis=1)
        kin = weights["inp/kernel"]
        emb = g.op("Add", [g.op("Mul", [x_all, g.const("kin_mag", kin[0])]), g.op("Mul", [s_all, g.const("kin_seg", kin[1])])])
    else:
        x_all, t_all = x_in, t_in
        emb = g.op("Mul", [x_all, g.const("kin", weights["inp/kernel"][0])])
    emb = g.op("Reshape", [g.op("Add", [emb, g.const("bin", weights["inp/bias"])]), shapes["rows"]], "embed")
    x = g.op("Add", [emb, _positional(g, t_all, spec, shapes["rows"])], "x0")

    bias = None
    if spec.attention_mask == "plus-one":
        # v1 quirk: +min(1, p_i + p_j) with p = 1 - mask, added to the scaled scores (no -inf anywhere).
        pad = g.op("Sub", [g.const("one_m", 1.0), m_in], "pad")  # [B, P, 1]
        pad_t = g.op("Reshape", [pad, g.const("pad_t_shape", [-1, 1, 1, p], np.int64)])
        pad_q = g.op("Unsqueeze", [pad, g.const("axis1b", [1], np.int64)])  # [B, 1, P, 1]
        bias = g.op("Min", [g.op("Add", [pad_q, pad_t]), g.const("one_b", 1.0)], "attn_bias")  # [B, 1, P, P]
    elif spec.attention_mask != "none":
        raise ValueError(f"unknown attention mask {spec.attention_mask!r}")

    attend = _attention_contrib if attention == "contrib" else _attention_onnx
    for layer in range(spec.num_layers):
        a = attend(g, x, weights, layer, spec, bias, shapes)
        y = g.op("Gemm", [a, g.const(f"l{layer}_wo", weights[f"{layer}/wo/kernel"]), g.const(f"l{layer}_bo", weights[f"{layer}/wo/bias"])])
        h1 = g.op("LayerNormalization", [y, g.const(f"l{layer}_ln1_g", weights[f"{layer}/ln1/gamma"]),
                                         g.const(f"l{layer}_ln1_b", weights[f"{layer}/ln1/beta"])],
                  "ln1", axis=-1, epsilon=spec.ln_eps)
        f = g.op("Tanh", [g.op("Gemm", [h1, g.const(f"l{layer}_w1", weights[f"{layer}/ffn1/kernel"]),
                                         g.const(f"l{layer}_b1", weights[f"{layer}/ffn1/bias"])])])
        f = g.op("Gemm", [f, g.const(f"l{layer}_w2", weights[f"{layer}/ffn2/kernel"]), g.const(f"l{layer}_b2", weights[f"{layer}/ffn2/bias"])])
        x = g.op("LayerNormalization", [f, g.const(f"l{layer}_ln2_g", weights[f"{layer}/ln2/gamma"]),
                                        g.const(f"l{layer}_ln2_b", weights[f"{layer}/ln2/beta"])],
                 "ln2", axis=-1, epsilon=spec.ln_eps)

    outputs = []
    if spec.nsp:
        full = g.op("Reshape", [x, shapes["seq"]], "seq_full")
        seq = g.op("Slice", [full, g.const("c1", [1], np.int64), g.const("c_end", [p], np.int64), g.const("c_ax", [1], np.int64)],
                   outputs=["sequence"])
        cls = g.op("Slice", [full, g.const("c0", [0], np.int64), g.const("c1b", [1], np.int64), g.const("c_ax2", [1], np.int64)])
        g.op("Reshape", [cls, shapes["rows"]], outputs=["cls"])
        outputs.append(helper.make_tensor_value_info("cls", TensorProto.FLOAT, ["batch", d]))
    else:
        seq = g.op("Reshape", [x, shapes["seq"]], outputs=["sequence"])

    # Pooling exactly as the public exporter (spec section 4).
    m_row = g.op("Reshape", [m_in, g.const("m_row_shape", [-1, 1, n], np.int64)])  # [B, 1, N]
    num = g.op("Reshape", [g.op("MatMul", [m_row, seq], "masked_sum"), shapes["rows"]])  # [B, d]
    den = g.op("ReduceSum", [m_in, g.const("axes12", [1, 2], np.int64)], "count", keepdims=0)
    den = g.op("Reshape", [den, shapes["col"]])  # [B, 1]
    empty = g.op("Equal", [den, g.const("zero_d", 0.0)])
    ratio = g.op("Div", [num, g.op("Where", [empty, g.const("one_d", 1.0), den])])
    g.op("Where", [empty, g.const("zero_mean", 0.0), ratio], outputs=["mean"])  # divide-no-nan
    valid = g.op("Greater", [m_in, g.const("half", 0.5)])
    filled = g.op("Where", [valid, seq, g.const("max_fill", MAX_FILL)])
    g.op("ReduceMax", [filled, g.const("axes1m", [1], np.int64)], outputs=["max"], keepdims=0)

    f32 = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(nm, f32, ["batch", n, 1]) for nm in (x_in, t_in, m_in)]
    outputs = [
        helper.make_tensor_value_info("mean", f32, ["batch", d]),
        helper.make_tensor_value_info("max", f32, ["batch", d]),
        helper.make_tensor_value_info("sequence", f32, ["batch", n, d]),
    ] + outputs
    graph = helper.make_graph(g.nodes, "astromer_encoder", inputs, outputs, initializer=g.inits, doc_string=doc)
    opsets = [helper.make_opsetid("", OPSET)]
    if attention == "contrib":
        opsets.append(helper.make_opsetid(CONTRIB_DOMAIN, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="lcexplorer-convert", doc_string=doc)
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=str(value)))
    return model
