"""PyTorch side of tools/bench/matmul.sh: times torch.matmul on the shapes
given as M,N,K,TA,TB arguments (TA/TB 0 or 1: op(A) = A^T stored K×M, op(B) =
B^T stored N×K) and prints one JSON object per shape, the same fields as
`attn bench matmul --json`. Thread count comes from --threads; the OpenMP /
OpenBLAS variables must be set by the caller before Python starts (the
shell script does)."""
import argparse
import json
import time

import torch


def bench(m, n, k, ta, tb, reps):
    a = torch.randn(k, m) if ta else torch.randn(m, k)
    b = torch.randn(n, k) if tb else torch.randn(k, n)
    opa = a.t() if ta else a
    opb = b.t() if tb else b
    out = torch.empty(m, n)
    t0 = time.perf_counter()
    torch.matmul(opa, opb, out=out)  # warm-up
    warm = time.perf_counter() - t0
    if warm < 0.5:
        torch.matmul(opa, opb, out=out)
    # Median of up to reps runs: at least 5 (3 when one run takes over a
    # second), stopping after a 3 s budget.
    least = 3 if warm > 1 else 5
    times = []
    budget = time.perf_counter() + 3.0
    for i in range(reps):
        t0 = time.perf_counter()
        torch.matmul(opa, opb, out=out)
        times.append(time.perf_counter() - t0)
        if time.perf_counter() > budget and i + 1 >= least:
            break
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=21)
    p.add_argument("--label", default="torch")
    p.add_argument("shapes", nargs="+", help="M,N,K,TA,TB")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for s in args.shapes:
        m, n, k, ta, tb = (int(v) for v in s.split(","))
        sec = bench(m, n, k, ta, tb, args.reps)
        print(json.dumps({"name": "matmul", "impl": args.label, "m": m, "n": n, "k": k,
                          "transa": bool(ta), "transb": bool(tb), "threads": args.threads,
                          "seconds": sec, "gflops": 2.0 * m * n * k / sec / 1e9}), flush=True)


if __name__ == "__main__":
    main()
