"""Golden fixtures for `attn train`'s reproducibility mode (issue 12, item 6).

Run from the repository root:

    /usr/bin/python3 tools/golden/train_gpt2.py

Writes testdata/train/gpt2/: config.json + model.safetensors (a tiny random
GPT-2, weights ~ N(0, 0.2) as tools/golden/models.py makes them),
inputs.safetensors (steps.input_ids and steps.labels, I64 [S, B, T], some
labels -100) and expected.safetensors:

  loss.s            the loss on batch s with the parameters after s updates
  loss              loss.0
  grad.<name>       the step-0 gradient of every parameter (HF names and
                    layouts; the tied wte holds both of its uses)
  after_step.<name> the parameters after the first AdamW update

The model is models.py's GPT2LMHeadModel (a plain-torch mirror of
transformers' modeling_gpt2.py); the loss is what GPT2LMHeadModel(labels=)
computes: logits[..., :-1, :] against labels[..., 1:], CrossEntropyLoss
(mean, ignore_index -100). The optimizer is torch.optim.AdamW over
model.parameters() with the hyper-parameters in HYPER (also in the
metadata), as `attn train --lr ... --dump` takes them.
"""
import os

import torch
import torch.nn.functional as F

from models import GPT2LMHeadModel, gpt2_config, randomize, save, save_checkpoint

OUT = "testdata/train/gpt2"
S, B, T = 20, 2, 8
HYPER = {"lr": 3e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}


def lm_loss(logits, labels):
    v = logits.shape[-1]
    return F.cross_entropy(logits[..., :-1, :].reshape(-1, v), labels[..., 1:].reshape(-1), ignore_index=-100)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(12)
    cfg = gpt2_config()
    model = GPT2LMHeadModel(cfg)
    randomize(model, gen)
    save_checkpoint(OUT, model.state_dict(), cfg, drop={"lm_head.weight"})

    ids = torch.randint(0, cfg["vocab_size"], (S, B, T), generator=gen)
    labels = ids.clone()
    drop = torch.rand((S, B, T), generator=gen) < 0.2
    labels[drop] = -100
    save(os.path.join(OUT, "inputs.safetensors"), {"steps.input_ids": ids, "steps.labels": labels}, {"format": "pt"})

    opt = torch.optim.AdamW(model.parameters(), lr=HYPER["lr"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            eps=HYPER["eps"], weight_decay=HYPER["weight_decay"])
    exp = {}
    for s in range(S):
        opt.zero_grad()
        logits = model(ids[s])[0]
        loss = lm_loss(logits, labels[s])
        loss.backward()
        exp[f"loss.{s}"] = loss.detach().clone()
        if s == 0:
            exp["loss"] = loss.detach().clone()
            for n, p in model.named_parameters():
                exp[f"grad.{n}"] = p.grad.detach().clone()
        opt.step()
        if s == 0:
            for n, p in model.named_parameters():
                exp[f"after_step.{n}"] = p.detach().clone()
    save(os.path.join(OUT, "expected.safetensors"), exp, {k: str(v) for k, v in HYPER.items()})
    print("losses", [round(exp[f"loss.{s}"].item(), 5) for s in range(S)])


if __name__ == "__main__":
    main()
