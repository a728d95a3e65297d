#!/bin/sh
# Compares `attn bench matmul` with PyTorch's torch.matmul on the same shapes,
# same thread count, in one run. PyTorch runs twice, as is and under
# ../shared/bench/torch-tuned (tcmalloc, passive OpenMP waiting), and the
# faster of the two counts. Prints a table: shape, ours GFLOP/s, PyTorch
# GFLOP/s, ratio (ours / PyTorch).
#
# Usage (from the repository root): tools/bench/matmul.sh [threads]
# Needs /usr/bin/python3 with torch; writes nothing outside $TMPDIR.
set -eu
THREADS=${1:-2}
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

go build -o "$TMP/attn" ./cmd/attn
"$TMP/attn" bench matmul --json --threads "$THREADS" > "$TMP/ours.jsonl"

# The shapes, as M,N,K,TA,TB, taken from our own output so both sides agree.
SHAPES=$($PY -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("%d,%d,%d,%d,%d" % (r["m"], r["n"], r["k"], r["transa"], r["transb"]))
' "$TMP/ours.jsonl")

export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
$PY tools/bench/matmul_torch.py --threads "$THREADS" --label torch $SHAPES > "$TMP/torch.jsonl"
if [ -x "$TUNED" ]; then
	"$TUNED" $PY tools/bench/matmul_torch.py --threads "$THREADS" --label torch-tuned $SHAPES > "$TMP/tuned.jsonl"
else
	echo "matmul.sh: $TUNED not found, PyTorch measured untuned only" >&2
	: > "$TMP/tuned.jsonl"
fi

$PY tools/bench/matmul_table.py "$TMP/ours.jsonl" "$TMP/torch.jsonl" "$TMP/tuned.jsonl"
