"""Golden fixtures for nn's positional encodings.

Run: /usr/bin/python3 tools/golden/nn_positions.py
Writes testdata/nn/mha_rotary_gqa.safetensors (see rotary_gqa_attention) and
testdata/nn/positions.safetensors:
  sinusoidal.interleaved  [T, C]  Vaswani et al.: PE[p, 2i] = sin(p / 10000^(2i/C)),
                                  PE[p, 2i+1] = cos(same angle)
  sinusoidal.half         [T, C]  the Marian layout: the C/2 sines first, then the
                                  C/2 cosines, same angles
  sinusoidal.fairseq      [T, C]  fairseq's get_embedding: half-split, with
                                  frequencies 10000^(-i/(C/2-1)) (no padding row)
  rope.<layout>.<case>.{x, out, loss_weight, grad.x}   rotary embedding applied to
        x [B, NH, T, HS] at positions start..start+T-1, and dLoss/dx for the loss
        sum(out * loss_weight); layout "interleaved" rotates pairs (2i, 2i+1) (GPT-J),
        "half" rotates (i, i + R/2) (GPT-NeoX / Llama); only the first R features
        (rotary_dim) rotate, the rest pass through.
"""
import math
import os

import torch

from nn_safetensors import save

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "nn")


def angles(t, dim, base, start=0):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    pos = torch.arange(start, start + t, dtype=torch.float64)
    return pos[:, None] * inv[None, :]  # [T, dim/2]


def sinusoidal(t, c):
    a = angles(t, c, 10000.0)
    inter = torch.zeros(t, c, dtype=torch.float64)
    inter[:, 0::2], inter[:, 1::2] = a.sin(), a.cos()
    half = torch.cat([a.sin(), a.cos()], dim=1)
    # fairseq: emb = log(10000)/(half-1); freq_i = exp(-i*emb)
    h = c // 2
    freq = torch.exp(torch.arange(h, dtype=torch.float64) * -(math.log(10000) / (h - 1)))
    fa = torch.arange(t, dtype=torch.float64)[:, None] * freq[None, :]
    fairseq = torch.cat([fa.sin(), fa.cos()], dim=1)
    return inter.float(), half.float(), fairseq.float()


def rope(x, layout, rdim, base, start):
    t = x.shape[2]
    a = angles(t, rdim, base, start).float()
    cos, sin = a.cos(), a.sin()  # [T, R/2]
    xr, xp = x[..., :rdim], x[..., rdim:]
    if layout == "interleaved":
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
        o1, o2 = x1 * cos - x2 * sin, x2 * cos + x1 * sin
        out = torch.stack([o1, o2], dim=-1).flatten(-2)
    else:
        x1, x2 = xr[..., :rdim // 2], xr[..., rdim // 2:]
        out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return torch.cat([out, xp], dim=-1)


def positions():
    gen = torch.Generator().manual_seed(11)
    tensors = {}
    tensors["sinusoidal.interleaved"], tensors["sinusoidal.half"], \
        tensors["sinusoidal.fairseq"] = sinusoidal(7, 10)
    cases = {"full": (8, 10000.0, 0), "partial_offset": (4, 500.0, 3)}
    for layout in ("interleaved", "half"):
        for name, (rdim, base, start) in cases.items():
            x = torch.randn(2, 2, 3, 8, generator=gen).requires_grad_(True)
            out = rope(x, layout, rdim, base, start)
            w = torch.randn(out.shape, generator=gen)
            (out * w).sum().backward()
            p = f"rope.{layout}.{name}."
            tensors.update({p + "x": x, p + "out": out, p + "loss_weight": w,
                            p + "grad.x": x.grad})
    save(os.path.join(OUT, "positions.safetensors"), tensors,
         {"generator": "tools/golden/nn_positions.py", "rope_cases":
          "full: rotary_dim 8 base 10000 start 0; partial_offset: rotary_dim 4 base 500 start 3"})


def rotary_gqa_attention():
    """A Llama/GPT-NeoX-style attention block in plain torch: separate
    q_proj/k_proj/v_proj/out_proj Linear layers (with bias), 4 query heads
    sharing 2 key/value heads (repeat_interleave, as Hugging Face's
    repeat_kv), rotary embedding on q and k, causal softmax attention.
    Writes testdata/nn/mha_rotary_gqa.safetensors in nn.py's naming."""
    gen = torch.Generator().manual_seed(21)
    b, t, c, nh, nkv = 2, 5, 16, 4, 2
    hs = c // nh
    mods = torch.nn.ModuleDict({
        "q_proj": torch.nn.Linear(c, nh * hs), "k_proj": torch.nn.Linear(c, nkv * hs),
        "v_proj": torch.nn.Linear(c, nkv * hs), "out_proj": torch.nn.Linear(nh * hs, c)})
    with torch.no_grad():
        for p in mods.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    x = torch.randn(b, t, c, generator=gen).requires_grad_(True)

    def heads(y, n):
        return y.view(b, t, n, hs).transpose(1, 2)

    q = rope(heads(mods["q_proj"](x), nh), "half", hs, 10000.0, 0)
    k = rope(heads(mods["k_proj"](x), nkv), "half", hs, 10000.0, 0)
    v = heads(mods["v_proj"](x), nkv)
    k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)
    s = q @ k.transpose(-1, -2) / hs ** 0.5
    s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
    p = s.softmax(-1)
    out = mods["out_proj"]((p @ v).transpose(1, 2).reshape(b, t, c))
    w = torch.randn(out.shape, generator=gen)
    (out * w).sum().backward()
    tensors = {"output": out, "output.attn_weights": p, "loss_weight": w,
               "input.x": x, "grad.input.x": x.grad}
    for n, prm in mods.named_parameters():
        tensors[n] = prm
        tensors["grad." + n] = prm.grad
    save(os.path.join(OUT, "mha_rotary_gqa.safetensors"), tensors,
         {"generator": "tools/golden/nn_positions.py",
          "config": "C 16, NH 4, NKV 2, rotary half layout dim 4 base 10000, causal"})


if __name__ == "__main__":
    positions()
    rotary_gqa_attention()
