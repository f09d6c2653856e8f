"""``mitchell compare``: every design side by side, the comparison table and Pareto figure of docs/designs.md."""

import sys

from .byo import add_blackbox_args, blackbox
from .common import (int_in, cache_folder, cache_help, check_design_op, check_output_path, emit, ep_text, parse_widths,
                     progress, refuse, seed_arg)

NN_MODELS = ("mlp", "cnn")


def compare_rows(names, widths, *, op="mul", signed=False, cost=True, fmax=True, nn=True, cache_dir=None,
                 nn_cache=None, seed=0, update=None, power=False, power_ops=1 << 14):
    """One row per design and width (default parameters, ``op`` "mul" or "div", unsigned unless ``signed``):
    exhaustive error metrics, synthesis cost against the exact operator, int8 NN accuracy (digits MLP and CNN;
    multipliers only, always the signed 8-bit one)."""
    if nn and op != "mul":
        raise ValueError("the NN study needs a multiplier (op 'mul')")
    from pymodel.metrics import error_metrics
    from pymodel.registry import make_design
    tick = update or (lambda n=1: None)
    rows, recorded = [], {}
    for name in names:
        for w in widths:
            cfg = make_design(name, width=w, signed=signed)
            m = error_metrics(cfg, op)
            row = {"design": name, "op": op, "width": w, "signed": signed, "config": cfg.as_dict(), "pairs": m["pairs"],
                   "exhaustive": m["exhaustive"], **{k: m[k] for k in ("mred", "bias", "min_re", "max_re", "ep")}}
            tick()
            if cost:
                from hdl.cost import cost as synth
                c = synth(cfg, op, fmax=fmax, cache_dir=cache_dir)
                for k in ("cells", "depth", "ice40_luts", "fmax_mhz"):
                    row[k], row[f"exact_{k}"], row[f"ratio_{k}"] = c["approx"][k], c["exact"][k], c["ratio"][k]
                tick()
            if power:
                _power_columns(row, name, cfg, op, w, power_ops, seed, cache_dir, nn_cache, recorded)
                tick()
            rows.append(row)
        if nn:
            from pymodel.nn.study import run_study
            for model in NN_MODELS:
                r = run_study(dataset="digits", model=model, width=8, finetune_epochs=0, seed=seed,
                              cache_dir=nn_cache, multiplier=make_design(name, width=8, signed=True))
                for row in rows:
                    if row["design"] == name:
                        row[f"nn_{model}_float32"] = r["accuracy"]["float32"]
                        row[f"nn_{model}_int8_exact"] = r["accuracy"]["int8_exact"]
                        row[f"nn_{model}_int8"] = r["accuracy"]["int8_mitchell"]
                tick()
    return rows


def circuit_row(bb, *, cost=True, fmax=True, nn=True, cache_dir=None, nn_cache=None, seed=0, update=None):
    """The row of a black-box circuit (``--verilog``) beside the family's: its every-pair metrics, its cost
    against exact through the same flow, and the int8 NN columns when it is a signed 8-bit multiplier (the
    networks' width); otherwise ``nn_note`` says why they are empty."""
    tick = update or (lambda n=1: None)
    m = bb.metrics()
    row = {"design": bb.name, "op": "mul", "width": bb.width, "signed": bb.signed, "config": bb.config(),
           "circuit": bb.describe(), "pairs": m["pairs"], "exhaustive": m["exhaustive"],
           **{k: m[k] for k in ("mred", "bias", "min_re", "max_re", "ep")}}
    tick()
    if cost:
        c = bb.cost(fmax=fmax, cache_dir=cache_dir)
        for k in ("cells", "depth", "ice40_luts", "fmax_mhz"):
            row[k], row[f"exact_{k}"], row[f"ratio_{k}"] = c["approx"][k], c["exact"][k], c["ratio"][k]
        tick()
    if nn and bb.signed and bb.width == 8:
        from pymodel.nn.study import run_study
        mult = bb.multiplier()
        for model in NN_MODELS:
            r = run_study(dataset="digits", model=model, width=8, finetune_epochs=0, seed=seed, cache_dir=nn_cache,
                          multiplier=mult)
            row[f"nn_{model}_float32"] = r["accuracy"]["float32"]
            row[f"nn_{model}_int8_exact"] = r["accuracy"]["int8_exact"]
            row[f"nn_{model}_int8"] = r["accuracy"]["int8_mitchell"]
            tick()
    elif nn:
        row["nn_note"] = "the int8 NN columns need a signed 8-bit circuit (--signed)"
    return row


def _power_columns(row, name, cfg, op, w, n, seed, cache_dir, nn_cache, recorded):
    """Energy per operation against exact (sim.power): on uniform operands (the row's design), and, for a
    multiplier, on the digits CNN's int``w`` operands (the signed design, as the NN columns use it)."""
    from pymodel.registry import make_design
    from sim.power import power
    r = power(cfg, op, stream="uniform", n=n, seed=seed, cache_dir=cache_dir)
    row["energy_uniform"], row["edp_uniform"] = r["ratio"]["energy"], r["ratio"]["edp"]
    row["switched_cap_uniform"], row["exact_switched_cap_uniform"] = (r["approx"]["switched_cap"],
                                                                      r["exact"]["switched_cap"])
    if op == "mul":
        if w not in recorded:
            from pymodel.nn.operands import record_study
            recorded[w] = record_study("cnn", width=w, seed=seed, cache_dir=nn_cache)   # the NN columns' network
        r = power(make_design(name, width=w, signed=True), "mul", stream="nn-cnn", n=n, seed=seed,
                  cache_dir=cache_dir, calls=recorded[w])
        row["energy_cnn"], row["edp_cnn"] = r["ratio"]["energy"], r["ratio"]["edp"]


def _pct(v, d=2):
    return "—" if v is None else f"{100 * v:.{d}f} %"


def markdown_table(rows, *, cost=True, nn=True, fmax=True, power=False):
    head = ["design", "width", "MRED", "bias", "min / max", "EP"]
    if cost:
        head += ["cells (vs exact)", "depth", "iCE40 LUT4", "Fmax MHz"]
    if power:
        head += ["energy uniform (EDP)"] + (["energy CNN (EDP)"] if any("energy_cnn" in r for r in rows) else [])
    if nn:
        head += ["MLP int8", "CNN int8"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["design"], str(r["width"]), _pct(r["mred"], 3), _pct(r["bias"], 3),
                 f"{100 * r['min_re']:+.2f} / {100 * r['max_re']:+.2f} %", ep_text(r["ep"], 3)]
        if cost:
            fm = ("no fit" if fmax else "not run") if r["fmax_mhz"] is None else f"{r['fmax_mhz']:.1f}"
            cells += [f"{r['cells']} ({_pct(r['ratio_cells'], 0)})", f"{r['depth']} / {r['exact_depth']}",
                      f"{r['ice40_luts']} / {r['exact_ice40_luts']}", fm]
        if power:
            cells += [f"{_pct(r[f'energy_{s}'], 0)} ({_pct(r[f'edp_{s}'], 0)})" for s in ("uniform", "cnn")
                      if f"energy_{s}" in r]
        if nn:
            cells += [_pct(r.get("nn_mlp_int8")), _pct(r.get("nn_cnn_int8"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cmd_compare(args):
    from pymodel.registry import DESIGNS, designs_with
    bb = blackbox(args, check_width=False)
    if bb is not None:
        refuse(args, ("--power", "--ops", "--energy-plot"), "with --verilog (energy of a circuit: not yet)")
    names = designs_with(args.op)
    if args.designs:
        wanted = list(dict.fromkeys(n.strip() for n in args.designs.split(",") if n.strip()))
        bad = [n for n in wanted if n not in DESIGNS]
        if bad:
            raise ValueError(f"--designs: unknown design {bad[0]!r}; the designs are: {', '.join(DESIGNS)}")
        check_design_op("--designs", wanted, args.op)
        names = wanted
    widths = parse_widths(args.width)
    if args.op == "div":
        # the NN study multiplies: a divider comparison has none
        refuse(args, ("--nn-cache",) + (() if args.power else ("--seed",)),
               "to --op div (options of the NN study, which multiplies)")
        args.no_nn = True
    if args.no_nn and not args.power:
        refuse(args, ("--seed", "--nn-cache"), "with --no-nn (options of the NN study)")
    if not args.power:
        refuse(args, ("--ops", "--energy-plot"), "without --power")
    elif args.energy_plot:
        from pymodel.plots import SUFFIXES
        check_output_path("--energy-plot", args.energy_plot, suffixes=SUFFIXES)
    if args.no_cost:
        refuse(args, ("--no-fmax", "--cache-dir"), "with --no-cost (options of the synthesis)")
    if args.plot:
        from pymodel.plots import SUFFIXES
        if args.no_cost:
            raise ValueError("--plot draws MRED against cost: it needs the synthesis (drop --no-cost)")
        check_output_path("--plot", args.plot, suffixes=SUFFIXES)
    if not args.no_cost:
        cache_folder(args, "cache_dir", "cost")
    if not args.no_nn:
        cache_folder(args, "nn_cache", "nn", option="--nn-cache")
    total = len(names) * (len(widths) * (1 + (not args.no_cost) + args.power) + (0 if args.no_nn else len(NN_MODELS)))
    if bb is not None:
        total += 1 + (not args.no_cost) + (0 if args.no_nn or not (bb.signed and bb.width == 8) else len(NN_MODELS))
    if args.power:
        print(f"seed: {args.seed}", file=sys.stderr)
    with progress(args, total=total, desc="compare (errors, synthesis, NN per design)", unit="step") as update:
        rows = compare_rows(names, widths, op=args.op, signed=args.signed, cost=not args.no_cost, fmax=not args.no_fmax, nn=not args.no_nn,
                            cache_dir=args.cache_dir, nn_cache=args.nn_cache, seed=args.seed, update=update,
                            power=args.power, power_ops=args.ops)
        if bb is not None:
            rows.append(circuit_row(bb, cost=not args.no_cost, fmax=not args.no_fmax, nn=not args.no_nn,
                                    cache_dir=args.cache_dir, nn_cache=args.nn_cache, seed=args.seed, update=update))
    obj = {"op": args.op, "signed": args.signed, "widths": widths, "rows": rows}
    text = (f"{'Multipliers' if args.op == 'mul' else 'Dividers'}, {'signed' if args.signed else 'unsigned'}, "
            f"default parameters; errors over every pair" + ("" if args.op == "mul" else " (b != 0)") + "\n\n"
            + markdown_table(rows, cost=not args.no_cost, nn=not args.no_nn, fmax=not args.no_fmax, power=args.power))
    if args.power:
        from sim.power import MODEL
        obj["power_model"] = MODEL
        text += (f"\n\nEnergy: switched capacitance per operation against exact ({args.ops} operations, seed "
                 f"{args.seed}; CNN: the digits CNN's int<width> operands, weight-stationary, on the signed design); "
                 "EDP: energy x depth")
    if bb is not None:
        text += f"\n\n{bb.name}: {bb.describe()}" + (f"; {rows[-1]['nn_note']}" if "nn_note" in rows[-1] else "")
    if args.plot:
        from pymodel.plots import plot_design_pareto
        obj["plot"] = plot_design_pareto(rows, args.plot, op=args.op)
        text += f"\n\nPareto figure: {obj['plot']}"
    if args.power and args.energy_plot:
        from pymodel.plots import plot_energy_pareto
        obj["energy_plot"] = plot_energy_pareto(rows, args.energy_plot, op=args.op)
        text += f"\n\nEnergy Pareto figure: {obj['energy_plot']}"
    emit(args, obj, text)


def add_parser(sub):
    p = sub.add_parser("compare", help="every design side by side: errors, cost, NN accuracy (the table in docs/designs.md)")
    p.add_argument("--designs", default=None, metavar="NAME[,NAME]",
                   help="the designs (default: every design with --op: every multiplier, or every divider)")
    p.add_argument("--op", choices=("mul", "div"), default="mul",
                   help="operator (default mul); div: the dividers (Mitchell's against INZeD), without the NN study")
    p.add_argument("--signed", action="store_true", help="two's-complement operands (the NN study is signed anyway)")
    p.add_argument("--width", type=parse_widths, default="8,16", help="widths, a comma list (default 8,16)")
    p.add_argument("--no-cost", action="store_true", help="skip the synthesis (yosys, nextpnr-ice40)")
    p.add_argument("--no-fmax", action="store_true", help="skip place-and-route (Fmax)")
    p.add_argument("--no-nn", action="store_true", help="skip the int8 digits MLP/CNN accuracy")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also MRED against cells and iCE40 LUTs for every design: .png, .svg or .pdf")
    p.add_argument("--power", action="store_true",
                   help="also energy per operation against exact (sim.power): uniform operands, and the digits "
                        "CNN's (multipliers); seeded by --seed")
    p.add_argument("--ops", type=int_in("--ops", 64, 1 << 22), default=1 << 14,
                   help="operations simulated per design by --power, 64..4194304 (default 16384)")
    p.add_argument("--energy-plot", metavar="FILE", default=None,
                   help="with --power, MRED against relative energy for every design: .png, .svg or .pdf")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("synthesis result cache", "cost"))
    p.add_argument("--nn-cache", default=None, metavar="DIR", help=cache_help("trained float models", "nn"))
    seed_arg(p, "seed of the NN training")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    add_blackbox_args(p)
    p.set_defaults(func=cmd_compare)
