"""``--verilog FILE [--top MODULE] [--define NAME[=VALUE]]``: a user's Verilog file in place of the generated unit."""


def add_verilog_args(p, what):
    """The options that check a user's file against the chosen design (``what``: the command's check)."""
    p.add_argument("--verilog", metavar="FILE", default=None,
                   help=f"{what} this Verilog file (hand-edited RTL or a gate-level netlist) instead of the "
                        "generated unit: its ports must be the design's (names, widths, signedness; a clocked "
                        "file's latency is measured and must equal --stages when given)")
    p.add_argument("--top", metavar="MODULE", default=None,
                   help="--verilog: the top module (default: the one module no other instantiates)")
    p.add_argument("--define", metavar="NAME[=VALUE]", action="append", default=[],
                   help="--verilog: a macro defined for every tool (repeatable); `ifdef blocks are resolved once "
                        "with these defines only, so yosys, Icarus and Verilator read the same text")


def user_verilog(args, cfg, op, build_root):
    """``(verilog, info)`` of ``--verilog`` (see :func:`sim.user_verilog.load`), or ``(None, None)``; sets
    ``args.stages`` (given, measured, or 0)."""
    from .common import refuse
    if not args.verilog:
        refuse(args, ("--top", "--define"), "without --verilog")
        if args.stages is None:
            args.stages = 0
        return None, None
    if op == "fmul":
        raise ValueError("--verilog checks a multiplier or divider of the log family (--op mul or div)")
    from sim.user_verilog import load
    verilog, info = load(args.verilog, cfg, op, top=args.top, stages=args.stages, defines=args.define,
                         build_root=build_root)
    args.stages = info["stages"]
    return verilog, info
