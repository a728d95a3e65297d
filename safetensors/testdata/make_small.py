"""Writes small.safetensors, a cross-implementation fixture for the Go reader.

Run from this directory with /usr/bin/python3 make_small.py (numpy only).
Unlike the Go writer, this lays tensors out in an order that leaves the F32
tensor at an odd offset (so the reader must take its copying path), puts the
metadata last, and widens nothing: F16/BF16 bits come from torch.
"""
import json
import struct

import numpy as np
import torch

rng = np.random.default_rng(7)
f32 = rng.standard_normal((2, 3)).astype("<f4")
half = torch.tensor([[1.0, -2.5, 65504.0], [6.1e-5, 5.96e-8, -0.0]], dtype=torch.float16)
bf = torch.tensor([3.140625, -1e30, 1e-30], dtype=torch.bfloat16)
ids = np.array([[0, -1, 2**40]], dtype="<i8")
i32 = np.array([7, -8], dtype="<i4")
flag = np.array([1, 0, 1], dtype=np.uint8)

entries = [  # name, dtype, shape, raw bytes, in file order
    ("flag", "BOOL", [3], flag.tobytes()),
    ("weights.f32", "F32", [2, 3], f32.tobytes()),
    ("half", "F16", [2, 3], half.numpy().tobytes()),
    ("bf", "BF16", [3], bf.view(torch.int16).numpy().astype("<i2").tobytes()),
    ("ids", "I64", [1, 3], ids.tobytes()),
    ("i32", "I32", [2], i32.tobytes()),
    ("empty", "F32", [0, 4], b""),
    ("scalar", "F32", [], np.array(0.5, dtype="<f4").tobytes()),
]
header, data = {}, b""
for name, dt, shape, raw in entries:
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
header["__metadata__"] = {"format": "pt", "made_by": "make_small.py"}
h = json.dumps(header).encode()
with open("small.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)

# Expected values as exact float32/int64 text for the Go test.
expect = {
    "weights.f32": f32.ravel().tolist(),
    "half": half.float().ravel().tolist(),
    "bf": bf.float().ravel().tolist(),
}
with open("small.expected.json", "w") as f:
    json.dump(expect, f, indent=1)
    f.write("\n")
