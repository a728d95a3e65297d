#!/bin/sh
# Times `attn forward` against the same forward in PyTorch (the transformers
# mirror of tools/golden/models.py), on random-weight models written by
# `attn init`:
#   bert: BertModel, BERT-base shape (12 layers, 768, 12 heads, FFN 3072,
#         vocab 30522), 1×128 tokens
#   gpt2: GPT2LMHeadModel, GPT-2-small shape (12 layers, 768, 12 heads,
#         vocab 50257, 1024 positions), 1×512 tokens, logits for every position
# Both sides compute only the head's outputs (no hidden states or attention
# weights kept); each measurement is the median of RUNS forwards after a
# warm-up, forward only (no load); attn packs its Linear weights for the
# GEMM during the warm-up (model.RunFile with --repeat > 1), so its peak
# memory exceeds the rss printed here by about the Linear weights' size.
# PyTorch runs as is and under ../shared/bench/torch-tuned (the faster of
# the two counts). Because the machine is shared and its load drifts, attn,
# PyTorch and tuned PyTorch alternate for ROUNDS rounds and the ratio
# reported is the median of the per-round ratios. Also prints attn's
# resident memory right after loading against the checkpoint's size.
#
# Usage (from the repository root): tools/bench/forward.sh [threads] [runs] [rounds]
set -eu
THREADS=${1:-2}
RUNS=${2:-5}
ROUNDS=${3:-3}
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GOMAXPROCS="$THREADS" OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
[ -x "$TUNED" ] || { echo "forward.sh: $TUNED not found: PyTorch measured untuned only" >&2; TUNED=""; }

go build -o "$TMP/attn" ./cmd/attn
"$TMP/attn" init --arch bert --head BertModel --layers 12 --heads 12 --hidden 768 --ffn 3072 --vocab 30522 --context 512 --out "$TMP/bert" >/dev/null
"$TMP/attn" init --arch gpt2 --layers 12 --heads 12 --hidden 768 --vocab 50257 --context 1024 --out "$TMP/gpt2" >/dev/null
$PY - "$TMP" <<'PYEOF'
import sys, torch
sys.path.insert(0, "tools/golden")
import models as M
g = torch.Generator().manual_seed(0)
for name, v, t in (("bert", 30522, 128), ("gpt2", 50257, 512)):
    M.save(f"{sys.argv[1]}/{name}.in.safetensors", {"input_ids": torch.randint(0, v, (1, t), generator=g)}, {"format": "pt"})
PYEOF

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in bert gpt2; do
	torch() { $PY tools/bench/forward_torch.py --model "$TMP/$m" --inputs "$TMP/$m.in.safetensors" --runs "$RUNS" --threads "$THREADS" --label "$1"; }
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		"$TMP/attn" forward --model "$TMP/$m" --inputs "$TMP/$m.in.safetensors" --hidden-states=false --attentions=false --repeat $((RUNS + 1)) >> "$TMP/$m.ours.jsonl"
		torch torch >> "$TMP/$m.torch.jsonl"
		if [ -n "$TUNED" ]; then "$TUNED" sh -c "$(command -v $PY) tools/bench/forward_torch.py --model $TMP/$m --inputs $TMP/$m.in.safetensors --runs $RUNS --threads $THREADS --label torch-tuned" >> "$TMP/$m.tuned.jsonl"; fi
		r=$((r + 1))
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

$PY - "$TMP" <<'PYEOF'
import json, os, statistics, sys
d = sys.argv[1]
rows = lambda p: [json.loads(l) for l in open(p)] if os.path.exists(p) else []
print("%-20s %22s %18s %22s %8s %9s" % ("model", "attn ms (per round)", "torch ms", "torch-tuned ms", "ratio", "rss/file"))
for m, shape, toks in (("bert", "BERT-base 1x128", 128), ("gpt2", "GPT-2-small 1x512", 512)):
    ours, t, tt = rows(f"{d}/{m}.ours.jsonl"), rows(f"{d}/{m}.torch.jsonl"), rows(f"{d}/{m}.tuned.jsonl")
    # per round: the faster PyTorch configuration over attn
    ratios = [min(a["seconds"], b["seconds"]) / o["seconds"] for o, a, b in zip(ours, t, tt or t)]
    fmt = lambda xs: "/".join("%.0f" % (x["seconds"] * 1e3) for x in xs)
    print("%-20s %22s %18s %22s %7.2fx %8.2fx" % (shape, fmt(ours), fmt(t), fmt(tt) or "-",
          statistics.median(ratios), ours[0]["rss_after_load"] / ours[0]["file_bytes"]))
    if m == "gpt2":
        med = lambda xs: statistics.median(x["seconds"] for x in xs)
        print("%-20s %22.0f %18.0f %22s   tok/s (medians)" % ("", toks / med(ours), toks / med(t), "%.0f" % (toks / med(tt)) if tt else "-"))
print("ratio = median over rounds of (faster PyTorch time / attn time); > 1: attn is faster")
print("rss/file = attn's resident memory right after loading / checkpoint file bytes")
PYEOF
