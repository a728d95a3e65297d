// Times GPT-2 encoding of a corpus with tiktoken (WASM) and js-tiktoken on
// one thread; run through tokenize.sh. Prints one JSON line per library and
// writes tiktoken's ids to IDS_OUT for the Go side to compare with.
const fs = require("fs");
const [corpusPath, idsOut, runsArg] = process.argv.slice(2);
const text = fs.readFileSync(corpusPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const runs = Number(runsArg || 5);

function time(name, encode) {
  encode(text); // warm-up (WASM compile, JIT)
  const secs = [];
  let ids;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    ids = encode(text);
    secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  secs.sort((a, b) => a - b);
  const median = secs[Math.floor(secs.length / 2)];
  console.log(JSON.stringify({ name, bytes, tokens: ids.length, seconds: median, mb_per_s: bytes / median / 1e6 }));
  return ids;
}

const { get_encoding } = require("tiktoken");
const enc = get_encoding("gpt2");
const ids = time("tiktoken", (t) => enc.encode_ordinary(t));
fs.writeFileSync(idsOut, JSON.stringify(Array.from(ids)));
enc.free();

const { getEncoding } = require("js-tiktoken");
const jenc = getEncoding("gpt2");
time("js-tiktoken", (t) => jenc.encode(t));
