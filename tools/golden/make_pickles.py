"""PyTorch checkpoint fixtures for package torchfile.

Run from the repository root:

    /usr/bin/python3 tools/golden/make_pickles.py

It writes testdata/torchfile/ (see SOURCE.txt there):

- good checkpoints written by torch.save, each with <name>.json holding the
  tensors torch itself sees in it (name, safetensors dtype, shape, and the
  contiguous little-endian bytes in base64), in the dict's order;
- gpt2/: the tiny GPT-2 of testdata/models/gpt2 as pytorch_model.bin
  (state_dict() of the model, so lm_head.weight shares transformer.wte's
  storage) with its config.json, for the model loading test;
- hostile and corrupt files, each refused by the reader: pickles that call
  os.system or eval, hand-made pickles whose views or storages lie, and
  truncated files.
"""
import base64
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import torch

from nn_safetensors import load as read_safetensors

OUT = "testdata/torchfile"

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def raw(t):
    """The contiguous little-endian bytes of t."""
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def expect(name, sd):
    """Write name.json: what torch.load sees in the checkpoint."""
    tensors = []
    for k, t in sd.items():
        tensors.append({"name": k, "dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data": base64.b64encode(raw(t)).decode()})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"tensors": tensors}, f, indent=1)
        f.write("\n")


def flatten(d, prefix=""):
    out = collections.OrderedDict()
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def save(name, obj, **kw):
    path = os.path.join(OUT, name + ".bin")
    torch.save(obj, path, **kw)
    back = torch.load(path)  # the oracle: what torch reads back
    expect(name, flatten(back))
    return path


def mixed():
    """Every dtype, views with offsets, transposes, shared storages."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = a
    sd["f32.row1"] = a[1]                  # view: storage offset 4
    sd["f32.t"] = a.t()                    # non-contiguous, shares a's storage
    sd["f32.cols"] = a[1:, ::2]            # offset and strides (4, 2)
    sd["f32.expand"] = a[0, :2].unsqueeze(0).expand(3, 2)  # stride 0
    sd["tied.a"] = torch.randn(2, 3, generator=g)
    sd["tied.b"] = sd["tied.a"]            # the same view of the same storage
    sd["f16"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["bf16.t"] = sd["bf16"].t()
    sd["f64"] = torch.randn(2, generator=g).double()
    sd["i64"] = torch.tensor([-1, 0, 1 << 40, -(1 << 62)])
    sd["i32"] = torch.tensor([-7, 7, 1 << 30], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd["scalar"] = torch.tensor(2.5)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    return sd


def module_state_dict():
    """A Module's state_dict: _metadata, Parameters and buffers."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(collections.OrderedDict(
        ln=torch.nn.LayerNorm(4), fc=torch.nn.Linear(4, 3), bn=torch.nn.BatchNorm1d(3)))
    return m.state_dict()


def gpt2():
    """testdata/models/gpt2 as torch.save(model.state_dict()) writes it:
    transformer.* names, Conv1D weights [in, out], and lm_head.weight
    sharing the storage of transformer.wte.weight (tied)."""
    src = "testdata/models/gpt2"
    tensors = read_safetensors(os.path.join(src, "model.safetensors"))
    sd = collections.OrderedDict(sorted(tensors.items()))
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    os.makedirs(os.path.join(OUT, "gpt2"), exist_ok=True)
    torch.save(sd, os.path.join(OUT, "gpt2", "pytorch_model.bin"))
    with open(os.path.join(src, "config.json")) as f:
        cfg = f.read()
    with open(os.path.join(OUT, "gpt2", "config.json"), "w") as f:
        f.write(cfg)


class Evil:
    """Unpickling it in Python runs fn(*args)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class FakeStorage:
    def __init__(self, key, numel, stype=torch.FloatStorage):
        self.key, self.numel, self.stype = key, numel, stype


class FakeTensor:
    """Pickles as torch.save pickles a tensor, with any view we like."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.stype, obj.key, "cpu", obj.numel)
        return None


def crafted(name, obj, storages, compress=()):
    """A zip laid out as torch.save's, around a hand-made pickle."""
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(os.path.join(OUT, name + ".bin"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl"), buf.getvalue())
        for key, data in storages.items():
            method = zipfile.ZIP_DEFLATED if key in compress else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo("archive/data/" + key), data, compress_type=method)
        z.writestr(zipfile.ZipInfo("archive/version"), "3\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    sd = mixed()
    save("mixed", sd)
    save("mixed_legacy", sd, _use_new_zipfile_serialization=False)
    save("mixed_proto4", sd, pickle_protocol=4)  # FRAME, MEMOIZE, STACK_GLOBAL
    save("module", module_state_dict())
    save("nested", {"model": collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3)),
                    "ema": {"w": torch.ones(2)}})
    gpt2()

    t = torch.arange(4.0)
    evil_sys = Evil(os.system, "echo pwned > /tmp/torchfile-pwned")
    evil_eval = Evil(eval, "__import__('os').system('echo pwned > /tmp/torchfile-pwned')")
    torch.save(collections.OrderedDict(w=t, x=evil_sys), os.path.join(OUT, "evil_system.bin"))
    torch.save(collections.OrderedDict(w=t, x=evil_eval), os.path.join(OUT, "evil_eval.bin"))
    torch.save(collections.OrderedDict(x=evil_sys), os.path.join(OUT, "evil_system_legacy.bin"),
               _use_new_zipfile_serialization=False)
    torch.save(collections.OrderedDict(x=evil_eval), os.path.join(OUT, "evil_eval_proto4.bin"),
               pickle_protocol=4)
    torch.save([t], os.path.join(OUT, "list.bin"))
    torch.save(collections.OrderedDict(w=t, step=3), os.path.join(OUT, "not_tensor.bin"))

    with open(os.path.join(OUT, "mixed.bin"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.bin"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    with open(os.path.join(OUT, "mixed_legacy.bin"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated_legacy.bin"), "wb") as f:
        f.write(whole[: len(whole) - 7])

    four = struct.pack("<4f", 1, 2, 3, 4)
    s = FakeStorage("0", 4)
    crafted("view_past_end", collections.OrderedDict(w=FakeTensor(s, 2, [2, 2], [2, 1])), {"0": four})
    crafted("storage_short", collections.OrderedDict(w=FakeTensor(FakeStorage("0", 8), 0, [8], [1])), {"0": four})
    crafted("storage_huge", collections.OrderedDict(w=FakeTensor(FakeStorage("0", 1 << 40), 0, [4], [1])), {"0": four})
    crafted("storage_missing", collections.OrderedDict(w=FakeTensor(s, 0, [4], [1])), {})
    crafted("storage_compressed", collections.OrderedDict(w=FakeTensor(s, 0, [4], [1])), {"0": four}, compress={"0"})
    crafted("stride_zero_bomb", collections.OrderedDict(w=FakeTensor(s, 0, [1 << 20, 1 << 20], [0, 0])), {"0": four})
    crafted("storage_two_types", collections.OrderedDict(
        w=FakeTensor(s, 0, [4], [1]), v=FakeTensor(FakeStorage("0", 4, torch.IntStorage), 0, [4], [1])), {"0": four})


if __name__ == "__main__":
    main()
