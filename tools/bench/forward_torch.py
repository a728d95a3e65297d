"""PyTorch side of tools/bench/forward.sh: the same forward as `attn forward`
(the transformers mirror in tools/golden/models.py, eager attention, float32,
no_grad) on a checkpoint written by `attn init`, timed after a warm-up.

Usage: forward_torch.py --model DIR --inputs IN.safetensors --label NAME [--runs N] [--threads T]
Prints one JSON line: name, label, seconds (median), min_seconds, runs, threads.
"""
import argparse
import json
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--inputs", required=True)
ap.add_argument("--label", default="torch")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(k, str(args.threads))

import torch  # noqa: E402

torch.set_num_threads(args.threads)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
import models as M  # noqa: E402
from models_init import read  # noqa: E402

cfg = json.load(open(os.path.join(args.model, "config.json")))
state = read(os.path.join(args.model, "model.safetensors"))
inputs = read(args.inputs)
arch = cfg["architectures"][0]
if arch == "GPT2LMHeadModel":
    model = M.GPT2LMHeadModel(cfg)
    state["lm_head.weight"] = state["transformer.wte.weight"]
    run = lambda: model(inputs["input_ids"], inputs.get("attention_mask"))
elif arch == "BertModel":
    model = M.BertModel(cfg, pooler=True)
    ids = inputs["input_ids"]
    mask = inputs.get("attention_mask", torch.ones_like(ids))
    types = inputs.get("token_type_ids", torch.zeros_like(ids))
    run = lambda: model(ids, mask, types)
else:
    sys.exit(f"forward_torch.py: {arch} not benchmarked")
model.load_state_dict(state, strict=True)
model.eval()
times = []
with torch.no_grad():
    run()  # warm-up
    for _ in range(args.runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
print(json.dumps({"name": "forward", "label": args.label, "architecture": arch, "seconds": statistics.median(times),
                  "min_seconds": min(times), "runs": len(times), "threads": torch.get_num_threads()}))
