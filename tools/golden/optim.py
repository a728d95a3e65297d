"""Golden fixtures for package train: three torch.optim.AdamW steps with two
parameter groups, and torch.nn.utils.clip_grad_norm_.

Run: /usr/bin/python3 tools/golden/optim.py   (torch 1.13, float32, CPU)
Writes testdata/train/adamw.safetensors:
  step0.<name>        the parameters before the first step (state_dict names)
  stepK.grad.<name>   the gradient used by step K (K = 1..3)
  stepK.<name>        the parameters after step K
The hyper-parameters are in the header metadata "config" and repeated in the
Go test. Group "decay" holds the weight matrices, group "no_decay" the biases
and LayerNorm parameters (weight_decay 0, half the learning rate).
Writes testdata/train/clip.safetensors: grad.<name> before clipping,
clipped.<name> after clip_grad_norm_(max_norm), and total_norm.
"""
import json
import os

import torch
import torch.nn as tnn

from nn_safetensors import save

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "train")
CFG = {"lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1,
       "no_decay_lr": 5e-3}


def model():
    return tnn.Sequential(tnn.Linear(4, 8), tnn.LayerNorm(8), tnn.GELU(),
                          tnn.Linear(8, 3))


def adamw():
    torch.manual_seed(7)
    m = model()
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": CFG["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0, "lr": CFG["no_decay_lr"]}],
        lr=CFG["lr"], betas=tuple(CFG["betas"]), eps=CFG["eps"])
    x, y = torch.randn(5, 4), torch.randn(5, 3)
    tensors = {f"step0.{n}": p.detach().clone() for n, p in m.named_parameters()}
    for step in range(1, 4):
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        for n, p in m.named_parameters():
            tensors[f"step{step}.grad.{n}"] = p.grad.detach().clone()
        opt.step()
        for n, p in m.named_parameters():
            tensors[f"step{step}.{n}"] = p.detach().clone()
    save(os.path.join(OUT, "adamw.safetensors"), tensors,
         {"config": json.dumps(CFG, sort_keys=True),
          "generator": "tools/golden/optim.py", "torch": torch.__version__})


def clip():
    torch.manual_seed(8)
    m = model()
    x = torch.randn(5, 4)
    (m(x) ** 2).sum().backward()
    tensors = {f"grad.{n}": p.grad.detach().clone() for n, p in m.named_parameters()}
    max_norm = 0.5
    total = tnn.utils.clip_grad_norm_(m.parameters(), max_norm)
    assert total > max_norm, "fixture must exercise the clipping branch"
    for n, p in m.named_parameters():
        tensors[f"clipped.{n}"] = p.grad.detach().clone()
    tensors["total_norm"] = total.reshape(1)
    save(os.path.join(OUT, "clip.safetensors"), tensors,
         {"max_norm": max_norm, "generator": "tools/golden/optim.py",
          "torch": torch.__version__})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    adamw()
    clip()
