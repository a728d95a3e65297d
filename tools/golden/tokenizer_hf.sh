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

# Check that a tokenizer.json written by TrainBPE loads in Hugging Face
# tokenizers and encodes as attn does.
(cd "$root" && ATTN_TOKENIZER_DUMP="$scratch" go test ./tokenizer -run '^TestTrainBPE$' -count=1 >/dev/null)
NODE_PATH="$scratch/node_modules" node -e '
const { Tokenizer } = require("tokenizers");
const fs = require("fs");
const dir = process.argv[1];
const tok = Tokenizer.fromFile(dir + "/trained-tokenizer.json");
const cases = JSON.parse(fs.readFileSync(dir + "/trained-cases.json", "utf8"));
(async () => {
  let bad = 0;
  for (const c of cases) {
    const ids = (await tok.encode(c.text, null, { addSpecialTokens: true })).getIds();
    if (JSON.stringify(ids) !== JSON.stringify(c.ids)) { bad++; console.error("trained tokenizer differs on", JSON.stringify(c.text.slice(0, 40))); }
  }
  if (bad) process.exit(1);
  console.log("trained tokenizer.json: Hugging Face tokenizers loads it and agrees on", cases.length, "texts");
})();' "$scratch"
