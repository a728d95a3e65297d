"""Make testdata/hub/gpt2-sharded: the tiny GPT-2 of testdata/models/gpt2
as transformers' save_pretrained(safe_serialization=False,
max_shard_size=...) shards it — pytorch_model-0000N-of-00002.bin written by
torch.save, and pytorch_model.bin.index.json naming each tensor's shard —
for hub's test of a sharded pickle-only repository.

Run from the repository root: /usr/bin/python3 tools/golden/make_hub_shards.py
"""
import collections
import json
import os
import shutil

import torch

from nn_safetensors import load as read_safetensors

SRC = "testdata/models/gpt2"
OUT = "testdata/hub/gpt2-sharded"


def main():
    tensors = read_safetensors(os.path.join(SRC, "model.safetensors"))
    names = sorted(tensors)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    os.makedirs(OUT, exist_ok=True)
    weight_map, total = {}, 0
    for i, part in enumerate(shards, 1):
        fname = f"pytorch_model-{i:05d}-of-{len(shards):05d}.bin"
        sd = collections.OrderedDict((n, tensors[n].clone()) for n in part)
        torch.save(sd, os.path.join(OUT, fname))
        for n in part:
            weight_map[n] = fname
            total += sd[n].numel() * sd[n].element_size()
    with open(os.path.join(OUT, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    shutil.copy(os.path.join(SRC, "config.json"), os.path.join(OUT, "config.json"))


if __name__ == "__main__":
    main()
