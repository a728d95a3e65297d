#!/usr/bin/python3
"""Build the small SentencePiece fixtures in testdata/tokenizer/spm and their
reference ids, with Debian's python3-sentencepiece (spm 0.1.97).

  /usr/bin/python3 tools/golden/tokenizer_spm.py [/work/shared/data]

Trains on the Tatoeba sentences in DATA/parallel-tatoeba-laser (CC BY 2.0 FR):
  unigram.model   Unigram, nmt_nfkc, byte_fallback   (also Marian's source.spm)
  bpe.model       BPE, a small custom rule table (rules.tsv), byte_fallback,
                  user-defined symbols (one that normalisation would change)
  unigram_unk.model  Unigram, identity normalisation, no byte fallback (unk path),
                  user-defined symbols
The Marian fixture (marian/) uses unigram_unk.model as source.spm and
target.spm. Only unigram.model carries the real 240 KB nmt_nfkc map; the
others keep theirs small. It writes cases.json: for every case text, each model's ids, pieces and
decoded text, plus the Marian ids (MarianTokenizer's rule: strip a leading
>>xx<< code, spm pieces mapped through vocab.json with <unk> fallback, then
</s>), with marian/vocab.json built here in Marian's layout.
"""
import json, os, sys, tempfile
import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
OUT = os.path.join(ROOT, "testdata", "tokenizer", "spm")
os.makedirs(os.path.join(OUT, "marian"), exist_ok=True)

lines = []
for name in ["tatoeba.deu-eng.deu", "tatoeba.deu-eng.eng", "tatoeba.fra-eng.fra"]:
    with open(os.path.join(DATA, "parallel-tatoeba-laser", name), encoding="utf-8") as f:
        lines += [l.rstrip("\n") for l in f]

# A fixed scratch path: the trainer records its input and output paths in the
# model, so a random one would change the committed files on every run.
tmp = os.path.join(tempfile.gettempdir(), "attn-spm-golden")
os.makedirs(tmp, exist_ok=True)
corpus = os.path.join(tmp, "corpus.txt")
with open(corpus, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

spm.set_random_generator_seed(1)  # with one thread: the same models every run

def train(name, **kw):
    prefix = os.path.join(tmp, name)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, minloglevel=2, num_threads=1, **kw)
    data = open(prefix + ".model", "rb").read()
    open(os.path.join(OUT, name + ".model"), "wb").write(data)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")

rules = os.path.join(tmp, "rules.tsv")
with open(rules, "w") as f:
    for c in range(0xFF01, 0xFF5F):  # fullwidth ASCII -> ASCII
        f.write("%X\t%X\n" % (c, c - 0xFEE0))
    f.write("3000\t20\nA0\t20\n2003\t20\n")  # odd spaces -> space
    f.write("FB01\t66 69\nFB02\t66 6C\n")  # ligatures -> two letters
    f.write("65 301\tE9\n61 300\tE0\n")  # combining sequences -> precomposed
    f.write("2460\t31\n2461\t32\n")  # circled digits

models = {
    "unigram": train("unigram", model_type="unigram", vocab_size=600, byte_fallback=True,
                     normalization_rule_name="nmt_nfkc", character_coverage=0.995),
    "bpe": train("bpe", model_type="bpe", vocab_size=600, byte_fallback=True,
                 normalization_rule_tsv=rules, character_coverage=0.995,
                 user_defined_symbols=["<sep>", "ＵＤ", "@@"]),
    "unigram_unk": train("unigram_unk", model_type="unigram", vocab_size=400,
                         normalization_rule_name="identity", character_coverage=0.98,
                         user_defined_symbols=["<sep>", "ing"]),
}

texts = [
    "", " ", "   ", "\t\n", "Hello world", "  Hello   world  ", "a\tb\nc\r\nd",
    "Héllo Wörld, ça va? Ñandú über straße", "ﬁne ＦＵＬＬ　ｗｉｄｔｈ １２３ ①②", "Ⅻ ㎏ ℃ ™ ½",
    "生活的真谛是 東京 서울", "emoji 😂👍🏽 👩\u200d❤\u200d💋\u200d👨 ✨", "caf\u0065\u0301 vs café",
    "tabs\t\tand  multiple     spaces", "trailing   ", "\u00a0nbsp\u00a0inside\u2003em space",
    "Zero\u200bwidth\u200djoiner", "<unk> </s> <s> ▁ already", "1234567890 3.14159 -42",
    "Ich habe keine Ahnung, was du meinst.", "Tom ne sait pas nager.", "ÀÉÎÕÜ àéîõü œæ ÆŒ",
    "x" * 300, "Ω≈ç√∫˜µ≤≥÷", "\u0000ctrl\u0007chars\u001f",
    "x'lll 'lll", "a\x1ab \x0c \ue000 \u209d",  # a score tie settled by double rounding; controls
    "a<sep>b <sep> ＵＤ x@@y@@@ singing<sep>ing", "<sep>", " ＵＤＵＤ",  # user-defined symbols
    "a night of binge drinking, eingebracht",  # user-defined "ing" wins on its -0.1 score
]
texts += lines[::97][:25]

vocab = {"</s>": 0, "<unk>": 1}
sp_src = models["unigram_unk"]
for i in range(sp_src.get_piece_size()):
    p = sp_src.id_to_piece(i)
    if p not in vocab and p not in ("<s>",) and i % 7 != 5:
        vocab[p] = len(vocab)  # every 7th piece left out: the <unk> fallback
vocab[">>fra<<"] = len(vocab)
vocab["<pad>"] = len(vocab)
json.dump(vocab, open(os.path.join(OUT, "marian", "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=0)
for side in ["source.spm", "target.spm"]:
    src = os.path.join(OUT, "unigram_unk.model")
    open(os.path.join(OUT, "marian", side), "wb").write(open(src, "rb").read())

def marian_ids(text):
    code = []
    if text.startswith(">>") and text.find("<<") != -1:
        end = text.find("<<")
        code, text = [text[: end + 2]], text[end + 2 :]
    pieces = code + sp_src.encode(text, out_type=str)
    return [vocab.get(p, vocab["<unk>"]) for p in pieces] + [vocab["</s>"]]

inverse = {v: k for k, v in vocab.items()}
specials = {"</s>", "<unk>", "<pad>"}

def marian_decode(ids, skip):
    # MarianTokenizer.convert_tokens_to_string: special tokens are written
    # as they are spelled plus a space, runs of pieces go through the target
    # model's decode_pieces, then "▁" -> " " and strip.
    out, run = "", []
    for i in ids:
        tok = inverse[i]
        if tok in specials:
            if skip:
                continue
            out += sp_src.decode_pieces(run) + tok + " "
            run = []
        else:
            run.append(tok)
    out += sp_src.decode_pieces(run)
    return out.replace("\u2581", " ").strip()

cases = []
for t in texts + [">>fra<< Bonjour le monde"]:
    # Texts holding Marian's special tokens are left out of the Marian check:
    # the mirror above does not split them out as PreTrainedTokenizer does.
    special = any(x in t for x in ("</s>", "<unk>", "<pad>"))
    c = {"text": t, "marian_ids": None if special else marian_ids(t)}
    if c["marian_ids"] is not None:
        c["marian_decoded"] = marian_decode(c["marian_ids"], False)
        c["marian_decoded_skip"] = marian_decode(c["marian_ids"], True)
    for name, sp in models.items():
        ids = sp.encode(t)
        c[name] = {"ids": ids, "pieces": sp.encode(t, out_type=str), "decoded": sp.decode(ids)}
    cases.append(c)
json.dump({"generator": "tools/golden/tokenizer_spm.py", "sentencepiece": spm.__version__, "cases": cases},
          open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=None)
print("wrote", OUT, len(cases), "cases")
