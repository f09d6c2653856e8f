"""Benchmark: one approximation-aware fine-tuning epoch against one float32 training epoch of the same ONNX graph.

Both epochs run the same code (``pymodel.nn.onnx_finetune.FineTune.epoch``: forward, softmax cross-entropy,
the numpy backward of ``pymodel.nn.onnx_grad``, SGD with momentum) on the same images and batches; the
fine-tuning epoch's forward is the int path with every product through ``approx_matmul`` (8-bit Mitchell
unless ``--design``), the reference's is float32.  Target (issue 25): the ratio <= 3.

``--model``: ``digits-cnn`` (the study's digits CNN, trained or from the cache, on its 1,150 training
images), ``resnet20`` or ``vit`` (random seeded weights and images: a timing only, ``--images`` of them).
Prints seconds per epoch, the ratio, the CPU and the load average; ``--json`` one object.
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")        # as bench_onnx.py: idle BLAS threads sleep at once

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from _bench import cpu_model  # noqa: E402
from pymodel.nn.layers import FLOAT  # noqa: E402
from pymodel.nn.onnx_finetune import FineTune  # noqa: E402
from pymodel.registry import make_design  # noqa: E402


def _model(name, tmp, images, seed):
    """(model path, data path) of the benchmark's graph and labelled images."""
    import onnx
    rng = np.random.default_rng(seed)
    if name == "digits-cnn":
        from pymodel.nn.onnx_export import export_onnx
        from pymodel.nn.study import float_model
        net, (xtr, ytr, _, _), *_ = float_model(dataset="digits", model="cnn", epochs=40, seed=0)
        export_onnx(net, xtr.shape[1:], os.path.join(tmp, "m.onnx"))
        np.savez(os.path.join(tmp, "d.npz"), x=xtr, y=ytr)
    else:
        from pymodel.nn.onnx_export import resnet20, vit_tiny
        build, shape = {"resnet20": (resnet20, (3, 32, 32)), "vit": (vit_tiny, (3, 16, 16))}[name]
        onnx.save(build(rng), os.path.join(tmp, "m.onnx"))
        np.savez(os.path.join(tmp, "d.npz"), x=rng.uniform(-2, 2, (images,) + shape).astype(np.float32),
                 y=rng.integers(0, 10, images))
    return os.path.join(tmp, "m.onnx"), os.path.join(tmp, "d.npz")


def bench(name, args):
    with tempfile.TemporaryDirectory() as tmp:
        model, data = _model(name, tmp, args.images, args.seed)
        mult = make_design(args.design, width=8, signed=True)
        ft = FineTune(model, data, multiplier=mult, label=args.design, epochs=1, batch=args.batch, seed=args.seed,
                      calib=64)
        ft.net.calibrate(ft.xc, batch=64)
        ft.tape.forward(ft.xt[:2], ft.mode)         # compile / warm up the kernels
        ft.tape.forward(ft.xt[:2], FLOAT)
        # alternating, the best of --repeat each: on a shared machine the minimum is the least disturbed run
        t_float, t_int = [], []
        for _ in range(args.repeat):
            t_float.append(ft.epoch(FLOAT, ft.optimiser(), np.random.default_rng(args.seed))[2])
            t_int.append(ft.epoch(ft.mode, ft.optimiser(), np.random.default_rng(args.seed))[2])
        t_float, t_int = min(t_float), min(t_int)
    return {"model": name, "images": int(len(ft.xt)), "batch": args.batch, "design": mult.describe(),
            "float32_epoch_s": t_float, "finetune_epoch_s": t_int, "ratio": t_int / t_float}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", choices=("digits-cnn", "resnet20", "vit"), default=["digits-cnn"])
    p.add_argument("--design", default="mitchell")
    p.add_argument("--images", type=int, default=256, help="random images of resnet20/vit (default 256)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=2, help="epochs of each kind; the fastest counts (default 2)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    print(f"seed: {args.seed}", file=sys.stderr)
    t0 = time.perf_counter()
    rows = [bench(m, args) for m in args.model]
    out = {"cpu": cpu_model(), "load_average": os.getloadavg(), "rows": rows, "seconds": time.perf_counter() - t0}
    if args.json:
        print(json.dumps(out))
        return
    print(f"CPU {out['cpu']}, load average {' '.join(f'{v:.2f}' for v in out['load_average'])}")
    for r in rows:
        print(f"{r['model']:<11} {r['images']:>5} images, batch {r['batch']}: "
              f"float32 epoch {r['float32_epoch_s']:.2f} s, fine-tuning epoch ({r['design']}) {r['finetune_epoch_s']:.2f} s, ratio {r['ratio']:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
