#!/bin/sh
# Compares one training step (forward+backward, no optimizer) of a small
# GPT — 6 layers, C=384, NH=6, T=256, B=8, V=65 — through attn's autograd
# (BenchmarkGPTTrainStep) and PyTorch (train_step_torch.py, as is and
# under ../shared/bench/torch-tuned; the faster counts), same threads, in
# one run. Prints tokens/s for each and the ratio ours / PyTorch.
#
# Usage (from the repository root): tools/bench/train_step.sh [threads]
set -eu
THREADS=${1:-2}
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"

OURS=$(GOMAXPROCS="$THREADS" go test -run '^$' -bench 'GPTTrainStep' -benchtime 5x ./autograd |
	awk '/tok\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "tok/s") print $i }')
TORCH=$($PY tools/bench/train_step_torch.py --threads "$THREADS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["tok_per_s"])')
if [ -x "$TUNED" ]; then
	T2=$("$TUNED" $PY tools/bench/train_step_torch.py --threads "$THREADS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["tok_per_s"])')
	TORCH=$($PY -c "print(max($TORCH, $T2))")
fi
$PY -c "print('train step tok/s: attn %.0f, torch %.0f, ratio %.2f' % ($OURS, $TORCH, $OURS / $TORCH))"
