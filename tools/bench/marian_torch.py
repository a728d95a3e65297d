"""PyTorch reference for Marian cached greedy decode (issue 11's Marian row).

MarianMTModel as transformers' modeling_marian.py (v4.27, eager) runs it
under generate(): the encoder once; each decoder step embeds one token
(scaled by sqrt(d_model), plus the sinusoidal sin|cos row of its position),
appends its self-attention K/V to the cache and reuses the cross-attention
K/V computed from the encoder output at the first step; post-norm layers,
swish, the LM head tied to the shared embedding plus final_logits_bias,
greedy argmax, EOS ignored. Loads the same model.safetensors as attn.

Prints one JSON object: prefill_tokens_per_second (source tokens over the
encoder plus the first decoder step, as attn counts it), tokens_per_second
(the --new - 1 tokens after the first), ids (the greedy tokens), blas.
With --check OUT.safetensors (the outputs of `attn forward` on the same
source and decoder_input_ids = [start] + ids[:-1]) it also prints the
largest difference between those logits and the cached steps' logits.

Usage: /usr/bin/python3 tools/bench/marian_torch.py --model DIR --src 1,2,3
       [--new 64] [--runs 3] [--threads 2] [--check OUT.safetensors]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--src", required=True, help="source token ids, comma-separated")
ap.add_argument("--new", type=int, default=64)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--check")
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_blas import blas  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from models import sinusoidal_table  # noqa: E402
from nn_safetensors import load  # noqa: E402

torch.set_num_threads(args.threads)
cfg = json.load(open(os.path.join(args.model, "config.json")))
assert cfg["model_type"] == "marian" and not cfg.get("normalize_before", False), "post-norm Marian only"
W = load(os.path.join(args.model, "model.safetensors"))
D = cfg["d_model"]
SCALE = math.sqrt(D) if cfg["scale_embedding"] else 1.0
POS = sinusoidal_table(cfg["max_position_embeddings"], D)
EMB, BIAS = W["model.shared.weight"], W["final_logits_bias"]
ACT = {"swish": F.silu, "silu": F.silu, "gelu": F.gelu, "relu": F.relu}[cfg["activation_function"]]
MIN = torch.finfo(torch.float32).min


def lin(x, p):
    return F.linear(x, W[p + ".weight"], W[p + ".bias"])


def norm(x, p):
    return F.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], 1e-5)


def heads(x, nh):  # MarianAttention._shape: [1, T, D] -> [1, nh, T, hs], contiguous
    return x.view(1, -1, nh, D // nh).transpose(1, 2).contiguous()


def attend(p, x, k, v, nh, mask):
    """MarianAttention after its K/V are known: bmm, + mask, softmax, bmm."""
    t, hs = x.shape[1], D // nh
    q = heads(lin(x, p + ".q_proj") * hs**-0.5, nh).view(nh, t, hs)
    w = torch.bmm(q, k.reshape(nh, -1, hs).transpose(1, 2))
    if mask is not None:
        w = (w.view(1, nh, t, -1) + mask).view(nh, t, -1)
    y = torch.bmm(F.softmax(w, dim=-1), v.reshape(nh, -1, hs))
    return lin(y.view(1, nh, t, hs).transpose(1, 2).reshape(1, t, D), p + ".out_proj")


def ffn(p, x):
    return norm(x + lin(ACT(lin(x, p + ".fc1")), p + ".fc2"), p + ".final_layer_norm")


def encode(src):
    nh, t = cfg["encoder_attention_heads"], src.shape[1]
    x = F.embedding(src, EMB) * SCALE + POS[:t]
    mask = torch.zeros(1, 1, t, t)  # _expand_mask of an all-ones attention_mask
    for i in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{i}"
        k, v = heads(lin(x, p + ".self_attn.k_proj"), nh), heads(lin(x, p + ".self_attn.v_proj"), nh)
        x = norm(x + attend(p + ".self_attn", x, k, v, nh, mask), p + ".self_attn_layer_norm")
        x = ffn(p, x)
    return x


def step(tok, past, enc):
    """One decoder token at position len(self cache); past[i] = (self k, self v,
    cross k, cross v), the cross pair computed once from enc."""
    nh = cfg["decoder_attention_heads"]
    pos = 0 if past is None else past[0][0].shape[2]
    x = F.embedding(tok, EMB) * SCALE + POS[pos:pos + 1]
    cross_mask = torch.zeros(1, 1, 1, enc.shape[1])  # generate passes the source's attention_mask
    new = []
    for i in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{i}"
        k, v = heads(lin(x, p + ".self_attn.k_proj"), nh), heads(lin(x, p + ".self_attn.v_proj"), nh)
        if past is None:
            ck = heads(lin(enc, p + ".encoder_attn.k_proj"), nh)
            cv = heads(lin(enc, p + ".encoder_attn.v_proj"), nh)
        else:
            k, v = torch.cat([past[i][0], k], dim=2), torch.cat([past[i][1], v], dim=2)
            ck, cv = past[i][2], past[i][3]
        new.append((k, v, ck, cv))
        x = norm(x + attend(p + ".self_attn", x, k, v, nh, None), p + ".self_attn_layer_norm")
        x = norm(x + attend(p + ".encoder_attn", x, ck, cv, nh, cross_mask), p + ".encoder_attn_layer_norm")
        x = ffn(p, x)
    return F.linear(x, EMB) + BIAS, new


def generate(src, n, keep=None):
    t0 = time.perf_counter()
    enc = encode(src)
    logits, past = step(torch.tensor([[cfg["decoder_start_token_id"]]]), None, enc)
    t1 = time.perf_counter()
    ids = []
    for j in range(n):
        if keep is not None:
            keep.append(logits[0, -1])
        ids.append(int(logits[0, -1].argmax()))
        if j < n - 1:
            logits, past = step(torch.tensor([[ids[-1]]]), past, enc)
    t2 = time.perf_counter()
    return ids, src.shape[1] / (t1 - t0), (n - 1) / (t2 - t1)


src = torch.tensor([[int(s) for s in args.src.split(",")]])
with torch.inference_mode():
    out = {"threads": args.threads, "blas": blas()}
    if args.check:
        steps = []
        out["ids"] = generate(src, args.new, steps)[0]
        ref = load(args.check)["logits"][0]
        out["max_abs_logit_diff"] = float((torch.stack(steps) - ref).abs().max())
        out["max_abs_logit"] = float(ref.abs().max())
    generate(src, 4)  # warm-up
    pre, dec = [], []
    for _ in range(args.runs):
        ids, p, d = generate(src, args.new)
        pre.append(p)
        dec.append(d)
    out.update(ids=ids, prefill_tokens_per_second=statistics.median(pre), tokens_per_second=statistics.median(dec))
print(json.dumps(out))
