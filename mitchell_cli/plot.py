"""``mitchell plot``: error figures."""

import sys

from .common import add_config_args, clean, config, emit, progress, parse_widths


def cmd_plot(args):
    from pymodel import Mitchell
    from pymodel.analysis import parse_range
    from pymodel.plots import plot
    widths = parse_widths(args.width)
    if args.kind == "compare":
        for w in widths:
            Mitchell(width=w)        # checks each width before the long sweep
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
    args.width = widths[0]
    cfg = config(args)
    if args.op == "fmul":
        print(f"seed: {args.seed}", file=sys.stderr)
        res = plot(args.kind, args.output, op="fmul", cfg=cfg, cdf=args.cdf, samples=args.samples, seed=args.seed)
        emit(args, clean(res), f"wrote {res['path']}\n" + ", ".join(f"{k}={v}" for k, v in res.items() if k != "path"))
        return
    kw = {}
    if args.kind in ("heatmap", "surface"):
        kw = {"a_range": parse_range(args.a_range, cfg, "--a-range"), "b_range": parse_range(args.b_range, cfg, "--b-range")}
        if args.kind == "heatmap":
            kw["log2"] = args.log2
    elif args.kind == "histogram":
        kw = {"cdf": args.cdf, "samples": args.samples, "seed": args.seed}
        if args.samples is not None or cfg.width > 10:
            print(f"seed: {args.seed}", file=sys.stderr)
    res = plot(args.kind, args.output, op=args.op, cfg=cfg, **kw)
    summary = ", ".join(f"{k}={v}" for k, v in res.items() if k != "path")
    emit(args, clean(res), f"wrote {res['path']}\n{summary}")


def add_parser(sub):
    from pymodel.plots import KINDS
    p = sub.add_parser("plot", help="error figures: heatmap, surface, fraction plane, histogram, compare")
    add_config_args(p, width_list=True)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--a-range", default=None, help="LO:HI of operand a (heatmap, surface)")
    p.add_argument("--b-range", default=None, help="LO:HI of operand b (heatmap, surface)")
    p.add_argument("--log2", action="store_true", help="log2 axes (heatmap; positive operands)")
    p.add_argument("--cdf", action="store_true", help="cumulative distribution (histogram)")
    p.add_argument("--samples", type=int, default=None, help="random pairs (histogram; default every pair up to 10 bits)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampled data (default 0)")
    p.add_argument("-o", "--output", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=cmd_plot)
