#!/bin/sh
# Fine-tuning against the usual baseline: `attn train --preset sentiment`
# (a fresh BERT-style classifier on BERT's WordPiece vocabulary) and the
# bag-of-words logistic regression (`attn train --baseline`) on the same
# splits of the UCI sentiment sentences (data/sentiment-labelled-sentences-uci:
# 3000 sentences, 300 held out per seed). One split is too noisy to decide
# (the baseline alone ranges 78–85% over seeds), so each seed is a
# different split and the means are compared.
# Usage (from the repository root): tools/bench/sentiment.sh [seeds] [extra train flags...]
# e.g. with token embeddings from GloVe's word vectors (fetched once by glove.sh):
#   tools/bench/sentiment.sh 20 --n-embd 100 --lr 2e-3 --init-embeddings "$(sh tools/bench/glove.sh)"
set -eu
SEEDS=${1:-10}
[ $# -gt 0 ] && shift
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
go build -o "$TMP/attn" ./cmd/attn
s=1
while [ "$s" -le "$SEEDS" ]; do
	base=$("$TMP/attn" train --preset sentiment --seed "$s" --baseline | sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
	ours=$("$TMP/attn" train --preset sentiment --seed "$s" --out "$TMP/out-$s" --json "$@" | tail -1 |
		sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
	rm -rf "$TMP/out-$s"
	echo "$s $ours $base" | awk '{printf "seed %2d  attn %.4f  bag of words %.4f  difference %+.4f\n", $1, $2, $3, $2-$3}'
	echo "$s $ours $base" >>"$TMP/all"
	s=$((s + 1))
done
awk '{a+=$2; b+=$3; d=$2-$3; dd+=d*d; if (d>0) w++; n++}
END {m=(a-b)/n; sd=sqrt((dd-n*m*m)/(n-1)); printf "mean over %d seeds: attn %.4f, bag of words %.4f, difference %+.4f (sd of the difference %.4f, standard error %.4f); attn ahead on %d of %d splits\n", n, a/n, b/n, m, sd, sd/sqrt(n), w, n}' "$TMP/all"
