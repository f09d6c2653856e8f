"""``mitchell cost``: synthesis cost against exact operators."""

import sys

from .common import (add_config_args, cache_folder, cache_help, check_config_options, config, check_output_path, emit,
                     int_in, progress, parse_widths, refuse, seed_arg)


def cost_table(results):
    lines = [f"{'op':<4} {'width':>5} {'design':<11} {'cells':>7} {'depth':>6} {'iCE40 LUT4':>11} {'Fmax MHz':>9}"]
    for r in results:
        c = r["config"]
        for d, label in (("approx", r["design"]), ("exact", "exact")):
            m = r[d]
            fmax = ("no fit" if d in r.get("notes", {}) else "n/a") if m["fmax_mhz"] is None else f"{m['fmax_mhz']:.1f}"
            lines.append(f"{r['op']:<4} {c['width']:>5} {label:<11} {m['cells']:>7} {m['depth']:>6} {m['ice40_luts']:>11} {fmax:>9}")
        q = r["ratio"]
        fr = "n/a" if q["fmax_mhz"] is None else f"{100 * q['fmax_mhz']:.0f}%"
        lines.append(f"{'':<4} {'':>5} {'ratio':<11} {100 * q['cells']:>6.0f}% {100 * q['depth']:>5.0f}% "
                     f"{100 * q['ice40_luts']:>10.0f}% {fr:>9}")
        lines.append(f"{'':<4} {'':>5} exact: {r['baseline']}")
    return "\n".join(lines)


def cmd_cost(args):
    from hdl.cost import cost, pareto, pareto_frac_bits
    import copy

    from pymodel.plots import SUFFIXES
    widths = parse_widths(args.width)
    check_config_options(args)
    if not args.plot:
        refuse(args, ("--seed",), "without --plot (it seeds the Pareto plot's sampled errors)")
    cfgs = []
    for w in widths:
        one = copy.copy(args)
        one.width = w
        cfgs.append(config(one))
    if args.plot and args.design != "mitchell":
        raise ValueError("--plot sweeps Mitchell's --frac-bits; for every design against cost use `mitchell compare`")
    if args.plot:
        check_output_path("--plot", args.plot, suffixes=SUFFIXES)
    cache_folder(args, "cache_dir", "cost")
    with progress(args, total=2 * len(cfgs), desc="synthesis (design and exact per width)", unit="design") as update:
        results = [cost(c, args.op, stages=args.stages, fmax=not args.no_fmax, abc=args.abc,
                        cache_dir=args.cache_dir, progress=update) for c in cfgs]
    text = [cost_table(results), f"(yosys flow: synth -flatten; abc -g ...{' -fast' if args.abc == 'fast' else ''}; "
                                 f"stages={args.stages}; {'cached' if all(r['cached'] for r in results) else 'synthesized'})"]
    # one schema for every design and any number of widths: a row per width
    obj = {"design": results[0]["design"], "op": args.op, "stages": args.stages, "widths": widths, "rows": results}
    if args.plot:
        from pymodel.plots import plot_pareto
        pw = widths if len(widths) > 1 else [8, 16, 24, 32]
        print(f"seed: {args.seed}", file=sys.stderr)
        with progress(args, total=sum(len(pareto_frac_bits(w)) for w in pw), desc="pareto", unit="design") as update:
            rows = pareto(pw, args.op, signed=args.signed, abc=args.abc, seed=args.seed, cache_dir=args.cache_dir,
                          progress=update)
        path = plot_pareto(rows, args.plot, op=args.op)
        obj = {**obj, "pareto": rows, "pareto_plot": path}
        text.append(f"Pareto plot: {path}")
        text += [f"  {r['design']:<9} {r['width']:>3}-bit f{'' if r['frac_bits'] is None else r['frac_bits']:<3} "
                 f"{r['cells']:>6} cells  MRED {100 * r['mred']:.3f}%" for r in rows]
    emit(args, obj, "\n".join(text))


def add_parser(sub):
    p = sub.add_parser("cost", help="synthesis cost (yosys, nextpnr-ice40) against exact operators")
    add_config_args(p, op_choices=("mul", "div"), width_list=True)
    p.add_argument("--stages", type=int_in("--stages", 0, 8), default=0,
                   help="pipeline registers of the Mitchell design, 0..8 (default 0)")
    p.add_argument("--abc", choices=("fast", "full"), default="fast",
                   help="ABC script for the generic gates: fast (delay-preserving, default) or full")
    p.add_argument("--no-fmax", action="store_true", help="skip place-and-route (nextpnr-ice40)")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also a Pareto plot of MRED against cells (widths given, or 8,16,24,32) with frac_bits "
                        "sweeps: .png, .svg or .pdf")
    seed_arg(p, "seed of the sampled error metrics of the Pareto plot (widths > 12)")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("synthesis result cache", "cost"))
    p.set_defaults(func=cmd_cost)
