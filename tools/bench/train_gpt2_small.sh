#!/bin/sh
# Training GPT-2 small (12 layers, 768 wide, 12 heads, vocabulary 50257,
# context 1024, batch 1): `attn train` on tinyshakespeare with the GPT-2
# tokenizer against PyTorch on the transformers mirror
# (train_gpt2_torch.py: same model, AdamW, clipping; as is and under
# ../shared/bench/torch-tuned, the faster counts), alternating for ROUNDS
# rounds under flock /tmp/bench.lock. Prints per run the median ms per
# step, tokens/s and peak RSS (attn: /usr/bin/time's maximum resident set;
# PyTorch: ru_maxrss), then medians with their spread.
#
# Usage (from the repository root): tools/bench/train_gpt2_small.sh [rounds] [steps]
set -eu
ROUNDS=${1:-3}
STEPS=${2:-3}
THREADS=2
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
[ -x "$TUNED" ] || { echo "train_gpt2_small.sh: $TUNED not found: PyTorch measured untuned only" >&2; TUNED=""; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GOMAXPROCS=$THREADS OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

go build -o "$TMP/attn" ./cmd/attn
"$TMP/attn" init --arch gpt2 --layers 12 --heads 12 --hidden 768 --context 1024 --vocab 50257 --seed 1 --out "$TMP/gpt2" >/dev/null
cp ../shared/data/gpt2-bpe-vocab/encoder.json "$TMP/gpt2/vocab.json"
cp ../shared/data/gpt2-bpe-vocab/vocab.bpe "$TMP/gpt2/merges.txt"
# Tokenize once (cached in out/data), outside the measured runs.
"$TMP/attn" train --model "$TMP/gpt2" --tokenizer model --data data/tinyshakespeare/input.txt --block-size 1024 \
	--batch-size 1 --max-iters 1 --eval-iters 1 --eval-interval 0 --sample-tokens 0 --checkpoint-every 0 \
	--out "$TMP/warm" >/dev/null

ours() {
	rm -rf "$TMP/out"
	mkdir -p "$TMP/out"
	cp -r "$TMP/warm/data" "$TMP/out/"
	flock /tmp/bench.lock /usr/bin/time -v -o "$TMP/time.txt" "$TMP/attn" train --model "$TMP/gpt2" --tokenizer model \
		--data data/tinyshakespeare/input.txt --block-size 1024 --batch-size 1 --max-iters $((STEPS + 1)) \
		--warmup-iters 0 --lr 1e-4 --min-lr 1e-4 --eval-iters 1 --eval-interval 0 --sample-tokens 0 \
		--checkpoint-every 0 --log-interval 1 --out "$TMP/out" --json > "$TMP/attn.jsonl"
	$PY - "$TMP/attn.jsonl" "$TMP/time.txt" <<'PYEOF'
import json, re, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ms = [r["ms_per_step"] for r in recs if "loss" in r][1:]  # the first step warms up
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[2]).read()).group(1)) * 1024
m = statistics.median(ms)
print(json.dumps({"label": "attn", "ms_per_step": m, "tokens_per_second": 1024 / m * 1000, "max_rss_bytes": rss, "steps": len(ms)}))
PYEOF
}

torch() { # $1 = label, rest = launcher prefix
	label=$1
	shift
	flock /tmp/bench.lock "$@" $PY tools/bench/train_gpt2_torch.py --model "$TMP/gpt2" --steps "$STEPS" --label "$label"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$TMP/all.jsonl"
for r in $(seq "$ROUNDS"); do
	ours | tee -a "$TMP/all.jsonl"
	torch torch | tee -a "$TMP/all.jsonl"
	[ -n "$TUNED" ] && torch torch-tuned "$TUNED" | tee -a "$TMP/all.jsonl"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY - "$TMP/all.jsonl" "$ROUNDS" <<'PYEOF'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rounds = int(sys.argv[2])
by = {}
for r in recs:
    by.setdefault(r["label"], []).append(r)
ours = by["attn"]
peers = [max((by[l][i] for l in ("torch", "torch-tuned") if l in by and i < len(by[l])), key=lambda r: r["tokens_per_second"]) for i in range(rounds)]
ratios = [a["tokens_per_second"] / p["tokens_per_second"] for a, p in zip(ours, peers)]
fmt = lambda xs: f"{statistics.median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})"
print(f"attn: {fmt([r['tokens_per_second'] for r in ours])} tok/s, peak RSS {fmt([r['max_rss_bytes'] / 2**30 for r in ours])} GiB")
print(f"PyTorch (faster per round): {fmt([r['tokens_per_second'] for r in peers])} tok/s, peak RSS {fmt([r['max_rss_bytes'] / 2**30 for r in peers])} GiB")
print(f"ratio attn / PyTorch: {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})")
PYEOF
