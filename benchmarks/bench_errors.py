"""Benchmark: the exhaustive 16-bit Mitchell error sweep against plain numpy
merely computing the exact products of the same 2**32 pairs, in chunks.

Target (issue 2): ratio mitchell / numpy < 1.  Prints both times and the ratio;
``--json`` prints one JSON object.
"""

import argparse
import json
import resource
import time

import numpy as np

from pymodel import Mitchell
from pymodel.metrics import error_metrics


def numpy_exact_products(width, rows_per_chunk=256):
    b = np.arange(1 << width, dtype=np.uint64)
    checksum = np.uint64(0)
    for a0 in range(0, 1 << width, rows_per_chunk):
        a = np.arange(a0, a0 + rows_per_chunk, dtype=np.uint64)[:, None]
        p = a * b
        checksum ^= p[-1, -1]     # keep the work observable
    return int(checksum)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cfg = Mitchell(width=args.width)
    error_metrics(Mitchell(width=8), "mul", method="sweep")   # compile outside the timing
    t0 = time.perf_counter()
    numpy_exact_products(args.width)
    t_np = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = error_metrics(cfg, "mul", method="sweep")    # the brute-force sweep (the default is now exact)
    t_mi = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"width": args.width, "pairs": m["pairs"], "numpy_exact_s": round(t_np, 2),
           "mitchell_errors_s": round(t_mi, 2), "ratio": round(t_mi / t_np, 3),
           "max_rss_mb": round(rss_mb), "mred": m["mred"]}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"pairs                      {res['pairs']}")
        print(f"numpy exact products       {res['numpy_exact_s']:.2f} s")
        print(f"mitchell errors (metrics)  {res['mitchell_errors_s']:.2f} s")
        print(f"ratio mitchell / numpy     {res['ratio']:.3f}  (target < 1)")
        print(f"peak RSS                   {res['max_rss_mb']} MB")


if __name__ == "__main__":
    main()
