#!/usr/bin/python3
"""Cross-check the SentencePiece implementation against python3-sentencepiece
on every line of the shared corpora plus 5000 random hard-case lines, using
the committed models in testdata/tokenizer/spm. Nothing is written to the repo.

  /usr/bin/python3 tools/golden/tokenizer_spm_crosscheck.py [/work/shared/data]
"""
import glob, json, os, subprocess, sys, tempfile
import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
corpora = sorted(glob.glob(os.path.join(DATA, "parallel-tatoeba-laser", "tatoeba.*"))
                 + glob.glob(os.path.join(DATA, "sentiment-labelled-sentences-uci", "*.txt"))
                 + [os.path.join(DATA, "tinyshakespeare", "input.txt")])
out = tempfile.mkdtemp()
env = dict(os.environ, ATTN_TOKENIZER_CROSSCHECK=out, ATTN_TOKENIZER_CROSSCHECK_CORPORA=":".join(corpora))
subprocess.run(["go", "test", "./tokenizer", "-run", "^TestDumpSPMCrossCheck$", "-count=1"], cwd=ROOT, env=env,
               check=True, stdout=subprocess.DEVNULL)
ours = json.load(open(os.path.join(out, "crosscheck-spm.json"), encoding="utf-8"))
failed = False
for name in ["unigram", "bpe", "unigram_unk"]:
    sp = spm.SentencePieceProcessor(model_file=os.path.join(ROOT, "testdata", "tokenizer", "spm", name + ".model"))
    bad = 0
    for text, ids in zip(ours["texts"], ours[name]):
        if sp.encode(text) != ids:
            if bad < 3:
                print(name, "differs on", repr(text[:60]), file=sys.stderr)
            bad += 1
    print("%s: %d/%d lines agree with sentencepiece %s" % (name, len(ours["texts"]) - bad, len(ours["texts"]), spm.__version__))
    failed = failed or bad > 0
sys.exit(1 if failed else 0)
