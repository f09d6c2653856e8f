"""``mitchell`` command line: parses arguments and calls into pymodel / hdl / sim.

Every subcommand takes ``--json`` and then prints exactly one JSON object on stdout.
"""

import argparse
import contextlib
import json
import math
import sys


def _progress_wanted(args):
    return not getattr(args, "json", False) and sys.stdout.isatty()


@contextlib.contextmanager
def _progress(args, **bar):
    """A progress bar's ``update`` on a terminal without ``--json``; ``None`` otherwise (quiet)."""
    if not _progress_wanted(args):
        yield None
        return
    from tqdm import tqdm
    with tqdm(leave=False, file=sys.stderr, **bar) as b:
        yield b.update


def _emit(args, obj, text):
    if args.json:
        print(json.dumps(obj, default=_json_default, allow_nan=False))
    else:
        print(text)


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(obj):
    """NaN is not JSON: report it as null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _config(args):
    from pymodel import FloatMitchell, Mitchell
    if args.op == "fmul":
        return FloatMitchell(args.format)
    kw = {"width": args.width, "frac_bits": args.frac_bits, "signed": args.signed}
    if getattr(args, "quotient_frac_bits", None) is not None:
        kw["quotient_frac_bits"] = args.quotient_frac_bits
    return Mitchell(**kw)


def _add_config_args(p, op_choices=("mul", "div", "fmul"), width_list=False):
    p.add_argument("--op", choices=op_choices, default="mul",
                   help="operator (default mul)" + ("; fmul: float Mitchell, see --format" if "fmul" in op_choices else ""))
    if "fmul" in op_choices:
        p.add_argument("--format", choices=("fp32", "fp16", "bf16"), default="fp32",
                       help="float format of --op fmul (default fp32)")
    if width_list:
        p.add_argument("--width", default="8", help="operand width, 2..32; a comma list (8,12,16) for --kind compare")
    else:
        p.add_argument("--width", type=int, default=8, help="operand width in bits, 2..32 (default 8)")
    p.add_argument("--frac-bits", type=int, default=None,
                   help="log-fraction bits kept, 0..width-1 (default width-1: no truncation)")
    p.add_argument("--signed", action="store_true", help="two's-complement operands")
    p.add_argument("--quotient-frac-bits", type=int, default=None,
                   help="divider output fraction bits (default width)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")


def _pct(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:+.4f} %"


def errors_table(m):
    rows = [
        ("configuration", f"{m['op']} width={m['width']} frac_bits={m['frac_bits']} "
                          f"{'signed' if m['signed'] else 'unsigned'}"
                          + (f" quotient_frac_bits={m['quotient_frac_bits']}" if m["op"] == "div" else "")),
        ("pairs", f"{m['pairs']} ({'exhaustive' if m['exhaustive'] else 'sampled, seed %s' % m.get('seed')})"),
        ("min relative error", f"{_pct(m['min_re'])}  at {m['min_re_operands']}  (= {m['min_re_exact']})"),
        ("max relative error", f"{_pct(m['max_re'])}  at {m['max_re_operands']}  (= {m['max_re_exact']})"),
        ("bias (mean rel. err.)", _pct(m["bias"])),
        ("MRED", _pct(m["mred"]).replace("+", "")),
        ("MAE", f"{m['mae']:.6g} {m['error_unit']}"),
        ("WCE", f"{m['wce']:.6g} at {m['wce_operands']}"),
        ("NMED", f"{m['nmed']:.6g}"),
        ("EP (error probability)", f"{m['ep']:.6f}"),
        ("MSE", f"{m['mse']:.6g}"),
    ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def cmd_errors(args):
    from pymodel.metrics import error_metrics, float_error_metrics
    cfg = _config(args)
    if args.op == "fmul":
        print(f"seed: {args.seed}", file=sys.stderr)
        m = float_error_metrics(cfg, samples=args.samples, seed=args.seed)
        rows = [("configuration", f"fmul {cfg.fmt} (bits(x) + bits(y) - bits(1.0))"),
                ("pairs", f"{m['pairs']} ({'every mantissa pair' if m['exhaustive'] else 'sampled mantissas'}, "
                          f"random signs and exponents, seed {m['seed']})"),
                ("min relative error", f"{_pct(m['min_re'])}  at {m['min_re_operands']}  (= {m['min_re_exact']})"),
                ("max relative error", f"{_pct(m['max_re'])}  at {m['max_re_operands']}"),
                ("bias (mean rel. err.)", _pct(m["bias"])),
                ("MRED", _pct(m["mred"]).replace("+", "")),
                ("EP (error probability)", f"{m['ep']:.6f}")]
        wd = max(len(k) for k, _ in rows)
        _emit(args, m, "\n".join(f"{k:<{wd}}  {v}" for k, v in rows))
        return
    if args.samples is not None or cfg.width > 16:
        print(f"seed: {args.seed}", file=sys.stderr)
    m = _clean(error_metrics(cfg, args.op, samples=args.samples, seed=args.seed,
                             progress=_progress_wanted(args)))
    _emit(args, m, errors_table(m))


def cmd_demo(args):
    import os

    from hdl.verilog import generate
    from pymodel import Mitchell
    from pymodel.metrics import error_metrics
    from sim.runner import run_bench
    results = []
    for width in (8, 16):
        for op in ("mul", "div"):
            m = error_metrics(Mitchell(width=width), op, progress=_progress_wanted(args))
            results.append(_clean(m))
    text = ["Mitchell 1962, exhaustive over every operand pair (div: b != 0)", ""]
    hdr = f"{'op':<4} {'width':>5} {'pairs':>12} {'min_re':>11} {'max_re':>11} {'bias':>10} {'MRED':>9}"
    text.append(hdr)
    for m in results:
        text.append(f"{m['op']:<4} {m['width']:>5} {m['pairs']:>12} {_pct(m['min_re']):>11} "
                    f"{_pct(m['max_re']):>11} {_pct(m['bias']):>10} {100 * m['mred']:>8.4f}%")
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
        s = run_bench(cfg, "mul", stages=stages, kinds=kinds, n_random=20_000, seed=args.seed,
                      build_root=os.path.join(args.out, "cocotb"))
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
    nn = run_study(dataset="digits", model="mlp", seed=args.seed, cache_dir=os.path.join(args.out, "nn"))
    text += ["", "NN accuracy, the 8-bit signed Mitchell multiplier in every MAC:", nn_table([nn])]
    _emit(args, {"errors": results, "hardware": hw, "figures": figs, "nn": nn}, "\n".join(text))
    return 0 if all(h["mismatches"] == 0 for h in hw) else 1


def cmd_verilog(args):
    from hdl.verilog import generate, ports_of
    cfg = _config(args)
    text, comp, name = generate(cfg, args.op, stages=args.stages, name=args.name)
    with open(args.output, "w") as f:
        f.write(text)
    ports = ports_of(comp)
    obj = {"file": args.output, "module": name, "op": args.op, "config": cfg.as_dict(),
           "stages": args.stages, "latency": comp.latency, "ports": ports}
    lines = [f"wrote {args.output}: module {name}, latency {comp.latency} cycle(s)"]
    lines += [f"  {p['direction']:<3} {'signed' if p['signed'] else 'unsigned':<8} [{p['width']:>2}] {p['name']}"
              for p in ports]
    _emit(args, obj, "\n".join(lines))


def cmd_sim(args):
    from sim.runner import run_bench
    cfg = _config(args)
    kinds = ("exhaustive",) if args.exhaustive else ("directed", "random")
    if cfg.width > 12 and args.exhaustive:
        raise ValueError(f"--exhaustive allows width <= 12 (2^{2 * cfg.width} pairs is too many), got {cfg.width}")
    print(f"seed: {args.seed}", file=sys.stderr)
    s = run_bench(cfg, args.op, stages=args.stages, kinds=kinds, n_random=args.vectors, seed=args.seed,
                  build_root=args.build_dir)
    text = [f"{s['module']}: {s['checked']} vectors checked, {s['mismatches']} mismatches, "
            f"{s['vectors_per_s']} vectors/s (seed {s['seed']})"]
    if args.stages:
        text.append(f"latency: attribute {s['latency_attribute']}, measured {s['latency_measured']}; "
                    f"back-to-back without backpressure: {s['back_to_back']}; "
                    f"beats lost to the mid-stream reset: {s['lost_to_reset']}")
    for mm in s["first_mismatches"]:
        text.append(f"  MISMATCH a={mm['a']} b={mm['b']} dut={mm['got']} model={mm['want']}")
    _emit(args, s, "\n".join(text))
    return 0 if s["mismatches"] == 0 else 1


def _widths(text):
    try:
        ws = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--width must be an int or a comma list like 8,12,16, got {text!r}") from None
    if not ws:
        raise ValueError("--width needs at least one width")
    return ws


def cmd_plot(args):
    from pymodel import Mitchell
    from pymodel.analysis import parse_range
    from pymodel.plots import plot
    widths = _widths(args.width)
    if args.kind == "compare":
        for w in widths:
            Mitchell(width=w)        # checks each width before the long sweep
        print(f"seed: {args.seed}", file=sys.stderr)
        with _progress(args, total=sum(2 * w for w in widths), desc="compare", unit="config") as update:
            res = plot("compare", args.output, widths=widths, signed=args.signed, seed=args.seed, progress=update)
        text = [f"wrote {res['path']}", f"{'op':<4} {'width':>5} {'frac_bits':>9} {'MRED':>9} {'min_re':>9} {'max_re':>9}"]
        text += [f"{r['op']:<4} {r['width']:>5} {r['frac_bits']:>9} {100 * r['mred']:>8.3f}% "
                 f"{100 * r['min_re']:>8.3f}% {100 * r['max_re']:>8.3f}%" for r in res["rows"]]
        _emit(args, _clean(res), "\n".join(text))
        return
    if len(widths) != 1:
        raise ValueError(f"--width takes one width for --kind {args.kind} (a list only for compare)")
    args.width = widths[0]
    cfg = _config(args)
    if args.op == "fmul":
        print(f"seed: {args.seed}", file=sys.stderr)
        res = plot(args.kind, args.output, op="fmul", cfg=cfg, cdf=args.cdf, samples=args.samples, seed=args.seed)
        _emit(args, _clean(res), f"wrote {res['path']}\n" + ", ".join(f"{k}={v}" for k, v in res.items() if k != "path"))
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
    _emit(args, _clean(res), f"wrote {res['path']}\n{summary}")


def nn_table(results):
    lines = [f"{'dataset':<8} {'model':<5} {'test':>5} {'float32':>8} {'int8 exact':>11} {'int8 Mitchell':>14} "
             f"{'+ fine-tuned':>13}"]
    for r in results:
        a = r["accuracy"]
        lines.append(f"{r['dataset']:<8} {r['model']:<5} {r['test_samples']:>5} {100 * a['float32']:>7.2f}% "
                     f"{100 * a['int8_exact']:>10.2f}% {100 * a['int8_mitchell']:>13.2f}% "
                     f"{100 * a['int8_mitchell_finetuned']:>12.2f}%")
    return "\n".join(lines)


def cmd_nn_train(args):
    from pymodel.nn.study import run_mfree_study
    print(f"seed: {args.seed}", file=sys.stderr)
    mults = [m.strip() for m in args.train_multiplier.split(",")]
    with _progress(args, desc=f"{args.dataset} {args.model}", unit="epoch") as update:
        r = run_mfree_study(dataset=args.dataset, model=args.model, train_multipliers=mults, seed=args.seed,
                            epochs=30 if args.epochs is None else args.epochs, data_dir=args.data_dir,
                            progress=update)
    text = [f"{r['dataset']} {r['model']}, {r['test_samples']} test images, {r['epochs']} epochs, {r['optimizer']}"]
    text += [f"  {k:<22} {100 * v:6.2f} %" for k, v in r["accuracy"].items()]
    if args.curves:
        from pymodel.plots import plot_training_curves
        r["curves_plot"] = plot_training_curves([r], args.curves)
        text.append(f"curves: {r['curves_plot']}")
    text.append("multiplications left outside Float Mitchell:")
    text += [f"  - {m}" for m in r["remaining_multiplications"]]
    _emit(args, r, "\n".join(text))


def cmd_nn(args):
    from pymodel.nn.study import run_study
    if args.train_multiplier:
        return cmd_nn_train(args)
    print(f"seed: {args.seed}", file=sys.stderr)
    sweep = list(range(args.width - 1, 0, -1)) if args.frac_sweep else ()
    with _progress(args, desc=f"{args.dataset} {args.model}", unit="epoch") as update:
        r = run_study(dataset=args.dataset, model=args.model, width=args.width, frac_bits=args.frac_bits,
                      epochs=40 if args.epochs is None else args.epochs, finetune_epochs=args.finetune_epochs,
                      seed=args.seed, data_dir=args.data_dir, cache_dir=args.cache_dir, frac_sweep=sweep,
                      progress=update)
    text = [nn_table([r]), f"(int{args.width}, Mitchell frac_bits={r['frac_bits']}, seed {r['seed']}, "
                           f"float model {'from cache' if r['cached_float_model'] else 'trained'}: {r['cache_file']})"]
    if args.frac_sweep:
        from pymodel.plots import plot_nn_frac_sweep
        r["frac_sweep_plot"] = plot_nn_frac_sweep([r], args.frac_sweep)
        text.append(f"frac_bits  Mitchell  fine-tuned   ({r['frac_sweep_plot']})")
        text += [f"{x['frac_bits']:>9} {100 * x['int8_mitchell']:>8.2f}% {100 * x['int8_mitchell_finetuned']:>10.2f}%"
                 for x in r["frac_sweep"]]
    _emit(args, r, "\n".join(text))


def cost_table(results):
    lines = [f"{'op':<4} {'width':>5} {'design':<9} {'cells':>7} {'depth':>6} {'iCE40 LUT4':>11} {'Fmax MHz':>9}"]
    for r in results:
        c = r["config"]
        for d in ("mitchell", "exact"):
            m = r[d]
            fmax = ("no fit" if d in r.get("notes", {}) else "n/a") if m["fmax_mhz"] is None else f"{m['fmax_mhz']:.1f}"
            lines.append(f"{r['op']:<4} {c['width']:>5} {d:<9} {m['cells']:>7} {m['depth']:>6} {m['ice40_luts']:>11} {fmax:>9}")
        q = r["ratio"]
        fr = "n/a" if q["fmax_mhz"] is None else f"{100 * q['fmax_mhz']:.0f}%"
        lines.append(f"{'':<4} {'':>5} {'ratio':<9} {100 * q['cells']:>6.0f}% {100 * q['depth']:>5.0f}% "
                     f"{100 * q['ice40_luts']:>10.0f}% {fr:>9}")
    return "\n".join(lines)


def cmd_cost(args):
    from hdl.cost import cost, pareto, pareto_frac_bits
    from pymodel import Mitchell
    widths = _widths(args.width)
    cfgs = [Mitchell(width=w, frac_bits=args.frac_bits, signed=args.signed,
                     quotient_frac_bits=args.quotient_frac_bits) for w in widths]
    results = [cost(c, args.op, stages=args.stages, fmax=not args.no_fmax, abc=args.abc, cache_dir=args.cache_dir)
               for c in cfgs]
    text = [cost_table(results), f"(yosys flow: synth -flatten; abc -g ...{' -fast' if args.abc == 'fast' else ''}; "
                                 f"stages={args.stages}; {'cached' if all(r['cached'] for r in results) else 'synthesized'})"]
    obj = results[0] if len(results) == 1 else {"widths": widths, "results": results}
    if args.plot:
        from pymodel.plots import plot_pareto
        pw = widths if len(widths) > 1 else [8, 16, 24, 32]
        print(f"seed: {args.seed}", file=sys.stderr)
        with _progress(args, total=sum(len(pareto_frac_bits(w)) for w in pw), desc="pareto", unit="design") as update:
            rows = pareto(pw, args.op, signed=args.signed, abc=args.abc, seed=args.seed, cache_dir=args.cache_dir,
                          progress=update)
        path = plot_pareto(rows, args.plot, op=args.op)
        obj = {**obj, "pareto": rows, "pareto_plot": path}
        text.append(f"Pareto plot: {path}")
        text += [f"  {r['design']:<9} {r['width']:>3}-bit f{'' if r['frac_bits'] is None else r['frac_bits']:<3} "
                 f"{r['cells']:>6} cells  MRED {100 * r['mred']:.3f}%" for r in rows]
    _emit(args, obj, "\n".join(text))


def build_parser():
    ap = argparse.ArgumentParser(prog="mitchell", description="Mitchell's logarithmic multiplier and divider: "
                                 "golden model, error metrics, HDL and verification.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("errors", help="error metrics over every (or a seeded sample of) operand pair")
    _add_config_args(p)
    p.add_argument("--samples", type=int, default=None,
                   help="random pairs instead of the exhaustive sweep (default: exhaustive up to 16 bits, else 2^24)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random sample (default 0)")
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("verilog", help="write the Verilog of a multiplier or divider")
    _add_config_args(p)
    p.add_argument("--stages", type=int, default=0, help="pipeline registers, 0..8 (0: combinational)")
    p.add_argument("--name", default=None, help="module name (default encodes the parameters)")
    p.add_argument("-o", "--output", required=True, help="output .v file")
    p.set_defaults(func=cmd_verilog)

    p = sub.add_parser("sim", help="simulate the generated Verilog on Icarus with cocotb against the model")
    _add_config_args(p)
    p.add_argument("--stages", type=int, default=0, help="pipeline registers, 0..8 (0: combinational)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random vectors and handshakes (default 0)")
    p.add_argument("--vectors", type=int, default=20_000, help="random vectors besides the directed corners")
    p.add_argument("--exhaustive", action="store_true", help="every operand pair instead (width <= 12)")
    p.add_argument("--build-dir", default="build/cocotb", help="root of the per-configuration build directories")
    p.set_defaults(func=cmd_sim)

    from pymodel.plots import KINDS
    p = sub.add_parser("plot", help="error figures: heatmap, surface, fraction plane, histogram, compare")
    _add_config_args(p, width_list=True)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--a-range", default=None, help="LO:HI of operand a (heatmap, surface)")
    p.add_argument("--b-range", default=None, help="LO:HI of operand b (heatmap, surface)")
    p.add_argument("--log2", action="store_true", help="log2 axes (heatmap; positive operands)")
    p.add_argument("--cdf", action="store_true", help="cumulative distribution (histogram)")
    p.add_argument("--samples", type=int, default=None, help="random pairs (histogram; default every pair up to 10 bits)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampled data (default 0)")
    p.add_argument("-o", "--output", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("nn", help="NN accuracy with the bit-exact multiplier: float32, int exact, int Mitchell")
    p.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST/Fashion-MNIST IDX files (mnist)")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--width", type=int, default=8, help="multiplier and quantization width (default 8)")
    p.add_argument("--frac-bits", type=int, default=None, help="Mitchell log-fraction bits (default width-1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default 40 for the int study, 30 with --train-multiplier)")
    p.add_argument("--finetune-epochs", type=int, default=3, help="approximation-aware fine-tuning epochs (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batch order (default 0)")
    p.add_argument("--cache-dir", default="out/nn", help="where trained float models are cached (default out/nn)")
    p.add_argument("--frac-sweep", metavar="FILE", default=None,
                   help="also sweep frac_bits from width-1 down to 1 and plot accuracy to FILE")
    p.add_argument("--train-multiplier", default=None, metavar="M[,M]",
                   help="train with every multiplication a Float Mitchell product: float-mitchell-fp32, "
                        "float-mitchell-bf16 (or both, comma-separated), against float32 training")
    p.add_argument("--curves", metavar="FILE", default=None, help="with --train-multiplier: accuracy per epoch plot")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_nn)

    p = sub.add_parser("cost", help="synthesis cost (yosys, nextpnr-ice40) against exact operators")
    _add_config_args(p, op_choices=("mul", "div"), width_list=True)
    p.add_argument("--stages", type=int, default=0, help="pipeline registers of the Mitchell design (default 0)")
    p.add_argument("--abc", choices=("fast", "full"), default="fast",
                   help="ABC script for the generic gates: fast (delay-preserving, default) or full")
    p.add_argument("--no-fmax", action="store_true", help="skip place-and-route (nextpnr-ice40)")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also a Pareto plot of MRED against cells (widths given, or 8,16,24,32) with frac_bits sweeps")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the sampled error metrics of the Pareto plot (widths > 12; default 0)")
    p.add_argument("--cache-dir", default="out/cost", help="result cache (default out/cost)")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("demo", help="the main job end to end on a default configuration")
    p.add_argument("--out", default="out", help="where the Verilog and build files go (default out/)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random simulation vectors (default 0)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_demo)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
    except (ValueError, TypeError, ZeroDivisionError, FileNotFoundError, RuntimeError) as e:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(e)}))
        else:
            print(f"mitchell: error: {e}", file=sys.stderr)
        return 2
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
