#!/bin/sh
# GPT-2 encoding speed, single thread: attn's tokenizer against tiktoken
# (WASM) and js-tiktoken on the same corpus, with the ids checked equal.
#   sh tools/bench/tokenize.sh [CORPUS]   (default: tinyshakespeare)
# The npm packages go to $TOKBENCH_DIR (default /tmp/attn-tokbench), outside
# the repo.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$(realpath "${1:-$root/../shared/data/tinyshakespeare/input.txt}")
scratch=${TOKBENCH_DIR:-/tmp/attn-tokbench}
mkdir -p "$scratch"
[ -d "$scratch/node_modules/tiktoken" ] && [ -d "$scratch/node_modules/js-tiktoken" ] ||
	npm install --silent --no-save --prefix "$scratch" tiktoken@1.0.22 js-tiktoken@1.0.21

js=$(NODE_PATH="$scratch/node_modules" node "$root/tools/bench/tokenize.js" "$corpus" "$scratch/tiktoken-ids.json" 5)
echo "$js"

# attn: the Go benchmark on one core (GOMAXPROCS=1), a cold merge cache per
# run; then the same ids as tiktoken, checked by a test.
cd "$root"
ATTN_TOKENIZE_CORPUS="$corpus" ATTN_TIKTOKEN_IDS="$scratch/tiktoken-ids.json" \
	go test ./tokenizer -run '^TestTiktokenCorpusIDs$' -count=1 >/dev/null
out=$(ATTN_TOKENIZE_CORPUS="$corpus" go test ./tokenizer -run '^$' -bench '^BenchmarkGPT2Encode$' -benchtime 10x -count 5 -cpu 1)
attn=$(echo "$out" | awk '/^BenchmarkGPT2Encode/ {print $5}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "{\"name\":\"attn\",\"mb_per_s\":$attn,\"ids_equal_tiktoken\":true}"
batch=$(ATTN_TOKENIZE_CORPUS="$corpus" go test ./tokenizer -run '^$' -bench '^BenchmarkGPT2EncodeBatch$' -benchtime 10x -cpu "$(nproc)" | awk '/^BenchmarkGPT2EncodeBatch/ {print $5}')
echo "{\"name\":\"attn-batch\",\"threads\":$(nproc),\"mb_per_s\":$batch}"

tk=$(echo "$js" | sed -n 's/.*"name":"tiktoken".*"mb_per_s":\([0-9.e+-]*\).*/\1/p')
jt=$(echo "$js" | sed -n 's/.*"name":"js-tiktoken".*"mb_per_s":\([0-9.e+-]*\).*/\1/p')
awk -v a="$attn" -v t="$tk" -v j="$jt" 'BEGIN {
	printf "attn %.2f MB/s | tiktoken %.2f MB/s | js-tiktoken %.2f MB/s | attn/tiktoken %.2fx | attn/js-tiktoken %.2fx\n", a, t, j, a / t, a / j
}'
