#!/bin/sh
# Times `attn forward` against the same forward in PyTorch (the transformers
# mirror of tools/golden/models.py), in one run, on random-weight models
# written by `attn init`:
#   bert: BertModel, BERT-base shape (12 layers, 768, 12 heads, FFN 3072,
#         vocab 30522), 1×128 tokens
#   gpt2: GPT2LMHeadModel, GPT-2-small shape (12 layers, 768, 12 heads,
#         vocab 50257, 1024 positions), 1×512 tokens, logits for every position
# Both sides compute only the head's outputs (no hidden states or attention
# weights kept), median of RUNS after a warm-up, forward only (no load).
# PyTorch runs as is and under ../shared/bench/torch-tuned; the faster
# counts. Also prints attn's resident memory right after loading against
# the checkpoint's size.
#
# Usage (from the repository root): tools/bench/forward.sh [threads] [runs]
set -eu
THREADS=${1:-2}
RUNS=${2:-5}
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GOMAXPROCS="$THREADS" OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"

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
	"$TMP/attn" forward --model "$TMP/$m" --inputs "$TMP/$m.in.safetensors" --hidden-states=false --attentions=false --repeat $((RUNS + 1)) > "$TMP/$m.ours.json"
	$PY tools/bench/forward_torch.py --model "$TMP/$m" --inputs "$TMP/$m.in.safetensors" --runs "$RUNS" --threads "$THREADS" --label torch > "$TMP/$m.torch.json"
	if [ -x "$TUNED" ]; then
		"$TUNED" $PY tools/bench/forward_torch.py --model "$TMP/$m" --inputs "$TMP/$m.in.safetensors" --runs "$RUNS" --threads "$THREADS" --label torch-tuned > "$TMP/$m.tuned.json"
	else
		echo '{}' > "$TMP/$m.tuned.json"
	fi
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY - "$TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
print("%-26s %10s %10s %12s %8s %14s" % ("model", "attn ms", "torch ms", "torch-tuned", "ratio", "rss/file"))
for m, shape, toks in (("bert", "BERT-base 1x128", 128), ("gpt2", "GPT-2-small 1x512", 512)):
    ours = json.load(open(f"{d}/{m}.ours.json"))
    t = json.load(open(f"{d}/{m}.torch.json"))
    tt = json.load(open(f"{d}/{m}.tuned.json"))
    best = min(x["seconds"] for x in (t, tt) if x)
    print("%-26s %10.1f %10.1f %12s %7.2fx %13.2fx" % (shape, ours["seconds"] * 1e3, t["seconds"] * 1e3,
          "%.1f" % (tt["seconds"] * 1e3) if tt else "-", best / ours["seconds"], ours["rss_after_load"] / ours["file_bytes"]))
    if m == "gpt2":
        print("%-26s %10.0f %10.0f %12s   (tok/s)" % ("", toks / ours["seconds"], toks / t["seconds"], "%.0f" % (toks / tt["seconds"]) if tt else "-"))
print("ratio = faster PyTorch time / attn time (> 1: attn is faster); rss/file = attn's resident memory after load / checkpoint bytes")
PYEOF
