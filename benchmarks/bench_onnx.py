"""Benchmark: ONNX graphs through the importer, float32 vs 8-bit Mitchell (and other designs).

Two graphs, built here with random (seeded) weights, images random:

``resnet20``
    A CIFAR-10-shaped ResNet-20 (3x3 convs 16/32/64 channels, BatchNorm, residual Adds, 1x1
    projection shortcuts, global average pool, Gemm; about 41 M MACs per 32x32 image), imported
    with BatchNorm folded into the convs.  Targets (issue 14): 1,000 images on the Mitchell path in
    <= 60 s, and <= 20x the float32 time.
``vit``
    A ViT-style encoder (``pymodel.nn.onnx_export.vit_tiny``: 16x16 images, 4x4 patches, dim 32,
    2 heads, 2 blocks of attention and MLP, LayerNorm, GELU; about 0.32 M MACs per image), with the
    attention's ``Q @ K^T`` and ``P @ V`` on the approximate path too (one ``approx_matmul`` per
    head and image).

Measures images/s of the float32 numpy path and of the integer path with every product from the
signed 8-bit Mitchell model (exact int64 accumulation), in the same run.  ``--model`` picks the
graphs (default both); ``--design NAME ...`` also times other registry designs (signed 8-bit,
default parameters) on the same images.  ``--json`` prints one object.
"""

import argparse
import json
import os
import sys
import time

# OpenBLAS's idle threads spin for about 2**28 cycles after each call and take the cores from the
# numba kernels that follow (see bench_matmul.py): 2**4 cycles, and they sleep at once.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pymodel import Mitchell  # noqa: E402
from pymodel.nn import gemm_path  # noqa: E402
from pymodel.nn.layers import FLOAT, Mode  # noqa: E402
from pymodel.nn.onnx_export import resnet20, vit_tiny  # noqa: E402
from pymodel.nn.onnx_import import load_onnx  # noqa: E402
from pymodel.registry import designs_with, make_design  # noqa: E402

MODELS = {"resnet20": (resnet20, (3, 32, 32), "ResNet-20 (CIFAR-10 shape)"),
          "vit": (vit_tiny, (3, 16, 16), "ViT-style encoder (16x16, 4x4 patches, dim 32, 2 heads, 2 blocks)")}


def timed(fn):
    """(result, wall seconds, CPU seconds of all threads): on a shared machine the CPU time shows how much of
    the wall time was waiting for a core."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def bench_model(name, args):
    """One graph: float32, int8 Mitchell and each ``--design``, on the same random images."""
    build, shape, _ = MODELS[name]
    rng = np.random.default_rng(args.seed)
    proto = build(rng)
    net = load_onnx(proto)
    x = rng.uniform(-2, 2, (args.images,) + shape).astype(np.float32)
    xc = rng.uniform(-2, 2, (args.calib,) + shape).astype(np.float32)
    net.forward(x[:1])
    macs = net.macs_per_forward()
    net.calibrate(xc, batch=args.batch)
    mitchell = Mitchell(width=8, signed=True)
    net.logits(x[:2], Mode("int", mitchell))            # compile / warm up the kernels
    lf, t_float, c_float = timed(lambda: net.logits(x, FLOAT, batch=args.batch))
    lm, t_mitchell, c_mitchell = timed(lambda: net.logits(x, Mode("int", mitchell), batch=args.batch))
    n = args.images
    res = {"macs_per_image": macs,
           "float32": {"seconds": t_float, "cpu_seconds": c_float, "images_per_s": n / t_float},
           "mitchell_s8": {"seconds": t_mitchell, "cpu_seconds": c_mitchell, "images_per_s": n / t_mitchell,
                           "gmac_per_s": n * macs / t_mitchell / 1e9},
           "ratio": t_mitchell / t_float, "seconds_per_1000_mitchell": 1000 * t_mitchell / n,
           "mitchell_vs_float32_logit_rel_err": float(np.abs(lm - lf).max() / np.abs(lf).max())}
    try:        # the float path against onnxruntime (a dev dependency) on the first batch
        import onnxruntime as ort
        sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, {"input": x[:args.batch]})[0]
        res["float32_vs_onnxruntime_rel_err"] = float(np.abs(lf[:args.batch] - want).max() / np.abs(want).max())
    except ImportError:
        res["float32_vs_onnxruntime_rel_err"] = None
    if name == "resnet20":
        res["targets_met"] = {"1000_images_le_60s": res["seconds_per_1000_mitchell"] <= 60,
                              "ratio_le_20x": res["ratio"] <= 20}
    res["designs"] = {}
    for dname in dict.fromkeys(args.design):
        d = make_design(dname, width=8, signed=True)
        net.logits(x[:2], Mode("int", d))                 # compile / warm up
        _, t, c = timed(lambda: net.logits(x, Mode("int", d), batch=args.batch))
        res["designs"][dname] = {"seconds": t, "cpu_seconds": c, "ratio": t / t_float, "gemm_path": gemm_path(d)}
    return res


def print_model(name, res, args):
    n, macs = args.images, res["macs_per_image"]
    t_float, c_float = res["float32"]["seconds"], res["float32"]["cpu_seconds"]
    t_mitchell, c_mitchell = res["mitchell_s8"]["seconds"], res["mitchell_s8"]["cpu_seconds"]
    print(f"{MODELS[name][2]}, {macs / 1e6:.2f} M MACs/image, {n} random images, batch {args.batch}, "
          f"seed {args.seed}")
    print(f"  float32 numpy        {t_float:8.2f} s (CPU {c_float:7.2f} s)  {n / t_float:8.1f} images/s")
    print(f"  int8 Mitchell        {t_mitchell:8.2f} s (CPU {c_mitchell:7.2f} s)  {n / t_mitchell:8.1f} images/s  "
          f"{res['mitchell_s8']['gmac_per_s']:.2f} GMAC/s")
    if "targets_met" in res:
        print(f"  1,000 images on the Mitchell path: {res['seconds_per_1000_mitchell']:.1f} s (target <= 60 s); "
              f"ratio to float32 {res['ratio']:.1f}x (target <= 20x)")
    else:
        print(f"  1,000 images on the Mitchell path: {res['seconds_per_1000_mitchell']:.1f} s; "
              f"ratio to float32 {res['ratio']:.1f}x")
    if res["float32_vs_onnxruntime_rel_err"] is not None:
        print(f"  float32 path vs onnxruntime: max error {res['float32_vs_onnxruntime_rel_err']:.1e} "
              "of the largest logit")
    print(f"  int8 Mitchell logits vs float32: max error {res['mitchell_vs_float32_logit_rel_err']:.1e} of the "
          "largest logit (random weights: a sanity check, not an accuracy)")
    for dname, r in res["designs"].items():
        print(f"  int8 {dname:<16} {r['seconds']:8.2f} s (CPU {r['cpu_seconds']:7.2f} s)  {r['ratio']:5.1f}x "
              f"float32  [{r['gemm_path']}]")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="extend", nargs="+", choices=list(MODELS), default=None, metavar="NAME",
                    help="graphs to time: resnet20, vit (default both)")
    ap.add_argument("--images", type=int, default=1000, help="images per path (default 1000)")
    ap.add_argument("--batch", type=int, default=64, help="images per forward (default 64)")
    ap.add_argument("--calib", type=int, default=64, help="calibration images (default 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--design", action="extend", nargs="+", default=[], choices=designs_with("mul"), metavar="NAME",
                    help="also time these designs: " + ", ".join(designs_with("mul")))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.images < 1 or args.batch < 1 or args.calib < 1:
        ap.error("--images, --batch and --calib must be >= 1")
    models = list(dict.fromkeys(args.model or MODELS))
    res = {"seed": args.seed, "images": args.images, "batch": args.batch, "cpus": os.cpu_count(),
           "load_average_1min": os.getloadavg()[0], "models": {}}
    for name in models:
        res["models"][name] = bench_model(name, args)
    res["load_average_1min_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(res))
        return
    print(f"load average {res['load_average_1min']:.1f} -> {res['load_average_1min_after']:.1f} on {res['cpus']} "
          f"CPUs; OPENBLAS_THREAD_TIMEOUT {os.environ.get('OPENBLAS_THREAD_TIMEOUT')}")
    for name in models:
        print_model(name, res["models"][name], args)


if __name__ == "__main__":
    main()
