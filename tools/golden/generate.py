"""Generation references: transformers' generate semantics (v4.36
greedy_search, beam_search + BeamSearchScorer, the logits processors) on the
tiny checkpoints of testdata/models, in plain torch.

Run from the repository root:

    /usr/bin/python3 tools/golden/generate.py

It loads testdata/models/{gpt2,marian,bart} into the PyTorch mirrors of
tools/golden/models.py and writes testdata/generate/cases.json: for each case
the generation settings, the prompts (decoder-only, left padded in a batch,
position_ids from the attention mask as GPT-2's prepare_inputs_for_generation
derives them) or sources (encoder-decoder, right padded), the expected new
ids per batch entry (for beam search: the best hypothesis, with the EOS that
finalize appends) and beam search's sequence scores. Every step runs a full
forward over the whole sequence (no KV cache), so the Go side, which uses its
cache, is checked against uncached decoding. See testdata/generate/README.md.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models as M  # noqa: E402
from nn_safetensors import load as read_safetensors  # noqa: E402

MODELS = "testdata/models"
OUT = "testdata/generate"


def load(name):
    d = os.path.join(MODELS, name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    gen = json.load(open(os.path.join(d, "generation_config.json")))
    state = read_safetensors(os.path.join(d, "model.safetensors"))
    if name == "gpt2":
        model = M.GPT2LMHeadModel(cfg)
        state["lm_head.weight"] = state["transformer.wte.weight"]
    else:
        model = M.Seq2SeqLM(cfg)
        for k in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
            state[k] = state["model.shared.weight"]
        if cfg["model_type"] == "marian":
            table = M.sinusoidal_table(cfg["max_position_embeddings"], cfg["d_model"])
            state["model.encoder.embed_positions.weight"] = table
            state["model.decoder.embed_positions.weight"] = table
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, cfg, gen


def gpt2_logits(model, ids, mask):
    """GPT2LMHeadModel forward with position_ids from the attention mask
    (prepare_inputs_for_generation): cumsum − 1, padded positions 1."""
    pos = mask.long().cumsum(-1) - 1
    pos.masked_fill_(mask == 0, 1)
    tr = model.transformer
    add = (1.0 - mask[:, None, None, :].to(torch.float32)) * M.MIN
    x = tr.wte(ids) + tr.wpe(pos)
    for block in tr.h:
        x, _ = block(x, add)
    return model.lm_head(tr.ln_f(x))[:, -1]


class Seq2SeqRunner:
    def __init__(self, model, src, mask):
        self.model, self.src, self.mask = model, src, mask

    def __call__(self, dec, _mask):
        logits = self.model(self.src, self.mask, dec)[0]
        return logits[:, -1]


# ---------------------------------------------------------------- processors


def process(scores, ids, g, prompt_len, max_len):
    """_get_logits_processor order: repetition penalty, no-repeat n-gram,
    bad words, min length, min new tokens, forced BOS, forced EOS."""
    cur = ids.shape[-1]
    eos = g.get("eos", [])
    if g.get("repetition_penalty", 1.0) != 1.0:
        p = g["repetition_penalty"]
        s = torch.gather(scores, 1, ids)
        s = torch.where(s < 0, s * p, s / p)
        scores = scores.scatter(1, ids, s)
    n = g.get("no_repeat_ngram_size", 0)
    if n > 0 and cur + 1 >= n:
        for r in range(ids.shape[0]):
            row = ids[r].tolist()
            tail = row[cur - n + 1:]
            for i in range(cur - n + 1):
                if row[i:i + n - 1] == tail:
                    scores[r, row[i + n - 1]] = -float("inf")
    bad = [w for w in g.get("bad_words_ids", []) if not (len(w) == 1 and w[0] in eos)]
    for r in range(ids.shape[0]):
        row = ids[r].tolist()
        for w in bad:
            if len(w) == 1 or row[len(row) - len(w) + 1:] == w[:-1]:
                scores[r, w[-1]] = -float("inf")
    if cur < g.get("min_length", 0):
        for e in eos:
            scores[:, e] = -float("inf")
    if g.get("forced_bos") is not None and cur == 1:
        scores[:, :] = -float("inf")
        scores[:, g["forced_bos"]] = 0
    if g.get("forced_eos") is not None and cur == max_len - 1:
        scores[:, :] = -float("inf")
        scores[:, g["forced_eos"]] = 0
    return scores


# ---------------------------------------------------------------- greedy


def greedy(step, ids, mask, g, max_len):
    """greedy_search: processors on the raw logits, argmax; finished rows
    are fed pad; stop when every row has finished or at max_length."""
    prompt_len = ids.shape[1]
    eos, pad = g.get("eos", []), g["pad"]
    unfinished = torch.ones(ids.shape[0], dtype=torch.long)
    while True:
        scores = process(step(ids, mask).clone(), ids, g, prompt_len, max_len)
        nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + pad * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        for e in eos:
            unfinished = unfinished * (nxt != e).long()
        if unfinished.max() == 0 or ids.shape[1] >= max_len:
            break
    out = []
    for r in range(ids.shape[0]):
        row = ids[r, prompt_len:].tolist()
        for i, t in enumerate(row):  # cut after the row's first EOS
            if t in eos:
                row = row[:i + 1]
                break
        out.append(row)
    return out


# ---------------------------------------------------------------- beam search


class Hyps:
    def __init__(self, k, lp, early, max_len):
        self.k, self.lp, self.early, self.max_len = k, lp, early, max_len
        self.beams, self.worst = [], 1e9

    def add(self, hyp, s, gen_len):
        score = s / (gen_len ** self.lp)
        if len(self.beams) < self.k or score > self.worst:
            self.beams.append((score, hyp))
            if len(self.beams) > self.k:
                order = sorted((sc, i) for i, (sc, _) in enumerate(self.beams))
                del self.beams[order[0][1]]
                self.worst = order[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best, cur_len, prompt_len):
        if len(self.beams) < self.k:
            return False
        if self.early is True:
            return True
        if self.early is False:
            return self.worst >= best / (cur_len - prompt_len) ** self.lp
        denom = (self.max_len - prompt_len) if self.lp > 0 else (cur_len - prompt_len)
        return self.worst >= best / denom ** self.lp


def beam_search(step, ids, mask, g, max_len, k):
    """beam_search with BeamSearchScorer (v4.36): log-softmax, processors,
    + beam score; top max(2, 1 + n_eos)·K per entry; EOS among the first K
    become hypotheses; cur_len counts the token being scored."""
    b = ids.shape[0] // k
    v = None
    prompt_len = ids.shape[1]
    eos, pad = g.get("eos", []), g["pad"]
    hyps = [Hyps(k, g.get("length_penalty", 1.0), g.get("early_stopping", False), max_len) for _ in range(b)]
    done = [False] * b
    beam_scores = torch.zeros(b, k)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    while True:
        logits = step(ids, mask)
        v = logits.shape[-1]
        scores = F.log_softmax(logits, dim=-1)
        scores = process(scores, ids, g, prompt_len, max_len)
        scores = scores + beam_scores[:, None]
        scores = scores.view(b, k * v)
        top_s, top_i = torch.topk(scores, max(2, 1 + len(eos)) * k, dim=1, largest=True, sorted=True)
        cur_len = ids.shape[-1] + 1
        nb_s, nb_t, nb_i = torch.zeros(b, k), torch.zeros(b, k, dtype=torch.long), torch.zeros(b, k, dtype=torch.long)
        for e in range(b):
            if done[e]:
                nb_t[e, :] = pad
                nb_i[e, :] = e * k
                continue
            j = 0
            for rank in range(top_s.shape[1]):
                tok, src = int(top_i[e, rank] % v), e * k + int(top_i[e, rank] // v)
                s = float(top_s[e, rank])
                if tok in eos:
                    if rank >= k:
                        continue
                    hyps[e].add(ids[src].clone(), s, cur_len - prompt_len)
                else:
                    nb_s[e, j], nb_t[e, j], nb_i[e, j] = s, tok, src
                    j += 1
                if j == k:
                    break
            done[e] = done[e] or hyps[e].is_done(float(top_s[e].max()), cur_len, prompt_len)
        beam_scores = nb_s.view(-1)
        idx = nb_i.view(-1)
        ids = torch.cat([ids[idx], nb_t.view(-1, 1)], dim=-1)
        mask = torch.cat([mask[idx], torch.ones_like(mask[:, :1])], dim=-1)
        if all(done) or ids.shape[-1] >= max_len:
            break
    out, out_scores = [], []
    for e in range(b):
        if not done[e]:
            for j in range(k):
                r = e * k + j
                hyps[e].add(ids[r], float(beam_scores[r]), ids.shape[-1] - prompt_len)
        score, hyp = sorted(hyps[e].beams, key=lambda x: x[0])[-1]
        row = hyp[prompt_len:].tolist()
        if len(hyp) < max_len:
            row.append(eos[0])
        out.append(row)
        out_scores.append(score)
    return out, out_scores


# ---------------------------------------------------------------- cases


def left_pad(prompts, pad, rep=1):
    t = max(len(p) for p in prompts)
    ids, mask = [], []
    for p in prompts:
        for _ in range(rep):
            ids.append([pad] * (t - len(p)) + p)
            mask.append([0] * (t - len(p)) + [1] * len(p))
    return torch.tensor(ids), torch.tensor(mask)


def right_pad(srcs, pad, rep=1):
    t = max(len(s) for s in srcs)
    ids, mask = [], []
    for s in srcs:
        for _ in range(rep):
            ids.append(s + [pad] * (t - len(s)))
            mask.append([1] * len(s) + [0] * (t - len(s)))
    return torch.tensor(ids), torch.tensor(mask)


def settings(gen, extra):
    """The generation settings of a case: the model's generation_config.json
    (eos as a list, pad falling back to eos) overridden by extra."""
    eos = gen.get("eos_token_id")
    g = {"eos": [eos] if isinstance(eos, int) else (eos or []),
         "forced_eos": gen.get("forced_eos_token_id"), "forced_bos": gen.get("forced_bos_token_id")}
    g["pad"] = gen.get("pad_token_id", g["eos"][0] if g["eos"] else 0)
    g.update(extra)
    return g


def run_case(name, model_name, cfgs, prompts, extra, num_beams=1, max_new=None, max_length=None):
    model, cfg, gen = cfgs[model_name]
    g = settings(gen, extra)
    seq2seq = model_name != "gpt2"
    rep = num_beams
    if seq2seq:
        src, smask = right_pad(prompts, g["pad"], rep)
        step = Seq2SeqRunner(model, src, smask)
        start = gen["decoder_start_token_id"]
        ids = torch.full((len(prompts) * rep, 1), start)
        mask = torch.ones_like(ids)
    else:
        ids, mask = left_pad(prompts, g["pad"], rep)

        def step(i, m):
            return gpt2_logits(model, i, m)
    prompt_len = ids.shape[1]
    max_len = prompt_len + max_new if max_new else max_length
    with torch.no_grad():
        if num_beams > 1:
            out, scores = beam_search(step, ids, mask, g, max_len, num_beams)
        else:
            out, scores = greedy(step, ids, mask, g, max_len), None
    rec = {"name": name, "model": model_name, "num_beams": num_beams, "prompts": prompts,
           "max_new_tokens": max_new or 0, "max_length": max_length or 0,
           "settings": {k: v for k, v in extra.items()}, "ids": out}
    if scores is not None:
        rec["scores"] = scores
    print(name, out, scores)
    return rec


def main():
    torch.manual_seed(0)
    cfgs = {n: load(n) for n in ("gpt2", "marian", "bart")}
    cases = [
        run_case("gpt2 greedy batch left padded", "gpt2", cfgs, [[26, 41, 21, 43], [7, 9], [5, 6, 7, 8, 9, 10]], {}, max_new=10),
        run_case("gpt2 greedy batch two eos", "gpt2", cfgs, [[26, 41, 21, 43], [7, 9], [5, 6, 7, 8, 9, 10]],
                 {"eos": [54, 19]}, max_new=10),
        run_case("gpt2 greedy penalties", "gpt2", cfgs, [[26, 41, 21, 43], [7, 9]],
                 {"repetition_penalty": 1.5, "no_repeat_ngram_size": 2, "bad_words_ids": [[42], [52, 25]]}, max_new=12),
        run_case("gpt2 beam 3", "gpt2", cfgs, [[26, 41, 21, 43], [7, 9]], {"length_penalty": 1.0}, num_beams=3, max_new=6),
        run_case("gpt2 beam 4 early", "gpt2", cfgs, [[11, 12, 13]], {"early_stopping": True, "min_length": 5}, num_beams=4, max_new=7),
        run_case("gpt2 beam 3 two eos", "gpt2", cfgs, [[26, 41, 21, 43], [7, 9], [5, 6, 7, 8, 9, 10]],
                 {"eos": [42, 45]}, num_beams=3, max_new=8),
        run_case("marian beam 4", "marian", cfgs, [[56, 18, 11, 4, 17, 33, 0], [20, 30, 40, 0]],
                 {"bad_words_ids": [[63]]}, num_beams=4, max_length=12),
        run_case("marian greedy", "marian", cfgs, [[56, 18, 11, 4, 17, 33, 0], [20, 30, 40, 0]],
                 {"bad_words_ids": [[63]]}, max_length=12),
        run_case("bart beam 3 lp 2 never", "bart", cfgs, [[14, 30, 62, 42, 24, 46, 2], [8, 9, 2]],
                 {"length_penalty": 2.0, "early_stopping": "never", "no_repeat_ngram_size": 3, "forced_bos": 0},
                 num_beams=3, max_length=10),
        run_case("bart beam 2 lp 0.5", "bart", cfgs, [[14, 30, 62, 42, 24, 46, 2]],
                 {"length_penalty": 0.5}, num_beams=2, max_length=9),
        run_case("bart beam 4 eos 30", "bart", cfgs, [[14, 30, 62, 42, 24, 46, 2], [8, 9, 2]],
                 {"eos": [30]}, num_beams=4, max_length=10),
    ]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
