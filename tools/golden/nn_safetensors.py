"""Minimal safetensors writer and reader shared by the golden and bench scripts.

Layout: 8-byte little-endian header length, a JSON header mapping each
tensor name to {dtype, shape, data_offsets} plus "__metadata__", then the raw
little-endian bytes of every tensor in header order.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def save(path, tensors, metadata=None):
    """Write tensors (name -> numpy array or torch tensor) to path."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = tensors[name]
        if hasattr(arr, "detach"):
            arr = arr.detach().cpu().numpy()
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.int64)
        if arr.dtype not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in (metadata or {}).items()}
    hdr = json.dumps(header, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for raw in blobs:
            f.write(raw)


_TORCH_DTYPES = {"F32": "<f4", "I64": "<i8"}


def load(path):
    """Read a safetensors file of F32 and I64 tensors into torch tensors
    (name -> tensor; metadata dropped). Other dtypes raise KeyError."""
    import torch

    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int.from_bytes(bytes(raw[:8]), "little")
    hdr = json.loads(bytes(raw[8:8 + n]))
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=_TORCH_DTYPES[v["dtype"]])
        out[k] = torch.from_numpy(arr.copy().reshape(v["shape"]))
    return out
