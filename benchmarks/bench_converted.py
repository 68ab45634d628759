"""Benchmark: the converter's ONNX graph vs a plain ``torch.onnx.export`` of the same model and weights.

    pip install torch==2.13.0        # CPU wheel; a benchmark-only dependency, never imported by explorer/
    python benchmarks/bench_converted.py [--checkpoint ../shared/models/checkpoints/macho.zip]

Both files run under identical onnxruntime SessionOptions (2 intra-op threads, full graph
optimisation), batch 64, on the same inputs; runs alternate between the two so background load hits
both alike. Reports windows/s, GFLOP/s (344 MFLOP per window, v1) and this machine's float32 GEMM
rate (numpy and an onnxruntime MatMul of the model's largest shape), plus the op census of each
graph after onnxruntime's optimisations (``SessionOptions.optimized_model_filepath``).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.convert import convert_checkpoint  # noqa: E402
from explorer.convert.config import pe_rates  # noqa: E402

FLOP_PER_WINDOW = 344e6
THREADS, BATCH, SEQ = 2, 64, 200


def torch_export(weights: dict, spec, path: Path) -> None:
    """The same v1 architecture written plainly in PyTorch (separate Q/K/V Linear, textbook attention)."""
    import torch
    from torch import nn

    d, h, hs = spec.d_model, spec.num_heads, spec.head_size

    def linear(kernel, bias):
        lin = nn.Linear(kernel.shape[0], kernel.shape[1])
        lin.weight.data = torch.from_numpy(kernel.T.copy())
        lin.bias.data = torch.from_numpy(bias.copy())
        return lin

    def norm(gamma, beta):
        ln = nn.LayerNorm(d, eps=spec.ln_eps)
        ln.weight.data = torch.from_numpy(gamma.copy())
        ln.bias.data = torch.from_numpy(beta.copy())
        return ln

    class Block(nn.Module):
        def __init__(self, layer):
            super().__init__()
            w = lambda n: (weights[f"{layer}/{n}/kernel"], weights[f"{layer}/{n}/bias"])  # noqa: E731
            self.wq, self.wk, self.wv, self.wo = (linear(*w(n)) for n in ("wq", "wk", "wv", "wo"))
            self.ffn1, self.ffn2 = linear(*w("ffn1")), linear(*w("ffn2"))
            self.ln1 = norm(weights[f"{layer}/ln1/gamma"], weights[f"{layer}/ln1/beta"])
            self.ln2 = norm(weights[f"{layer}/ln2/gamma"], weights[f"{layer}/ln2/beta"])

        def forward(self, x, bias):
            b = x.shape[0]
            split = lambda t: t.view(b, SEQ, h, hs).transpose(1, 2)  # noqa: E731
            q, k, v = split(self.wq(x)), split(self.wk(x)), split(self.wv(x))
            scores = q @ k.transpose(-1, -2) / float(np.sqrt(hs)) + bias
            att = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, SEQ, d)
            h1 = self.ln1(self.wo(att))
            return self.ln2(self.ffn2(torch.tanh(self.ffn1(h1))))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("kin", torch.from_numpy(weights["inp/kernel"][0].copy()))
            self.register_buffer("bin", torch.from_numpy(weights["inp/bias"].copy()))
            self.register_buffer("rate", torch.from_numpy(pe_rates(spec)))
            self.register_buffer("even", torch.arange(d) % 2 == 0)
            self.blocks = nn.ModuleList(Block(i) for i in range(spec.num_layers))

        def forward(self, input, times, mask_in):
            x = input * self.kin + self.bin
            angle = times * self.rate
            x = x + torch.where(self.even, torch.sin(angle), torch.cos(angle))
            pad = 1.0 - mask_in
            bias = torch.clamp(pad + pad.transpose(1, 2), max=1.0).unsqueeze(1)
            for block in self.blocks:
                x = block(x, bias)
            total = mask_in.sum(dim=1)
            mean = torch.where(total == 0, torch.zeros_like(total), (x * mask_in).sum(dim=1) / torch.where(total == 0, torch.ones_like(total), total))
            mx = torch.where(mask_in > 0.5, x, torch.full_like(x, -1e9)).amax(dim=1)
            return mean, mx, x

    model = Encoder().eval()
    args = tuple(torch.zeros(2, SEQ, 1) for _ in range(3))
    dyn = {n: {0: "batch"} for n in ("input", "times", "mask_in", "mean", "max", "sequence")}
    with torch.no_grad():
        try:
            torch.onnx.export(model, args, str(path), input_names=["input", "times", "mask_in"],
                              output_names=["mean", "max", "sequence"], dynamic_axes=dyn, opset_version=17,
                              dynamo=False)
        except Exception as exc:  # the TorchScript exporter may be gone in a future torch
            print(f"TorchScript exporter failed ({exc!r}); using the default exporter", file=sys.stderr)
            torch.onnx.export(model, args, str(path), input_names=["input", "times", "mask_in"],
                              output_names=["mean", "max", "sequence"], dynamic_shapes=None, opset_version=18)


def session(path: Path, optimized: Path | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized is not None:
        opts.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def census(path: Path) -> str:
    counts = collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    return ", ".join(f"{op}x{c}" for op, c in counts.most_common())


def gemm_rate() -> tuple[float, float]:
    """float32 GEMM GFLOP/s with 2 threads: numpy, and an ORT MatMul [12800,256]x[256,768]."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((BATCH * SEQ, 256), dtype=np.float32)
    b = rng.standard_normal((256, 768), dtype=np.float32)
    flop = 2 * a.shape[0] * 256 * 768
    a @ b
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    np_rate = flop * reps / (time.perf_counter() - t0) / 1e9
    from onnx import TensorProto, helper, numpy_helper

    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 256])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [None, 768])],
                          initializer=[numpy_helper.from_array(b, "b")])
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "mm.onnx"
        mm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        mm.ir_version = 8
        onnx.save(mm, p)
        s = session(p)
        s.run(None, {"a": a})
        t0 = time.perf_counter()
        for _ in range(reps):
            s.run(None, {"a": a})
        ort_rate = flop * reps / (time.perf_counter() - t0) / 1e9
    return np_rate, ort_rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT.parent / "shared/models/checkpoints/macho.zip"))
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per model")
    args = parser.parse_args()

    t0 = time.perf_counter()
    converted = convert_checkpoint(args.checkpoint)
    convert_s = time.perf_counter() - t0
    if converted.spec.family != "astromer-v1":
        parser.error("the torch comparison model is written for Astromer v1 checkpoints")
    from explorer.convert.importer import _convert_located, _extracted, _locate  # the weights, once more

    with _extracted(Path(args.checkpoint)) as folder:
        kind, target = _locate(folder, "bench")
        spec, weights, *_ = _convert_located(kind, target, folder, "bench", None)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours, theirs = tmp / "converted.onnx", tmp / "torch.onnx"
        onnx.save(converted.model, ours)
        torch_export(weights, spec, theirs)
        sessions = {"converted": session(ours, tmp / "converted.opt.onnx"), "torch.onnx.export": session(theirs, tmp / "torch.opt.onnx")}
        print(f"conversion of {Path(args.checkpoint).name}: {convert_s:.2f} s")
        print(f"optimized converted graph: {census(tmp / 'converted.opt.onnx')}")
        print(f"optimized torch graph:     {census(tmp / 'torch.opt.onnx')}")

        rng = np.random.default_rng(1)
        n_valid = rng.integers(20, SEQ + 1, BATCH)
        mask = (np.arange(SEQ)[None, :] < n_valid[:, None]).astype(np.float32)[..., None]
        times = np.cumsum(rng.exponential(3.0, (BATCH, SEQ, 1)), axis=1).astype(np.float32) * mask
        feeds = {"input": (rng.standard_normal((BATCH, SEQ, 1)) * mask).astype(np.float32),
                 "times": (times - times.sum(1, keepdims=True) / mask.sum(1, keepdims=True)) * mask,
                 "mask_in": mask}
        outs = {k: s.run(["sequence"], feeds)[0] for k, s in sessions.items()}
        diff = float(np.abs(outs["converted"] - outs["torch.onnx.export"]).max())
        print(f"max |converted - torch| on sequence: {diff:.2e}")

        elapsed = {k: 0.0 for k in sessions}
        runs = {k: 0 for k in sessions}
        while min(elapsed.values()) < args.seconds:
            for k, s in sessions.items():  # alternate, so background load hits both alike
                t = time.perf_counter()
                s.run(None, feeds)
                elapsed[k] += time.perf_counter() - t
                runs[k] += 1
    np_rate, ort_rate = gemm_rate()
    print(f"float32 GEMM, {THREADS} threads: numpy {np_rate:.1f} GFLOP/s, onnxruntime MatMul {ort_rate:.1f} GFLOP/s")
    rate = {k: runs[k] * BATCH / elapsed[k] for k in sessions}
    for k in sessions:
        gflops = rate[k] * FLOP_PER_WINDOW / 1e9
        print(f"{k:18s} {rate[k]:8.1f} windows/s  {gflops:6.1f} GFLOP/s  ({100 * gflops / ort_rate:.0f}% of ORT GEMM)  "
              f"[{runs[k]} runs of batch {BATCH}, {THREADS} threads]")
    print(f"speed-up converted / torch export: {rate['converted'] / rate['torch.onnx.export']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
