"""PyTorch side of tools/bench/train_step.sh: forward+backward (no
optimizer) of the small GPT that autograd's BenchmarkGPTTrainStep runs —
6 pre-norm layers, C=384, NH=6, T=256, B=8, V=65, learned positions,
erf GELU, untied head, cross-entropy — and prints {"tok_per_s": ...} as
B·T over the median step time after a warm-up. Torch 1.13 has no fused
attention, so attention is the explicit masked softmax, as nanoGPT's
fallback. Threads: --threads; set OMP/OpenBLAS variables before Python."""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=5)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

NL, B, T, C, NH, V = 6, 8, 256, 384, 6, 65
HS = C // NH


def P(*s):
    return (torch.randn(*s) * 0.05).requires_grad_(True)


wte, pos, head, lnf = P(V, C), P(T, C), P(V, C), torch.ones(C, requires_grad=True)
layers = [dict(ln1g=P(C), ln1b=P(C), wqkv=P(3 * C, C), bqkv=P(3 * C), wo=P(C, C),
               ln2g=P(C), ln2b=P(C), w1=P(4 * C, C), b1=P(4 * C), w2=P(C, 4 * C), b2=P(C))
          for _ in range(NL)]
ids = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B * T,))
causal = torch.ones(T, T, dtype=torch.bool).tril()


def layer(x, p):
    h = F.layer_norm(x, (C,), p["ln1g"], p["ln1b"], 1e-5)
    q, k, v = F.linear(h, p["wqkv"], p["bqkv"]).split(C, dim=-1)
    q, k, v = (t.view(B, T, NH, HS).transpose(1, 2) for t in (q, k, v))
    s = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
    a = F.softmax(s.masked_fill(~causal, float("-inf")), dim=-1) @ v
    x = x + F.linear(a.transpose(1, 2).reshape(B, T, C), p["wo"])
    h = F.layer_norm(x, (C,), p["ln2g"], p["ln2b"], 1e-5)
    return x + F.linear(F.gelu(F.linear(h, p["w1"], p["b1"])), p["w2"], p["b2"])


def step():
    x = F.embedding(ids, wte) + pos
    for p in layers:
        x = layer(x, p)
    logits = F.linear(F.layer_norm(x, (C,), lnf, None, 1e-5), head)
    F.cross_entropy(logits.view(-1, V), targets).backward()


step()
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"tok_per_s": B * T / times[len(times) // 2], "threads": args.threads}))
