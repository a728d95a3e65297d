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

# Cross-check every line of the shared corpora (Tatoeba, UCI sentiment,
# tinyshakespeare) and 5000 random hard-case texts against Hugging Face
# tokenizers (bert-base-uncased's real tokenizer.json, tiny-random-gpt2,
# tiny-random-BART) and tiktoken (GPT-2).
corpora=$(ls "$data"/parallel-tatoeba-laser/tatoeba.* "$data"/sentiment-labelled-sentences-uci/*.txt "$data"/tinyshakespeare/input.txt | tr '\n' ':' | sed 's/:$//')
(cd "$root" && ATTN_TOKENIZER_CROSSCHECK="$scratch" ATTN_TOKENIZER_CROSSCHECK_CORPORA="$corpora" \
	go test ./tokenizer -run '^TestDumpCrossCheck$' -count=1 >/dev/null)
NODE_PATH="$scratch/node_modules" node -e '
const { Tokenizer } = require("tokenizers");
const { get_encoding } = require("tiktoken");
const fs = require("fs");
const [dir, data, root] = process.argv.slice(1);
{
  const enc = get_encoding("gpt2");
  const ours = JSON.parse(fs.readFileSync(dir + "/crosscheck-gpt2.json", "utf8"));
  let bad = 0;
  ours.texts.forEach((t, i) => {
    if (JSON.stringify(Array.from(enc.encode_ordinary(t))) !== JSON.stringify(ours.ids[i]) && bad++ < 3)
      console.error("gpt2 differs on", JSON.stringify(t.slice(0, 60)));
  });
  console.log("gpt2: " + (ours.texts.length - bad) + "/" + ours.texts.length + " lines agree with tiktoken");
  if (bad) process.exitCode = 1;
}
const files = {
  "bert": data + "/bert-tiniest-lmbuddy/tokenizer.json",
  "tiny-gpt2": root + "/testdata/tokenizer/hf/tiny-gpt2/tokenizer.json",
  "tiny-gpt2-slow": root + "/testdata/tokenizer/hf/tiny-gpt2/tokenizer.json",
  "tiny-bart": root + "/testdata/tokenizer/hf/tiny-bart/tokenizer.json",
  "tiny-bart-slow": root + "/testdata/tokenizer/hf/tiny-bart/tokenizer.json",
};
(async () => {
  let failed = false;
  for (const [name, file] of Object.entries(files)) {
    const tok = Tokenizer.fromFile(file);
    const ours = JSON.parse(fs.readFileSync(dir + "/crosscheck-" + name + ".json", "utf8"));
    let bad = 0;
    for (let i = 0; i < ours.texts.length; i++) {
      const ids = (await tok.encode(ours.texts[i], null, { addSpecialTokens: true })).getIds();
      if (JSON.stringify(ids) !== JSON.stringify(ours.ids[i])) {
        if (bad++ < 3) console.error(name, "differs on", JSON.stringify(ours.texts[i].slice(0, 60)));
      }
    }
    console.log(name + ": " + (ours.texts.length - bad) + "/" + ours.texts.length + " lines agree with Hugging Face tokenizers");
    if (bad) failed = true;
  }
  if (failed) process.exit(1);
})();' "$scratch" "$data" "$root"
