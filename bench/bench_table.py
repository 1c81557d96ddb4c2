#!/usr/bin/python3
# bench/bench_table.py -- the table of bench/step_vs_torch.sh: reads its lines
# ("ceilings JSON", "moec NAME JSON", "torch NAME JSON", "shape NAME MODEL SETS
# | B | T") on stdin and prints the ceilings and one row per shape: step times,
# the ratio torch/moec, GFLOP/s and their fraction of the sgemm peak.
# Usage: bench_table.py THREADS <lines
import json
import sys


def main():
    threads = sys.argv[1] if len(sys.argv) > 1 else "?"
    ceil, runs, shapes = None, {}, []
    for line in sys.stdin:
        kind, _, rest = line.strip().partition(" ")
        if kind == "ceilings":
            ceil = json.loads(rest)
        elif kind in ("moec", "torch"):
            name, _, js = rest.partition(" ")
            runs[(kind, name)] = json.loads(js)
        elif kind == "shape":
            name, _, rest = rest.partition(" ")
            what, b, t = (s.strip() for s in rest.split("|"))
            shapes.append((name, what, int(b), int(t)))
    peak = ceil["sgemm_peak_gflops"] if ceil else None
    if ceil:
        print("ceilings at %s threads: %s (core %s)" % (ceil["threads"], ceil["openblas"], ceil["core"]))
        for s in ceil["sgemm"]:
            print("  sgemm %5d x %5d x %5d%s  %7.1f GFLOP/s" % (s["m"], s["k"], s["n"], "t" if s["b_transposed"]
                                                                 else " ", s["gflops"]))
        print("  sgemm peak %.1f GFLOP/s; memcpy %.1f GB/s (read + write bytes); other processes took %.0f%% "
              "of the CPUs meanwhile" % (peak, ceil["memcpy_gbps"], 100 * ceil["others_cpu"]))
    print("\none training step at %s threads (median of the timed steps; GFLOP = matmul FLOPs a step, "
          "doc/performance.md;\n%%pk = of the sgemm peak; others = CPU share other processes took during "
          "torch's timed steps)" % threads)
    head = ("shape", "model", "B x T", "GFLOP", "moec s", "torch s", "torch/moec", "moec GF/s", "moec %pk",
            "torch GF/s", "torch %pk", "others")
    rows = [head]
    for name, what, b, t in shapes:
        m, tr = runs.get(("moec", name)), runs.get(("torch", name))
        flops = tr["flops"] if tr else (m["gflops"] * m["step_s"] * 1e9 if m and "gflops" in m else None)
        rate = lambda r: flops / r["step_s"] / 1e9 if r and flops else None
        cells = [name, what, "%d x %d" % (b, t), flops and "%.1f" % (flops / 1e9),
                 m and "%.3f" % m["step_s"], tr and "%.3f" % tr["step_s"],
                 m and tr and "%.2f" % (tr["step_s"] / m["step_s"]),
                 rate(m) and "%.1f" % rate(m), rate(m) and peak and "%.0f%%" % (100 * rate(m) / peak),
                 rate(tr) and "%.1f" % rate(tr), rate(tr) and peak and "%.0f%%" % (100 * rate(tr) / peak),
                 tr and tr.get("others_cpu") is not None and "%.0f%%" % (100 * tr["others_cpu"])]
        rows.append(tuple(c if c else "-" for c in cells))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


main()
