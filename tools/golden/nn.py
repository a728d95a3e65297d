"""Golden fixtures for package nn: torch.nn.MultiheadAttention,
TransformerEncoderLayer, TransformerDecoderLayer and nn.Transformer, with the
gradient of every parameter and input for the scalar loss
sum(output * loss_weight).

Run: /usr/bin/python3 tools/golden/nn.py   (torch 1.13, float32, CPU)
Writes testdata/nn/<case>.safetensors. Names inside each file:
  <state_dict name>          parameters, exactly as torch names them
  grad.<state_dict name>     dLoss/dParameter
  input.<name>               float inputs (query/key/value, src/tgt/memory)
  grad.input.<name>          dLoss/dInput
  mask.key_padding, mask.src_key_padding, ...   I64 0/1, 1 = padding / masked
  mask.attn_float, ...       F32 additive masks
  output                     the module's output [B, T, C]
  output.attn_weights        per-head probabilities [B, NH, Tq, Tk] (MHA only)
  loss_weight                the fixed random weights of the loss
All modules run batch_first=True, in eval mode with dropout 0.
"""
import json
import os

import torch
import torch.nn as tnn

from nn_safetensors import save

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "nn")
B, NH, E, FF = 2, 2, 8, 16


def randomize(module, gen):
    # torch initialises biases to zero and norms to one; random values make
    # every parameter's role visible in the comparison.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or \
                    name.endswith("norm3.weight") or name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))


def leaf(gen, *shape):
    return torch.randn(*shape, generator=gen).requires_grad_(True)


def padding(lengths, t):
    m = torch.zeros(len(lengths), t, dtype=torch.bool)
    for b, n in enumerate(lengths):
        m[b, n:] = True
    return m


def causal_bool(t):
    return torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)


def finish(name, module, inputs, masks, out, extra, config, gen):
    w = torch.randn(out.shape, generator=gen)
    (out * w).sum().backward()
    tensors = {"output": out, "loss_weight": w}
    tensors.update(extra)
    for k, v in module.state_dict().items():
        tensors[k] = v
    for k, p in module.named_parameters():
        tensors["grad." + k] = p.grad
    for k, v in inputs.items():
        tensors["input." + k] = v
        tensors["grad.input." + k] = v.grad
    for k, v in masks.items():
        tensors["mask." + k] = v
    save(os.path.join(OUT, name + ".safetensors"), tensors,
         {"config": json.dumps(config, sort_keys=True),
          "generator": "tools/golden/nn.py", "torch": torch.__version__})
    print(f"{name}: {len(tensors)} tensors")


def mha_cases():
    # self-attention, per-head weights, no masks
    gen = torch.Generator().manual_seed(1)
    m = tnn.MultiheadAttention(E, NH, batch_first=True)
    randomize(m, gen)
    m.eval()
    x = leaf(gen, B, 4, E)
    out, wts = m(x, x, x, need_weights=True, average_attn_weights=False)
    finish("mha_self", m, {"x": x}, {}, out, {"output.attn_weights": wts},
           {"embed_dim": E, "num_heads": NH}, gen)

    # self-attention with key_padding_mask and a bool causal attn_mask
    gen = torch.Generator().manual_seed(2)
    m = tnn.MultiheadAttention(E, NH, batch_first=True)
    randomize(m, gen)
    m.eval()
    x = leaf(gen, B, 5, E)
    kpm, am = padding([5, 3], 5), causal_bool(5)
    out, wts = m(x, x, x, key_padding_mask=kpm, attn_mask=am,
                 need_weights=True, average_attn_weights=False)
    finish("mha_masks_bool", m, {"x": x}, {"key_padding": kpm, "attn_bool": am},
           out, {"output.attn_weights": wts}, {"embed_dim": E, "num_heads": NH}, gen)

    # separate query/key/value tensors, float 2D attn_mask and key padding
    gen = torch.Generator().manual_seed(3)
    m = tnn.MultiheadAttention(E, NH, batch_first=True)
    randomize(m, gen)
    m.eval()
    q, k, v = leaf(gen, B, 3, E), leaf(gen, B, 4, E), leaf(gen, B, 4, E)
    am = torch.randn(3, 4, generator=gen)
    am[0, 2] = float("-inf")
    kpm = padding([4, 2], 4)
    out, wts = m(q, k, v, key_padding_mask=kpm, attn_mask=am,
                 need_weights=True, average_attn_weights=False)
    finish("mha_masks_float", m, {"query": q, "key": k, "value": v},
           {"key_padding": kpm, "attn_float": am}, out,
           {"output.attn_weights": wts}, {"embed_dim": E, "num_heads": NH}, gen)

    # 3D float attn_mask [B*NH, Tq, Tk]: a different mask per batch and head
    gen = torch.Generator().manual_seed(4)
    m = tnn.MultiheadAttention(E, NH, batch_first=True)
    randomize(m, gen)
    m.eval()
    x = leaf(gen, B, 4, E)
    am = torch.randn(B * NH, 4, 4, generator=gen)
    out, wts = m(x, x, x, attn_mask=am, need_weights=True, average_attn_weights=False)
    finish("mha_mask3d", m, {"x": x}, {"attn_float": am}, out,
           {"output.attn_weights": wts}, {"embed_dim": E, "num_heads": NH}, gen)

    # cross-attention with kdim/vdim != embed_dim (separate projection weights)
    gen = torch.Generator().manual_seed(5)
    m = tnn.MultiheadAttention(E, NH, batch_first=True, kdim=6, vdim=4)
    randomize(m, gen)
    m.eval()
    q, k, v = leaf(gen, B, 3, E), leaf(gen, B, 5, 6), leaf(gen, B, 5, 4)
    kpm = padding([5, 4], 5)
    out, wts = m(q, k, v, key_padding_mask=kpm, need_weights=True,
                 average_attn_weights=False)
    finish("mha_cross_kvdim", m, {"query": q, "key": k, "value": v},
           {"key_padding": kpm}, out, {"output.attn_weights": wts},
           {"embed_dim": E, "num_heads": NH, "kdim": 6, "vdim": 4}, gen)


def layer_cases():
    for seed, (norm_first, act) in enumerate(
            [(False, "relu"), (True, "relu"), (False, "gelu"), (True, "gelu")]):
        tag = ("pre" if norm_first else "post") + "_" + act
        cfg = {"d_model": E, "nhead": NH, "dim_feedforward": FF,
               "activation": act, "norm_first": norm_first, "layer_norm_eps": 1e-5}

        gen = torch.Generator().manual_seed(100 + seed)
        m = tnn.TransformerEncoderLayer(E, NH, FF, dropout=0.0, activation=act,
                                        batch_first=True, norm_first=norm_first)
        randomize(m, gen)
        m.eval()
        src = leaf(gen, B, 4, E)
        kpm = padding([4, 3], 4)
        am = torch.randn(4, 4, generator=gen)
        out = m(src, src_mask=am, src_key_padding_mask=kpm)
        finish("encoder_layer_" + tag, m, {"src": src},
               {"src_key_padding": kpm, "src_attn_float": am}, out, {}, cfg, gen)

        gen = torch.Generator().manual_seed(200 + seed)
        m = tnn.TransformerDecoderLayer(E, NH, FF, dropout=0.0, activation=act,
                                        batch_first=True, norm_first=norm_first)
        randomize(m, gen)
        m.eval()
        tgt, mem = leaf(gen, B, 3, E), leaf(gen, B, 5, E)
        tkpm, mkpm = padding([3, 2], 3), padding([5, 4], 5)
        out = m(tgt, mem, tgt_mask=causal_bool(3), tgt_key_padding_mask=tkpm,
                memory_key_padding_mask=mkpm)
        finish("decoder_layer_" + tag, m, {"tgt": tgt, "memory": mem},
               {"tgt_attn_bool": causal_bool(3), "tgt_key_padding": tkpm,
                "memory_key_padding": mkpm}, out, {}, cfg, gen)


def transformer_case():
    gen = torch.Generator().manual_seed(300)
    m = tnn.Transformer(d_model=E, nhead=NH, num_encoder_layers=2,
                        num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
                        batch_first=True)
    randomize(m, gen)
    m.eval()
    src, tgt = leaf(gen, B, 5, E), leaf(gen, B, 4, E)
    skpm, tkpm = padding([5, 3], 5), padding([4, 3], 4)
    tmask = m.generate_square_subsequent_mask(4)  # float: 0 / -inf
    out = m(src, tgt, tgt_mask=tmask, src_key_padding_mask=skpm,
            tgt_key_padding_mask=tkpm, memory_key_padding_mask=skpm)
    cfg = {"d_model": E, "nhead": NH, "num_encoder_layers": 2,
           "num_decoder_layers": 2, "dim_feedforward": FF, "activation": "relu",
           "norm_first": False, "layer_norm_eps": 1e-5}
    finish("transformer", m, {"src": src, "tgt": tgt},
           {"src_key_padding": skpm, "tgt_key_padding": tkpm,
            "memory_key_padding": skpm, "tgt_attn_float": tmask}, out, {}, cfg, gen)


if __name__ == "__main__":
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    mha_cases()
    layer_cases()
    transformer_case()
