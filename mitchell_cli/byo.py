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


def add_blackbox_args(p, signed=False):
    """``--verilog FILE --ports A,B,P`` (and ``--top``, ``--define``): any combinational multiplier measured as a
    black box; ``signed``: also add ``--signed`` (commands that have none)."""
    p.add_argument("--verilog", metavar="FILE", default=None,
                   help="measure this combinational multiplier (any Verilog, 2..16-bit operands) as a black box: "
                        "every pair through the compiled harness; width from its ports")
    p.add_argument("--ports", metavar="A,B,P", default=None,
                   help="--verilog: the operand and product port names (default a,b,p)")
    p.add_argument("--top", metavar="MODULE", default=None,
                   help="--verilog: the top module (default: the one module no other instantiates)")
    p.add_argument("--define", metavar="NAME[=VALUE]", action="append", default=[],
                   help="--verilog: a macro defined for every tool (repeatable); `ifdef blocks are resolved once")
    if signed:
        p.add_argument("--signed", action="store_true",
                       help="--verilog: the circuit's operands and product are two's complement")


def blackbox(args, *, design_options=True, check_width=True):
    """The :class:`sim.blackbox.BlackBox` of ``--verilog``, or None (then its options are refused).  With
    ``design_options`` the design's own options are refused (the circuit is the design); a typed ``--width``
    must be the circuit's."""
    from .common import design_params, given, refuse
    if not args.verilog:
        refuse(args, ("--ports", "--top", "--define"), "without --verilog")
        return None
    if getattr(args, "op", "mul") != "mul":
        raise ValueError(f"--verilog measures a multiplier: --op {args.op} does not apply")
    if design_options:
        refuse(args, ("--design", "--frac-bits", "--quotient-frac-bits", *design_params()),
               "with --verilog (the circuit is the design)")
    from sim.blackbox import BlackBox, parse_ports
    ports = parse_ports(args.ports or "a,b,p")
    bb = BlackBox(args.verilog, ports, signed=bool(getattr(args, "signed", False)), top=args.top, defines=args.define)
    w = getattr(args, "width", None)
    if check_width and "--width" in given(args) and w is not None and (w if isinstance(w, list) else [w]) != [bb.width]:
        raise ValueError(f"--width {w if not isinstance(w, list) else ','.join(map(str, w))} differs from "
                         f"the circuit's operand width {bb.width} (port {ports[0]}); drop --width")
    return bb
