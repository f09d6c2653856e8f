"""Benchmark: cocotb throughput of the generated Verilog on Icarus and on Verilator (issues 3 and 23).

Exhaustive 8-bit combinational multiplier (target >= 50,000 vectors/s) and the
2-stage pipelined multiplier with random gaps and backpressure (target >= 20,000/s), on Icarus;
then a signed 32-bit multiplier (MBM, random pairs) on both simulators: each one's vectors/s,
build seconds and the Verilator/Icarus ratio.  ``--json`` prints one object.
"""

import argparse
import json
import tempfile
import time

from pymodel import Mitchell
from sim.runner import run_bench


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wide-vectors", type=int, default=3_000, help="random pairs of the 32-bit run (default 3000)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cfg = Mitchell(width=8)
    res = {"seed": args.seed}
    with tempfile.TemporaryDirectory() as d:
        comb = run_bench(cfg, "mul", kinds=("exhaustive",), seed=args.seed, build_root=d)
        pipe = run_bench(cfg, "mul", stages=2, kinds=("exhaustive",), seed=args.seed, build_root=d)
        from pymodel.registry import make_design
        wide = {}
        for sim in ("icarus", "verilator"):
            t0 = time.perf_counter()
            s = run_bench(make_design("mbm", width=32, signed=True), "mul", kinds=("random",),
                          n_random=args.wide_vectors, seed=args.seed, build_root=d, simulator=sim)
            wide[sim] = {"vectors": s["checked"], "mismatches": s["mismatches"], "vectors_per_s": s["vectors_per_s"],
                         "wall_s": round(time.perf_counter() - t0, 1)}
        res["wide_mbm_s32"] = wide
        res["verilator_to_icarus"] = round(wide["verilator"]["vectors_per_s"] / wide["icarus"]["vectors_per_s"], 1)
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
        for sim, r in res["wide_mbm_s32"].items():
            print(f"mbm s32 on {sim:<13} {r['vectors']:>7} vectors  {r['vectors_per_s']:>7} vectors/s  "
                  f"{r['wall_s']} s in all (build included)  mismatches {r['mismatches']}")
        print(f"verilator / icarus vectors/s: {res['verilator_to_icarus']}")


if __name__ == "__main__":
    main()
