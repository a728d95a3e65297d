"""PyTorch references for the Hugging Face architectures attn loads.

Run from the repository root:

    /usr/bin/python3 tools/golden/models.py

It writes testdata/models/<name>/ for gpt2, gpt2-hub-layout, bert-mlm,
bert-cls, vit, marian and bart, and testdata/models/real/<name>/ (inputs and
outputs only) for the real checkpoints in ../shared/data (see
testdata/models/README.md). transformers
is not installed here, so each model is re-implemented in plain torch,
mirroring transformers' modeling_{gpt2,bert,vit,marian,bart}.py (v4.36 eager
attention): the module tree reproduces the parameter names, the forward
reproduces the arithmetic order (where the mask is added, when q is scaled,
which hidden states are collected), all in float32. Weights are random with
std 0.2 so that a wrong transpose or a missing bias shows up far above the
1e-4 tolerance.

The GPT-2 code is checked against the real hf-internal-testing/tiny-random-gpt2
checkpoint when ../shared/data holds it (greedy continuation known upstream).
"""
import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from nn_safetensors import load as read_safetensors

OUT = "testdata/models"
STD = 0.2
MIN = torch.finfo(torch.float32).min
TRANSFORMERS_VERSION = "4.36.2"

ACT = {
    "gelu": lambda x: F.gelu(x),  # exact erf form
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "relu": F.relu,
    "swish": F.silu,
    "silu": F.silu,
}


def save(path, tensors, metadata):
    """Write a safetensors file the way the Hugging Face writer lays it out:
    tensors ordered by decreasing element size, then by name; the header
    padded with spaces to a multiple of 8. Keeps 0-d tensors 0-d."""
    kinds = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in order:
        t = tensors[name].detach().contiguous()
        dtype, np_dtype = kinds[t.dtype]
        raw = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hdr = json.dumps(header, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)) + hdr + b"".join(blobs))


def randomize(model, gen):
    """Every parameter and float buffer ~ N(0, 0.2); LayerNorm weights 1 + N(0, 0.2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen) * STD
            if isinstance(_owner(model, name), nn.LayerNorm) and name.endswith("weight"):
                noise += 1.0
            p.copy_(noise)


def _owner(model, name):
    mod = model
    for part in name.split(".")[:-1]:
        mod = getattr(mod, part)
    return mod


def save_checkpoint(dirname, state, config, drop=()):
    """Write config.json and model.safetensors as save_pretrained does: tied
    (dropped) names removed, metadata {"format": "pt"}."""
    os.makedirs(dirname, exist_ok=True)
    tensors = {k: v.detach().float().contiguous() for k, v in state.items() if k not in drop}
    save(os.path.join(dirname, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    return tensors


GENERATION_KEYS = ("bos_token_id", "decoder_start_token_id", "eos_token_id", "forced_eos_token_id", "pad_token_id")


def save_generation_config(dirname, cfg):
    """generation_config.json as save_pretrained writes it for generative
    models: the token ids generation needs, copied from the config."""
    gc = {k: cfg[k] for k in GENERATION_KEYS if cfg.get(k) is not None}
    gc["transformers_version"] = TRANSFORMERS_VERSION
    with open(os.path.join(dirname, "generation_config.json"), "w") as f:
        json.dump(gc, f, indent=2, sort_keys=True)
        f.write("\n")


def save_io(dirname, inputs, outputs):
    save(os.path.join(dirname, "inputs.safetensors"), inputs, {"format": "pt"})
    save(os.path.join(dirname, "outputs.safetensors"), outputs, {"format": "pt"})


def tuple_outputs(prefix, states):
    return {f"{prefix}.{i}": s for i, s in enumerate(states)}


def base_config(model_type, arch, extra):
    cfg = {
        "model_type": model_type,
        "architectures": [arch],
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
    }
    cfg.update(extra)
    return cfg


def labels(n):
    return ({str(i): f"LABEL_{i}" for i in range(n)}, {f"LABEL_{i}": i for i in range(n)})


def padding_mask_4d(mask, tq):
    """transformers' _prepare_4d_attention_mask / get_extended_attention_mask:
    [B,Tk] of 1/0 -> [B,1,Tq,Tk] additive, 0 where kept, float32 min where padded."""
    m = mask[:, None, None, :].to(torch.float32).expand(mask.shape[0], 1, tq, mask.shape[1])
    return (1.0 - m) * MIN


def causal_mask_4d(b, t):
    """_make_causal_mask: [B,1,T,T], 0 on and below the diagonal, float32 min above."""
    m = torch.full((t, t), MIN)
    cond = torch.arange(t)
    m.masked_fill_(cond < (cond + 1).view(t, 1), 0.0)
    return m[None, None].expand(b, 1, t, t)


# ----------------------------------------------------------------------------
# GPT-2 (modeling_gpt2.py)


class Conv1D(nn.Module):
    """y = x @ W + b with W stored [in, out] (the GPT-2 quirk)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class GPT2Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n = cfg["n_positions"]
        self.register_buffer("bias", torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n), persistent=False)
        self.nh = cfg["n_head"]
        self.c_attn = Conv1D(3 * cfg["n_embd"], cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], cfg["n_embd"])

    def forward(self, x, mask):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.nh, c // self.nh).permute(0, 2, 1, 3) for z in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2))
        w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        causal = self.bias[:, :, 0:t, :t]
        w = torch.where(causal, w, torch.full([], MIN, dtype=w.dtype))
        if mask is not None:
            w = w + mask
        w = F.softmax(w, dim=-1)
        y = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(b, t, c)
        return self.c_proj(y), w


class GPT2MLP(nn.Module):
    def __init__(self, inner, cfg):
        super().__init__()
        self.c_fc = Conv1D(inner, cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], inner)
        self.act = ACT[cfg["activation_function"]]

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(c, eps=eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = nn.LayerNorm(c, eps=eps)
        self.mlp = GPT2MLP(cfg["n_inner"] or 4 * c, cfg)

    def forward(self, x, mask):
        a, w = self.attn(self.ln_1(x), mask)
        x = a + x
        return x + self.mlp(self.ln_2(x)), w


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask=None):
        b, t = input_ids.shape
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        mask = None
        if attention_mask is not None:
            mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * MIN
        x = self.wte(input_ids) + self.wpe(pos)
        hidden, attns = [], []
        for block in self.h:
            hidden.append(x)
            x, w = block(x, mask)
            attns.append(w)
        x = self.ln_f(x)
        hidden.append(x)
        return x, hidden, attns


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transformer = GPT2Model(cfg)
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, input_ids, attention_mask=None):
        x, hidden, attns = self.transformer(input_ids, attention_mask)
        return self.lm_head(x), x, hidden, attns


# ----------------------------------------------------------------------------
# BERT (modeling_bert.py)


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=cfg["layer_norm_eps"])

    def forward(self, input_ids, token_type_ids):
        pos = torch.arange(input_ids.shape[1]).unsqueeze(0)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(pos)
        return self.LayerNorm(e)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg, bias=True):
        super().__init__()
        h = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.query = nn.Linear(h, h, bias=bias)
        self.key = nn.Linear(h, h, bias=bias)
        self.value = nn.Linear(h, h, bias=bias)

    def forward(self, x, mask):
        b, t, c = x.shape
        hs = c // self.nh
        q, k, v = (z(x).view(b, t, self.nh, hs).permute(0, 2, 1, 3) for z in (self.query, self.key, self.value))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hs)
        if mask is not None:
            s = s + mask
        p = F.softmax(s, dim=-1)
        y = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous().view(b, t, c)
        return y, p


class BertAddNorm(nn.Module):
    """BertSelfOutput (n_in = hidden) and BertOutput (n_in = intermediate):
    LayerNorm(dense(y) + x)."""

    def __init__(self, cfg, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, y, x):
        return self.LayerNorm(self.dense(y) + x)


class BertAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertAddNorm(cfg, cfg["hidden_size"])

    def forward(self, x, mask):
        y, p = self.self(x, mask)
        return self.output(y, x), p


class Dense(nn.Module):
    """The Intermediate blocks of BERT and ViT: act(dense(x))."""

    def __init__(self, n_in, n_out, act):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.act = ACT[act]

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = Dense(cfg["hidden_size"], cfg["intermediate_size"], cfg["hidden_act"])
        self.output = BertAddNorm(cfg, cfg["intermediate_size"])

    def forward(self, x, mask):
        a, p = self.attention(x, mask)
        return self.output(self.intermediate(a), a), p


class Encoder(nn.Module):
    """BertEncoder / ViTEncoder: a `layer` list; hidden states collected
    before every layer and once after the last."""

    def __init__(self, layers):
        super().__init__()
        self.layer = nn.ModuleList(layers)

    def forward(self, x, mask):
        hidden, attns = [], []
        for lyr in self.layer:
            hidden.append(x)
            x, p = lyr(x, mask)
            attns.append(p)
        hidden.append(x)
        return x, hidden, attns


class BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, cfg, pooler):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = Encoder([BertLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.pooler = BertPooler(cfg) if pooler else None

    def forward(self, input_ids, attention_mask, token_type_ids):
        mask = padding_mask_4d(attention_mask, input_ids.shape[1])[:, :, :1, :]  # [B,1,1,T] as BERT builds it
        x, hidden, attns = self.encoder(self.embeddings(input_ids, token_type_ids), mask)
        pooled = self.pooler(x) if self.pooler is not None else None
        return x, pooled, hidden, attns


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.act = ACT[cfg["hidden_act"]]
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg)
        self.decoder = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
        self.decoder.bias = self.bias

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg)


class BertForMaskedLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, pooler=False)
        self.cls = BertOnlyMLMHead(cfg)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, input_ids, attention_mask, token_type_ids):
        x, _, hidden, attns = self.bert(input_ids, attention_mask, token_type_ids)
        return self.cls.predictions(x), x, None, hidden, attns


class BertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, pooler=True)
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, input_ids, attention_mask, token_type_ids):
        x, pooled, hidden, attns = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(pooled), x, pooled, hidden, attns


# ----------------------------------------------------------------------------
# ViT (modeling_vit.py)


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        p = cfg["patch_size"]
        self.projection = nn.Conv2d(cfg["num_channels"], cfg["hidden_size"], kernel_size=p, stride=p)

    def forward(self, pixels):
        return self.projection(pixels).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        n = (cfg["image_size"] // cfg["patch_size"]) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, h))
        self.patch_embeddings = ViTPatchEmbeddings(cfg)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n + 1, h))

    def forward(self, pixels):
        x = self.patch_embeddings(pixels)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        return x + self.position_embeddings


class ViTSelfOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, y):
        return self.dense(y)


class ViTAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertSelfAttention(cfg, bias=cfg["qkv_bias"])
        self.output = ViTSelfOutput(cfg)

    def forward(self, x):
        y, p = self.attention(x, None)
        return self.output(y), p


class ViTOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])

    def forward(self, y, x):
        return self.dense(y) + x


class ViTLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.attention = ViTAttention(cfg)
        self.intermediate = Dense(h, cfg["intermediate_size"], cfg["hidden_act"])
        self.output = ViTOutput(cfg)
        self.layernorm_before = nn.LayerNorm(h, eps=eps)
        self.layernorm_after = nn.LayerNorm(h, eps=eps)

    def forward(self, x, _mask):
        a, p = self.attention(self.layernorm_before(x))
        x = a + x
        return self.output(self.intermediate(self.layernorm_after(x)), x), p


class ViTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = ViTEmbeddings(cfg)
        self.encoder = Encoder([ViTLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.layernorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, pixels):
        x, hidden, attns = self.encoder(self.embeddings(pixels), None)
        return self.layernorm(x), hidden, attns


class ViTForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.vit = ViTModel(cfg)  # add_pooling_layer=False: no pooler weights
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, pixel_values):
        x, hidden, attns = self.vit(pixel_values)
        return self.classifier(x[:, 0, :]), x, hidden, attns


# ----------------------------------------------------------------------------
# Marian and BART (modeling_marian.py, modeling_bart.py): one post-norm
# encoder-decoder, differing in positions, embedding scale and
# layernorm_embedding.


class Seq2SeqAttention(nn.Module):
    """BartAttention / MarianAttention: q is scaled by HS^-0.5 before q·k."""

    def __init__(self, d, nh):
        super().__init__()
        self.nh = nh
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.q_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, kv, mask):
        b, tq, d = x.shape
        tk = kv.shape[1]
        hs = d // self.nh
        q = (self.q_proj(x) * hs**-0.5).view(b, tq, self.nh, hs).transpose(1, 2).reshape(b * self.nh, tq, hs)
        k = self.k_proj(kv).view(b, tk, self.nh, hs).transpose(1, 2).reshape(b * self.nh, tk, hs)
        v = self.v_proj(kv).view(b, tk, self.nh, hs).transpose(1, 2).reshape(b * self.nh, tk, hs)
        w = torch.bmm(q, k.transpose(1, 2)).view(b, self.nh, tq, tk) + mask
        w = F.softmax(w.view(b * self.nh, tq, tk), dim=-1)
        y = torch.bmm(w, v).view(b, self.nh, tq, hs).transpose(1, 2).reshape(b, tq, d)
        return self.out_proj(y), w.view(b, self.nh, tq, tk)


class EncoderLayer(nn.Module):
    def __init__(self, d, nh, ffn, act):
        super().__init__()
        self.self_attn = Seq2SeqAttention(d, nh)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = ACT[act]

    def forward(self, x, mask):
        a, w = self.self_attn(x, x, mask)
        x = self.self_attn_layer_norm(x + a)
        x = self.final_layer_norm(x + self.fc2(self.act(self.fc1(x))))
        return x, w


class DecoderLayer(nn.Module):
    def __init__(self, d, nh, ffn, act):
        super().__init__()
        self.self_attn = Seq2SeqAttention(d, nh)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = Seq2SeqAttention(d, nh)
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = ACT[act]

    def forward(self, x, self_mask, enc, cross_mask):
        a, w = self.self_attn(x, x, self_mask)
        x = self.self_attn_layer_norm(x + a)
        c = None
        if enc is not None:  # decoder-only (ForCausalLM) skips cross attention
            a, c = self.encoder_attn(x, enc, cross_mask)
            x = self.encoder_attn_layer_norm(x + a)
        x = self.final_layer_norm(x + self.fc2(self.act(self.fc1(x))))
        return x, w, c


def sinusoidal_table(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding._init_weight: computed in float64,
    sin of the even columns in [0, dim/2), cos of the odd ones after."""
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = torch.empty(n_pos, dim)
    half = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out[:, 0:half] = torch.FloatTensor(np.sin(enc[:, 0::2]))
    out[:, half:] = torch.FloatTensor(np.cos(enc[:, 1::2]))
    return out


class Positions(nn.Module):
    """Marian: fixed sinusoidal table (a parameter HF does not save).
    BART: learned table with 2 extra rows, looked up at position + 2."""

    def __init__(self, kind, n_pos, d):
        super().__init__()
        self.kind = kind
        if kind == "sinusoidal":
            self.weight = nn.Parameter(sinusoidal_table(n_pos, d), requires_grad=False)
            self.offset = 0
        else:
            self.weight = nn.Parameter(torch.empty(n_pos + 2, d))
            self.offset = 2

    def forward(self, t):
        return F.embedding(torch.arange(t) + self.offset, self.weight)


class Stack(nn.Module):
    """MarianEncoder/Decoder and BartEncoder/Decoder."""

    def __init__(self, cfg, decoder, shared):
        super().__init__()
        d = cfg["d_model"]
        side = "decoder" if decoder else "encoder"
        self.embed_tokens = shared if shared is not None else nn.Embedding(cfg["vocab_size"], d)
        self.embed_scale = math.sqrt(d) if cfg["scale_embedding"] else 1.0
        kind = "sinusoidal" if cfg["model_type"] == "marian" else "learned"
        self.embed_positions = Positions(kind, cfg["max_position_embeddings"], d)
        layer = DecoderLayer if decoder else EncoderLayer
        self.layers = nn.ModuleList(
            layer(d, cfg[f"{side}_attention_heads"], cfg[f"{side}_ffn_dim"], cfg["activation_function"])
            for _ in range(cfg[f"{side}_layers"]))
        if cfg["model_type"] == "bart":
            self.layernorm_embedding = nn.LayerNorm(d)

    def embed(self, ids):
        x = self.embed_tokens(ids) * self.embed_scale
        x = x + self.embed_positions(ids.shape[1])
        if hasattr(self, "layernorm_embedding"):
            x = self.layernorm_embedding(x)
        return x

    def encode(self, ids, mask):
        x = self.embed(ids)
        m = padding_mask_4d(mask, ids.shape[1])
        hidden, attns = [], []
        for lyr in self.layers:
            hidden.append(x)
            x, w = lyr(x, m)
            attns.append(w)
        hidden.append(x)
        return x, hidden, attns

    def decode(self, ids, enc, enc_mask, mask=None):
        b, t = ids.shape
        x = self.embed(ids)
        self_mask = causal_mask_4d(b, t)
        if mask is not None:  # AttentionMaskConverter: min wherever causal or padding masks
            self_mask = self_mask.masked_fill(padding_mask_4d(mask, t) != 0, MIN)
        cross_mask = padding_mask_4d(enc_mask, t) if enc is not None else None
        hidden, attns, cross = [], [], []
        for lyr in self.layers:
            hidden.append(x)
            x, w, c = lyr(x, self_mask, enc, cross_mask)
            attns.append(w)
            cross.append(c)
        hidden.append(x)
        return x, hidden, attns, cross


class Seq2SeqModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"], cfg["pad_token_id"])
        self.encoder = Stack(cfg, False, self.shared)
        self.decoder = Stack(cfg, True, self.shared)


class Seq2SeqLM(nn.Module):
    """MarianMTModel / BartForConditionalGeneration."""

    def __init__(self, cfg):
        super().__init__()
        self.model = Seq2SeqModel(cfg)
        self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)
        self.lm_head.weight = self.model.shared.weight
        self.final_logits_bias = nn.Parameter(torch.zeros(1, cfg["vocab_size"]))  # a buffer in HF

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        enc, enc_hidden, enc_attns = self.model.encoder.encode(input_ids, attention_mask)
        dec, dec_hidden, dec_attns, cross = self.model.decoder.decode(decoder_input_ids, enc, attention_mask)
        logits = self.lm_head(dec) + self.final_logits_bias
        return logits, enc, enc_hidden, enc_attns, dec, dec_hidden, dec_attns, cross


class BartDecoderOnly(nn.Module):
    """The `model` of BartForCausalLM: a BartDecoder wrapper."""

    def __init__(self, cfg):
        super().__init__()
        self.decoder = Stack(cfg, True, None)


class BartForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = BartDecoderOnly(cfg)
        self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)
        self.lm_head.weight = self.model.decoder.embed_tokens.weight

    def forward(self, input_ids, attention_mask):
        x, hidden, attns, _ = self.model.decoder.decode(input_ids, None, None, attention_mask)
        return self.lm_head(x), hidden, attns


class BertLMHeadModel(nn.Module):
    """BertLMHeadModel with is_decoder false (as bert-tiniest-lmbuddy's
    config leaves it): a bidirectional BertModel without pooler + the MLM head."""

    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, pooler=False)
        self.cls = BertOnlyMLMHead(cfg)


# ----------------------------------------------------------------------------
# Configs (the keys save_pretrained writes for each architecture in 4.36)


def gpt2_config():
    return base_config("gpt2", "GPT2LMHeadModel", {
        "activation_function": "gelu_new", "attn_pdrop": 0.1, "bos_token_id": 63, "embd_pdrop": 0.1,
        "eos_token_id": 63, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "n_ctx": 32,
        "n_embd": 32, "n_head": 4, "n_inner": None, "n_layer": 2, "n_positions": 32,
        "reorder_and_upcast_attn": False, "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True, "summary_activation": None, "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
        "use_cache": True, "vocab_size": 64,
    })


def bert_config(arch, n_labels=None):
    cfg = base_config("bert", arch, {
        "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 40,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 24, "num_attention_heads": 4,
        "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
        "type_vocab_size": 2, "use_cache": True, "vocab_size": 60,
    })
    if n_labels:
        cfg["id2label"], cfg["label2id"] = labels(n_labels)
    return cfg


def vit_config():
    cfg = base_config("vit", "ViTForImageClassification", {
        "attention_probs_dropout_prob": 0.0, "encoder_stride": 4, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "hidden_size": 24, "image_size": 16, "initializer_range": 0.02,
        "intermediate_size": 40, "layer_norm_eps": 1e-12, "num_attention_heads": 3, "num_channels": 3,
        "num_hidden_layers": 2, "patch_size": 4, "qkv_bias": True,
    })
    cfg["id2label"], cfg["label2id"] = labels(5)
    return cfg


def marian_config():
    return base_config("marian", "MarianMTModel", {
        "activation_dropout": 0.0, "activation_function": "swish", "attention_dropout": 0.0,
        "bos_token_id": 0, "d_model": 32, "decoder_attention_heads": 2, "decoder_ffn_dim": 40,
        "decoder_layerdrop": 0.0, "decoder_layers": 1, "decoder_start_token_id": 63,
        "decoder_vocab_size": 64, "dropout": 0.1, "encoder_attention_heads": 4, "encoder_ffn_dim": 48,
        "encoder_layerdrop": 0.0, "encoder_layers": 2, "eos_token_id": 0, "forced_eos_token_id": 0,
        "init_std": 0.02, "is_encoder_decoder": True, "max_position_embeddings": 32,
        "num_hidden_layers": 2, "pad_token_id": 63, "scale_embedding": True,
        "share_encoder_decoder_embeddings": True, "use_cache": True,
        "vocab_size": 64,
    })


def bart_config():
    cfg = base_config("bart", "BartForConditionalGeneration", {
        "activation_dropout": 0.0, "activation_function": "gelu", "attention_dropout": 0.0,
        "bos_token_id": 0, "classifier_dropout": 0.0, "d_model": 32, "decoder_attention_heads": 2,
        "decoder_ffn_dim": 48, "decoder_layerdrop": 0.0, "decoder_layers": 2,
        "decoder_start_token_id": 2, "dropout": 0.1, "encoder_attention_heads": 4,
        "encoder_ffn_dim": 40, "encoder_layerdrop": 0.0, "encoder_layers": 1, "eos_token_id": 2,
        "forced_eos_token_id": 2, "init_std": 0.02, "is_encoder_decoder": True,
        "max_position_embeddings": 32, "num_hidden_layers": 1, "pad_token_id": 1, "scale_embedding": False, "use_cache": True,
        "vocab_size": 64,
    })
    cfg["id2label"], cfg["label2id"] = labels(3)
    return cfg


# ----------------------------------------------------------------------------
# Greedy generation: full forward each step (no cache), plain argmax, no stop
# condition. The smallest top-1/top-2 logit gap is recorded so a test knows
# how robust the expected ids are.


def greedy_decoder_only(model, prompt, steps):
    ids = torch.tensor([prompt])
    new, gap = [], float("inf")
    for _ in range(steps):
        logits = model(ids)[0][0, -1]
        top = torch.topk(logits, 2).values
        gap = min(gap, float(top[0] - top[1]))
        nxt = int(torch.argmax(logits))
        new.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return new, gap


def greedy_seq2seq(model, src, start, steps):
    ids = torch.tensor([src])
    mask = torch.ones_like(ids)
    dec = [start]
    gap = float("inf")
    for _ in range(steps):
        logits = model(ids, mask, torch.tensor([dec]))[0][0, -1]
        top = torch.topk(logits, 2).values
        gap = min(gap, float(top[0] - top[1]))
        dec.append(int(torch.argmax(logits)))
    return dec[1:], gap


def pick_prompt(gen, vocab, length, run, tries=40, min_gap=0.01):
    """Random tiny models tend to repeat one token; of `tries` random prompts
    (ids in [3, vocab)) keep the one whose greedy continuation has the most
    distinct ids, among those whose top-2 logit gap stays >= min_gap."""
    best = None
    for _ in range(tries):
        p = [int(x) for x in torch.randint(3, vocab, (length,), generator=gen)]
        new, gap = run(p)
        score = len(set(new))
        if gap >= min_gap and (best is None or score > best[0]):
            best = (score, p, new, gap)
    if best is None:
        raise SystemExit("no prompt with a clear greedy margin")
    return best[1:]


def write_generation(dirname, record):
    with open(os.path.join(dirname, "generation.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


# ----------------------------------------------------------------------------


def gen_gpt2(gen):
    cfg = gpt2_config()
    model = GPT2LMHeadModel(cfg)
    randomize(model, gen)
    d = os.path.join(OUT, "gpt2")
    state = model.state_dict()
    save_checkpoint(d, state, cfg, drop={"lm_head.weight"})
    save_generation_config(d, cfg)

    # The original Hub layout: no "transformer." prefix, the causal bias and
    # masked_bias buffers saved, lm_head absent.
    old = {k[len("transformer."):]: v for k, v in state.items() if k.startswith("transformer.")}
    n = cfg["n_positions"]
    for i in range(cfg["n_layer"]):
        old[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        old[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_checkpoint(os.path.join(OUT, "gpt2-hub-layout"), old, cfg)

    ids = torch.randint(0, cfg["vocab_size"], (2, 8), generator=gen)
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 5:] = 0  # right padding: every query row keeps a real key
    logits, last, hidden, attns = model(ids, mask)
    out = {"logits": logits, "last_hidden_state": last}
    out.update(tuple_outputs("hidden_states", hidden))
    out.update(tuple_outputs("attentions", attns))
    save_io(d, {"input_ids": ids, "attention_mask": mask}, out)

    prompt, new, gap = pick_prompt(gen, cfg["vocab_size"], 4, lambda p: greedy_decoder_only(model, p, 10))
    write_generation(d, {"prompt_ids": prompt, "max_new_tokens": 10, "ids": new, "min_top2_gap": gap})


def gen_bert(gen, kind):
    cls = kind == "cls"
    cfg = bert_config("BertForSequenceClassification" if cls else "BertForMaskedLM", 3 if cls else None)
    model = BertForSequenceClassification(cfg) if cls else BertForMaskedLM(cfg)
    randomize(model, gen)
    d = os.path.join(OUT, "bert-" + kind)
    drop = set() if cls else {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    save_checkpoint(d, model.state_dict(), cfg, drop=drop)

    ids = torch.randint(1, cfg["vocab_size"], (2, 9), generator=gen)
    ids[:, 0] = 2  # a [CLS]-like first token
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 6:] = 0
    ids[1, 6:] = cfg["pad_token_id"]
    types = torch.zeros(2, 9, dtype=torch.long)
    types[0, 5:] = 1
    types[1, 3:6] = 1
    logits, last, pooled, hidden, attns = model(ids, mask, types)
    out = {"logits": logits, "last_hidden_state": last}
    if pooled is not None:
        out["pooler_output"] = pooled
    out.update(tuple_outputs("hidden_states", hidden))
    out.update(tuple_outputs("attentions", attns))
    save_io(d, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, out)


def gen_vit(gen):
    cfg = vit_config()
    model = ViTForImageClassification(cfg)
    randomize(model, gen)
    d = os.path.join(OUT, "vit")
    save_checkpoint(d, model.state_dict(), cfg)
    pixels = torch.randn(2, 3, 16, 16, generator=gen)
    logits, last, hidden, attns = model(pixels)
    out = {"logits": logits, "last_hidden_state": last}
    out.update(tuple_outputs("hidden_states", hidden))
    out.update(tuple_outputs("attentions", attns))
    save_io(d, {"pixel_values": pixels}, out)


def gen_seq2seq(gen, name, cfg):
    model = Seq2SeqLM(cfg)
    randomize(model, gen)
    if cfg["model_type"] == "marian":  # the fixed table is not random
        for stack in (model.model.encoder, model.model.decoder):
            stack.embed_positions.weight.data = sinusoidal_table(cfg["max_position_embeddings"], cfg["d_model"])
    d = os.path.join(OUT, name)
    state = model.state_dict()
    drop = {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"}
    if cfg["model_type"] == "marian":
        drop |= {"model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"}
    save_checkpoint(d, state, cfg, drop=drop)
    save_generation_config(d, cfg)

    v, pad = cfg["vocab_size"], cfg["pad_token_id"]
    ids = torch.randint(3, v - 1, (2, 7), generator=gen)
    mask = torch.ones(2, 7, dtype=torch.long)
    ids[1, 4:] = pad
    mask[1, 4:] = 0
    ids[0, 6] = ids[1, 3] = cfg["eos_token_id"]
    dec = torch.randint(3, v - 1, (2, 5), generator=gen)
    dec[:, 0] = cfg["decoder_start_token_id"]
    logits, enc, enc_hidden, enc_attns, last, dec_hidden, dec_attns, cross = model(ids, mask, dec)
    out = {"logits": logits, "encoder_last_hidden_state": enc, "last_hidden_state": last}
    out.update(tuple_outputs("encoder_hidden_states", enc_hidden))
    out.update(tuple_outputs("encoder_attentions", enc_attns))
    out.update(tuple_outputs("decoder_hidden_states", dec_hidden))
    out.update(tuple_outputs("decoder_attentions", dec_attns))
    out.update(tuple_outputs("cross_attentions", cross))
    save_io(d, {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": dec}, out)

    start = cfg["decoder_start_token_id"]
    src, new, gap = pick_prompt(gen, v - 1, 6, lambda p: greedy_seq2seq(model, p + [cfg["eos_token_id"]], start, 8))
    src = src + [cfg["eos_token_id"]]
    write_generation(d, {"input_ids": src, "decoder_start_token_id": cfg["decoder_start_token_id"],
                         "max_new_tokens": 8, "ids": new, "min_top2_gap": gap})


REAL = "../shared/data"


def load_real(name, cls, tied):
    """Load a real checkpoint from ../shared/data into cls; `tied` maps each
    weight save_pretrained dropped to the name it is tied to. None if absent."""
    path = os.path.join(REAL, name)
    if not os.path.isdir(path):
        print(f"skip: {path} not present")
        return None, None
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    state = read_safetensors(os.path.join(path, "model.safetensors"))
    for k, t in state.items():
        assert t.dtype == torch.float32, (name, k, t.dtype)
    for dst, src in tied.items():
        state[dst] = state[src]
    model = cls(cfg)
    model.load_state_dict(state, strict=True)
    return model, cfg


def check_against_real_gpt2():
    """Load hf-internal-testing/tiny-random-gpt2 into GPT2LMHeadModel and
    reproduce its known greedy continuations (onnxruntime-genai's tests)."""
    model, _ = load_real("tiny-random-gpt2", GPT2LMHeadModel, {"lm_head.weight": "transformer.wte.weight"})
    if model is None:
        return
    for prompt, want in (([0, 0, 0, 52], [204] * 6), ([0, 0, 195, 731], [731] + [114] * 5)):
        got, _ = greedy_decoder_only(model, prompt, 6)
        assert got == want, (prompt, got, want)
    print("tiny-random-gpt2: upstream greedy continuations reproduced")


def gen_real(gen):
    """Forward references for the real checkpoints in ../shared/data (their
    weights stay there; only inputs and outputs are committed)."""
    cases = [
        ("tiny-random-gpt2", GPT2LMHeadModel, {"lm_head.weight": "transformer.wte.weight"}),
        ("tiny-random-BartForCausalLM", BartForCausalLM, {"lm_head.weight": "model.decoder.embed_tokens.weight"}),
        ("bert-tiniest-lmbuddy", BertLMHeadModel, {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                                                   "cls.predictions.decoder.bias": "cls.predictions.bias"}),
    ]
    for name, cls, tied in cases:
        model, cfg = load_real(name, cls, tied)
        if model is None:
            continue
        ids = torch.randint(3, min(cfg["vocab_size"], 1000), (2, 6), generator=gen)
        mask = torch.ones(2, 6, dtype=torch.long)
        mask[1, 4:] = 0
        inputs = {"input_ids": ids, "attention_mask": mask}
        if cls is GPT2LMHeadModel:
            logits, last, hidden, attns = model(ids, mask)
            out = {"logits": logits, "last_hidden_state": last}
        elif cls is BartForCausalLM:
            logits, hidden, attns = model(ids, mask)
            out = {"logits": logits}
        else:  # logits would be [2, 6, 30522]: too big to commit; the head is covered by bert-mlm
            types = torch.zeros(2, 6, dtype=torch.long)
            types[0, 3:] = 1
            inputs["token_type_ids"] = types
            last, _, hidden, attns = model.bert(ids, mask, types)
            out = {"last_hidden_state": last}
        out.update(tuple_outputs("hidden_states", hidden))
        out.update(tuple_outputs("attentions", attns))
        d = os.path.join(OUT, "real", name)
        os.makedirs(d, exist_ok=True)
        save_io(d, inputs, out)


def _load_mha(mha, q, k, v, o):
    """Copy separate q/k/v/out Linear layers into an nn.MultiheadAttention."""
    mha.in_proj_weight.copy_(torch.cat([q.weight, k.weight, v.weight]))
    mha.in_proj_bias.copy_(torch.cat([q.bias, k.bias, v.bias]))
    mha.out_proj.weight.copy_(o.weight)
    mha.out_proj.bias.copy_(o.bias)


def _load_norms(ref, *norms):
    for i, n in enumerate(norms, 1):
        getattr(ref, f"norm{i}").load_state_dict(n.state_dict())


def crosscheck_layers(gen):
    """Pin the hand-written layers to torch's own nn.Transformer*Layer (post-
    and pre-norm) on random weights and a padded batch, so a slip in the head
    split, residual order or norm placement cannot reach the fixtures."""
    x = torch.randn(2, 6, 32, generator=gen)
    mem = torch.randn(2, 5, 32, generator=gen)
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0
    mem_mask = torch.ones(2, 5, dtype=torch.long)
    mem_mask[1, 3:] = 0
    cfg = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 40, "hidden_act": "gelu",
           "layer_norm_eps": 1e-12, "qkv_bias": True}

    def ref_encoder(norm_first, act, eps):
        return nn.TransformerEncoderLayer(32, 4, 40, dropout=0.0, activation=act, layer_norm_eps=eps,
                                          batch_first=True, norm_first=norm_first).eval()

    bert = BertLayer(cfg)
    randomize(bert, gen)
    ref = ref_encoder(False, "gelu", 1e-12)
    a = bert.attention
    _load_mha(ref.self_attn, a.self.query, a.self.key, a.self.value, a.output.dense)
    ref.linear1.load_state_dict(bert.intermediate.dense.state_dict())
    ref.linear2.load_state_dict(bert.output.dense.state_dict())
    _load_norms(ref, a.output.LayerNorm, bert.output.LayerNorm)
    got = bert(x, padding_mask_4d(mask, 6)[:, :, :1])[0]
    want = ref(x, src_key_padding_mask=mask == 0)
    checks = [("BertLayer", got, want)]

    vit = ViTLayer(cfg)
    randomize(vit, gen)
    ref = ref_encoder(True, "gelu", 1e-12)
    a = vit.attention
    _load_mha(ref.self_attn, a.attention.query, a.attention.key, a.attention.value, a.output.dense)
    ref.linear1.load_state_dict(vit.intermediate.dense.state_dict())
    ref.linear2.load_state_dict(vit.output.dense.state_dict())
    _load_norms(ref, vit.layernorm_before, vit.layernorm_after)
    checks.append(("ViTLayer", vit(x, None)[0], ref(x)))

    enc = EncoderLayer(32, 4, 40, "swish")
    randomize(enc, gen)
    ref = ref_encoder(False, F.silu, 1e-5)
    sa = enc.self_attn
    _load_mha(ref.self_attn, sa.q_proj, sa.k_proj, sa.v_proj, sa.out_proj)
    ref.linear1.load_state_dict(enc.fc1.state_dict())
    ref.linear2.load_state_dict(enc.fc2.state_dict())
    _load_norms(ref, enc.self_attn_layer_norm, enc.final_layer_norm)
    checks.append(("EncoderLayer", enc(x, padding_mask_4d(mask, 6))[0], ref(x, src_key_padding_mask=mask == 0)))

    dec = DecoderLayer(32, 4, 40, "gelu")
    randomize(dec, gen)
    ref = nn.TransformerDecoderLayer(32, 4, 40, dropout=0.0, activation="gelu", batch_first=True).eval()
    _load_mha(ref.self_attn, dec.self_attn.q_proj, dec.self_attn.k_proj, dec.self_attn.v_proj, dec.self_attn.out_proj)
    ca = dec.encoder_attn
    _load_mha(ref.multihead_attn, ca.q_proj, ca.k_proj, ca.v_proj, ca.out_proj)
    ref.linear1.load_state_dict(dec.fc1.state_dict())
    ref.linear2.load_state_dict(dec.fc2.state_dict())
    _load_norms(ref, dec.self_attn_layer_norm, dec.encoder_attn_layer_norm, dec.final_layer_norm)
    got = dec(x, causal_mask_4d(2, 6), mem, padding_mask_4d(mem_mask, 6))[0]
    want = ref(x, mem, tgt_mask=causal_mask_4d(1, 6)[0, 0], memory_key_padding_mask=mem_mask == 0)
    checks.append(("DecoderLayer", got, want))

    for name, got, want in checks:
        err = float((got - want).abs().max())
        assert err < 1e-5, (name, err)
    print("layers agree with torch.nn.Transformer{Encoder,Decoder}Layer")


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261126)
    with torch.no_grad():
        check_against_real_gpt2()
        crosscheck_layers(torch.Generator().manual_seed(1))
        gen_gpt2(gen)
        gen_bert(gen, "mlm")
        gen_bert(gen, "cls")
        gen_vit(gen)
        gen_seq2seq(gen, "marian", marian_config())
        gen_seq2seq(gen, "bart", bart_config())
        gen_real(torch.Generator().manual_seed(2))
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {OUT}: {total} bytes")


if __name__ == "__main__":
    main()
