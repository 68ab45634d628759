"""The Astromer encoder (and its pre-training head) as a PyTorch module, for fine-tuning.

The forward pass is the converter's (ASTROMER-FORMAT.md sections 6 and 7, ``explorer.convert.graph``):
the same positional-encoding table (``pe_rates``), the v1 "+1" attention bias or none, no residuals,
layer norms with the spec's epsilon, tanh feed-forward. Weights move in and out as ``AstromerWeights``
(Keras layout: kernels [in, out]), so a trained module exports to ONNX through the converter's graph
builder. Dropout sits where the original v1 encoder has it (after the positional encoding, after
attention, after the feed-forward); it is off in ``eval()`` mode.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.astromer.weights import HEAD_LN_EPS, HEAD_ROLES, AstromerWeights
from explorer.convert.config import ModelSpec, pe_rates
from explorer.errors import ModelError

__all__ = ["AstromerModule", "masked_rmse"]


class _Block(nn.Module):
    def __init__(self, spec: ModelSpec, dropout: float):
        super().__init__()
        d, f = spec.d_model, spec.ffn_dim
        self.wqkv = nn.Linear(d, 3 * d)
        self.wo = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=spec.ln_eps)
        self.ffn1 = nn.Linear(d, f)
        self.ffn2 = nn.Linear(f, d)
        self.ln2 = nn.LayerNorm(d, eps=spec.ln_eps)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.heads, self.head_size = spec.num_heads, spec.head_size

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """One encoder block on [B, N, d] with an optional attention bias [B, 1, N, N]."""
        b, n, d = x.shape
        qkv = self.wqkv(x).view(b, n, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(-1, -2) / float(np.sqrt(self.head_size))
        if bias is not None:
            scores = scores + bias
        heads = torch.softmax(scores, dim=-1) @ v
        y = self.wo(heads.transpose(1, 2).reshape(b, n, d))
        h1 = self.ln1(self.drop1(y))              # no residual connections in these encoders
        f = self.ffn2(torch.tanh(self.ffn1(h1)))
        return self.ln2(self.drop2(f))


class AstromerModule(nn.Module):
    """Encoder + regression head; ``forward(input, times, mask_in)`` gives (sequence, reconstruction)."""

    def __init__(self, spec: ModelSpec, dropout: float = 0.0):
        super().__init__()
        if spec.nsp:
            raise ModelError("the PyTorch Astromer module supports encoders without NSP (CLS + segment) only")
        if spec.attention_mask not in ("plus-one", "none"):
            raise ModelError(f"unknown attention mask {spec.attention_mask!r}")
        self.spec = spec
        d = spec.d_model
        self.inp = nn.Linear(1, d)
        self.register_buffer("pe_rate", torch.from_numpy(pe_rates(spec)))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(spec, dropout) for _ in range(spec.num_layers))
        self.head_ln = nn.LayerNorm(d, eps=HEAD_LN_EPS)
        self.head = nn.Linear(d, 1)

    def encode(self, x: torch.Tensor, t: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """Encoder output [B, N, d] for interface tensors [B, N, 1] (mask 1 = seen)."""
        b, n, _ = x.shape
        e = self.inp(x)
        angle_even = t * self.pe_rate[0::2]
        angle_odd = t * self.pe_rate[1::2]
        pe = torch.stack([torch.sin(angle_even), torch.cos(angle_odd)], dim=-1).reshape(b, n, -1)
        h = self.drop(e + pe)
        bias = None
        if self.spec.attention_mask == "plus-one":
            pad = 1.0 - m                                           # [B, N, 1]
            bias = torch.clamp(pad + pad.transpose(1, 2), max=1.0).unsqueeze(1)   # [B, 1, N, N]
        for block in self.blocks:
            h = block(h, bias)
        return h

    def forward(self, x, t, m):
        """(sequence [B, N, d], reconstructed magnitudes [B, N, 1])."""
        seq = self.encode(x, t, m)
        return seq, self.head(self.head_ln(seq))

    @staticmethod
    def pooled(seq: torch.Tensor, m: torch.Tensor) -> dict[str, torch.Tensor]:
        """The public interface's ``mean`` and ``max`` outputs of an encoder output."""
        count = m.sum(dim=(1, 2))[:, None]
        total = (seq * m).sum(dim=1)
        mean = torch.where(count == 0, torch.zeros_like(total), total / torch.where(count == 0, torch.ones_like(count), count))
        mx = torch.where(m > 0.5, seq, torch.full_like(seq, -1e9)).amax(dim=1)
        return {"mean": mean, "max": mx}

    # -- weights in and out (Keras layout, kernels [in, out]) -----------------------------------------
    @classmethod
    def from_weights(cls, weights: AstromerWeights, *, dropout: float = 0.0, seed: int = 0) -> "AstromerModule":
        """A module holding ``weights``; a missing head starts as LayerNorm(1, 0) + a small seeded Dense."""
        module = cls(weights.spec, dropout)
        module.load_weights(weights, seed=seed)
        return module

    def load_weights(self, weights: AstromerWeights, *, seed: int = 0) -> None:
        """Copy ``weights`` into the parameters (bit for bit)."""
        w = weights.encoder
        t = lambda a: torch.from_numpy(np.array(a, np.float32, copy=True))  # noqa: E731  (read-only npz arrays)
        with torch.no_grad():
            self.inp.weight.copy_(t(w["inp/kernel"].T))
            self.inp.bias.copy_(t(w["inp/bias"]))
            for i, blk in enumerate(self.blocks):
                blk.wqkv.weight.copy_(t(np.concatenate([w[f"{i}/{p}/kernel"] for p in ("wq", "wk", "wv")], axis=1).T))
                blk.wqkv.bias.copy_(t(np.concatenate([w[f"{i}/{p}/bias"] for p in ("wq", "wk", "wv")])))
                for name, role in (("wo", "wo"), ("ffn1", "ffn1"), ("ffn2", "ffn2")):
                    getattr(blk, name).weight.copy_(t(w[f"{i}/{role}/kernel"].T))
                    getattr(blk, name).bias.copy_(t(w[f"{i}/{role}/bias"]))
                for name in ("ln1", "ln2"):
                    getattr(blk, name).weight.copy_(t(w[f"{i}/{name}/gamma"]))
                    getattr(blk, name).bias.copy_(t(w[f"{i}/{name}/beta"]))
            if weights.head is not None:
                h = weights.head
                self.head_ln.weight.copy_(t(h["head/ln/gamma"]))
                self.head_ln.bias.copy_(t(h["head/ln/beta"]))
                self.head.weight.copy_(t(h["head/reg/kernel"].T))
                self.head.bias.copy_(t(h["head/reg/bias"]))
            else:
                gen = torch.Generator().manual_seed(seed)
                self.head_ln.weight.fill_(1.0)
                self.head_ln.bias.zero_()
                self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=gen) * 0.02)
                self.head.bias.zero_()

    def to_weights(self, *, source: str = "", provenance: dict | None = None) -> AstromerWeights:
        """The current parameters as AstromerWeights (float32 copies)."""
        a = lambda p: p.detach().cpu().numpy().astype(np.float32, copy=True)  # noqa: E731
        d = self.spec.d_model
        enc = {"inp/kernel": a(self.inp.weight).T.copy(), "inp/bias": a(self.inp.bias)}
        for i, blk in enumerate(self.blocks):
            kqkv, bqkv = a(blk.wqkv.weight).T, a(blk.wqkv.bias)
            for j, p in enumerate(("wq", "wk", "wv")):
                enc[f"{i}/{p}/kernel"] = kqkv[:, j * d:(j + 1) * d].copy()
                enc[f"{i}/{p}/bias"] = bqkv[j * d:(j + 1) * d].copy()
            for name in ("wo", "ffn1", "ffn2"):
                enc[f"{i}/{name}/kernel"] = a(getattr(blk, name).weight).T.copy()
                enc[f"{i}/{name}/bias"] = a(getattr(blk, name).bias)
            for name in ("ln1", "ln2"):
                enc[f"{i}/{name}/gamma"] = a(getattr(blk, name).weight)
                enc[f"{i}/{name}/beta"] = a(getattr(blk, name).bias)
        head = dict(zip(HEAD_ROLES, (a(self.head_ln.weight), a(self.head_ln.bias), a(self.head.weight).T.copy(),
                                     a(self.head.bias))))
        return AstromerWeights(self.spec, enc, head, source=source, provenance=dict(provenance or {}))


def masked_rmse(true: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ASTROMER's loss: per window the mean squared error over probed positions, averaged, square-rooted."""
    per_window = ((true - pred) ** 2 * mask).sum(dim=(1, 2))
    count = mask.sum(dim=(1, 2))
    mse = torch.where(count > 0, per_window / torch.clamp(count, min=1.0), torch.zeros_like(per_window))
    return torch.sqrt(mse.mean())
