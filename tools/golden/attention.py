#!/usr/bin/python3
"""Golden fixtures for package attention: PyTorch's eager attention
softmax(Q·Kᵀ·scale + masks)·V and its autograd gradients, in float64,
stored as float32 in testdata/attention/<case>.safetensors.

Masks follow package attention's conventions: causal is bottom-right aligned
(query i sees key j iff j <= i + Tk - Tq), key padding (1 = padded) and an
additive mask broadcast from [B|1, NH|1, Tq, Tk]; K/V heads are shared by
NH/NKV consecutive query heads. No row is fully masked (torch gives NaN).

Run: /usr/bin/python3 tools/golden/attention.py  (from the repository root)
"""
import json
import math
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "attention")


def write_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.float32: "F32", np.int64: "I64"}[arr.dtype.type]
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def case(name, B, NH, NKV, Tq, Tk, HS, causal, scale=None, pad=None, mask_shape=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, NH, Tq, HS, generator=g, dtype=torch.float64)
    k = torch.randn(B, NKV, Tk, HS, generator=g, dtype=torch.float64)
    v = torch.randn(B, NKV, Tk, HS, generator=g, dtype=torch.float64)
    dout = torch.randn(B, NH, Tq, HS, generator=g, dtype=torch.float64)
    # Round inputs to float32 first so Go sees exactly what torch used.
    q, k, v, dout = (t.float().double() for t in (q, k, v, dout))
    q.requires_grad_(); k.requires_grad_(); v.requires_grad_()
    s = scale if scale is not None else 1 / math.sqrt(HS)
    rep = NH // NKV
    kx, vx = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = (q @ kx.transpose(-1, -2)) * s
    tensors = {}
    if mask_shape is not None:
        m = torch.randn(*mask_shape, generator=g, dtype=torch.float64).float().double()
        scores = scores + m
        tensors["mask"] = m.numpy().astype(np.float32)
    if causal:
        vis = torch.ones(Tq, Tk, dtype=torch.bool).tril(diagonal=Tk - Tq)
        scores = scores.masked_fill(~vis, float("-inf"))
    if pad is not None:
        padt = torch.tensor(pad, dtype=torch.bool).view(B, 1, 1, Tk)
        scores = scores.masked_fill(padt, float("-inf"))
        tensors["key_padding"] = np.array(pad, dtype=np.int64).reshape(B, Tk)
    probs = torch.softmax(scores, dim=-1)
    lse = torch.logsumexp(scores, dim=-1)
    out = probs @ vx
    (out * dout).sum().backward()
    assert not torch.isnan(out).any(), name
    f = lambda t: t.detach().numpy().astype(np.float32)
    tensors.update(q=f(q), k=f(k), v=f(v), dout=f(dout), out=f(out), probs=f(probs), lse=f(lse),
                   dq=f(q.grad), dk=f(k.grad), dv=f(v.grad))
    meta = {"B": B, "NH": NH, "NKV": NKV, "Tq": Tq, "Tk": Tk, "HS": HS,
            "causal": int(causal), "scale": repr(scale or 0.0)}
    if mask_shape is not None:
        meta["mask_shape"] = ",".join(map(str, mask_shape))
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, {k: str(v) for k, v in meta.items()})


def main():
    os.makedirs(OUT, exist_ok=True)
    case("plain", 1, 2, 2, 6, 6, 8, causal=False, seed=1)
    case("causal_gqa_pad_mask", 2, 4, 2, 5, 7, 8, causal=True,
         pad=[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], mask_shape=(2, 1, 5, 7), seed=2)
    case("cross_mqa_scale", 2, 3, 1, 4, 9, 16, causal=False, scale=0.3, mask_shape=(1, 3, 4, 9), seed=3)
    case("causal_long", 1, 2, 2, 33, 33, 16, causal=True, seed=4)


if __name__ == "__main__":
    main()
