"""Golden fixtures for the autograd ops: forward outputs and the gradients
of every input under a random upstream gradient, computed by PyTorch.

Run: /usr/bin/python3 tools/golden/autograd_ops.py
Writes testdata/autograd/ops.safetensors. For op OP the file holds
OP.in.N (inputs, float32), OP.dy (upstream gradient), OP.y (output) and
OP.grad.N (dL/d input N for L = sum(y * dy)); integer arguments (targets,
ids) are OP.ids (int64).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from nn_safetensors import save  # noqa: E402

torch.manual_seed(20261126)
out = {}


def case(name, inputs, fn, ids=None):
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    y = fn(*leaves)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    for i, t in enumerate(inputs):
        out[f"{name}.in.{i}"] = t
        out[f"{name}.grad.{i}"] = leaves[i].grad
    out[f"{name}.dy"] = dy
    out[f"{name}.y"] = y.detach()
    if ids is not None:
        out[f"{name}.ids"] = ids


def away_from_zero(*shape):
    x = torch.rand(*shape) * 3.5 + 0.1
    return x * torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0)


case("linear", [torch.randn(2, 3, 7), torch.randn(5, 7), torch.randn(5)], F.linear)
case("matmul_tt", [torch.randn(2, 5, 3), torch.randn(2, 4, 5)],
     lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2))
case("matmul_shared", [torch.randn(3, 4, 6), torch.randn(6, 5)], torch.matmul)
case("layer_norm", [torch.randn(3, 10) * 2 + 1, torch.randn(10), torch.randn(10)],
     lambda x, g, b: F.layer_norm(x, (10,), g, b, 1e-5))
# torch 1.13 has no rms_norm: the definition, as in T5/LLaMA.
case("rms_norm", [torch.randn(3, 10), torch.randn(10)],
     lambda x, g: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * g)
case("gelu", [away_from_zero(64)], F.gelu)
case("gelu_tanh", [away_from_zero(64)], lambda x: F.gelu(x, approximate="tanh"))
case("relu", [away_from_zero(32)], F.relu)
case("silu", [away_from_zero(32)], F.silu)
case("tanh", [away_from_zero(32)], torch.tanh)
case("softmax", [torch.randn(3, 9) * 3], lambda x: F.softmax(x, -1))
case("log_softmax", [torch.randn(3, 9) * 3], lambda x: F.log_softmax(x, -1))
targets = torch.tensor([3, -100, 0, 8, 8, -100, 1])
case("cross_entropy", [torch.randn(7, 9) * 2],
     lambda x: F.cross_entropy(x, targets, ignore_index=-100), ids=targets)
ids = torch.tensor([[6, 0, 2], [2, 5, 6]])
case("embedding", [torch.randn(7, 4)], lambda t: F.embedding(ids, t), ids=ids)

path = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "autograd", "ops.safetensors")
save(path, out, {"generator": "tools/golden/autograd_ops.py", "torch": torch.__version__})
print("wrote", os.path.normpath(path))
