#!/bin/sh
# nanoGPT's CPU recipe for tinyshakespeare at character level, run by
# nanoGPT's own train.py and by `attn train --preset shakespeare-char`
# (the same recipe: 4 layers, 4 heads, 128 wide, context 64, batch 12,
# 2000 iterations, lr 1e-3 cosine to 1e-4, warm-up 100, dropout 0, AdamW
# β2 0.99, weight decay 0.1, clip 1.0, the same 90/10 split of the same
# input.txt). PyTorch runs as is and under ../shared/bench/torch-tuned (the
# faster counts); the three alternate for ROUNDS rounds under
# flock /tmp/bench.lock. Prints per run the final validation loss and the
# median ms per iteration, then medians with their spread.
#
# nanoGPT comes from NANOGPT (a checkout), else from the fetched mirror
# /work/.mirror/karpathy+nanoGPT/repo (git archive of its HEAD).
# Usage (from the repository root): tools/bench/train_shakespeare.sh [rounds] [iters]
set -eu
ROUNDS=${1:-3}
ITERS=${2:-2000}
THREADS=2
PY=/usr/bin/python3
TUNED=$(cd ../shared/bench 2>/dev/null && pwd)/torch-tuned # absolute: nanoGPT runs in its own directory
[ -x "$TUNED" ] || { echo "train_shakespeare.sh: $TUNED not found: PyTorch measured untuned only" >&2; TUNED=""; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GOMAXPROCS=$THREADS OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

NG="$TMP/nanoGPT"
mkdir -p "$NG"
if [ -n "${NANOGPT:-}" ]; then
	cp -r "$NANOGPT"/. "$NG"
else
	git -C /work/.mirror/karpathy+nanoGPT/repo archive HEAD | tar -x -C "$NG"
fi
cp data/tinyshakespeare/input.txt "$NG/data/shakespeare_char/input.txt"
(cd "$NG" && $PY data/shakespeare_char/prepare.py >/dev/null)
go build -o "$TMP/attn" ./cmd/attn

nanogpt() { # $1 = label, rest = launcher prefix
	label=$1
	shift
	(cd "$NG" && flock /tmp/bench.lock "$@" $PY train.py config/train_shakespeare_char.py --device=cpu --compile=False \
		--eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 \
		--max_iters="$ITERS" --lr_decay_iters="$ITERS" --dropout=0.0 --dtype=float32 --out_dir="$TMP/out-$label") > "$TMP/$label.log" 2>&1
	$PY - "$TMP/$label.log" "$label" <<'PYEOF'
import re, statistics, sys
text = open(sys.argv[1]).read()
ms = [float(m) for m in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", text, re.M)]
val = re.findall(r"^step \d+: train loss [\d.]+, val loss ([\d.]+)", text, re.M)
if not ms or not val:
    sys.exit(f"{sys.argv[2]}: no iterations in the log:\n{text[-2000:]}")
print(f'{{"name": "{sys.argv[2]}", "val_loss": {float(val[-1])}, "ms_per_step": {statistics.median(ms[1:])}}}')
PYEOF
}

ours() {
	rm -rf "$TMP/out-attn"
	flock /tmp/bench.lock "$TMP/attn" train --preset shakespeare-char --out "$TMP/out-attn" --max-iters "$ITERS" \
		--lr-decay-iters "$ITERS" --json | tail -1 | $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); print(json.dumps({"name": "attn", "val_loss": r["val_loss"], "ms_per_step": r["ms_per_step"]}))'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=0
while [ $r -lt "$ROUNDS" ]; do
	ours | tee -a "$TMP/all.jsonl"
	nanogpt torch | tee -a "$TMP/all.jsonl"
	if [ -n "$TUNED" ]; then nanogpt torch-tuned "$TUNED" | tee -a "$TMP/all.jsonl"; fi
	r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY - "$TMP/all.jsonl" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for name in ("attn", "torch", "torch-tuned"):
    rs = [r for r in rows if r["name"] == name]
    if not rs:
        continue
    ms = [r["ms_per_step"] for r in rs]
    vl = [r["val_loss"] for r in rs]
    med[name] = statistics.median(ms)
    print(f"{name:12s} ms/iter median {med[name]:.1f} (min {min(ms):.1f}, max {max(ms):.1f})  val loss median {statistics.median(vl):.4f} (min {min(vl):.4f}, max {max(vl):.4f})")
best = min(v for k, v in med.items() if k != "attn")
print(f"attn speed-up over the faster PyTorch: {best / med['attn']:.2f}x")
PYEOF
