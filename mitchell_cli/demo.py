"""``mitchell demo``: the main job end to end."""

from .common import check_output_dir, clean, emit, pct, progress_wanted, seed_arg
from .nn import nn_table


def cmd_demo(args):
    import os

    from hdl.verilog import generate
    from pymodel import Mitchell
    from pymodel.metrics import error_metrics
    from sim.runner import run_bench
    check_output_dir("--out", args.out)
    import sys
    from pymodel.cache import cache_dir
    print(f"cache: {cache_dir()} (build folders, the trained float model)", file=sys.stderr)
    results = []
    for width in (8, 16):
        for op in ("mul", "div"):
            m = error_metrics(Mitchell(width=width), op, progress=progress_wanted(args))
            results.append(clean(m))
    text = ["Mitchell 1962, exhaustive over every operand pair (div: b != 0)", ""]
    hdr = f"{'op':<4} {'width':>5} {'pairs':>12} {'min_re':>11} {'max_re':>11} {'bias':>10} {'MRED':>9}"
    text.append(hdr)
    for m in results:
        text.append(f"{m['op']:<4} {m['width']:>5} {m['pairs']:>12} {pct(m['min_re']):>11} "
                    f"{pct(m['max_re']):>11} {pct(m['bias']):>10} {100 * m['mred']:>8.4f}%")
    # The log family side by side: every multiplier at 8 bits, every pair.
    from .compare import compare_rows
    from pymodel.registry import designs_with
    family = compare_rows(designs_with("mul"), [8], cost=False, nn=False)
    text += ["", "The log-multiplier family, 8 bits, default parameters, every pair (mitchell compare for cost and NN):",
             f"{'design':<12} {'min_re':>11} {'max_re':>11} {'bias':>10} {'MRED':>9}"]
    text += [f"{r['design']:<12} {pct(r['min_re']):>11} {pct(r['max_re']):>11} {pct(r['bias']):>10} "
             f"{100 * r['mred']:>8.4f}%" for r in family]
    # The default hardware: an 8-bit multiplier, combinational and 2-stage pipelined.
    os.makedirs(args.out, exist_ok=True)
    cfg = Mitchell(width=8)
    hw = []
    text += ["", "Verilog, simulated on Icarus under cocotb against the model:"]
    for stages, kinds in ((0, ("exhaustive",)), (2, ("directed", "random"))):
        vtext, comp, name = generate(cfg, "mul", stages=stages)
        path = os.path.join(args.out, f"{name}.v")
        with open(path, "w") as f:
            f.write(vtext)
        # the build folders are a cache (the user cache's build/cocotb), not an output of the demo
        s = run_bench(cfg, "mul", stages=stages, kinds=kinds, n_random=20_000, seed=args.seed)
        hw.append({"verilog": path, "module": name, "latency": comp.latency, "checked": s["checked"],
                   "mismatches": s["mismatches"], "vectors_per_s": s["vectors_per_s"]})
        text.append(f"  {path}: {s['checked']} vectors, {s['mismatches']} mismatches, "
                    f"{s['vectors_per_s']} vectors/s (latency {comp.latency}, seed {args.seed})")
    # The default figure set.
    from pymodel.plots import plot
    figs = []
    fig_dir = os.path.join(args.out, "figures")
    for kind, op in (("heatmap", "mul"), ("surface", "mul"), ("fraction", "mul"), ("fraction", "div"),
                     ("histogram", "mul"), ("histogram", "div")):
        figs.append(plot(kind, os.path.join(fig_dir, f"{kind}_{op}_u8.png"), op=op, cfg=cfg)["path"])
    figs.append(plot("compare", os.path.join(fig_dir, "compare_8_12.png"), widths=[8, 12])["path"])
    text += ["", "Figures:"] + [f"  {f}" for f in figs]
    # The NN study: digits MLP with the same bit-exact multiplier.
    from pymodel.nn.study import run_study
    nn = run_study(dataset="digits", model="mlp", seed=args.seed)      # the float model: nn/ of the user cache
    text += ["", "NN accuracy, the 8-bit signed Mitchell multiplier in every MAC:", nn_table([nn])]
    emit(args, {"errors": results, "family": family, "hardware": hw, "figures": figs, "nn": nn}, "\n".join(text))
    return 0 if all(h["mismatches"] == 0 for h in hw) else 1


def add_parser(sub):
    p = sub.add_parser("demo", help="the main job end to end on a default configuration")
    p.add_argument("--out", default="out", help="where the Verilog and the figures go (default out/; build files "
                   "and the trained model go to the user cache)")
    seed_arg(p, "seed of the random simulation vectors")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_demo)
