#!/usr/bin/python3
"""Compare attn's attention kernels with PyTorch eager attention, in one run.

For every configuration it times `attn bench attention --json` and PyTorch's
softmax(Q·Kᵀ/√d + mask)·V (2 threads, float32; the faster of PyTorch's default
configuration and ../shared/bench/torch-tuned), then prints a table of
seconds, GFLOP/s and the ratio torch_seconds / attn_seconds (> 1: attn faster).

Usage (from the repository root):
    /usr/bin/python3 tools/bench/attention.py [--attn ./attn] [--quick] [--rounds 3] [--json out.json]
The attn binary is built with `go build -o /tmp/attn-bench ./cmd/attn` unless
--attn is given. --quick skips the long-sequence rows.
PyTorch's peak memory at L=16384 is measured in a child process capped by
RLIMIT_AS (--torch-mem-gib, default 8) so a shared machine never swaps or
invokes the OOM killer; over the cap it is reported as could-not-run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

THREADS = 2
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TUNED = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "torch-tuned"))

# name, attn flags, torch spec (None: attn only)
CONFIGS = [
    ("causal fwd L=2048", dict(seq=2048, causal=True), dict(L=2048, LK=2048, causal=True, bwd=False)),
    ("full fwd L=2048", dict(seq=2048), dict(L=2048, LK=2048, causal=False, bwd=False)),
    ("causal bwd L=2048", dict(seq=2048, causal=True, direction="bwd"), dict(L=2048, LK=2048, causal=True, bwd=True)),
    ("full bwd L=2048", dict(seq=2048, direction="bwd"), dict(L=2048, LK=2048, causal=False, bwd=True)),
    ("decode 1x1024", dict(seq=1, **{"kv-seq": 1024}, kernel="decode"), dict(L=1, LK=1024, causal=False, bwd=False)),
    ("window 256 L=16384", dict(seq=16384, causal=True, window=256, kernel="sparse", runs=3), None),
    ("window 256 L=65536", dict(seq=65536, causal=True, window=256, kernel="sparse", runs=3), None),
    ("causal fwd L=16384", dict(seq=16384, causal=True, runs=1), "memory"),
]
LONG = {"window 256 L=16384", "window 256 L=65536", "causal fwd L=16384"}


def torch_time(spec, runs):
    """Median seconds of PyTorch eager attention for spec (B=1, NH=12, HS=64)."""
    import torch
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    L, LK, HS, NH = spec["L"], spec["LK"], 64, 12
    q = torch.randn(1, NH, L, HS)
    k = torch.randn(1, NH, LK, HS)
    v = torch.randn(1, NH, LK, HS)
    scale = 1 / HS ** 0.5
    mask = None
    if spec["causal"]:
        mask = torch.ones(L, LK, dtype=torch.bool).tril(diagonal=LK - L).logical_not()

    def fwd(q, k, v):
        s = (q @ k.transpose(-2, -1)) * scale
        if mask is not None:
            s = s.masked_fill(mask, float("-inf"))
        return torch.softmax(s, dim=-1) @ v

    times = []
    if not spec["bwd"]:
        with torch.no_grad():
            for i in range(runs + 1):
                t0 = time.perf_counter()
                fwd(q, k, v)
                if i:
                    times.append(time.perf_counter() - t0)
    else:
        for t in (q, k, v):
            t.requires_grad_()
        dout = torch.randn(1, NH, L, HS)
        for i in range(runs + 1):
            out = fwd(q, k, v)
            t0 = time.perf_counter()
            out.backward(dout)
            if i:
                times.append(time.perf_counter() - t0)
            q.grad = k.grad = v.grad = None
    return statistics.median(times)


def torch_child(args):
    """Entry point of the child processes (default or tuned torch): times
    the configuration named by --only and prints its median seconds."""
    spec = {name: spec for name, _, spec in CONFIGS}[args.only]
    json.dump({"seconds": torch_time(spec, args.runs)}, sys.stdout)


def torch_memory_child(L):
    """Runs causal attention at length L and prints the peak RSS in bytes."""
    try:
        spec = dict(L=L, LK=L, causal=True, bwd=False)
        torch_time(spec, 1)
        print(json.dumps({"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    except (RuntimeError, MemoryError) as e:
        print(json.dumps({"error": str(e).splitlines()[0][:200]}))


def run_torch(args, name, tuned):
    """Median seconds of one configuration in a fresh torch process, or None."""
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-child", "--only", name, "--runs", str(args.runs)]
    if tuned:
        if not os.path.exists(TUNED):
            return None
        cmd = [TUNED] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"torch ({'tuned' if tuned else 'default'}) {name} failed: {r.stderr[-300:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout)["seconds"]


def run_torch_memory(args, L):
    cap = int(args.torch_mem_gib * (1 << 30))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, os.path.abspath(__file__), "--torch-memory-child", str(L)]
    r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"exit {r.returncode}: {r.stderr.strip()[-200:]}"}


def run_attn(binary, flags, runs):
    cmd = [binary, "bench", "attention", "--json", "--runs", str(flags.pop("runs", runs))]
    for key, val in flags.items():
        if val is True:
            cmd.append(f"--{key}")
        else:
            cmd += [f"--{key}", str(val)]
    env = dict(os.environ, GOMAXPROCS=str(THREADS))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn", help="attn binary (default: build one)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="paired rounds per PyTorch row (median kept)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--torch-mem-gib", type=float, default=8)
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", help=argparse.SUPPRESS)
    ap.add_argument("--torch-memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_child:
        return torch_child(args)
    if args.torch_memory_child:
        return torch_memory_child(args.torch_memory_child)

    binary = args.attn
    if not binary:
        binary = "/tmp/attn-bench"
        subprocess.run(["go", "build", "-o", binary, "./cmd/attn"], cwd=ROOT, check=True)
    # Ours and PyTorch's run back to back per configuration, so drift in
    # the machine's load affects both sides of a ratio alike.
    rows = []
    for name, flags, spec in CONFIGS:
        if args.quick and name in LONG:
            continue
        # With --rounds R, each round times ours, then torch default, then
        # torch tuned; the row keeps the round with the median ratio, so a
        # burst of load from other processes skews one round, not the row.
        rounds = []
        for _ in range(args.rounds if isinstance(spec, dict) else 1):
            row = {"name": name, "attn": run_attn(binary, dict(flags), args.runs)}
            if isinstance(spec, dict):
                row["torch_default"] = run_torch(args, name, False)
                row["torch_tuned"] = run_torch(args, name, True)
                cands = [t for t in (row["torch_default"], row["torch_tuned"]) if t]
                if cands:
                    row["torch"] = min(cands)
                    row["ratio"] = row["torch"] / row["attn"]["seconds"]
            rounds.append(row)
        rounds.sort(key=lambda r: r.get("ratio", 0))
        row = rounds[len(rounds) // 2]
        row["round_ratios"] = [round(r["ratio"], 2) for r in rounds if "ratio" in r]
        rows.append(row)
        print(f"{name}: attn {row['attn']['seconds']:.4f} s, torch {row.get('torch')}", file=sys.stderr)
    if not args.quick:
        mem = run_torch_memory(args, 16384)
        for row in rows:
            if row["name"] == "causal fwd L=16384":
                row["torch_memory"] = mem

    print(f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")
    print(f"{'measure':24} {'attn s':>9} {'GFLOP/s':>8} {'torch def':>10} {'torch tuned':>11} {'ratio':>6}  notes")
    for row in rows:
        a = row["attn"]
        fmt = lambda t: f"{t:.4f}" if t else "-"
        note = ""
        if "torch_memory" in row:
            m = row["torch_memory"]
            torch_mem = f"{m['peak_rss'] / 2**20:.0f} MiB RSS" if "peak_rss" in m else f"could not run under {args.torch_mem_gib:g} GiB ({m.get('error', '')[:60]})"
            note = f"attn peak_extra {a['peak_extra_bytes'] / 2**20:.1f} MiB; torch {torch_mem}"
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "-"
        if len(row.get("round_ratios", [])) > 1:
            note = f"rounds {row['round_ratios']} " + note
        print(f"{row['name']:24} {a['seconds']:9.4f} {a['gflops']:8.1f} {fmt(row.get('torch_default')):>10} "
              f"{fmt(row.get('torch_tuned')):>11} {ratio:>6}  {note}")
    w = {r["name"]: r["attn"]["seconds"] for r in rows}
    if "window 256 L=16384" in w and "window 256 L=65536" in w:
        print(f"window 256: time(L=65536) / time(L=16384) = {w['window 256 L=65536'] / w['window 256 L=16384']:.2f} (target <= 4.5)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
