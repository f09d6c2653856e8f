"""Benchmark: approx_matmul (signed 8-bit Mitchell, bit-exact, int64 accumulation) on a
256x784 @ 784x128 product against numpy's float32 matmul of the same shape, in the same run.

Target: at most 50x the float32 time, for signed 8-bit Mitchell (issue 5) and for the
Float Mitchell kernels of multiplication-free training (issue 7).  Also times 16-bit
Mitchell and the exact int8 baseline.  ``--json`` prints one object.
"""

import argparse
import json
import time

import numpy as np

from pymodel import Mitchell
from pymodel.nn import ExactMultiplier, approx_matmul


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    m, k, n = 256, 784, 128
    rng = np.random.default_rng(args.seed)
    res = {"shape": [m, k, n], "seed": args.seed}
    fa = rng.standard_normal((m, k)).astype(np.float32)
    fb = rng.standard_normal((k, n)).astype(np.float32)
    t_f32 = best_of(lambda: fa @ fb, args.repeat)
    res["float32_s"] = t_f32
    for name, mult in (("mitchell_s8", Mitchell(width=8, signed=True)), ("exact_s8", ExactMultiplier(width=8, signed=True)),
                       ("mitchell_s16", Mitchell(width=16, signed=True))):
        lo, hi = mult.operand_range
        a = rng.integers(lo, hi, (m, k), endpoint=True)
        b = rng.integers(lo, hi, (k, n), endpoint=True)
        approx_matmul(a[:1], b, mult)          # compile / warm up
        t = best_of(lambda: approx_matmul(a, b, mult), args.repeat)
        res[name] = {"seconds": t, "gmac_per_s": m * k * n / t / 1e9, "ratio_to_float32": t / t_f32}
    from pymodel.nn.mfree import fm_matmul
    for name, fmt in (("float_mitchell_fp32", "fp32"), ("float_mitchell_bf16", "bf16")):
        fm_matmul(fa[:1], fb, fmt)
        t = best_of(lambda: fm_matmul(fa, fb, fmt), args.repeat)
        res[name] = {"seconds": t, "gmac_per_s": m * k * n / t / 1e9, "ratio_to_float32": t / t_f32}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"seed {args.seed}, shape {m}x{k} @ {k}x{n}, best of {args.repeat}")
        print(f"numpy float32 matmul   {1e3 * t_f32:8.3f} ms")
        for name in ("mitchell_s8", "exact_s8", "mitchell_s16", "float_mitchell_fp32", "float_mitchell_bf16"):
            r = res[name]
            print(f"{name:<22} {1e3 * r['seconds']:8.3f} ms  {r['gmac_per_s']:6.2f} GMAC/s  "
                  f"ratio {r['ratio_to_float32']:6.1f}x  (target <= 50x)")


if __name__ == "__main__":
    main()
