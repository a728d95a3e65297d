#!/bin/sh
# Compares `attn bench matmul` with PyTorch's torch.matmul on the same shapes,
# same thread count. For each shape it measures ours, then PyTorch as is,
# then PyTorch under ../shared/bench/torch-tuned (tcmalloc, passive OpenMP
# waiting), back to back so all three see the same machine load; the whole
# sweep repeats ROUNDS times and each side keeps its best median (on a
# shared machine the best is the one least disturbed). The faster PyTorch
# counts. Prints a table: shape, ours GFLOP/s, PyTorch GFLOP/s, ratio
# (ours / PyTorch).
#
# With a shape (M,N,K) it measures that shape only and pairs the runs
# instead: each round's ratio is ours / the faster PyTorch of the same
# round, and it prints every round and the median ratio with its spread.
#
# Usage (from the repository root): tools/bench/matmul.sh [threads [rounds [M,N,K]]]
# Needs /usr/bin/python3 with torch; writes nothing outside $TMPDIR.
set -eu
THREADS=${1:-2}
ROUNDS=${2:-3}
SHAPE=${3:-}
PY=/usr/bin/python3
TUNED=../shared/bench/torch-tuned
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

go build -o "$TMP/attn" ./cmd/attn
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
[ -x "$TUNED" ] || echo "matmul.sh: $TUNED not found, PyTorch measured untuned only" >&2
: > "$TMP/ours.jsonl"
: > "$TMP/torch.jsonl"
shapes=$("$TMP/attn" bench matmul --list)
[ -n "$SHAPE" ] && shapes="$SHAPE,0,0"
for r in $(seq "$ROUNDS"); do
for s in $shapes; do
	# shellcheck disable=SC2046
	set -- $(echo "$s" | tr , ' ')
	m=$1 n=$2 k=$3 ta=$4 tb=$5
	flags=""
	[ "$ta" = 1 ] && flags="$flags --transa"
	[ "$tb" = 1 ] && flags="$flags --transb"
	# shellcheck disable=SC2086
	"$TMP/attn" bench matmul --json --threads "$THREADS" --m "$m" --n "$n" --k "$k" $flags | sed "s/^{/{\"round\": $r, /" >> "$TMP/ours.jsonl"
	$PY tools/bench/matmul_torch.py --threads "$THREADS" --label torch "$s" | sed "s/^{/{\"round\": $r, /" >> "$TMP/torch.jsonl"
	if [ -x "$TUNED" ]; then
		"$TUNED" $PY tools/bench/matmul_torch.py --threads "$THREADS" --label torch-tuned "$s" | sed "s/^{/{\"round\": $r, /" >> "$TMP/torch.jsonl"
	fi
done
done
paired=""
[ -n "$SHAPE" ] && paired=--paired
$PY tools/bench/matmul_table.py $paired "$TMP/ours.jsonl" "$TMP/torch.jsonl"
