"""``mitchell sim``: the generated Verilog on Icarus under cocotb against the model."""

import sys

from .common import add_config_args, config, emit


def cmd_sim(args):
    from sim.runner import run_bench
    cfg = config(args)
    kinds = ("exhaustive",) if args.exhaustive else ("directed", "random")
    if cfg.width > 12 and args.exhaustive:
        raise ValueError(f"--exhaustive allows width <= 12 (2^{2 * cfg.width} pairs is too many), got {cfg.width}")
    print(f"seed: {args.seed}", file=sys.stderr)
    s = run_bench(cfg, args.op, stages=args.stages, kinds=kinds, n_random=args.vectors, seed=args.seed,
                  build_root=args.build_dir)
    text = [f"{s['module']}: {s['checked']} vectors checked, {s['mismatches']} mismatches, "
            f"{s['vectors_per_s']} vectors/s (seed {s['seed']})"]
    if args.stages:
        text.append(f"latency: attribute {s['latency_attribute']}, measured {s['latency_measured']}; "
                    f"back-to-back without backpressure: {s['back_to_back']}; "
                    f"beats lost to the mid-stream reset: {s['lost_to_reset']}")
    for mm in s["first_mismatches"]:
        text.append(f"  MISMATCH a={mm['a']} b={mm['b']} dut={mm['got']} model={mm['want']}")
    emit(args, s, "\n".join(text))
    return 0 if s["mismatches"] == 0 else 1


def add_parser(sub):
    p = sub.add_parser("sim", help="simulate the generated Verilog on Icarus with cocotb against the model")
    add_config_args(p)
    p.add_argument("--stages", type=int, default=0, help="pipeline registers, 0..8 (0: combinational)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random vectors and handshakes (default 0)")
    p.add_argument("--vectors", type=int, default=20_000, help="random vectors besides the directed corners")
    p.add_argument("--exhaustive", action="store_true", help="every operand pair instead (width <= 12)")
    p.add_argument("--build-dir", default="build/cocotb", help="root of the per-configuration build directories")
    p.set_defaults(func=cmd_sim)
