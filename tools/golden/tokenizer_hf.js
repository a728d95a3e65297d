// Reference ids for the tokenizer tests; run through tokenizer_hf.sh.
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("tokenizers");
const { get_encoding } = require("tiktoken");

const [root, data] = process.argv.slice(2);
const out = path.join(root, "testdata", "tokenizer", "hf");

const texts = [
  "", " ", "Hello world", "  Hello   world  ", "a\tb\nc\r\nd", "\n\n\n", "trailing   ",
  "Héllo Wörld, ça va? Ñandú über straße", "ＦＵＬＬ　ｗｉｄｔｈ ﬁne", "生活的真谛是 東京 서울",
  "emoji 😂👍🏽 👩\u200d❤\u200d💋\u200d👨 ✨", "cafe\u0301 vs café", "tabs\t\tand  multiple     spaces",
  "\u00a0nbsp\u00a0inside\u2003em space", "it's I'M they'll we've she'd 'S", "1234567890 3.14159 -42",
  "<|endoftext|>", "hi<|endoftext|>there <|endoftext|> ", "<s> x </s><pad> <mask> y", " <mask>z",
  "[CLS] x [SEP] [MASK]y[PAD]", "UNwantéd,running", "\u0000ctrl\u0007chars\u001f\ufffd",
  "x".repeat(120), "a".repeat(300) + " " + "ab".repeat(100), "Ω≈ç√∫˜µ≤≥÷",
  "def f(x):\n    return x**2  # square\n", "URL: https://example.com/a?b=c&d=e#f",
  "unassigned a\u209db \u0378 private a\ue000b format a\u200bc\u00add lines a\u2028e\u0085f",
];
for (const f of ["tatoeba.deu-eng.deu", "tatoeba.fra-eng.fra", "tatoeba.deu-eng.eng"]) {
  const lines = fs.readFileSync(path.join(data, "parallel-tatoeba-laser", f), "utf8").split("\n");
  for (let i = 5; i < lines.length && i < 400; i += 61) texts.push(lines[i]);
}
const pairs = [["hello", "world"], ["How are you?", "Fine, thanks."], ["", "b"], ["a b c d e f", "g"]];

async function run(tok, withPairs) {
  const cases = [];
  for (const t of texts) {
    const enc = await tok.encode(t, null, { addSpecialTokens: true });
    const plain = await tok.encode(t, null, { addSpecialTokens: false });
    cases.push({
      text: t, ids: enc.getIds(), plain_ids: plain.getIds(), tokens: plain.getTokens(),
      decoded: await tok.decode(enc.getIds(), false), decoded_skip: await tok.decode(enc.getIds(), true),
    });
  }
  const pairCases = [];
  if (withPairs) {
    for (const [a, b] of pairs) {
      const enc = await tok.encode(a, b, { addSpecialTokens: true });
      pairCases.push({ a, b, ids: enc.getIds(), type_ids: enc.getTypeIds(), attention_mask: enc.getAttentionMask() });
    }
  }
  return { cases, pairs: pairCases };
}

(async () => {
  const result = { generator: "tools/golden/tokenizer_hf.sh (npm tokenizers 0.23.2, tiktoken 1.0.22)" };
  result.tiny_gpt2 = await run(Tokenizer.fromFile(path.join(out, "tiny-gpt2", "tokenizer.json")), false);
  result.tiny_bart = await run(Tokenizer.fromFile(path.join(out, "tiny-bart", "tokenizer.json")), true);
  const bertPath = path.join(data, "bert-tiniest-lmbuddy", "tokenizer.json");
  result.bert = await run(Tokenizer.fromFile(bertPath), true);
  const skel = JSON.parse(fs.readFileSync(bertPath, "utf8"));
  skel.model.vocab = {};
  fs.writeFileSync(path.join(out, "bert-skeleton.json"), JSON.stringify(skel, null, 1));
  // GPT-2 proper, by tiktoken (allowed_special "all" for <|endoftext|>).
  const enc = get_encoding("gpt2");
  result.gpt2_tiktoken = texts.map((t) => ({ text: t, ids: Array.from(enc.encode(t, "all")) }));
  enc.free();
  fs.writeFileSync(path.join(out, "cases.json"), JSON.stringify(result));
  console.log("wrote", path.join(out, "cases.json"), texts.length, "texts");
})();
