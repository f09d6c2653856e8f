"""``mitchell verify``: every input pair, equivalence proofs, mutation score and stream-protocol proofs."""

import sys

from .byo import add_verilog_args, user_verilog
from .common import add_config_args, cache_folder, cache_help, config, emit, int_in, progress, refuse, seed_arg

MODES = ("--exhaustive", "--prove", "--mutate", "--protocol")


def _check(args, cfg):
    from sim.exhaustive import MAX_WIDTH
    if args.exhaustive and cfg.width > MAX_WIDTH:
        raise ValueError(f"--exhaustive allows --width 2..{MAX_WIDTH} (2^{2 * cfg.width} pairs is too many), "
                         f"got {cfg.width}")
    if args.protocol and args.stages == 0:
        raise ValueError("--protocol needs --stages 1..8 (a combinational unit has no stream)")
    if args.exhaustive and args.engine == "aig" and args.stages:
        raise ValueError("--engine aig checks combinational units: use --stages 0 or --engine verilator")
    if not args.exhaustive:
        refuse(args, ("--engine",), "without --exhaustive")
    if not args.prove:
        refuse(args, ("--method",), "without --prove")
    if not args.mutate:
        refuse(args, ("--jobs", "--vectors", "--seed"), "without --mutate (options of the mutation run)")
    if not (args.prove or args.protocol):
        refuse(args, ("--timeout",), "without --prove or --protocol (the provers' time limit)")
    if args.prove:
        from hdl.spec import check_spec
        check_spec(cfg, args.op)    # a design without a hardware spec fails now, not after a build


def _with(s, info):
    """The summary, with how a --verilog file was read."""
    if info:
        s["verilog"] = info
    return s


def _finished(s, args, what):
    """A prover stopped by ``--timeout`` is a tool failure (exit 3), not a failed check."""
    if s["result"] == "timeout":
        from hdl.tools import ToolError
        raise ToolError(f"{what} did not finish within --timeout {args.timeout} s", log=s["log"])


def cmd_verify(args):
    cfg = config(args)
    cache_folder(args, "build_dir", "build", "verify", option="--build-dir")
    verilog, info = user_verilog(args, cfg, args.op, args.build_dir + "/user_verilog")
    _check(args, cfg)
    op, st = args.op, args.stages
    if info:
        from sim.user_verilog import describe
    read = f"\n  read: {describe(info)}" if info else ""
    if args.exhaustive:
        from sim.exhaustive import run_exhaustive
        pairs = 1 << (2 * cfg.width)
        with progress(args, total=pairs, desc="exhaustive", unit="pair", unit_scale=True) as update:
            s = run_exhaustive(cfg, op, stages=st, engine=args.engine, build_root=args.build_dir + "/exhaustive",
                               progress=update, verilog=verilog)
        text = [f"{s['module']} ({s['engine']}): {s['checked']} of {s['pairs']} pairs checked, "
                f"{s['mismatches']} mismatches, {s['seconds']} s ({s['build_seconds']} s build, "
                f"{s['pairs_per_s']:,} pairs/s)"]
        if s["missing_results"]:
            text.append(f"  the design gave {s['missing_results']} results too few")
        for mm in s["first_mismatches"]:
            text.append(f"  MISMATCH a={mm['a']} b={mm['b']} design={mm['got']} model={mm['want']}")
        emit(args, _with(s, info), "\n".join(text) + read)
        return 0 if s["mismatches"] == 0 else 1
    if args.prove:
        from sim.golden import expected
        from sim.prove import prove
        # a pipelined unit: the data proof, the freeze under a held output and the handshake (the whole claim)
        s = prove(cfg, op, stages=st, method=args.method, timeout=args.timeout, build_root=args.build_dir + "/prove",
                  stream=True, verilog=verilog)
        _finished(s, args, "the equivalence proof")
        cex = s["counterexample"]
        if cex and cex.get("a") is not None and cex.get("b") is not None:
            cex["model"] = {k: int(v) for k, v in expected(cfg, op, cex["a"], cex["b"]).items()}
        text = [f"{s['module']}: {s['result']} against the spec ({s['method']}, {s['seconds']} s)"]
        if cex:
            design = {k[7:]: v for k, v in cex.items() if k.startswith("design_")}
            spec = {k[5:]: v for k, v in cex.items() if k.startswith("spec_")}
            text.append(f"  COUNTEREXAMPLE a={cex['a']} b={cex['b']}: design {design}, spec {spec}, "
                        f"model {cex.get('model')}")
        if "stream" in s:
            fr, hs = s["stream"]["freeze"], s["stream"]["handshake"]
            text[0] = (f"{s['module']}: {s['result']} (data {s['data_result']} against the spec, {s['method']}; "
                       f"stream below; {s['seconds']} s)")
            text.append(f"  a held output (o_valid & ~o_ready) freezes all {fr['flops']} flip-flops: {fr['result']} "
                        f"({fr['seconds']} s)"
                        + (f"; these change: {', '.join(fr['changed'])}" if fr["changed"] else ""))
            text.append(f"  handshake ({', '.join(p for p in hs['properties'] if p != 'order')}): {hs['result']}"
                        + (f" (induction length {hs['depth']})" if hs["proven"] else "") + f", {hs['seconds']} s")
            for r in hs["trace"] or []:
                text.append("    cycle {cycle}: rst={rst} i_valid={i_valid} i_ready={i_ready} o_valid={o_valid} "
                            "o_ready={o_ready}".format(**{k: r.get(k) for k in (
                                "cycle", "rst", "i_valid", "i_ready", "o_valid", "o_ready")})
                            + (f"  FAILS {', '.join(r['failed'])}" if r["failed"] else ""))
        text.append(f"  log: {s['log']}")
        emit(args, _with(s, info), "\n".join(text) + read)
        return 0 if s["proven"] else 1
    if args.protocol:
        from sim.protocol import check_protocol
        s = check_protocol(cfg, op, stages=st, timeout=args.timeout, build_root=args.build_dir + "/protocol",
                           verilog=verilog)
        _finished(s, args, "the protocol proof")
        text = [f"{s['module']}: stream properties {s['result']}"
                + (f" (induction length {s['depth']})" if s["depth"] and s["proven"] else "")
                + f", {s['seconds']} s: {', '.join(s['properties'])}"
                + f" (o_ready low at most {s['max_stall']} cycles in a row)"]
        if s["result"] == "unknown":
            text.append(f"  no violation within {s['max_steps']} cycles, but induction did not close")
        for r in s["trace"] or []:
            text.append("  cycle {cycle}: rst={rst} a={a} b={b} i_valid={i_valid} i_ready={i_ready} "
                        "o_valid={o_valid} o_ready={o_ready}".format(**{k: r.get(k) for k in (
                            "cycle", "rst", "a", "b", "i_valid", "i_ready", "o_valid", "o_ready")})
                        + (f"  FAILS {', '.join(r['failed'])}" if r["failed"] else ""))
        text.append(f"  log: {s['log']}")
        emit(args, _with(s, info), "\n".join(text) + read)
        return 0 if s["proven"] else 1
    from sim.mutate import run_mutation
    print(f"seed: {args.seed}", file=sys.stderr)
    with progress(args, total=args.mutate, desc="mutants", unit="mutant") as update:
        s = run_mutation(cfg, op, stages=st, n=args.mutate, seed=args.seed, n_random=args.vectors, jobs=args.jobs,
                         build_root=args.build_dir + "/mutate", progress=update, verilog=verilog)
    score = "n/a" if s["score"] is None else f"{100 * s['score']:.1f} %"
    text = [f"{s['module']}: {s['mutants']} mutants, {s['equivalent']} equivalent, {s['non_equivalent']} not; "
            f"the bench killed {s['killed']}: mutation score {score} ({s['seconds']} s, seed {s['seed']})"]
    for m in s["survivors"]:
        text.append(f"  SURVIVOR {m}")
    emit(args, _with(s, info), "\n".join(text) + read)
    return 0 if not s["survivors"] else 1


def add_parser(sub):
    p = sub.add_parser("verify", help="complete checks of the generated Verilog: every input pair, "
                                      "equivalence proofs, mutation score, stream-protocol proofs")
    add_config_args(p, op_choices=("mul", "div"))
    p.add_argument("--stages", type=int_in("--stages", 0, 8), default=None,
                   help="pipeline registers, 0..8 (default 0: combinational; with --verilog, the file's measured "
                        "latency)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--exhaustive", action="store_true",
                      help="every operand pair (width <= 16) through a compiled harness against the model")
    mode.add_argument("--prove", action="store_true",
                      help="prove the design equal to its spec (yosys); pipelined: also under any backpressure "
                           "(a held output freezes the unit) and the handshake properties")
    mode.add_argument("--mutate", type=int_in("--mutate", 1, 10_000), metavar="N", default=None,
                      help="N netlist mutants: prover-classified, then the cocotb bench on each (1..10000)")
    mode.add_argument("--protocol", action="store_true",
                      help="prove the stream properties of a pipelined unit (temporal induction)")
    seed_arg(p, "seed of the mutations and of the bench's random vectors (--mutate)")
    p.add_argument("--engine", choices=("auto", "aig", "verilator"), default="auto",
                   help="--exhaustive harness: aig (bit-parallel, combinational), verilator, or auto (default)")
    p.add_argument("--method", choices=("auto", "abc", "sat"), default="auto",
                   help="--prove engine for combinational units: abc (iprove, then sat) or sat (default auto: abc)")
    p.add_argument("--vectors", type=int_in("--vectors", 0, 10_000_000), default=20_000,
                   help="--mutate: the bench's random vectors besides its directed corners (default 20000)")
    p.add_argument("--jobs", type=int_in("--jobs", 1, 64), default=1, help="--mutate: mutants at once (default 1)")
    p.add_argument("--timeout", type=int_in("--timeout", 1, 86_400), default=1800,
                   help="seconds before a proof gives up (default 1800)")
    p.add_argument("--build-dir", default=None, metavar="DIR", help=cache_help("root of the build directories",
                                                                              "build", "verify"))
    add_verilog_args(p, "check")
    p.set_defaults(func=cmd_verify)
