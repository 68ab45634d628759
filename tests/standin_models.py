"""Stand-in ONNX models with exactly the public interfaces of every model family (small random weights).

They let every engine path run without the Hugging Face Hub. The graphs are real transformers in
miniature (input projection, sinusoidal time features, masked softmax attention, tanh feed-forward),
so each output depends on every input, times and mask included. Pooling follows the public files:

- Astromer: ``mean`` = masked mean over positions (0 when no valid position), ``max`` = max over
  positions of (z if mask_in > 0.5 else -1e9), ``sequence`` = per-position output (padding included).
- ATCAT: causal attention; ``last`` = output at the last valid position, ``mean`` = masked mean,
  ``sequence`` = per-position output.

- ATAT: inputs data/time/mask [batch, 65, 6] read position-major as 390 tokens with a band embedding;
  ``token`` = a projection of the masked mean, ``mean`` = masked mean, ``sequence`` [batch, 390, 192].
- AstraCLR: input/times/band_info [batch, 700, 1], mask [batch, 700] (1 = padding); one output of
  any name (``embedding`` here), a masked mean [batch, 512].
- Series (MOMENT-1, Chronos): ``context`` [batch, L] with NaN for missing values, L = 512 for MOMENT
  and free (a multiple of the patch) for Chronos; patches of 8 / 16 become tokens, a patch without
  a value is masked out; ``mean`` over valid patches, ``sequence`` [batch, L / patch, dim].

``build_astromer_standin(path, n_blocks=2, n_heads=4, width=256, ffn=128)`` has the size of the
real Astromer 1 (about 344 MFLOP per 200-position window); the defaults are small for fast tests.
Every builder takes ``width``, ``n_blocks``, ``n_heads`` and ``ffn`` (feed-forward width, default
``width``), so that benchmarks can build stand-ins of each published model's size
(``benchmarks/bench_engine.py --families``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["build_astromer_standin", "build_atcat_standin", "build_atat_standin", "build_astraclr_standin",
           "build_series_standin", "STANDIN_BUILDERS"]

_OPSET = 13


class _Graph:
    """A tiny helper that names nodes and initialisers."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, value, base="c") -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, shape, scale=None, base="w") -> str:
        fan_in = shape[0] if len(shape) > 1 else 1
        scale = (1.0 / np.sqrt(fan_in)) if scale is None else scale
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), base)

    def op(self, op_type, inputs, base=None, **attrs) -> str:
        out = self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x, d_in, d_out, bias=True, scale=None) -> str:
        y = self.op("MatMul", [x, self.weight((d_in, d_out), scale)])
        if bias:
            y = self.op("Add", [y, self.const((self.rng.standard_normal(d_out) * 0.1).astype(np.float32), "b")])
        return y

    def attention(self, h, width, n_heads, seq, bias) -> str:
        """Multi-head softmax attention; ``bias`` [B or 1, 1, seq(q) or 1, seq(k)] is added to the scores."""
        dh = width // n_heads
        heads = []
        for _ in range(3):
            x = self.linear(h, width, width, bias=False)
            x = self.op("Reshape", [x, self.const(np.array([0, seq, n_heads, dh], np.int64))])
            heads.append(self.op("Transpose", [x], perm=[0, 2, 1, 3]))
        q, k, v = heads
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.op("MatMul", [q, kt])
        scores = self.op("Mul", [scores, self.const(np.float32(1.0 / np.sqrt(dh)))])
        scores = self.op("Add", [scores, bias])
        att = self.op("Softmax", [scores], axis=-1)
        ctx = self.op("MatMul", [att, v])
        ctx = self.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        ctx = self.op("Reshape", [ctx, self.const(np.array([0, seq, width], np.int64))])
        return self.linear(ctx, width, width, bias=False)

    def block(self, h, width, n_heads, ffn, seq, bias) -> str:
        a = self.attention(h, width, n_heads, seq, bias)
        h1 = self.op("Tanh", [self.op("Add", [a, h])])
        f = self.op("Tanh", [self.linear(h1, width, ffn)])
        f = self.linear(f, ffn, width)
        return self.op("Tanh", [self.op("Add", [f, h1])])

    def masked_pools(self, seq_out, maskf):
        """(masked mean, masked max with -1e9 fill) over axis 1; maskf is float [B, S, 1]."""
        axes = self.const(np.array([1], np.int64))
        total = self.op("ReduceSum", [self.op("Mul", [seq_out, maskf]), axes], keepdims=0)
        count = self.op("ReduceSum", [maskf, axes], keepdims=0)
        mean = self.op("Div", [total, self.op("Max", [count, self.const(np.float32(1.0))])])
        valid = self.op("Greater", [maskf, self.const(np.float32(0.5))])
        filled = self.op("Where", [valid, seq_out, self.const(np.float32(-1e9))])
        mx = self.op("ReduceMax", [filled], axes=[1], keepdims=0)
        return mean, mx, count

    def save(self, path, inputs, outputs, doc) -> Path:
        graph = helper.make_graph(self.nodes, "standin", inputs, outputs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="lcexplorer-tests")
        model.ir_version = 8
        model.doc_string = doc
        onnx.checker.check_model(model)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))
        return path


def _rename(g: _Graph, src: str, dst: str) -> None:
    g.nodes.append(helper.make_node("Identity", [src], [dst]))


def _finish(g: _Graph, path, inputs, named: dict, doc: str) -> Path:
    """Expose tensors as the named float32 outputs {name: (tensor, shape)} and save the model."""
    for name, (tensor, _) in named.items():
        _rename(g, tensor, name)
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, (_, shape) in named.items()]
    return g.save(path, inputs, outputs, doc)


def build_astromer_standin(path, *, seed=0, d_model=256, kind="astromer1", width=32, n_blocks=1, n_heads=1,
                           ffn=None) -> Path:
    """Write an Astromer-shaped stand-in (inputs input/times/mask_in [batch,200,1]) to ``path``.

    ``d_model`` is the embedding size of the outputs (256 in the public files; another value makes a
    file with a non-conforming interface, useful for error tests). ``width``/``n_blocks``/``n_heads``/
    ``ffn`` size the hidden network.
    """
    if kind not in ("astromer1", "astromer2", "astromer1-ztf"):
        raise ValueError(f"kind must be astromer1, astromer2 or astromer1-ztf, got {kind!r}")
    seq = 200
    ffn = ffn or width
    g = _Graph(np.random.default_rng([seed, {"astromer1": 1, "astromer2": 2, "astromer1-ztf": 7}[kind]]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", seq, 1]) for n in ("input", "times", "mask_in")]
    # Like Astromer: magnitudes enter through a per-feature scale, times through sinusoids (elementwise
    # ops, so int8 dynamic quantisation of MatMul activations never sees raw times in days)
    h = g.op("Mul", ["input", g.const(g.rng.standard_normal((1, width)).astype(np.float32))])
    h = g.op("Add", [h, g.op("Mul", ["mask_in", g.const(g.rng.standard_normal((1, width)).astype(np.float32))])])
    freqs = g.const((g.rng.uniform(0.005, 1.0, (1, width))).astype(np.float32))
    h = g.op("Add", [h, g.op("Sin", [g.op("Mul", ["times", freqs])])])
    h = g.op("Tanh", [h])
    # key-padding bias [B, 1, 1, 200]: 0 for valid keys, -1e9 for padding
    km = g.op("Reshape", ["mask_in", g.const(np.array([0, 1, 1, seq], np.int64))])
    bias = g.op("Mul", [g.op("Sub", [km, g.const(np.float32(1.0))]), g.const(np.float32(1e9))])
    for _ in range(n_blocks):
        h = g.block(h, width, n_heads, ffn, seq, bias)
    out = h if width == d_model else g.op("Tanh", [g.linear(h, width, d_model)])
    mean, mx, _ = g.masked_pools(out, "mask_in")
    named = {"mean": (mean, ["batch", d_model]), "max": (mx, ["batch", d_model]),
             "sequence": (out, ["batch", seq, d_model])}
    return _finish(g, path, inputs, named, f"lcexplorer stand-in for {kind} (random weights, seed {seed})")


def build_atcat_standin(path, *, seed=0, width=32, n_blocks=1, n_heads=1, d_model=384, ffn=None) -> Path:
    """Write an ATCAT-shaped stand-in (flux, flux_err, time float32, mask bool, channel_index int64; [batch,243])."""
    seq = 243
    g = _Graph(np.random.default_rng([seed, 3]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", seq]) for n in ("flux", "flux_err", "time")]
    inputs.append(helper.make_tensor_value_info("mask", TensorProto.BOOL, ["batch", seq]))
    inputs.append(helper.make_tensor_value_info("channel_index", TensorProto.INT64, ["batch", seq]))
    ax2 = g.const(np.array([2], np.int64))
    cols = [g.op("Unsqueeze", [n, ax2]) for n in ("flux", "flux_err", "time")]
    maskf = g.op("Unsqueeze", [g.op("Cast", ["mask"], to=TensorProto.FLOAT), ax2])
    # fluxes at zero point 27.5 are O(1-100); times since the first observation O(1-1000) days
    h = g.op("Mul", [cols[0], g.const((g.rng.standard_normal((1, width)) * 0.05).astype(np.float32))])
    h = g.op("Add", [h, g.op("Mul", [cols[1], g.const((g.rng.standard_normal((1, width)) * 0.05).astype(np.float32))])])
    band_emb = g.const(g.rng.standard_normal((6, width)).astype(np.float32))
    h = g.op("Add", [h, g.op("Gather", [band_emb, "channel_index"], axis=0)])
    freqs = g.const(g.rng.uniform(0.005, 0.5, (1, width)).astype(np.float32))
    h = g.op("Tanh", [g.op("Add", [h, g.op("Sin", [g.op("Mul", [cols[2], freqs])])])])
    causal = np.where(np.tril(np.ones((seq, seq), bool)), 0.0, -1e9).astype(np.float32)[None, None]
    km = g.op("Reshape", [maskf, g.const(np.array([0, 1, 1, seq], np.int64))])
    bias = g.op("Add", [g.const(causal), g.op("Mul", [g.op("Sub", [km, g.const(np.float32(1.0))]), g.const(np.float32(1e9))])])
    for _ in range(n_blocks):
        h = g.block(h, width, n_heads, ffn or width, seq, bias)
    out = g.op("Tanh", [g.linear(h, width, d_model)])
    mean, _, count = g.masked_pools(out, maskf)
    # last valid position = count - 1 (windows are left-aligned, padding at the end)
    pos = g.const(np.arange(seq, dtype=np.float32).reshape(1, seq, 1))
    last_pos = g.op("Sub", [g.op("Unsqueeze", [count, g.const(np.array([1], np.int64))]), g.const(np.float32(1.0))])
    onehot = g.op("Cast", [g.op("Equal", [pos, last_pos])], to=TensorProto.FLOAT)
    last = g.op("ReduceSum", [g.op("Mul", [out, onehot]), g.const(np.array([1], np.int64))], keepdims=0)
    named = {"last": (last, ["batch", d_model]), "mean": (mean, ["batch", d_model]),
             "sequence": (out, ["batch", seq, d_model])}
    return _finish(g, path, inputs, named, f"lcexplorer stand-in for atcat (random weights, seed {seed})")


def _key_bias(g: _Graph, valid_f: str, seq: int | None) -> str:
    """[B, 1, 1, seq] additive attention bias: 0 for valid keys, -1e9 for padding (valid_f float [B, seq, 1])."""
    km = g.op("Reshape", [valid_f, g.const(np.array([0, 1, 1, -1 if seq is None else seq], np.int64))])
    return g.op("Mul", [g.op("Sub", [km, g.const(np.float32(1.0))]), g.const(np.float32(1e9))])


def build_atat_standin(path, *, seed=0, width=32, n_blocks=1, n_heads=1, d_model=192, ffn=None) -> Path:
    """Write an ATAT-shaped stand-in: data/time/mask float32 [batch, 65, 6] -> token, mean, sequence [.., 390, 192]."""
    seq, bands = 65, 6
    n = seq * bands
    g = _Graph(np.random.default_rng([seed, 4]))
    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", seq, bands]) for x in ("data", "time", "mask")]
    # [B, 65, 6] -> [B, 390, 1]: token p*6 + c is position p of band c (the order of the sequence output)
    flat = {x: g.op("Reshape", [x, g.const(np.array([0, n, 1], np.int64))]) for x in ("data", "time", "mask")}
    h = g.op("Mul", [flat["data"], g.const((g.rng.standard_normal((1, width)) * 0.05).astype(np.float32))])
    band_emb = np.tile(g.rng.standard_normal((bands, width)).astype(np.float32), (seq, 1))[None]
    h = g.op("Add", [h, g.const(band_emb)])
    freqs = g.const(g.rng.uniform(0.005, 0.5, (1, width)).astype(np.float32))
    h = g.op("Tanh", [g.op("Add", [h, g.op("Sin", [g.op("Mul", [flat["time"], freqs])])])])
    bias = _key_bias(g, flat["mask"], n)
    for _ in range(n_blocks):
        h = g.block(h, width, n_heads, ffn or width, n, bias)
    out = g.op("Tanh", [g.linear(h, width, d_model)])
    mean, _, _ = g.masked_pools(out, flat["mask"])
    token = g.op("Tanh", [g.linear(mean, d_model, d_model)])
    named = {"token": (token, ["batch", d_model]), "mean": (mean, ["batch", d_model]),
             "sequence": (out, ["batch", n, d_model])}
    return _finish(g, path, inputs, named, f"lcexplorer stand-in for atat (random weights, seed {seed})")


def build_astraclr_standin(path, *, seed=0, width=32, n_blocks=1, n_heads=1, d_model=512, output="embedding",
                           ffn=None) -> Path:
    """Write an AstraCLR-shaped stand-in: input/times/band_info [batch, 700, 1], mask [batch, 700] (1 = padding)."""
    seq = 700
    g = _Graph(np.random.default_rng([seed, 5]))
    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", seq, 1]) for x in ("input", "times", "band_info")]
    inputs.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", seq]))
    valid = g.op("Sub", [g.const(np.float32(1.0)), g.op("Unsqueeze", ["mask", g.const(np.array([2], np.int64))])])
    h = g.op("Mul", ["input", g.const(g.rng.standard_normal((1, width)).astype(np.float32))])
    h = g.op("Add", [h, g.op("Mul", ["band_info", g.const(g.rng.standard_normal((1, width)).astype(np.float32))])])
    freqs = g.const(g.rng.uniform(0.005, 0.5, (1, width)).astype(np.float32))
    h = g.op("Tanh", [g.op("Add", [h, g.op("Sin", [g.op("Mul", ["times", freqs])])])])
    bias = _key_bias(g, valid, seq)
    for _ in range(n_blocks):
        h = g.block(h, width, n_heads, ffn or width, seq, bias)
    out = g.op("Tanh", [g.linear(h, width, d_model)])
    mean, _, _ = g.masked_pools(out, valid)
    return _finish(g, path, inputs, {output: (mean, ["batch", d_model])},
                   f"lcexplorer stand-in for astraclr (random weights, seed {seed})")


def build_series_standin(path, *, kind="chronos-bolt", d_model=256, seed=0, width=32, n_blocks=1, n_heads=1,
                         ffn=None) -> Path:
    """Write a MOMENT-1 (context [batch, 512], patches of 8) or Chronos (context [batch, L], patches of 16) stand-in."""
    patch, context = (8, 512) if kind == "moment1" else (16, None)
    g = _Graph(np.random.default_rng([seed, 6, d_model]))
    inputs = [helper.make_tensor_value_info("context", TensorProto.FLOAT, ["batch", context or "length"])]
    isnan = g.op("IsNaN", ["context"])
    valid = g.op("Cast", [g.op("Not", [isnan])], to=TensorProto.FLOAT)
    x = g.op("Where", [isnan, g.const(np.float32(0.0)), "context"])
    # instance normalisation over the valid values (as the real models do internally)
    axes = g.const(np.array([1], np.int64))
    count = g.op("Max", [g.op("ReduceSum", [valid, axes], keepdims=1), g.const(np.float32(1.0))])
    centre = g.op("Div", [g.op("ReduceSum", [x, axes], keepdims=1), count])
    x = g.op("Mul", [g.op("Sub", [x, centre]), valid])
    shape = g.const(np.array([0, -1, patch], np.int64))
    xp = g.op("Reshape", [x, shape])                                  # [B, P, patch]
    vp = g.op("Reshape", [valid, shape])
    h = g.op("Tanh", [g.op("Add", [g.linear(xp, patch, width), g.linear(vp, patch, width, bias=False)])])
    pvalid = g.op("Cast", [g.op("Greater", [g.op("ReduceMax", [vp], axes=[2], keepdims=1), g.const(np.float32(0.5))])],
                  to=TensorProto.FLOAT)                                # [B, P, 1]
    bias = _key_bias(g, pvalid, None)
    # the sequence length is dynamic: the attention reshapes use 0 / -1 instead of a fixed size
    for _ in range(n_blocks):
        h = _dynamic_block(g, h, width, n_heads, bias, ffn or width)
    out = g.op("Tanh", [g.linear(h, width, d_model)])
    mean, _, _ = g.masked_pools(out, pvalid)
    named = {"mean": (mean, ["batch", d_model]), "sequence": (out, ["batch", "patches", d_model])}
    return _finish(g, path, inputs, named, f"lcexplorer stand-in for {kind} (random weights, seed {seed})")


def _dynamic_block(g: _Graph, h, width, n_heads, bias, ffn=None) -> str:
    """``_Graph.block`` for a sequence of free length (reshapes use 0 / -1 instead of a fixed size).

    ``bias`` is the [B, 1, 1, P] key-padding bias; ``ffn`` the feed-forward width (default ``width``).
    """
    ffn = ffn or width
    if width % n_heads:
        raise ValueError(f"width {width} is not divisible by n_heads {n_heads}")
    q, k, v = (g.linear(h, width, width, bias=False) for _ in range(3))
    if n_heads == 1:
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]),
                              g.const(np.float32(1.0 / np.sqrt(width)))])
        key_bias = g.op("Reshape", [bias, g.const(np.array([0, 1, -1], np.int64))])   # [B, 1, P]
        att = g.op("Softmax", [g.op("Add", [scores, key_bias])], axis=-1)
        ctx = g.op("MatMul", [att, v])
    else:
        dh = width // n_heads
        split = g.const(np.array([0, -1, n_heads, dh], np.int64))
        q, k, v = (g.op("Transpose", [g.op("Reshape", [x, split])], perm=[0, 2, 1, 3]) for x in (q, k, v))
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                              g.const(np.float32(1.0 / np.sqrt(dh)))])                 # [B, H, P, P]
        att = g.op("Softmax", [g.op("Add", [scores, bias])], axis=-1)                 # bias [B, 1, 1, P]
        ctx = g.op("Transpose", [g.op("MatMul", [att, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, g.const(np.array([0, -1, width], np.int64))])
    a = g.linear(ctx, width, width, bias=False)
    h1 = g.op("Tanh", [g.op("Add", [a, h])])
    f = g.linear(g.op("Tanh", [g.linear(h1, width, ffn)]), ffn, width)
    return g.op("Tanh", [g.op("Add", [f, h1])])


# kind -> builder(path, **options) of a stand-in with that family's exact public interface
STANDIN_BUILDERS = {
    "astromer1": lambda path, **kw: build_astromer_standin(path, kind="astromer1", **kw),
    "astromer2": lambda path, **kw: build_astromer_standin(path, kind="astromer2", **kw),
    "astromer1-ztf": lambda path, **kw: build_astromer_standin(path, kind="astromer1-ztf", **kw),
    "atcat": build_atcat_standin,
    "atat": build_atat_standin,
    "astraclr": build_astraclr_standin,
    "moment1": lambda path, **kw: build_series_standin(path, kind="moment1", **{"d_model": 512, **kw}),
    "chronos-bolt": lambda path, **kw: build_series_standin(path, kind="chronos-bolt", **{"d_model": 256, **kw}),
    "chronos2": lambda path, **kw: build_series_standin(path, kind="chronos2", **{"d_model": 768, **kw}),
}
