"""Golden fixtures for `attn train`'s reproducibility mode (issue 12, item 6).

Run from the repository root:

    /usr/bin/python3 tools/golden/train_gpt2.py

Writes testdata/train/{gpt2,bert-mlm,marian}/: config.json +
model.safetensors (tiny random models, weights ~ N(0, 0.2) as
tools/golden/models.py makes them), inputs.safetensors (steps.input_ids
[S, B, T] and steps.labels [S, B, T'], some labels -100) and
expected.safetensors:

  loss.s            the loss on batch s with the parameters after s updates
  loss              loss.0
  grad.<name>       the step-0 gradient of every parameter (HF names and
                    layouts; the tied wte holds both of its uses)
  after_step.<name> the parameters after the first AdamW update

The models are models.py's plain-torch mirrors of transformers'
modeling_{gpt2,bert,marian}.py; the loss is what the head computes with
labels= (CrossEntropyLoss, mean, ignore_index -100):
  gpt2     GPT2LMHeadModel: logits[..., :-1, :] against labels[..., 1:]
  bert-mlm BertForMaskedLM: logits against labels (-100 where not masked)
  marian   MarianMTModel: decoder_input_ids = shift_tokens_right(labels,
           pad_token_id, decoder_start_token_id), logits against labels
The optimizer is torch.optim.AdamW over model.parameters() with the
hyper-parameters in HYPER (also in the metadata), as
`attn train --lr ... --dump` takes them. Parameters transformers does not
train (Marian's sinusoidal tables, final_logits_bias, a buffer there) get
no gradient and are neither dumped nor updated.
"""
import os

import torch
import torch.nn.functional as F

from models import (BertForMaskedLM, GPT2LMHeadModel, Seq2SeqLM, bert_config, gpt2_config, marian_config,
                    randomize, save, save_checkpoint, sinusoidal_table)

OUT = "testdata/train"
S, B, T = 20, 2, 8
HYPER = {"lr": 3e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}


def causal_loss(logits, labels):
    v = logits.shape[-1]
    return F.cross_entropy(logits[..., :-1, :].reshape(-1, v), labels[..., 1:].reshape(-1), ignore_index=-100)


def flat_loss(logits, labels):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def shift_tokens_right(labels, pad, start):
    out = labels.new_zeros(labels.shape)
    out[:, 1:] = labels[:, :-1].clone()
    out[:, 0] = start
    return out.masked_fill(out == -100, pad)


def gpt2_case(gen):
    cfg = gpt2_config()
    model = GPT2LMHeadModel(cfg)
    randomize(model, gen)
    ids = torch.randint(0, cfg["vocab_size"], (S, B, T), generator=gen)
    labels = ids.clone()
    labels[torch.rand((S, B, T), generator=gen) < 0.2] = -100
    return cfg, model, {"lm_head.weight"}, ids, labels, lambda i, l: causal_loss(model(i)[0], l)


def bert_case(gen):
    cfg = bert_config("BertForMaskedLM")
    model = BertForMaskedLM(cfg)
    randomize(model, gen)
    ids = torch.randint(5, cfg["vocab_size"], (S, B, T), generator=gen)
    masked = torch.rand((S, B, T), generator=gen) < 0.3
    masked[:, :, 1] = True  # every row scores something
    labels = torch.where(masked, ids, torch.full_like(ids, -100))
    ids = torch.where(masked, torch.full_like(ids, 4), ids)  # 4 stands for [MASK]
    ones, zeros = torch.ones(B, T, dtype=torch.long), torch.zeros(B, T, dtype=torch.long)
    return cfg, model, {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}, ids, labels, \
        lambda i, l: flat_loss(model(i, ones, zeros)[0], l)


def marian_case(gen):
    cfg = marian_config()
    model = Seq2SeqLM(cfg)
    randomize(model, gen)
    for stack in (model.model.encoder, model.model.decoder):
        stack.embed_positions.weight.data = sinusoidal_table(cfg["max_position_embeddings"], cfg["d_model"])
    model.final_logits_bias.requires_grad_(False)  # a buffer in transformers
    v = cfg["vocab_size"]
    ids = torch.randint(3, v - 1, (S, B, T), generator=gen)
    labels = torch.randint(3, v - 1, (S, B, T - 2), generator=gen)
    labels[:, 1, -2:] = -100  # a shorter target, padded with -100
    ones = torch.ones(B, T, dtype=torch.long)
    drop = {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight",
            "model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"}
    return cfg, model, drop, ids, labels, lambda i, l: flat_loss(
        model(i, ones, shift_tokens_right(l, cfg["pad_token_id"], cfg["decoder_start_token_id"]))[0], l)


def run_case(name, case, gen):
    cfg, model, drop, ids, labels, loss_fn = case(gen)
    d = os.path.join(OUT, name)
    save_checkpoint(d, model.state_dict(), cfg, drop=drop)
    save(os.path.join(d, "inputs.safetensors"), {"steps.input_ids": ids, "steps.labels": labels}, {"format": "pt"})
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(model.parameters(), lr=HYPER["lr"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            eps=HYPER["eps"], weight_decay=HYPER["weight_decay"])
    exp = {}
    for s in range(S):
        opt.zero_grad()
        loss = loss_fn(ids[s], labels[s])
        loss.backward()
        exp[f"loss.{s}"] = loss.detach().clone()
        if s == 0:
            exp["loss"] = loss.detach().clone()
            for n, p in params:
                exp[f"grad.{n}"] = p.grad.detach().clone()
        opt.step()
        if s == 0:
            for n, p in params:
                exp[f"after_step.{n}"] = p.detach().clone()
    save(os.path.join(d, "expected.safetensors"), exp, {k: str(v) for k, v in HYPER.items()})
    print(name, "losses", [round(exp[f"loss.{s}"].item(), 4) for s in range(S)])


def main():
    torch.manual_seed(0)
    run_case("gpt2", gpt2_case, torch.Generator().manual_seed(12))
    run_case("bert-mlm", bert_case, torch.Generator().manual_seed(13))
    run_case("marian", marian_case, torch.Generator().manual_seed(14))


if __name__ == "__main__":
    main()
