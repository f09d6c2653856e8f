"""``mitchell cost``: synthesis cost against exact operators."""

import sys

from .byo import add_blackbox_args, blackbox
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


def power_table(pw):
    """The energy rows of ``mitchell cost --power``: per width, the design and exact, and the ratios."""
    st = pw[0]["stream"]
    ud = pw[0]["unit_delay"]
    lines = [f"energy per operation: stream {st['stream']}, {pw[0]['pairs']} pairs, seed {pw[0]['seed']}"
             + (f", {st['images']} images, {st['operands']}, {100 * st['zero_a']:.0f} % zero activations "
                f"(weight-stationary)" if st["stream"] != "uniform" else "")
             + "; zero-delay" + (" (and unit-delay)" if ud else ""),
             f"{'width':>5} {'design':<11} {'C sw/op':>9} {'toggles/op':>10} {'depth':>6}"
             + (f" {'C sw/op unit-delay':>19}" if ud else "")]
    for p in pw:
        for d, label in (("approx", p["design"]), ("exact", "exact")):
            m = p[d]
            lines.append(f"{p['width']:>5} {label:<11} {m['switched_cap']:>9.1f} {m['toggles']:>10.1f} {m['depth']:>6}"
                         + (f" {m['switched_cap_unit_delay']:>19.1f}" if ud else ""))
        q = p["ratio"]
        lines.append(f"{'':>5} {'ratio':<11} energy {100 * q['energy']:.0f}%  toggles {100 * q['toggles']:.0f}%  "
                     f"depth {100 * q['depth']:.0f}%  energy x delay {100 * q['edp']:.0f}%"
                     + (f"  unit-delay energy {100 * q['energy_unit_delay']:.0f}% (EDP "
                        f"{100 * q['edp_unit_delay']:.0f}%)" if ud else ""))
    lines.append("(C sw: switched capacitance, inverter inputs per operation, of the generic-gate netlist; "
                 "docs/cost.md: Energy per operation)")
    return "\n".join(lines)


def cmd_cost(args):
    from hdl.cost import cost, pareto, pareto_frac_bits
    import copy

    from pymodel.plots import SUFFIXES
    bb = blackbox(args)
    if bb is not None:
        refuse(args, ("--plot", "--power", "--stages", "--stream", "--data", "--ops", "--images", "--unit-delay",
                      "--seed"), "with --verilog (the circuit's cost against exact; its Pareto point: `mitchell "
                                 "compare --verilog`)")
        cache_folder(args, "cache_dir", "cost")
        with progress(args, total=1, desc="synthesis (circuit and exact)", unit="circuit"):
            r = bb.cost(fmax=not args.no_fmax, abc=args.abc, cache_dir=args.cache_dir)
        obj = {"design": r["design"], "op": "mul", "stages": 0, "widths": [bb.width], "rows": [r],
               "circuit": bb.describe()}
        emit(args, obj, "\n".join([cost_table([r]), f"(yosys flow: synth -flatten; abc -g ..."
                                   f"{' -fast' if args.abc == 'fast' else ''}; circuit: {bb.describe()}; "
                                   f"{'cached' if r['cached'] else 'synthesized'})"]))
        return
    widths = parse_widths(args.width)
    check_config_options(args)
    if not args.plot and not args.power:
        refuse(args, ("--seed",), "without --plot or --power (it seeds the Pareto plot's sampled errors and "
                                  "the operand stream)")
    if not args.power:
        refuse(args, ("--stream", "--data", "--ops", "--images", "--unit-delay"), "without --power")
    else:
        from sim.power import check_stream
        if args.stages:
            raise ValueError(f"--power simulates combinational units; --stages {args.stages} is pipelined "
                             "(use --stages 0)")
        check_stream(args.stream, args.op, args.data)
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
    if args.power:
        from sim.power import MODEL, power
        print(f"seed: {args.seed}", file=sys.stderr)
        with progress(args, total=2 * len(cfgs), desc=f"energy ({args.stream}, design and exact per width)",
                      unit="netlist") as update:
            pw = [power(c, args.op, stream=args.stream, n=args.ops, seed=args.seed, data=args.data,
                        images=args.images, unit_delay=args.unit_delay, abc=args.abc, cache_dir=args.cache_dir,
                        progress=update) for c in cfgs]
        for r, p in zip(results, pw):
            r["power"] = {k: p[k] for k in ("stream", "pairs", "unit_delay", "approx", "exact", "ratio")}
        obj["power_model"] = MODEL
        text.append(power_table(pw))
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
    p.add_argument("--power", action="store_true",
                   help="also the energy per operation against exact: switched capacitance of the generic-gate "
                        "netlist simulated on --stream (combinational units)")
    p.add_argument("--stream", default="uniform", metavar="SOURCE",
                   help="operands of --power: uniform (seeded), nn-cnn or nn-mlp (the digits networks of "
                        "`mitchell nn`, quantised at --width), or onnx:FILE with --data (default uniform)")
    p.add_argument("--data", default=None, metavar="PATH", help="the images of --stream onnx:FILE "
                                                                "(as `mitchell nn --onnx --data`)")
    p.add_argument("--ops", type=int_in("--ops", 64, 1 << 22), default=1 << 14,
                   help="operations simulated by --power, 64..4194304 (default 16384)")
    p.add_argument("--images", type=int_in("--images", 1, 10000), default=None,
                   help="images the NN streams are recorded from, 1..10000 (default 32 digits, 8 ONNX)")
    p.add_argument("--unit-delay", action="store_true",
                   help="--power also simulates one step per gate, counting glitches")
    seed_arg(p, "seed of the sampled error metrics of the Pareto plot (widths > 12) and of --power's stream")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("synthesis result cache", "cost"))
    add_blackbox_args(p)
    p.set_defaults(func=cmd_cost)
