"""Joins the JSON lines of `attn bench matmul` (first file) and
matmul_torch.py (the others) into a table; each side keeps its fastest
measurement per shape, in the order our shapes first appear. With
--paired, the ratio is taken within each round (ours / the faster PyTorch
of that round) and the median ratio is printed with its spread."""
import json
import statistics
import sys


def key(r):
    return (r["m"], r["n"], r["k"], bool(r["transa"]), bool(r["transb"]))


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def fastest(rows):
    best = {}
    for r in rows:
        k = key(r)
        if k not in best or r["gflops"] > best[k]["gflops"]:
            best[k] = r
    return best


def paired(ours_path, torch_paths):
    ours = {(key(r), r["round"]): r for r in load(ours_path)}
    peers = {}
    for path in torch_paths:
        for r in load(path):
            k = (key(r), r["round"])
            if k not in peers or r["gflops"] > peers[k]["gflops"]:
                peers[k] = r
    print("%-22s %5s %10s %12s %7s" % ("shape (MxNxK)", "round", "ours GF/s", "PyTorch GF/s", "ratio"))
    ratios = {}
    for (k, rnd), r in sorted(ours.items(), key=lambda kv: kv[0][1]):
        t = peers[(k, rnd)]
        ratios.setdefault(k, []).append(r["gflops"] / t["gflops"])
        print("%-22s %5d %10.1f %12.1f %7.2f (%s)" % ("%dx%dx%d" % k[:3], rnd, r["gflops"], t["gflops"], ratios[k][-1], t["impl"]))
    for k, rs in ratios.items():
        print("%dx%dx%d, %d threads: median ratio %.2f (min %.2f, max %.2f, %d rounds)" % (k[0], k[1], k[2], r["threads"], statistics.median(rs), min(rs), max(rs), len(rs)))


def main():
    if sys.argv[1] == "--paired":
        paired(sys.argv[2], sys.argv[3:])
        return
    ours = list(fastest(load(sys.argv[1])).values())
    best = fastest(r for path in sys.argv[2:] for r in load(path))
    print("%-28s %8s %10s %12s %7s" % ("shape (MxNxK op)", "threads", "ours GF/s", "PyTorch GF/s", "ratio"))
    for r in ours:
        k = key(r)
        op = ("T" if k[3] else "N") + ("T" if k[4] else "N")
        shape = "%dx%dx%d %s" % (k[0], k[1], k[2], op)
        t = best.get(k)
        tg = t["gflops"] if t else float("nan")
        src = " (%s)" % t["impl"] if t else ""
        print("%-28s %8d %10.1f %12.1f %7.2f%s" % (shape, r["threads"], r["gflops"], tg, r["gflops"] / tg, src))


if __name__ == "__main__":
    main()
