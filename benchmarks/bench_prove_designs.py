"""Benchmark: ``mitchell verify --prove`` of every design at 32 bits (issue 20).

For each design, each operator, unsigned and signed, combinational and with two pipeline
stages, the whole proof of ``mitchell verify --prove`` (``sim.prove.prove(..., stream=True)``:
for a pipelined unit also the freeze and handshake proofs), with the design's default
parameters.  Prints wall seconds, CPU seconds (this process and its tools: load-independent)
and the load average before each proof; the target is 120 s per proof.  ``--design`` picks
designs, ``--width`` another width, ``--json`` one object.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _bench import cpu_model  # noqa: E402

from pymodel.registry import DESIGNS, design_class, make_design  # noqa: E402
from sim.prove import prove  # noqa: E402

TARGET_S = 120


def _cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--design", action="append", choices=list(DESIGNS), help="designs (default all)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--stages", type=int, action="append", help="stage counts (default 0 and 2)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per proof before it counts as not finished")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    if not args.json:
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; width {args.width}; target {TARGET_S} s per proof",
              flush=True)
    with tempfile.TemporaryDirectory() as d:
        for name in args.design or list(DESIGNS):
            for op in design_class(name).OPS:
                for signed in (False, True):
                    for stages in args.stages or (0, 2):
                        cfg = make_design(name, width=args.width, signed=signed)
                        load = os.getloadavg()[0]
                        t0, c0 = time.perf_counter(), _cpu()
                        s = prove(cfg, op, stages=stages, timeout=args.timeout, build_root=d, stream=True)
                        r = {"design": name, "op": op, "config": cfg.describe(), "stages": stages,
                             "result": s["result"], "method": s["method"],
                             "seconds": round(time.perf_counter() - t0, 1), "cpu_seconds": round(_cpu() - c0, 1),
                             "load_before": round(load, 2)}
                        rows.append(r)
                        if not args.json:
                            print(f"{r['config']:<28} {op} stages={stages}  {r['result']:<14} {r['method']:<10} "
                                  f"{r['seconds']:>7} s wall  {r['cpu_seconds']:>6} s CPU  (load {r['load_before']})",
                                  flush=True)
    if args.json:
        print(json.dumps({"cpu": cpu_model(), "width": args.width, "target_s": TARGET_S, "proofs": rows}))
    return 0 if all(r["result"] == "proven" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
