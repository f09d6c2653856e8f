"""Benchmark: cocotb + Icarus throughput of the generated Verilog (issue 3 targets).

Exhaustive 8-bit combinational multiplier (target >= 50,000 vectors/s) and the
2-stage pipelined multiplier with random gaps and backpressure (target >= 20,000/s).
Prints vectors/s and the ratio to each target; ``--json`` prints one object.
"""

import argparse
import json
import tempfile

from pymodel import Mitchell
from sim.runner import run_bench


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cfg = Mitchell(width=8)
    res = {"seed": args.seed}
    with tempfile.TemporaryDirectory() as d:
        comb = run_bench(cfg, "mul", kinds=("exhaustive",), seed=args.seed, build_root=d)
        pipe = run_bench(cfg, "mul", stages=2, kinds=("exhaustive",), seed=args.seed, build_root=d)
    for key, s, target in (("combinational", comb, 50_000), ("pipelined_backpressure", pipe, 20_000)):
        res[key] = {"vectors": s["checked"], "mismatches": s["mismatches"], "vectors_per_s": s["vectors_per_s"],
                    "target": target, "ratio_to_target": round(s["vectors_per_s"] / target, 2)}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"seed {args.seed}")
        for key in ("combinational", "pipelined_backpressure"):
            r = res[key]
            print(f"{key:<24} {r['vectors']:>7} vectors  {r['vectors_per_s']:>7} vectors/s  "
                  f"target {r['target']}  ratio {r['ratio_to_target']:.2f}  mismatches {r['mismatches']}")


if __name__ == "__main__":
    main()
