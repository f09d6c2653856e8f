"""Benchmark: a CIFAR-10-shaped ResNet-20 ONNX graph through the importer, float32 vs 8-bit Mitchell.

The graph (3x3 convs 16/32/64 channels, BatchNorm, residual Adds, 1x1 projection shortcuts,
global average pool, Gemm; about 41 M MACs per 32x32 image) is built here with random
weights and random BatchNorm statistics, and imported with BatchNorm folded into the convs.
Images are random.  Measures images/s of the float32 numpy path and of the integer path with
every product from the signed 8-bit Mitchell model (exact int64 accumulation), in the same run.

Targets (issue 14): 1,000 images on the Mitchell path in <= 60 s, and <= 20x the float32 time.
``--json`` prints one object.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pymodel import Mitchell  # noqa: E402
from pymodel.nn.layers import FLOAT, Mode  # noqa: E402
from pymodel.nn.onnx_import import load_onnx  # noqa: E402


def resnet20(rng, n_classes=10, width=16):
    """ONNX ModelProto of a CIFAR ResNet-20 (3 stages x 3 basic blocks) with random weights."""
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []
    count = [0]

    def name(prefix):
        count[0] += 1
        return f"{prefix}{count[0]}"

    def const(arr, prefix):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), n))
        return n

    def conv_bn(x, c_in, c_out, k, stride, relu):
        w = const(rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k)), "w")
        c, b = name("conv"), name("bn")
        nodes.append(helper.make_node("Conv", [x, w], [c], name=c, kernel_shape=[k, k], strides=[stride] * 2,
                                      pads=[k // 2] * 4))
        bn = [const(rng.uniform(0.5, 1.5, c_out), "g"), const(rng.normal(0, 0.1, c_out), "b"),
              const(rng.normal(0, 0.1, c_out), "m"), const(rng.uniform(0.5, 1.5, c_out), "v")]
        nodes.append(helper.make_node("BatchNormalization", [c] + bn, [b], name=b, epsilon=1e-5))
        if not relu:
            return b
        r = name("relu")
        nodes.append(helper.make_node("Relu", [b], [r], name=r))
        return r

    x = conv_bn("input", 3, width, 3, 1, True)
    c_in = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            h = conv_bn(x, c_in, c_out, 3, stride, True)
            h = conv_bn(h, c_out, c_out, 3, 1, False)
            short = x if stride == 1 and c_in == c_out else conv_bn(x, c_in, c_out, 1, stride, False)
            a, r = name("add"), name("relu")
            nodes += [helper.make_node("Add", [h, short], [a], name=a), helper.make_node("Relu", [a], [r], name=r)]
            x, c_in = r, c_out
    p, f = name("gap"), name("flat")
    nodes += [helper.make_node("GlobalAveragePool", [x], [p], name=p),
              helper.make_node("Flatten", [p], [f], name=f)]
    w = const(rng.standard_normal((n_classes, c_in)) * np.sqrt(1.0 / c_in), "fc")
    b = const(np.zeros(n_classes), "fcb")
    nodes.append(helper.make_node("Gemm", [f, w, b], ["logits"], name="fc", transB=1))
    graph = helper.make_graph(nodes, "resnet20", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_classes])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def timed(fn):
    """(result, wall seconds, CPU seconds of all threads): on a shared machine the CPU time shows how much of
    the wall time was waiting for a core."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=1000, help="images per path (default 1000)")
    ap.add_argument("--batch", type=int, default=64, help="images per forward (default 64)")
    ap.add_argument("--calib", type=int, default=64, help="calibration images (default 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.images < 1 or args.batch < 1 or args.calib < 1:
        ap.error("--images, --batch and --calib must be >= 1")
    rng = np.random.default_rng(args.seed)
    net = load_onnx(resnet20(rng))
    x = rng.uniform(-2, 2, (args.images, 3, 32, 32)).astype(np.float32)
    xc = rng.uniform(-2, 2, (args.calib, 3, 32, 32)).astype(np.float32)
    net.forward(x[:1])
    macs = net.macs_per_forward()
    net.calibrate(xc, batch=args.batch)
    mitchell = Mitchell(width=8, signed=True)
    net.logits(x[:2], Mode("int", mitchell))            # compile / warm up the kernels
    lf, t_float, c_float = timed(lambda: net.logits(x, FLOAT, batch=args.batch))
    lm, t_mitchell, c_mitchell = timed(lambda: net.logits(x, Mode("int", mitchell), batch=args.batch))
    n = args.images
    res = {"seed": args.seed, "images": n, "batch": args.batch, "macs_per_image": macs, "cpus": os.cpu_count(),
           "load_average_1min": os.getloadavg()[0],
           "float32": {"seconds": t_float, "cpu_seconds": c_float, "images_per_s": n / t_float},
           "mitchell_s8": {"seconds": t_mitchell, "cpu_seconds": c_mitchell, "images_per_s": n / t_mitchell,
                           "gmac_per_s": n * macs / t_mitchell / 1e9},
           "ratio": t_mitchell / t_float, "seconds_per_1000_mitchell": 1000 * t_mitchell / n,
           "top1_agreement_mitchell_vs_float": float((lf.argmax(1) == lm.argmax(1)).mean())}
    res["targets_met"] = {"1000_images_le_60s": res["seconds_per_1000_mitchell"] <= 60, "ratio_le_20x": res["ratio"] <= 20}
    if args.json:
        print(json.dumps(res))
        return
    print(f"ResNet-20 (CIFAR-10 shape), {macs / 1e6:.1f} M MACs/image, {n} random images, batch {args.batch}, "
          f"seed {args.seed}")
    print(f"load average {res['load_average_1min']:.1f} on {res['cpus']} CPUs")
    print(f"float32 numpy        {t_float:8.2f} s (CPU {c_float:7.2f} s)  {n / t_float:8.1f} images/s")
    print(f"int8 Mitchell        {t_mitchell:8.2f} s (CPU {c_mitchell:7.2f} s)  {n / t_mitchell:8.1f} images/s  "
          f"{res['mitchell_s8']['gmac_per_s']:.2f} GMAC/s")
    print(f"1,000 images on the Mitchell path: {res['seconds_per_1000_mitchell']:.1f} s (target <= 60 s); "
          f"ratio to float32 {res['ratio']:.1f}x (target <= 20x)")
    print(f"top-1 agreement Mitchell vs float32 (random weights and images): "
          f"{100 * res['top1_agreement_mitchell_vs_float']:.1f} %")


if __name__ == "__main__":
    main()
