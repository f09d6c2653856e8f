"""Benchmark: `mitchell verify` (issue 12 targets).

- exhaustive: 16-bit units, all 2^32 pairs; target <= 120 s for the combinational multiplier
  (the ratio printed is target / measured: >= 1 meets it);
- prove: seconds per equivalence proof of every configuration the cocotb tests use, and of
  mul/div at widths 8..32;
- protocol: the stream properties of every pipelined configuration the cocotb tests use
  (at most 8 bits wide: same stage count, narrower data);
- mutate: mutation score of the bench on the 16-bit mul, the signed 16-bit div, a 2-stage
  8-bit pipeline and the 32-bit mul.

``--only`` picks sections; ``--json`` prints one object.  Long: run it on a quiet machine.
"""

import argparse
import json
import sys
import tempfile

from pymodel import Mitchell
from sim.configs import EXHAUSTIVE_8, PIPELINED, RANDOM_WIDE      # every configuration the cocotb tests use

EXHAUSTIVE_16 = [("mul", dict(width=16)), ("div", dict(width=16)), ("mul", dict(width=16, signed=True)),
                 ("div", dict(width=16, signed=True, frac_bits=6))]
MUTATE = [("mul", dict(width=16), 0, 40), ("div", dict(width=16, signed=True), 0, 40),
          ("mul", dict(width=8), 2, 40), ("mul", dict(width=32), 0, 20)]
SECTIONS = ("exhaustive", "prove", "protocol", "mutate")
PROTOCOL_WIDTH = 8


def _name(op, kw, stages=0):
    return f"{op} " + " ".join(f"{k}={v}" for k, v in kw.items()) + (f" stages={stages}" if stages else "")


def _say(args, text):
    if not args.json:
        print(text, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=SECTIONS, action="append", help="sections to run (default all)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the mutations (default 1)")
    ap.add_argument("--jobs", type=int, default=2, help="mutants at once (default 2)")
    ap.add_argument("--exhaustive-configs", type=int, default=len(EXHAUSTIVE_16),
                    help="run the first N 16-bit exhaustive configurations (default all four)")
    ap.add_argument("--design", default="mitchell",
                    help="design of the exhaustive runs (pymodel.registry name, default mitchell; its own "
                         "parameters at their defaults)")
    ap.add_argument("--exhaustive-width", type=int, default=16, help="width of the exhaustive runs (default 16)")
    ap.add_argument("--model-path-too", action="store_true",
                    help="each exhaustive run once more with fused_model=False (the model's array path, as "
                         "before the fused check): CPU seconds of both")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sections = args.only or SECTIONS
    res = {"seed": args.seed}
    with tempfile.TemporaryDirectory() as d:
        if "exhaustive" in sections:
            from sim.exhaustive import run_exhaustive
            res["exhaustive"] = []
            from pymodel.registry import design_class, make_design
            for op, kw in EXHAUSTIVE_16[:args.exhaustive_configs]:
                if op not in design_class(args.design).OPS:
                    continue
                if args.design != "mitchell":
                    kw = {k: v for k, v in kw.items() if k == "signed"}
                kw = {**kw, "width": args.exhaustive_width}
                cfg = make_design(args.design, **kw)
                s = run_exhaustive(cfg, op, build_root=d)
                plain = run_exhaustive(cfg, op, build_root=d, fused_model=False) if args.model_path_too else None
                r = {"config": args.design + " " + _name(op, kw), "pairs": s["checked"], "mismatches": s["mismatches"],
                     "fused_model": s["fused_model"],
                     "model_path_cpu_seconds": plain["cpu_seconds"] if plain else None,
                     "seconds": s["seconds"], "build_seconds": s["build_seconds"], "cpu_seconds": s["cpu_seconds"],
                     "target_s": 120,
                     "ratio_target_to_measured": round(120 / s["seconds"], 2)}
                res["exhaustive"].append(r)
                _say(args, f"exhaustive {r['config']:<40} {r['pairs']} pairs {r['mismatches']} mismatches "
                           f"{r['seconds']:>7} s (build {r['build_seconds']} s, CPU {r['cpu_seconds']} s)  target 120 s  "
                           f"ratio {r['ratio_target_to_measured']}")
                if plain:
                    _say(args, f"           the model's array path instead: CPU {plain['cpu_seconds']} s "
                               f"(fused / array path CPU: {s['cpu_seconds'] / max(plain['cpu_seconds'], 1e-9):.2f})")
        if "prove" in sections:
            from sim.prove import prove
            res["prove"] = []
            cases = [(op, kw, 0) for op, kw in EXHAUSTIVE_8 + RANDOM_WIDE] + PIPELINED
            cases += [(op, dict(width=w), 0) for op in ("mul", "div") for w in (12, 16, 24)]
            cases += [("div", dict(width=32), 0)]
            for op, kw, st in cases:
                s = prove(Mitchell(**kw), op, stages=st, build_root=d)
                r = {"config": _name(op, kw, st), "result": s["result"], "method": s["method"],
                     "seconds": s["seconds"]}
                res["prove"].append(r)
                _say(args, f"prove      {r['config']:<55} {r['result']:<14} {r['method']:<8} {r['seconds']:>7} s")
        if "protocol" in sections:
            from sim.protocol import check_protocol
            res["protocol"] = []
            for op, kw, st in PIPELINED:
                # the handshake is the same at every width; the checker's twin makes wide data slow
                # (16-bit div, 3 stages: no answer in 10 minutes), so wide units are checked at 8 bits
                kw = {**kw, "width": min(kw["width"], PROTOCOL_WIDTH)}
                if kw.get("frac_bits", 0) >= kw["width"]:
                    kw.pop("frac_bits")
                s = check_protocol(Mitchell(**kw), op, stages=st, build_root=d)
                r = {"config": _name(op, kw, st), "result": s["result"], "depth": s["depth"], "seconds": s["seconds"]}
                res["protocol"].append(r)
                _say(args, f"protocol   {r['config']:<55} {r['result']:<14} depth {r['depth']} {r['seconds']:>7} s")
        if "mutate" in sections:
            from sim.mutate import run_mutation
            res["mutate"] = []
            for op, kw, st, n in MUTATE:
                s = run_mutation(Mitchell(**kw), op, stages=st, n=n, seed=args.seed, jobs=args.jobs, build_root=d)
                r = {k: s[k] for k in ("mutants", "equivalent", "non_equivalent", "killed", "score", "survivors",
                                       "seconds")}
                r["config"] = _name(op, kw, st)
                res["mutate"].append(r)
                _say(args, f"mutate     {r['config']:<40} {r['mutants']} mutants, {r['equivalent']} equivalent, "
                           f"killed {r['killed']}/{r['non_equivalent']}  score {r['score']}  {r['seconds']} s")
                for m in r["survivors"]:
                    _say(args, f"    SURVIVOR {m}")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
