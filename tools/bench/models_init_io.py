"""Reads a safetensors file into torch tensors (F32, I64) for the bench scripts."""
import json

import numpy as np
import torch


def read(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F32": "<f4", "I64": "<i8"}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dt).copy().reshape(v["shape"]))
    return out
