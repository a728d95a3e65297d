"""PyTorch side of tools/bench/train_gpt2_small.sh: training steps of the
transformers mirror GPT2LMHeadModel (tools/golden/models.py, eager
attention, float32) on a checkpoint written by `attn init` — forward,
loss as GPT2LMHeadModel(labels=) computes it, backward, clipping at 1.0 and
torch.optim.AdamW (lr 1e-4, betas 0.9/0.99, weight decay 0.1) — on random
batches of --batch × --block tokens. The first step is a warm-up.

Usage: train_gpt2_torch.py --model DIR [--steps N] [--batch B] [--block T] [--threads T] [--label NAME]
Prints one JSON line: label, ms_per_step (median), tokens_per_second,
max_rss_bytes (ru_maxrss of this process), steps, threads.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--block", type=int, default=1024)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--label", default="torch")
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(k, str(args.threads))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(0)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
import models as M  # noqa: E402
from models_init import read  # noqa: E402

cfg = json.load(open(os.path.join(args.model, "config.json")))
model = M.GPT2LMHeadModel(cfg)
state = read(os.path.join(args.model, "model.safetensors"))
state["lm_head.weight"] = state["transformer.wte.weight"]
model.load_state_dict(state, strict=True)
del state
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
V = cfg["vocab_size"]
times = []
for s in range(args.steps + 1):
    ids = torch.randint(0, V, (args.batch, args.block))
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    logits = model(ids)[0]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    del logits
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if s > 0:
        times.append(time.perf_counter() - t0)
ms = statistics.median(times) * 1000
print(json.dumps({"label": args.label, "ms_per_step": ms, "tokens_per_second": args.batch * args.block / ms * 1000,
                  "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "steps": len(times), "threads": torch.get_num_threads()}))
