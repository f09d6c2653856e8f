"""``mitchell plot``: error figures."""

import sys

from .byo import add_blackbox_args, blackbox
from .common import (add_config_args, check_output_path, clean, config, emit, given, int_in, parse_widths,
                     progress, refuse, seed_arg)

MAX_SAMPLES = 1 << 24      # the histogram holds and sorts every error
# the options each kind uses (besides --width, --json and -o)
KIND_OPTIONS = {"heatmap": {"--a-range", "--b-range", "--log2"}, "surface": {"--a-range", "--b-range"},
                "fraction": set(), "histogram": {"--cdf", "--samples", "--seed"},
                "compare": {"--seed", "--designs", "--sweep"}}
KINDS = tuple(KIND_OPTIONS)     # = pymodel.plots.KINDS (a test checks), without importing matplotlib to parse
PLOT_OPTIONS = ("--a-range", "--b-range", "--log2", "--cdf", "--samples", "--seed", "--designs", "--sweep")


def cmd_plot(args):
    from pymodel import Mitchell
    from pymodel.analysis import parse_range
    from pymodel.plots import plot
    from pymodel.plots import SUFFIXES
    widths = parse_widths(args.width)
    refuse(args, [o for o in PLOT_OPTIONS if o not in KIND_OPTIONS[args.kind]], f"to --kind {args.kind}")
    if args.kind == "compare" and ({"--designs", "--sweep", "--design"} & set(given(args))):
        return compare_designs(args, widths)
    if args.kind == "compare":
        refuse(args, ("--op", "--format", "--frac-bits", "--quotient-frac-bits"),
               "to --kind compare (it sweeps frac_bits for mul and div)")
        for w in widths:
            Mitchell(width=w)        # checks each width before the long sweep
        check_output_path("--output", args.output, suffixes=SUFFIXES)
        print(f"seed: {args.seed}", file=sys.stderr)
        with progress(args, total=sum(2 * w for w in widths), desc="compare", unit="config") as update:
            res = plot("compare", args.output, widths=widths, signed=args.signed, seed=args.seed, progress=update)
        text = [f"wrote {res['path']}", f"{'op':<4} {'width':>5} {'frac_bits':>9} {'MRED':>9} {'min_re':>9} {'max_re':>9}"]
        text += [f"{r['op']:<4} {r['width']:>5} {r['frac_bits']:>9} {100 * r['mred']:>8.3f}% "
                 f"{100 * r['min_re']:>8.3f}% {100 * r['max_re']:>8.3f}%" for r in res["rows"]]
        emit(args, clean(res), "\n".join(text))
        return
    if len(widths) != 1:
        raise ValueError(f"--width takes one width for --kind {args.kind} (a list only for compare)")
    bb = blackbox(args)
    if bb is not None:
        if args.kind not in ("heatmap", "surface"):
            raise ValueError(f"--verilog plots --kind heatmap or surface (the circuit's product table), not --kind "
                             f"{args.kind}")
        from pymodel.table_mult import TABLE_MAX_WIDTH
        if bb.width > TABLE_MAX_WIDTH:
            raise ValueError(f"--verilog plots from the circuit's product table, held up to {TABLE_MAX_WIDTH}-bit "
                             f"operands; this one has {bb.width} (use mitchell errors --verilog)")
        check_output_path("--output", args.output, suffixes=SUFFIXES)
        cfg = bb.multiplier()
    else:
        args.width = widths[0]
        cfg = config(args)
    if bb is None:
        check_output_path("--output", args.output, suffixes=SUFFIXES)
    if args.op == "fmul":
        if args.kind != "histogram":
            raise ValueError(f"--op fmul supports --kind histogram only, got --kind {args.kind}")
        print(f"seed: {args.seed}", file=sys.stderr)
        res = plot(args.kind, args.output, op="fmul", cfg=cfg, cdf=args.cdf, samples=args.samples, seed=args.seed)
        emit(args, clean(res), f"wrote {res['path']}\n" + ", ".join(f"{k}={v}" for k, v in res.items() if k != "path"))
        return
    kw = {}
    if args.kind in ("heatmap", "surface"):
        kw = {"a_range": parse_range(args.a_range, cfg, "--a-range"), "b_range": parse_range(args.b_range, cfg, "--b-range")}
        if args.kind == "heatmap":
            kw["log2"] = args.log2
        for opt, (lo, _) in (("--a-range", kw["a_range"]), ("--b-range", kw["b_range"])):
            if args.log2 and opt in given(args) and lo < 1:
                raise ValueError(f"--log2 plots positive operands only; {opt} starts at {lo}")
    elif args.kind == "histogram":
        kw = {"cdf": args.cdf, "samples": args.samples, "seed": args.seed}
        if args.samples is not None or cfg.width > 10:
            print(f"seed: {args.seed}", file=sys.stderr)
    res = plot(args.kind, args.output, op=args.op, cfg=cfg, **kw)
    summary = ", ".join(f"{k}={v}" for k, v in res.items() if k != "path")
    emit(args, clean(res), f"wrote {res['path']}\n{summary}")


def compare_designs(args, widths):
    """``--kind compare`` across designs: MRED, bias, min/max against a parameter."""
    from pymodel.analysis import sweep_values
    from pymodel.plots import SUFFIXES, plot
    from pymodel.registry import design_class
    names = [n.strip() for n in (args.designs or args.design).split(",") if n.strip()]
    refuse(args, ("--format", "--frac-bits", "--quotient-frac-bits"), "to --kind compare (it sweeps a parameter)")
    if args.op == "fmul":
        raise ValueError("--kind compare takes --op mul or div")
    total = 0
    for n in names:
        try:
            cls = design_class(n)
        except ValueError as e:
            raise ValueError(f"--designs: {e}") from None
        if args.op not in cls.OPS:
            raise ValueError(f"--designs: {n} has no --op {args.op} (it has {', '.join(cls.OPS)})")
        ints = [p.name for p in cls.PARAMS if p.type is int and p.name != "quotient_frac_bits"]
        pname = args.sweep or ("frac_bits" if "frac_bits" in ints else (ints[0] if ints else None))
        for w in widths:
            if not cls.MIN_WIDTH <= w <= cls.MAX_WIDTH:
                raise ValueError(f"--width {w} is out of range for {n}: {cls.MIN_WIDTH}..{cls.MAX_WIDTH}")
            try:
                total += len(sweep_values(n, pname, w)) if pname else 1
            except ValueError as e:
                raise ValueError(f"--sweep: {e}") from None
    check_output_path("--output", args.output, suffixes=SUFFIXES)
    print(f"seed: {args.seed}", file=sys.stderr)
    with progress(args, total=total, desc="compare", unit="config") as update:
        res = plot("compare", args.output, op=args.op, widths=widths, designs=names, param=args.sweep,
                   signed=args.signed, seed=args.seed, progress=update)
    text = [f"wrote {res['path']}", f"{'design':<12} {'width':>5} {'param':>12} {'MRED':>9} {'bias':>9} "
                                    f"{'min_re':>9} {'max_re':>9}"]
    text += [f"{r['design']:<12} {r['width']:>5} {_param_text(r):>12} "
             f"{100 * r['mred']:>8.3f}% {100 * r['bias']:>8.3f}% {100 * r['min_re']:>8.3f}% "
             f"{100 * r['max_re']:>8.3f}%" for r in res["rows"]]
    emit(args, clean(res), "\n".join(text))


def _param_text(row):
    """``frac_bits=5``, or ``(none)`` for a design without a parameter (one configuration)."""
    return f"{row['param']}={row['value']}" if row["param"] else "(none)"


def add_parser(sub):
    p = sub.add_parser("plot", help="error figures: heatmap, surface, fraction plane, histogram, compare")
    add_config_args(p, width_list=True)
    next(a for a in p._actions if a.dest == "width").help = \
        "operand width, 2..32 (default 8); a comma list (8,12,16) for --kind compare"
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--a-range", default=None, help="LO:HI of operand a (heatmap, surface; -5:10 when signed)")
    p.add_argument("--b-range", default=None, help="LO:HI of operand b (heatmap, surface)")
    p.add_argument("--log2", action="store_true", help="log2 axes (heatmap; positive operands)")
    p.add_argument("--cdf", action="store_true", help="cumulative distribution (histogram)")
    p.add_argument("--samples", type=int_in("--samples", 1, MAX_SAMPLES), default=None,
                   help="random pairs, 1..2^24 (histogram; default every pair up to 10 bits, else 2^20)")
    seed_arg(p, "seed of sampled data (histogram, compare)")
    p.add_argument("--designs", default=None, metavar="NAME[,NAME]",
                   help="compare: the designs to put side by side (default: Mitchell's truncation sweep)")
    p.add_argument("--sweep", default=None, metavar="PARAM",
                   help="compare: the parameter on the x axis (default frac_bits, or each design's first)")
    p.add_argument("-o", "--output", required=True, help="output file: .png, .svg or .pdf (missing folders are created)")
    add_blackbox_args(p)
    p.set_defaults(func=cmd_plot)
