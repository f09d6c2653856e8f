"""``mitchell nn``: NN accuracy with the bit-exact multiplier in every MAC."""

import sys

from .common import (add_design_args, cache_folder, cache_help, check_output_path, design_configs, design_list, emit,
                     int_in, progress, refuse, seed_arg, SEED_MAX)
from .byo import add_blackbox_args, blackbox
from .onnx import add_onnx_args


ONNX_ONLY = []          # filled by add_parser from add_onnx_args' options


def width_keys(r):
    """``run_study``'s ``int8_*`` accuracy keys named after the width and the design: ``int<W>_exact``,
    ``int<W>_<design>``, ``int<W>_<design>_finetuned`` (in ``accuracy`` and each ``frac_sweep`` row)."""
    w = r.get("width", 8)
    d = r.get("design", "mitchell").replace("-", "_")

    def rename(x):
        return {(f"int{w}_" + k[5:].replace("mitchell", d) if k.startswith("int8_") else k): v
                for k, v in x.items()}
    out = {**r, "accuracy": rename(r["accuracy"])}
    if "frac_sweep" in r:
        out["frac_sweep"] = [rename(x) for x in r["frac_sweep"]]
    return out


def nn_table(results, seeds=False):
    ws = {r.get("width", 8) for r in results}
    h = f"int{ws.pop()}" if len(ws) == 1 else "int"
    lines = [f"{'dataset':<8} {'model':<5} {'test':>5} {'float32':>8} {h + ' exact':>11} {h + ' design':>14} "
             f"{'+ fine-tuned':>13}  design" + ("  (seed)" if seeds else "")]
    for r in results:
        a = r["accuracy"]
        lines.append(f"{r['dataset']:<8} {r['model']:<5} {r['test_samples']:>5} {100 * a['float32']:>7.2f}% "
                     f"{100 * a['int8_exact']:>10.2f}% {100 * a['int8_mitchell']:>13.2f}% "
                     f"{100 * a['int8_mitchell_finetuned']:>12.2f}%  {r.get('design', 'mitchell')}"
                     + (f"  ({r['seed']})" if seeds else ""))
    return "\n".join(lines)


def cmd_nn_train(args):
    from pymodel.nn.study import run_mfree_study
    print(f"seed: {args.seed}", file=sys.stderr)
    mults = [m.strip() for m in args.train_multiplier.split(",")]
    epochs = 30 if args.epochs is None else args.epochs
    with progress(args, total=epochs * (1 + len(mults)), desc=f"{args.dataset} {args.model} (float32, "
                  f"{', '.join(mults)})", unit="epoch") as update:
        r = run_mfree_study(dataset=args.dataset, model=args.model, train_multipliers=mults, seed=args.seed,
                            epochs=epochs, data_dir=args.data_dir, progress=update)
    text = [f"{r['dataset']} {r['model']}, {r['test_samples']} test images, {r['epochs']} epochs, {r['optimizer']}"]
    text += [f"  {k:<22} {100 * v:6.2f} %" for k, v in r["accuracy"].items()]
    if args.curves:
        from pymodel.plots import plot_training_curves
        r["curves_plot"] = plot_training_curves([r], args.curves)
        text.append(f"curves: {r['curves_plot']}")
    text.append("multiplications left outside Float Mitchell:")
    text += [f"  - {m}" for m in r["remaining_multiplications"]]
    emit(args, r, "\n".join(text))


def _skip_epochs(update, epochs):
    """The progress of a later design's run: its float model comes from the cache, so its
    ``epochs`` training ticks were already counted once."""
    if update is None:
        return None
    seen = [0]

    def tick(n=1):
        seen[0] += 1
        if seen[0] > epochs:
            update(n)
    return tick


def parse_seeds(text):
    """``"0,1,2"`` to ``[0, 1, 2]`` (an argparse ``type``): at least two distinct seeds, each in 0..2^32-1."""
    import argparse
    try:
        seeds = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds must be a comma list of integers like 0,1,2, got {text!r}") from None
    bad = [s for s in seeds if not 0 <= s <= SEED_MAX]
    if bad:
        raise argparse.ArgumentTypeError(f"--seeds must be in 0..{SEED_MAX}, got {bad[0]}")
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds needs two or more distinct seeds (one run: --seed), got {text!r}")
    return seeds


def seed_summary(runs_by_seed):
    """Mean, sample standard deviation, min and max of each accuracy over the seeds, per design.

    ``runs_by_seed``: ``[(seed, [run of each design])]`` as :func:`pymodel.nn.study.run_study` returns them.
    Returns ``{design: {key: {"mean", "std", "min", "max", "n"}}}`` over the ``accuracy`` keys."""
    import numpy as np
    out = {}
    for i, run in enumerate(runs_by_seed[0][1]):
        d = run.get("design", "mitchell")
        out[d] = {}
        for k in run["accuracy"]:
            v = np.array([runs[i]["accuracy"][k] for _, runs in runs_by_seed], dtype=float)
            out[d][k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "min": float(v.min()),
                         "max": float(v.max()), "n": int(v.size)}
    return out


def cmd_nn(args):
    from pymodel.nn.study import run_study
    bb = blackbox(args, design_options=False)
    if bb is not None:
        refuse(args, ("--onnx", "--train-multiplier", "--frac-sweep", "--frac-bits"),
               "with --verilog (the circuit in the built-in study's MACs)")
        _check_table_circuit(bb)
        args.width = bb.width
    elif args.signed:
        refuse(args, ("--signed",), "without --verilog (the study's designs are signed anyway)")
    if args.onnx:
        refuse(args, ("--seeds",), "with --onnx (repeated runs are of the built-in study)")
        from .onnx import cmd_onnx
        return cmd_onnx(args)
    from pymodel.plots import SUFFIXES
    refuse(args, ONNX_ONLY, "without --onnx (options of an ONNX model's evaluation; the built-in study "
                            "takes --dataset, --model, --data-dir)")
    if args.dataset == "digits":
        refuse(args, ("--data-dir",), "to --dataset digits (bundled with scikit-learn)")
    if args.train_multiplier:
        refuse(args, ("--width", "--frac-bits", "--finetune-epochs", "--frac-sweep", "--cache-dir", "--seeds"),
               "with --train-multiplier (float training, no int study)")
        if args.curves:
            check_output_path("--curves", args.curves, suffixes=SUFFIXES)
        return cmd_nn_train(args)
    refuse(args, ("--curves",), "without --train-multiplier (the curves are of multiplication-free training)")
    if args.seeds:
        if "--seed" in getattr(args, "_given", ()):
            raise ValueError("give --seed (one run) or --seeds (repeated runs), not both")
        refuse(args, ("--frac-sweep",), "with --seeds (one run: --seed)")
    if args.frac_sweep:
        check_output_path("--frac-sweep", args.frac_sweep, suffixes=SUFFIXES)
    cache_folder(args, "cache_dir", "nn")
    if bb is not None:      # the circuit alone, or beside the --design(s) named
        designs = (design_configs(args, design_list(args), args.width) if args.design else [])
        designs.append((bb.name, bb.multiplier()))
    else:
        designs = design_configs(args, design_list(args), args.width)
    if args.frac_sweep and [n for n, _ in designs] != ["mitchell"]:
        raise ValueError("--frac-sweep sweeps Mitchell's --frac-bits: it takes --design mitchell only")
    seeds = args.seeds or [args.seed]
    print(f"seed{'s' if args.seeds else ''}: {','.join(map(str, seeds))}", file=sys.stderr)
    sweep = list(range(args.width - 1, 0, -1)) if args.frac_sweep else ()
    epochs = 40 if args.epochs is None else args.epochs
    by_seed = []
    with progress(args, total=len(seeds) * (epochs + args.finetune_epochs * (len(designs) + len(sweep))),
                  desc=f"{args.dataset} {args.model} (training, fine-tuning)", unit="epoch") as update:
        for seed in seeds:          # each seed: its own float model (trained or cached), then every design
            runs = []
            for i, (_, cfg) in enumerate(designs):
                runs.append(run_study(dataset=args.dataset, model=args.model, width=args.width,
                                      epochs=epochs, finetune_epochs=args.finetune_epochs, seed=seed,
                                      data_dir=args.data_dir, cache_dir=args.cache_dir, frac_sweep=sweep,
                                      progress=update if i == 0 else _skip_epochs(update, epochs), multiplier=cfg))
            by_seed.append((seed, runs))
    if args.seeds:
        return _emit_seeds(args, designs, by_seed)
    runs = by_seed[0][1]
    from pymodel.nn import gemm_path
    for run, (_, cfg) in zip(runs, designs):
        run["gemm_path"] = gemm_path(cfg)           # which approx_matmul kernel ran (README, NN section)
    r = runs[0]
    text = [nn_table(runs), f"(int{args.width}, {', '.join(f'{c.describe()} [{gemm_path(c)}]' for _, c in designs)}, "
                            f"seed {r['seed']}, "
                            f"float model {'from cache' if r['cached_float_model'] else 'trained'}: {r['cache_file']})"]
    if args.frac_sweep:
        from pymodel.plots import plot_nn_frac_sweep
        r["frac_sweep_plot"] = plot_nn_frac_sweep([r], args.frac_sweep)
        text.append(f"frac_bits  Mitchell  fine-tuned   ({r['frac_sweep_plot']})")
        text += [f"{x['frac_bits']:>9} {100 * x['int8_mitchell']:>8.2f}% {100 * x['int8_mitchell_finetuned']:>10.2f}%"
                 for x in r["frac_sweep"]]
    obj = width_keys(r) if len(runs) == 1 else {"runs": [width_keys(x) for x in runs]}
    emit(args, obj, "\n".join(text))


def _check_table_circuit(bb):
    """The NN study multiplies signed integers through the circuit's product table (up to 12 bits)."""
    from pymodel.table_mult import TABLE_MAX_WIDTH
    if not bb.signed:
        raise ValueError("the NN study quantises to signed integers: --verilog needs a signed multiplier "
                         "(--signed, two's-complement ports)")
    if bb.width > TABLE_MAX_WIDTH:
        raise ValueError(f"the NN study runs a circuit through its product table, held up to {TABLE_MAX_WIDTH}-bit "
                         f"operands (2^{2 * TABLE_MAX_WIDTH} entries); this one has {bb.width}")


def _emit_seeds(args, designs, by_seed):
    """Every run of ``--seeds`` and the mean and spread of each accuracy over the seeds."""
    from pymodel.nn import gemm_path
    for _, runs in by_seed:
        for run, (_, cfg) in zip(runs, designs):
            run["gemm_path"] = gemm_path(cfg)
    summary = seed_summary(by_seed)
    runs = [r for _, rs in by_seed for r in rs]
    w = args.width
    text = [nn_table(runs, seeds=True), "",
            f"over {len(by_seed)} seeds ({', '.join(str(s) for s, _ in by_seed)}): mean ± sample std (min .. max), "
            f"{runs[0]['test_samples']} test images (one image is {100 / runs[0]['test_samples']:.2f} pp)"]
    for d, keys in summary.items():
        for k, s in keys.items():
            name = f"int{w}_" + k[5:].replace("mitchell", d) if k.startswith("int8_") else k
            text.append(f"  {d:<12} {name:<28} {100 * s['mean']:6.2f} % ± {100 * s['std']:.2f} pp "
                        f"({100 * s['min']:.2f} .. {100 * s['max']:.2f} %)")
    obj = {"seeds": [s for s, _ in by_seed], "runs": [width_keys(r) for r in runs],
           "summary": {d: {(f"int{w}_" + k[5:].replace("mitchell", d.replace("-", "_")) if k.startswith("int8_")
                            else k): s for k, s in keys.items()} for d, keys in summary.items()}}
    emit(args, obj, "\n".join(text))


def add_parser(sub):
    p = sub.add_parser("nn", help="NN accuracy with the bit-exact multiplier: float32, int exact, int Mitchell")
    p.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST/Fashion-MNIST IDX files (mnist)")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--width", type=int_in("--width", 2, 32), default=8,
                   help="multiplier and quantization width, 2..32 (default 8); JSON keys int<W>_exact, ...")
    p.add_argument("--frac-bits", type=int, default=None, help="Mitchell log-fraction bits (default width-1)")
    p.add_argument("--epochs", type=int_in("--epochs", 1, 1000), default=None,
                   help="training epochs, 1..1000 (default 40 for the int study, 30 with --train-multiplier)")
    p.add_argument("--finetune-epochs", type=int_in("--finetune-epochs", 0, 1000), default=3,
                   help="approximation-aware fine-tuning epochs, 0..1000 (default 3)")
    seed_arg(p, "seed of initialisation and batch order")
    p.add_argument("--seeds", type=parse_seeds, default=None, metavar="S,S[,S]",
                   help="repeated runs, one per seed (each its own float model): every accuracy per seed, and its "
                        "mean and spread over the seeds")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("where trained float models are cached",
                                                                              "nn"))
    p.add_argument("--frac-sweep", metavar="FILE", default=None,
                   help="also sweep frac_bits from width-1 down to 1 and plot accuracy to FILE")
    p.add_argument("--train-multiplier", default=None, metavar="M[,M]",
                   help="train with every multiplication a Float Mitchell product: float-mitchell-fp32, "
                        "float-mitchell-bf16 (or both, comma-separated), against float32 training")
    p.add_argument("--curves", metavar="FILE", default=None, help="with --train-multiplier: accuracy per epoch plot")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    before = set(p._option_string_actions)
    add_onnx_args(p)
    # the ONNX group's options besides --onnx and --design (which the built-in study shares): refused without --onnx
    ONNX_ONLY[:] = [o for o in p._option_string_actions if o not in before and o.startswith("--")
                    and o not in ("--onnx", "--design")]
    add_design_args(p, choice=False)
    add_blackbox_args(p, signed=True)
    p.set_defaults(func=cmd_nn)
