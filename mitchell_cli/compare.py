"""``mitchell compare``: every design side by side, the README's comparison table and Pareto figure."""

from .common import (cache_folder, cache_help, check_design_op, check_output_path, emit, ep_text, parse_widths,
                     progress, refuse, seed_arg)

NN_MODELS = ("mlp", "cnn")


def compare_rows(names, widths, *, cost=True, fmax=True, nn=True, cache_dir=None, nn_cache=None, seed=0,
                 update=None):
    """One row per design and width (default parameters, unsigned multiplier): exhaustive error
    metrics, synthesis cost against the exact multiplier, int8 NN accuracy (digits MLP and CNN)."""
    from pymodel.metrics import error_metrics
    from pymodel.registry import make_design
    tick = update or (lambda n=1: None)
    rows = []
    for name in names:
        for w in widths:
            cfg = make_design(name, width=w)
            m = error_metrics(cfg, "mul")
            row = {"design": name, "width": w, "config": cfg.as_dict(), "pairs": m["pairs"],
                   "exhaustive": m["exhaustive"], **{k: m[k] for k in ("mred", "bias", "min_re", "max_re", "ep")}}
            tick()
            if cost:
                from hdl.cost import cost as synth
                c = synth(cfg, "mul", fmax=fmax, cache_dir=cache_dir)
                for k in ("cells", "depth", "ice40_luts", "fmax_mhz"):
                    row[k], row[f"exact_{k}"], row[f"ratio_{k}"] = c["approx"][k], c["exact"][k], c["ratio"][k]
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


def _pct(v, d=2):
    return "—" if v is None else f"{100 * v:.{d}f} %"


def markdown_table(rows, *, cost=True, nn=True):
    head = ["design", "width", "MRED", "bias", "min / max", "EP"]
    if cost:
        head += ["cells (vs exact)", "depth", "iCE40 LUT4", "Fmax MHz"]
    if nn:
        head += ["MLP int8", "CNN int8"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["design"], str(r["width"]), _pct(r["mred"], 3), _pct(r["bias"], 3),
                 f"{100 * r['min_re']:+.2f} / {100 * r['max_re']:+.2f} %", ep_text(r["ep"], 3)]
        if cost:
            fm = "no fit" if r["fmax_mhz"] is None else f"{r['fmax_mhz']:.1f}"
            cells += [f"{r['cells']} ({_pct(r['ratio_cells'], 0)})", f"{r['depth']} / {r['exact_depth']}",
                      f"{r['ice40_luts']} / {r['exact_ice40_luts']}", fm]
        if nn:
            cells += [_pct(r.get("nn_mlp_int8")), _pct(r.get("nn_cnn_int8"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cmd_compare(args):
    from pymodel.registry import DESIGNS, designs_with
    names = designs_with("mul")
    if args.designs:
        wanted = list(dict.fromkeys(n.strip() for n in args.designs.split(",") if n.strip()))
        bad = [n for n in wanted if n not in DESIGNS]
        if bad:
            raise ValueError(f"--designs: unknown design {bad[0]!r}; the designs are: {', '.join(DESIGNS)}")
        check_design_op("--designs", wanted, "mul")
        names = wanted
    widths = parse_widths(args.width)
    if args.no_nn:
        refuse(args, ("--seed", "--nn-cache"), "with --no-nn (options of the NN study)")
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
    total = len(names) * (len(widths) * (1 + (not args.no_cost)) + (0 if args.no_nn else len(NN_MODELS)))
    with progress(args, total=total, desc="compare (errors, synthesis, NN per design)", unit="step") as update:
        rows = compare_rows(names, widths, cost=not args.no_cost, fmax=not args.no_fmax, nn=not args.no_nn,
                            cache_dir=args.cache_dir, nn_cache=args.nn_cache, seed=args.seed, update=update)
    obj = {"widths": widths, "rows": rows}
    text = markdown_table(rows, cost=not args.no_cost, nn=not args.no_nn)
    if args.plot:
        from pymodel.plots import plot_design_pareto
        obj["plot"] = plot_design_pareto(rows, args.plot)
        text += f"\n\nPareto figure: {obj['plot']}"
    emit(args, obj, text)


def add_parser(sub):
    p = sub.add_parser("compare", help="every design side by side: errors, cost, NN accuracy (the README table)")
    p.add_argument("--designs", default=None, metavar="NAME[,NAME]", help="the designs (default: every multiplier)")
    p.add_argument("--width", type=parse_widths, default="8,16", help="widths, a comma list (default 8,16)")
    p.add_argument("--no-cost", action="store_true", help="skip the synthesis (yosys, nextpnr-ice40)")
    p.add_argument("--no-fmax", action="store_true", help="skip place-and-route (Fmax)")
    p.add_argument("--no-nn", action="store_true", help="skip the int8 digits MLP/CNN accuracy")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also MRED against cells and iCE40 LUTs for every design: .png, .svg or .pdf")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("synthesis result cache", "cost"))
    p.add_argument("--nn-cache", default=None, metavar="DIR", help=cache_help("trained float models", "nn"))
    seed_arg(p, "seed of the NN training")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_compare)
