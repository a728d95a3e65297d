"""PyTorch reference for `attn generate` speed: GPT-2 with a KV cache.

A GPT-2 written in plain torch the way transformers' modeling_gpt2.py runs
it at inference (eager attention, Conv1D = addmm, the cache as past keys and
values concatenated each step), loaded from the same model.safetensors that
attn reads. Prints one JSON object:

    {"threads": 2, "prefill_tokens_per_second": ..,   (prompt of --prompt tokens)
     "tokens_per_second": ..,                         (cached decode, --new tokens)
     "prefill512_tokens_per_second": ..,              (one forward of --long tokens)
     "max_rss_bytes": ..}

Usage: /usr/bin/python3 tools/bench/generate_torch.py --model DIR [--threads 2]
       [--prompt 32] [--new 128] [--long 512] [--runs 3]
Run it as is and under ../shared/bench/torch-tuned; tools/bench/generate.py
does both and compares with attn.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--prompt", type=int, default=32)
ap.add_argument("--new", type=int, default=128)
ap.add_argument("--long", type=int, default=512)
ap.add_argument("--runs", type=int, default=3)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_blas import blas  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_grad_enabled(False)


def read_safetensors(path):
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int.from_bytes(bytes(raw[:8]), "little")
    hdr = json.loads(bytes(raw[8:8 + n]))
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        b, e = v["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


cfg = json.load(open(os.path.join(args.model, "config.json")))
W = read_safetensors(os.path.join(args.model, "model.safetensors"))
W = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in W.items()}
C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
HS, EPS = C // NH, cfg["layer_norm_epsilon"]
wte, wpe = W["wte.weight"], W["wpe.weight"]
MIN = torch.finfo(torch.float32).min


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, p):
    return torch.addmm(W[p + ".bias"], x.view(-1, x.shape[-1]), W[p + ".weight"]).view(*x.shape[:-1], -1)


def forward(ids, past):
    """ids [1, T] at positions len(past) …; past: list of (k, v) [1, NH, Tp, HS]
    or None. Returns the last position's logits and the new cache."""
    t = ids.shape[1]
    p0 = 0 if past is None else past[0][0].shape[2]
    x = wte[ids] + wpe[torch.arange(p0, p0 + t)]
    new = []
    for i in range(L):
        h = f"h.{i}."
        a = F.layer_norm(x, (C,), W[h + "ln_1.weight"], W[h + "ln_1.bias"], EPS)
        q, k, v = conv1d(a, h + "attn.c_attn").split(C, dim=2)
        q, k, v = (z.view(1, t, NH, HS).permute(0, 2, 1, 3) for z in (q, k, v))
        if past is not None:
            k = torch.cat([past[i][0], k], dim=-2)
            v = torch.cat([past[i][1], v], dim=-2)
        new.append((k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HS)
        tk = k.shape[2]
        if t > 1:
            causal = torch.ones(tk, tk, dtype=torch.bool).tril()[tk - t:, :]
            w = torch.where(causal, w, torch.tensor(MIN))
        w = F.softmax(w, dim=-1)
        y = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(1, t, C)
        x = x + conv1d(y, h + "attn.c_proj")
        a = F.layer_norm(x, (C,), W[h + "ln_2.weight"], W[h + "ln_2.bias"], EPS)
        x = x + conv1d(gelu_new(conv1d(a, h + "mlp.c_fc")), h + "mlp.c_proj")
    x = F.layer_norm(x[:, -1:], (C,), W["ln_f.weight"], W["ln_f.bias"], EPS)
    return x @ wte.T, new


def generate(prompt, n):
    t0 = time.perf_counter()
    logits, past = forward(prompt, None)
    t1 = time.perf_counter()
    nxt = logits[0, -1].argmax().view(1, 1)
    for _ in range(n - 1):
        logits, past = forward(nxt, past)
        nxt = logits[0, -1].argmax().view(1, 1)
    t2 = time.perf_counter()
    return prompt.shape[1] / (t1 - t0), (n - 1) / (t2 - t1)


prompt = torch.arange(1, args.prompt + 1).view(1, -1)
longp = torch.arange(1, args.long + 1).view(1, -1) % cfg["vocab_size"]
generate(prompt, 4)  # warm-up
pre, dec, long_ = [], [], []
for _ in range(args.runs):
    p, d = generate(prompt, args.new)
    pre.append(p)
    dec.append(d)
    t0 = time.perf_counter()
    forward(longp, None)
    long_.append(args.long / (time.perf_counter() - t0))
json.dump({"threads": args.threads, "blas": blas(), "prefill_tokens_per_second": statistics.median(pre),
           "tokens_per_second": statistics.median(dec), "prefill512_tokens_per_second": statistics.median(long_),
           "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}, sys.stdout)
print()
