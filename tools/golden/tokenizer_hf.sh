#!/bin/sh
# Writes testdata/tokenizer/hf/cases.json and bert-skeleton.json: reference
# ids from Hugging Face tokenizers (the Rust library, npm "tokenizers") and
# tiktoken (npm), installed into a scratch directory outside the repo.
#   sh tools/golden/tokenizer_hf.sh [SHARED_DATA_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${1:-/work/shared/data}
scratch=${TOKBENCH_DIR:-/tmp/attn-tokbench}
mkdir -p "$scratch"
[ -d "$scratch/node_modules/tokenizers" ] && [ -d "$scratch/node_modules/tiktoken" ] ||
	npm install --silent --no-save --prefix "$scratch" tokenizers@0.23.2 tiktoken@1.0.22 js-tiktoken@1.0.21
NODE_PATH="$scratch/node_modules" node "$here/tokenizer_hf.js" "$root" "$data"
