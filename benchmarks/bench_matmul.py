"""Benchmark: approx_matmul and the Float Mitchell kernels against numpy's float32 matmul
of the same shape, in the same run (best of ``--repeat``), at 1 and 2 threads.

Shapes: 256x784 @ 784x128, 64x784 @ 784x128, 1024x1152 @ 1152x64.  Rows:
  mitchell_s8 / mitchell_s16   end to end from int8 / int16 arrays (encode both + kernel)
  mitchell_s8_encoded          with the weights encoded once (EncodedWeights), as the NN layers call it
  general_s8                   signed 8-bit Mitchell forced through the general kernel (the path of
                               a design without a GEMM form)
  exact_s8                     the exact baseline (BLAS)
  float_mitchell_fp32 / _bf16  multiplication-free training's matmul
  <design>_s8 / _s16           every other registry design, end to end from int8 / int16 arrays, at
                               its default parameters, through its GEMM form's kernel
Targets (issue 16): Mitchell s8 <= 3x, s16 <= 4x, Float Mitchell <= 3x, every other design <= 15x.

``--avx2`` compiles the kernels for Haswell (no AVX-512) and makes OpenBLAS use its
Haswell kernel: what an AVX2-only machine runs.  It must set the environment before numpy
and numba load, so it is handled first.  ``--json`` prints one object.
"""

import argparse
import json
import os
import sys
import time

from _bench import cpu_model

HASWELL_FEATURES = ("+64bit,+adx,+aes,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fsgsbase,+fxsr,+lzcnt,"
                    "+mmx,+movbe,+pclmul,+popcnt,+rdrnd,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,+xsaveopt")
SHAPES = ((256, 784, 128), (64, 784, 128), (1024, 1152, 64))
TARGETS = {"mitchell_s8": 3, "mitchell_s8_encoded": 3, "mitchell_s16": 4, "float_mitchell_fp32": 3,
           "float_mitchell_bf16": 3, "<design>_s8/_s16": 15}


CLOCK = time.perf_counter


def best_of(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return min(times)


def vectorization():
    """SIMD instructions in the compiled hot kernels (compiled afresh: numba shows no assembly of
    cached code): register names and the float -> int conversion of the Mitchell kernel."""
    import re

    import numpy as np
    from numba import njit

    from pymodel.nn import gemm_corrected as gc
    from pymodel.nn import gemm_kernels as gk
    from pymodel.nn import mfree
    out = {}
    e = np.zeros((4, 16), np.int32)
    cb, corr = np.zeros((16, gc.TW), np.int32), np.zeros((16, 1, gc.TW), np.int32)
    for name, fn, args in (("logadd_gemm_i32", gk.logadd_gemm_i32, (e, e[:2], np.zeros((4, 2), np.int64), 64, gk.PLAIN)),
                           ("logadd_gemm_dual", gk.logadd_gemm_dual, (e, e[:2], np.zeros((4, 2), np.int64), 64, gk.PLAIN)),
                           ("corrected_gemm", gc.corrected_gemm,
                            (e, e, e, cb, corr, np.zeros((4, gc.TW), np.int64), 64, True, gk.PLAIN, gc.MR)),
                           ("float_mitchell", mfree._matmul_fast, (e, e, np.zeros(4, np.bool_), np.zeros((4, 16), np.float32)))):
        f = njit(parallel=True, fastmath=name.endswith("dual"))(fn.py_func)
        f(*args)
        asm = "\n".join(f.inspect_asm().values())
        out[name] = {r: len(re.findall(r"%" + r + r"\d", asm)) for r in ("xmm", "ymm", "zmm")}
        out[name]["vcvttps2dq"] = asm.count("vcvttps2dq")
        out[name]["vaddps"] = asm.count("vaddps")
    return out


class _GeneralMitchell:
    """Signed 8-bit Mitchell as a design config, so it takes the general kernel."""

    def __init__(self):
        import numpy as np
        from pymodel import Mitchell
        from pymodel.nn import gemm_kernels
        m = Mitchell(width=8, signed=True)
        self.width, self.signed, self.operand_range = m.width, m.signed, m.operand_range
        self.mul_magnitude = gemm_kernels.mitchell_magnitude
        self.kernel_params = (np.int64(m.frac_bits),)


def run(shape, threads, repeat, rng):
    import numba
    import numpy as np
    from threadpoolctl import threadpool_limits

    from pymodel import Mitchell
    from pymodel.nn import EncodedWeights, ExactMultiplier, approx_matmul, gemm_path
    from pymodel.nn.mfree import fm_matmul
    from pymodel.registry import designs_with, make_design
    numba.set_num_threads(threads)
    m, k, n = shape
    res = {}
    with threadpool_limits(threads):
        fa = rng.standard_normal((m, k)).astype(np.float32)
        fb = rng.standard_normal((k, n)).astype(np.float32)
        t_f32 = best_of(lambda: fa @ fb, repeat)
        res["float32_ms"] = 1e3 * t_f32
        a8 = rng.integers(-128, 128, (m, k)).astype(np.int8)
        b8 = rng.integers(-128, 128, (k, n)).astype(np.int8)
        a16 = rng.integers(-2 ** 15, 2 ** 15, (m, k)).astype(np.int16)
        b16 = rng.integers(-2 ** 15, 2 ** 15, (k, n)).astype(np.int16)
        s8, s16 = Mitchell(width=8, signed=True), Mitchell(width=16, signed=True)
        enc8 = EncodedWeights(b8, s8)
        gen = _GeneralMitchell()
        cases = {
            "mitchell_s8": lambda: approx_matmul(a8, b8, s8),
            "mitchell_s8_encoded": lambda: approx_matmul(a8, enc8),
            "mitchell_s16": lambda: approx_matmul(a16, b16, s16),
            "general_s8": lambda: approx_matmul(a8, b8, gen),
            "exact_s8": lambda: approx_matmul(a8, b8, ExactMultiplier(width=8, signed=True)),
            "float_mitchell_fp32": lambda: fm_matmul(fa, fb, "fp32"),
            "float_mitchell_bf16": lambda: fm_matmul(fa, fb, "bf16"),
        }
        paths = {"mitchell_s8": gemm_path(s8), "mitchell_s8_encoded": gemm_path(s8), "mitchell_s16": gemm_path(s16),
                 "general_s8": gemm_path(gen), "exact_s8": "blas", "float_mitchell_fp32": "float-mitchell",
                 "float_mitchell_bf16": "float-mitchell"}
        for name in designs_with("mul"):
            if name == "mitchell":
                continue
            for w, a, b in ((8, a8, b8), (16, a16, b16)):
                d = make_design(name, width=w, signed=True)
                cases[f"{name}_s{w}"] = (lambda a, b, d: lambda: approx_matmul(a, b, d))(a, b, d)
                paths[f"{name}_s{w}"] = gemm_path(d)
        for name, fn in cases.items():
            t = best_of(fn, repeat)
            res[name] = {"ms": 1e3 * t, "ratio": t / t_f32, "path": paths.get(name, "")}
        # float32 once more at the end: the ratios use the better of the two measurements
        t2 = best_of(lambda: fa @ fb, repeat)
        if t2 < t_f32:
            res["float32_ms"] = 1e3 * t2
            for name in cases:
                res[name]["ratio"] = res[name]["ms"] / res["float32_ms"]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--avx2", action="store_true", help="emulate an AVX2-only CPU (Haswell code, OpenBLAS Haswell)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall (default) or process CPU time: on a loaded machine CPU time is the steadier one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    if args.avx2:
        os.environ.update(NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL_FEATURES, OPENBLAS_CORETYPE="Haswell")
    # OpenBLAS's idle threads spin for about 2**28 cycles after each call (its default timeout), taking
    # the cores from the numba kernels timed next: with 2 threads on 2 cores that made them 10x slower
    # for the rest of the shape.  2**4 cycles: they sleep at once.
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    if "numpy" in sys.modules and args.avx2:
        raise SystemExit("--avx2 must be set before numpy loads: run this file as a script")
    import numpy as np
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(args.seed)
    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)
    blas = [f"{i['internal_api']} {i.get('version')} kernel {i.get('architecture')}"
            for i in threadpool_info() if i["user_api"] == "blas"]
    out = {"seed": args.seed, "repeat": args.repeat, "cpu": cpu_model(), "avx2_emulation": args.avx2,
           "blas": blas, "numba_cpu": os.environ.get("NUMBA_CPU_NAME", "host"),
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "clock": args.clock,
           "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
           "load_average": os.getloadavg()[0], "vectorization": vectorization(), "results": []}
    for shape in SHAPES:
        for t in args.threads:
            out["results"].append({"shape": list(shape), "threads": t, **run(shape, t, args.repeat, rng)})
    if args.json:
        print(json.dumps(out))
        return
    print(f"seed {args.seed}, best of {args.repeat} ({args.clock} clock); CPU {out['cpu']}; BLAS {', '.join(blas)}; "
          f"numba target {out['numba_cpu']}{' (AVX2 emulation)' if args.avx2 else ''}; "
          f"OPENBLAS_THREAD_TIMEOUT {out['openblas_thread_timeout']}; "
          f"load average {out['load_average']:.1f} at the start")
    print("SIMD in the kernels: " + "; ".join(f"{k}: " + ", ".join(f"{r} {c}" for r, c in v.items() if c)
                                               for k, v in out["vectorization"].items()))
    # one line per case, one column per shape and thread count: the ratio to float32
    res = out["results"]
    names = [n for n in res[0] if isinstance(res[0][n], dict)]
    cols = [f"{m}x{k}@{k}x{n} t{r['threads']}" for r in res for m, k, n in [r["shape"]]]
    print(f"{'ratio to float32':<22}{'path':<18}" + "".join(f"{c:>22}" for c in cols))
    print(f"{'float32 ms':<40}" + "".join(f"{r['float32_ms']:>22.3f}" for r in res))
    for nm in names:
        print(f"{nm:<22}{res[0][nm]['path']:<18}" + "".join(f"{r[nm]['ratio']:>21.2f}x" for r in res))
    print("targets: " + ", ".join(f"{k} <= {v}x" for k, v in TARGETS.items()))


if __name__ == "__main__":
    main()
