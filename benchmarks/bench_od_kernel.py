"""Benchmark: the OD kernel (pymodel/nn/gemm_bitwise.py, ``bitwise_split_gemm``) against numpy's
float32 matmul of the same shape in the same run, best of ``--repeat``, one thread.

Rows: signed 8-bit and signed 16-bit OD at the default frac_bits (width - 1), and 16-bit at
frac_bits 8 (the masked variant), on 256x784 @ 784x128 by default.  The kernel call includes
its operand checks (a max-abs pass) but not the int -> int32 conversion or the transpose.
Target (issue 16): <= 12x float32 for s8 and s16, on the host and as AVX2-only code.

``--avx2`` compiles the kernels for Haswell (no AVX-512) and makes OpenBLAS use its Haswell
kernel: it sets the environment before numpy and numba load, so run this file as a script.
"""

import argparse
import json
import os
import re
import sys
import time

from _bench import cpu_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

HASWELL_FEATURES = ("+64bit,+adx,+aes,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fsgsbase,+fxsr,+lzcnt,"
                    "+mmx,+movbe,+pclmul,+popcnt,+rdrnd,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,+xsaveopt")
TARGET = 12


def best_of(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def vectorization():
    """SIMD registers and int<->float conversions in the two kernels, compiled afresh (numba shows
    no assembly of cached code)."""
    import numpy as np
    from numba import njit

    from pymodel.nn import gemm_bitwise as gb
    out = {}
    e = np.zeros((4, 64), np.int32)
    ea, eb = gb.encode_a(e), gb.encode_b(e[:2])
    for name, fn in (("od_gemm_i32", gb.od_gemm_i32), ("od_gemm_hilo", gb.od_gemm_hilo)):
        f = njit(parallel=True)(fn.py_func)
        f(ea, eb, np.zeros((4, 2), np.int64), 64, None)
        asm = "\n".join(f.inspect_asm().values())
        out[name] = {r: len(re.findall(r"%" + r + r"\d", asm)) for r in ("xmm", "ymm", "zmm")}
        for ins in ("vcvtdq2ps", "vcvttps2dq", "vfmadd", "vpsrad"):
            out[name][ins] = asm.count(ins)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--shape", type=int, nargs=3, default=[256, 784, 128], metavar=("M", "K", "N"))
    ap.add_argument("--avx2", action="store_true", help="emulate an AVX2-only CPU (Haswell code, OpenBLAS Haswell)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.avx2:
        if "numpy" in sys.modules:
            raise SystemExit("--avx2 must be set before numpy loads: run this file as a script")
        os.environ.update(NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL_FEATURES, OPENBLAS_CORETYPE="Haswell")
    import numba
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from pymodel.nn.gemm_bitwise import bitwise_split_gemm

    numba.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    m, k, n = args.shape
    fa = rng.standard_normal((m, k)).astype(np.float32)
    fb = rng.standard_normal((k, n)).astype(np.float32)
    ops = {}
    for w in (8, 16):
        lo = -(1 << (w - 1))
        ops[w] = (rng.integers(lo, -lo, (m, k)).astype(np.int32),
                  np.ascontiguousarray(rng.integers(lo, -lo, (k, n)).astype(np.int32).T))
    out = np.empty((m, n), np.int64)
    cases = {"od_s8": (8, 7), "od_s16": (16, 15), "od_s16_f8": (16, 8)}
    avx2 = os.environ.get("NUMBA_CPU_NAME") == "haswell"       # --avx2, or the same environment set outside
    res = {"seed": args.seed, "repeat": args.repeat, "shape": [m, k, n], "cpu": cpu_model(),
           "avx2_emulation": avx2, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "numba_cpu": os.environ.get("NUMBA_CPU_NAME", "host"),
           "load_average": os.getloadavg()[0], "threads": 1}
    with threadpool_limits(1):
        fa @ fb
        res["blas"] = [f"{i['internal_api']} {i.get('version')} kernel {i.get('architecture')}"
                       for i in threadpool_info() if i["user_api"] == "blas"]
        t_f32 = best_of(lambda: fa @ fb, args.repeat)
        times = {}
        for name, (w, f) in cases.items():
            a, bt = ops[w]
            times[name] = best_of(lambda: bitwise_split_gemm(a, bt, out, f), args.repeat)
        t_f32 = min(t_f32, best_of(lambda: fa @ fb, args.repeat))   # float32 again at the end: the better one
    res["float32_ms"] = 1e3 * t_f32
    res["results"] = {name: {"ms": 1e3 * t, "ratio": t / t_f32} for name, t in times.items()}
    res["vectorization"] = vectorization()
    if args.json:
        print(json.dumps(res))
        return
    print(f"seed {args.seed}, best of {args.repeat}, 1 thread; CPU {res['cpu']}; BLAS {', '.join(res['blas'])}; "
          f"numba target {res['numba_cpu']}{' (AVX2 emulation)' if avx2 else ''}; "
          f"load average {res['load_average']:.1f} at the start")
    print("SIMD in the kernels: " + "; ".join(f"{kname}: " + ", ".join(f"{r} {c}" for r, c in v.items())
                                               for kname, v in res["vectorization"].items()))
    print(f"{m}x{k} @ {k}x{n}: float32 {res['float32_ms']:.3f} ms")
    for name, r in res["results"].items():
        print(f"  {name:<10} {r['ms']:8.2f} ms  {r['ratio']:6.2f}x float32")
    print(f"target: od_s8, od_s16 <= {TARGET}x")


if __name__ == "__main__":
    main()
