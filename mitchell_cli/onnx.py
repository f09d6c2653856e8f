"""``mitchell nn --onnx MODEL --data PATH``: accuracy of your own network with each multiplier in every MAC."""

import sys

from .common import check_output_path, design_configs, design_list, emit, given, int_in, progress, progress_wanted

__all__ = ["add_onnx_args", "cmd_onnx", "onnx_table", "layers_table", "nodes_summary"]


def _check_runs(name, mult):
    """``mult``, checked on one product in ``approx_matmul`` so a design that cannot run fails before any work."""
    import numpy as np

    from pymodel.nn import approx_matmul
    try:
        approx_matmul(np.ones((1, 1), np.int64), np.ones((1, 1), np.int64), mult)
    except TypeError as e:
        raise ValueError(f"--design {name!r} cannot run in approx_matmul: {e}") from None
    return mult


def _floats(text):
    import argparse
    try:
        return [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers (space or comma separated), got {text!r}") from None


def add_onnx_args(p):
    g = p.add_argument_group("your own network (--onnx)")
    g.add_argument("--onnx", metavar="MODEL", default=None,
                   help="evaluate this .onnx model instead of the built-in study (float32, exact int, designs)")
    g.add_argument("--data", metavar="PATH", default=None,
                   help="with --onnx: a folder with MNIST/Fashion-MNIST IDX or CIFAR-10/100 python batches, a "
                        "CIFAR batch file, or a .npz with x and y (a model with several data inputs: one array per "
                        "input name, and y; nothing is downloaded)")
    g.add_argument("--output", metavar="NAME", default=None,
                   help="with --onnx: the graph output holding the class scores (default the first); only the "
                        "nodes it needs are imported")
    g.add_argument("--design", action="extend", nargs="+", default=None, metavar="NAME",
                   help="with --onnx: approximate multipliers to evaluate (several names, comma lists, or the "
                        "option repeated; default mitchell)")
    g.add_argument("--limit", type=int, default=None, metavar="N", help="with --onnx: first N evaluation images")
    g.add_argument("--calib", type=int, default=256, metavar="N",
                   help="with --onnx: calibration images (from the training part if any; default 256)")
    g.add_argument("--mean", type=_floats, nargs="+", default=None, metavar="M",
                   help="with --onnx: per-channel mean subtracted after --scale (e.g. 0.4914 0.4822 0.4465)")
    g.add_argument("--std", type=_floats, nargs="+", default=None, metavar="S",
                   help="with --onnx: per-channel std divided by after the mean")
    g.add_argument("--scale", type=float, default=None,
                   help="with --onnx: pixel scale applied first (default 1/255 for uint8 data, else 1)")
    g.add_argument("--batch", type=int, default=64, metavar="N", help="with --onnx: images per forward (default 64)")
    g.add_argument("--finetune", type=int_in("--finetune", 1, 1000), default=None, metavar="EPOCHS",
                   help="with --onnx: fine-tune the model with the --design multiplier in every product for EPOCHS "
                        "epochs (1..1000) on --data (a .npz of training images x and labels y) and write the tuned "
                        "float model to -o")
    g.add_argument("-o", "--tuned", metavar="FILE", default=None,
                   help="with --finetune: the tuned model (.onnx), with its activation ranges stored in it")
    g.add_argument("--lr", type=float, default=None,
                   help="with --finetune: learning rate, (0, 1] (default 2e-4 with adam, 1e-3 with sgd)")
    g.add_argument("--momentum", type=float, default=0.9, help="with --finetune --optimizer sgd: momentum, [0, 1) "
                                                               "(default 0.9)")
    g.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="with --finetune: Adam (default, as the built-in study's fine-tuning) or SGD with momentum")
    g.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                   help="with --finetune: share of the images held out to measure accuracy, (0, 1) (default 0.2)")
    g.add_argument("--layers", action="store_true",
                   help="with --onnx: per-layer report: each approximate node's output error against the float "
                        "path (relative RMS, SNR dB), on its own and accumulated, for every int run (each batch "
                        "then also runs the float path)")


def onnx_table(r):
    top5 = any("top5" in x for x in r["results"])
    lines = [f"{r['model']} on {r['data']} ({r['data_format']}): {r['images']} images, {r['classes']} classes, "
             f"{r['macs_per_image'] / 1e6:.2f} M MACs/image",
             f"calibration: {r['calibration']}; seed {r['seed']}",
             f"{'run':<22} {'multiplier':<26} {'top-1':>8}" + (f" {'top-5':>8}" if top5 else "")
             + f" {'same as exact':>14}"]
    for x in r["results"]:
        same = x.get("same_prediction_as_exact")
        lines.append(f"{x['name']:<22} {x['multiplier']:<26} {100 * x['top1']:>7.2f}%"
                     + (f" {100 * x['top5']:>7.2f}%" if top5 else "")
                     + (f" {100 * same:>13.2f}%" if same is not None else f" {'':>14}"))
    lines.append("a fine-tuned model: its stored activation ranges, no recalibration" if r.get("stored_ranges")
                 else "post-training quantization only (no approximation-aware fine-tuning)")
    return "\n".join(lines)


def _counts(nodes):
    counts = {}
    for n in nodes:
        counts[n["op"]] = counts.get(n["op"], 0) + 1
    return ", ".join(f"{op} x{c}" for op, c in counts.items()) or "none"


def nodes_summary(r):
    """Which nodes take their products from the multiplier and which stay float32 (per op)."""
    mac = [n for n in r["nodes"] if n["arithmetic"] != "float32"]
    flt = [n for n in r["nodes"] if n["arithmetic"] == "float32"]
    return f"approximate (approx_matmul): {_counts(mac)}; float32: {_counts(flt)}"


def _fig(rel, snr):
    """Relative RMS and SNR columns: n/a when the float reference is all zeros (``rel`` None), an SNR of
    inf when the error is exactly zero."""
    if rel is None:
        return f"{'n/a':>12} {'n/a':>8}"
    return f"{rel:>12.2e} " + (f"{'inf':>8}" if snr is None else f"{snr:8.1f}")


def layers_table(r):
    """Per int run, each approximate node's error against the float path; then the float32 nodes by name."""
    lines = ["per-layer error against the float path (own: the node alone, on the int run's inputs; "
             "accumulated: the int network against the float network at that node)"]
    name_w = max([len(n["name"]) for n in r["nodes"]] + [12])
    quant = {n["name"]: n.get("quantization", "") for n in r["nodes"]}
    for run in r["results"]:
        if "layers" not in run:
            continue
        lines.append(f"{run['name']} ({run['multiplier']})")
        lines.append(f"  {'node':<{name_w}} {'op':<8} {'own rel RMS':>12} {'SNR dB':>8} {'acc rel RMS':>12} "
                     f"{'SNR dB':>8}  quantization")
        for x in run["layers"]:
            own = f"{'':>12} {'':>8}" if x["name"] == "(output)" else _fig(x["rel_rms"], x["snr_db"])
            lines.append(f"  {x['name']:<{name_w}} {x['op']:<8} {own} "
                         f"{_fig(x['accumulated_rel_rms'], x['accumulated_snr_db'])}  {quant.get(x['name'], '')}")
        nodes = [x for x in run["layers"] if x["rel_rms"] is not None]
        if nodes:
            worst = max(nodes, key=lambda x: x["rel_rms"])
            lines.append(f"  largest own error: {worst['name']} ({worst['op']}), relative RMS {worst['rel_rms']:.2e}")
    flt = {}
    for n in r["nodes"]:
        if n["arithmetic"] == "float32":
            flt.setdefault(n["op"], []).append(n["name"])
    lines.append("float32 in every run (not quantized):" + ("" if flt else " none"))
    lines += [f"  {op} x{len(names)}: {', '.join(names)}" for op, names in flt.items()]
    return "\n".join(lines)


_FINETUNE_ONLY = ("--tuned", "--lr", "--momentum", "--optimizer", "--val-fraction")


def finetune_table(r):
    b, a = r["before"], r["after"]
    rec = r["recovered_fraction_of_drop"]
    lines = [f"{r['model']} fine-tuned with {r['multiplier']} in every product: {r['epochs']} epoch(s), "
             f"{r['optimizer']} lr {r['lr']:g}" + (f" momentum {r['momentum']}" if r["momentum"] is not None else "")
             + f", batch {r['batch']}; {r['train_images']} training images, {r['val_images']} held out; "
             f"seed {r['seed']}",
             f"{'epoch':>5} {'loss':>8} {'train top-1':>12} {'held-out top-1':>15} {'seconds':>8}"]
    lines += [f"{h['epoch']:>5} {h['loss']:>8.4f} {100 * h['train_top1']:>11.2f}% {100 * h['val_top1']:>14.2f}% "
              f"{h['seconds']:>8.1f}" for h in r["history"]]
    lines += [f"held-out top-1: float32 {100 * b['float32']:.2f}%, int{r['width']} exact {100 * b['exact']:.2f}%, "
              f"{r['design']} {100 * b['design']:.2f}% before -> {100 * a['design']:.2f}% after fine-tuning "
              f"(the tuned weights in float32: {100 * a['float32']:.2f}%)",
              "drop recovered: " + ("n/a (no drop against exact)" if rec is None else f"{100 * rec:.0f}%"),
              f"tuned model: {r['tuned']} (activation ranges stored; mitchell nn --onnx {r['tuned']} --data ... "
              f"--design {r['design']} uses them)"]
    return "\n".join(lines)


def cmd_finetune(args):
    from pymodel.nn.onnx_finetune import FineTune
    from .common import refuse
    refuse(args, ("--layers", "--limit"), "with --finetune (the held-out images are measured; evaluate the tuned "
                                          "model with mitchell nn --onnx TUNED --data TEST)")
    if not args.tuned:
        raise ValueError("--finetune needs -o FILE.onnx for the tuned model")
    check_output_path("-o", args.tuned, suffixes=(".onnx",))
    if not 2 <= args.width <= 16:
        raise ValueError(f"--width must be in 2..16 with --onnx, got {args.width}")
    designs = [(n, _check_runs(n, cfg)) for n, cfg in design_configs(args, design_list(args), args.width)]
    if len(designs) != 1:
        raise ValueError(f"--finetune tunes for one --design, got {len(designs)}: {', '.join(n for n, _ in designs)}")
    name, mult = designs[0]
    flat = (lambda v: None if v is None else [f for part in v for f in part])
    batch = args.batch if "--batch" in given(args) else 32
    if args.optimizer == "adam":
        refuse(args, ("--momentum",), "to --optimizer adam (SGD's)")
    lr = args.lr if args.lr is not None else 2e-4 if args.optimizer == "adam" else 1e-3
    print(f"seed: {args.seed}", file=sys.stderr)
    ft = FineTune(args.onnx, args.data, multiplier=mult, label=name, epochs=args.finetune, lr=lr,
                  momentum=args.momentum, batch=batch, seed=args.seed, val_fraction=args.val_fraction,
                  calib=args.calib, optimizer=args.optimizer, scale=args.scale, mean=flat(args.mean),
                  std=flat(args.std), output=args.output)
    if progress_wanted(args):
        from pymodel.progress import bar
        with bar(desc=f"fine-tuning ({name})", unit="img", total=ft.total) as b:
            r = ft.run(b.update, lambda text: b.set_postfix_str(text, refresh=False))
    else:
        r = ft.run()
    r["tuned"] = ft.save(args.tuned, r)
    emit(args, r, finetune_table(r))


def cmd_onnx(args):
    from pymodel.nn.onnx_eval import OnnxStudy
    if not args.data:
        raise ValueError("--onnx needs --data PATH (IDX folder, CIFAR folder or batch, or .npz)")
    if args.finetune is not None:
        return cmd_finetune(args)
    from .common import refuse
    refuse(args, _FINETUNE_ONLY, "without --finetune")
    if not 2 <= args.width <= 16:
        raise ValueError(f"--width must be in 2..16 with --onnx, got {args.width}")
    designs = [(n, _check_runs(n, cfg)) for n, cfg in design_configs(args, design_list(args), args.width)]
    flat = (lambda v: None if v is None else [f for part in v for f in part])
    print(f"seed: {args.seed}", file=sys.stderr)
    study = OnnxStudy(args.onnx, args.data, designs=designs, width=args.width, limit=args.limit, calib=args.calib,
                      seed=args.seed, scale=args.scale, mean=flat(args.mean), std=flat(args.std), batch=args.batch,
                      layers=args.layers, output=args.output)
    with progress(args, desc="onnx", unit="img", total=study.total) as update:
        r = study.run(update)
    from pymodel.nn import gemm_path
    r["gemm_path"] = {name: gemm_path(cfg) for name, cfg in designs}      # which approx_matmul kernel ran
    text = onnx_table(r) + "\napprox_matmul kernels: " + ", ".join(f"{name} {path}" for name, path in
                                                                  r["gemm_path"].items())
    text += "\n" + (layers_table(r) if args.layers else nodes_summary(r))
    emit(args, r, text)
