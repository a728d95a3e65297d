"""Generation speed of `attn generate` against PyTorch with a KV cache.

Usage (from the repository root):

    /usr/bin/python3 tools/bench/generate.py [--model DIR] [--rounds 3] [--threads 2]

Without --model it writes a GPT-2-small-shaped checkpoint with
`attn init --arch gpt2 --layers 12 --heads 12 --hidden 768 --vocab 50257
--context 1024` into a temporary directory. Each round runs, one after the
other so that drift on a shared machine hits both sides alike:

- attn, float32: 32-token prompt, 128 new tokens, greedy, EOS ignored;
- attn, --dtype bf16: the same;
- attn: a 512-token prompt and one new token (prefill speed);
- tools/bench/generate_torch.py as is and under ../shared/bench/torch-tuned
  (the same measurements in one process, float32).

It prints one JSON line per measurement and a table of medians with the
ratios against the faster PyTorch configuration, plus the peak resident
memory of each attn run next to the weights file plus the KV cache (weights
are used in place from the mapping: RSS should stay within 1.2x that). The
peak is the process's own ru_maxrss from wait4 (the high-water mark of its
resident set, mapped file pages included), the largest over the rounds.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

PY = "/usr/bin/python3"
TUNED = "../shared/bench/torch-tuned"

ap = argparse.ArgumentParser()
ap.add_argument("--model")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--prompt", type=int, default=32)
ap.add_argument("--new", type=int, default=128)
ap.add_argument("--long", type=int, default=512)
args = ap.parse_args()

tmp = tempfile.mkdtemp()
try:
    attn = os.path.join(tmp, "attn")
    subprocess.run(["go", "build", "-o", attn, "./cmd/attn"], check=True)
    model = args.model
    if model is None:
        model = os.path.join(tmp, "gpt2")
        subprocess.run([attn, "init", "--arch", "gpt2", "--layers", "12", "--heads", "12", "--hidden", "768",
                        "--vocab", "50257", "--context", "1024", "--out", model], check=True, stdout=subprocess.DEVNULL)
    weights = os.path.getsize(os.path.join(model, "model.safetensors"))
    cfg = json.load(open(os.path.join(model, "config.json")))
    # KV cache: layers × 2 × heads × positions × head size × 4 bytes.
    cache = lambda t: cfg["n_layer"] * 2 * cfg["n_embd"] * t * 4
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))

    def run(cmd, pre=()):
        p = subprocess.Popen(list(pre) + cmd, stdout=subprocess.PIPE, env=env)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"failed: {' '.join(cmd)}")
        return json.loads(out), ru.ru_maxrss * 1024

    def ours(n_prompt, n_new, *extra):
        ids = ",".join(str(i % cfg["vocab_size"]) for i in range(1, n_prompt + 1))
        res, rss = run([attn, "generate", "--model", model, "--prompt-ids", ids, "--max-new-tokens", str(n_new),
                        "--temperature", "0", "--ignore-eos", "--threads", str(args.threads), "--json", *extra])
        return res, rss

    rows = {k: [] for k in ("attn f32", "attn bf16", "attn prefill", "torch", "torch-tuned")}
    rss = {}  # the largest peak over the rounds

    def measure(name, *a):
        res, peak = ours(*a)
        rows[name].append(res)
        rss[name] = max(rss.get(name, 0), peak)

    for r in range(args.rounds):
        measure("attn f32", args.prompt, args.new)
        measure("attn bf16", args.prompt, args.new, "--dtype", "bf16")
        measure("attn prefill", args.long, 1)
        tcmd = [PY, "tools/bench/generate_torch.py", "--model", model, "--threads", str(args.threads), "--runs", "1",
                "--prompt", str(args.prompt), "--new", str(args.new), "--long", str(args.long)]
        rows["torch"].append(run(tcmd)[0])
        if os.path.exists(TUNED):
            rows["torch-tuned"].append(run(tcmd, [TUNED])[0])
        for k, v in rows.items():
            if len(v) > r:
                rec = {k2: v[r][k2] for k2 in ("prefill_tokens_per_second", "tokens_per_second",
                                              "prefill512_tokens_per_second") if k2 in v[r]}
                print(json.dumps({"round": r, "name": k, **rec}))

    if rows["torch"]:
        print(f"\ntorch BLAS: {rows['torch'][0].get('blas')}")
        if not any("openblas" in b or "mkl" in b for b in rows["torch"][0].get("blas", [])):
            print("warning: torch runs on the netlib reference BLAS here (no OpenBLAS installed), far slower "
                  "than the figures of ../shared/bench/README.md; compare with those too")
    med = lambda k, f: statistics.median(x[f] for x in rows[k]) if rows[k] else float("nan")
    torch_dec = max(med("torch", "tokens_per_second"), med("torch-tuned", "tokens_per_second"))
    torch_pre = max(med("torch", "prefill512_tokens_per_second"), med("torch-tuned", "prefill512_tokens_per_second"))
    print(f"\nGPT-2-small shape, batch 1, float32 unless noted, {args.threads} threads, medians of {args.rounds} rounds")
    print(f"{'measure':44s} {'tok/s':>9s} {'ratio':>7s}")
    for name, val, ref in [
        ("torch decode (default)", med("torch", "tokens_per_second"), torch_dec),
        ("torch decode (tuned)", med("torch-tuned", "tokens_per_second"), torch_dec),
        (f"attn decode f32, {args.prompt}+{args.new}", med("attn f32", "tokens_per_second"), torch_dec),
        (f"attn decode bf16, {args.prompt}+{args.new}", med("attn bf16", "tokens_per_second"), torch_dec),
        (f"torch prefill {args.long} (default)", med("torch", "prefill512_tokens_per_second"), torch_pre),
        (f"torch prefill {args.long} (tuned)", med("torch-tuned", "prefill512_tokens_per_second"), torch_pre),
        (f"attn prefill {args.long}", med("attn prefill", "prefill_tokens_per_second"), torch_pre),
    ]:
        print(f"{name:44s} {val:9.1f} {val / ref:6.2f}x")
    # The machine is shared: a round's attn and torch runs follow each
    # other, so the per-round ratio cancels slow phases that the medians
    # above can put on one side only.
    def paired(ours_key, field, torch_field):
        out = []
        for r in range(args.rounds):
            ref = max((rows[k][r][torch_field] for k in ("torch", "torch-tuned") if len(rows[k]) > r), default=0)
            if ref > 0:
                out.append(rows[ours_key][r][field] / ref)
        return out
    for label, key, field, tf in [("decode f32", "attn f32", "tokens_per_second", "tokens_per_second"),
                                  ("decode bf16", "attn bf16", "tokens_per_second", "tokens_per_second"),
                                  (f"prefill {args.long}", "attn prefill", "prefill_tokens_per_second",
                                   "prefill512_tokens_per_second")]:
        rs = paired(key, field, tf)
        if rs:
            print(f"per-round ratio {label:14s} median {statistics.median(rs):.2f}x "
                  f"(rounds: {' '.join(f'{x:.2f}' for x in rs)})")
    print(f"\nweights file {weights / 2**20:.0f} MiB; KV cache {cache(args.prompt + args.new) / 2**20:.1f} MiB "
          f"({args.prompt}+{args.new}), {cache(args.long + 1) / 2**20:.1f} MiB ({args.long}+1)")
    for k, v in rss.items():
        t = args.long + 1 if k == "attn prefill" else args.prompt + args.new
        print(f"peak RSS {k:14s} {v / 2**20:7.0f} MiB = {v / (weights + cache(t)):.2f}x (weights + cache), "
              f"largest of {args.rounds} rounds")
finally:
    shutil.rmtree(tmp)
