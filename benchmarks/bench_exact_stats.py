"""Benchmark: exact multiplier error statistics (pymodel.exact_stats, all 4**w pairs without visiting them)
against the brute-force sweep that visits every pair (12/14/16 bits, same run), against plain numpy merely
computing the exact products of the 2**32 pairs at 16 bits, and alone at 20/24/28/32 bits.

Each configuration at full precision (frac_bits = w - 1) and at frac_bits = w/2.  Targets (issue 11):
16 bits >= 100x faster than the sweep (<= 0.01x numpy), 32 bits full precision <= 5 s, frac_bits = 16 at 32 bits
<= 30 s, peak memory <= 1 GB.  ``--designs 16,20,32`` instead times every design's exact form at its defaults
(issue 20: <= 2 s at 16 bits, <= 30 s at 32).  ``--json`` prints one JSON object.
"""

import argparse
import json
import resource
import time

import numpy as np

from pymodel import Mitchell
from pymodel.exact.mitchell import exact_mul_metrics
from pymodel.metrics import error_metrics

from _bench import cpu_model


def numpy_exact_products(width, rows_per_chunk=256):
    """Plain numpy computing (and discarding) a*b for every pair, in chunks: the floor of any sweep."""
    b = np.arange(1 << width, dtype=np.uint64)
    checksum = np.uint64(0)
    for a0 in range(0, 1 << width, rows_per_chunk):
        a = np.arange(a0, a0 + rows_per_chunk, dtype=np.uint64)[:, None]
        checksum ^= (a * b)[-1, -1]
    return int(checksum)


def timed(fn, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_designs(widths, say):
    """Seconds of ``error_metrics`` at each design's defaults (unsigned) per width: ``exact`` where the design
    offers its exact form there (compiled outside the timing, at 6 bits), else which method it falls back to."""
    from pymodel.registry import design_class, design_names, make_design
    rows = []
    say(f"\n{'design':<12} {'op':<4} " + " ".join(f"{w:>14}" for w in widths))
    for name in design_names():
        for op in design_class(name).OPS:
            if make_design(name, width=6).exact_form(op) is not None:
                error_metrics(make_design(name, width=6), op)          # compile
            cells = []
            for w in widths:
                cfg = make_design(name, width=w)
                if cfg.exact_form(op) is None:
                    rows.append({"design": name, "op": op, "width": w, "method": None, "s": None})
                    cells.append("no exact form")
                    continue
                t, m = timed(lambda: error_metrics(cfg, op))
                rows.append({"design": name, "op": op, "width": w, "method": m["method"], "s": round(t, 3),
                             "mred": m["mred"]})
                cells.append(f"{t:.2f} s")
            say(f"{name:<12} {op:<4} " + " ".join(f"{c:>14}" for c in cells))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--designs", default=None, metavar="WIDTHS",
                    help="only time every design's exact form at these widths (e.g. 16,20,32), defaults")
    ap.add_argument("--sweep-widths", default="12,14,16", help="widths timed against the sweep (default 12,14,16)")
    ap.add_argument("--alone-widths", default="20,24,28,32", help="widths timed alone (default 20,24,28,32)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.designs:
        say = (lambda *a: None) if args.json else print
        say(f"CPU: {cpu_model()}")
        rows = bench_designs([int(x) for x in args.designs.split(",") if x], say)
        if args.json:
            print(json.dumps({"cpu": cpu_model(), "designs": rows}))
        return
    sweep_w = [int(x) for x in args.sweep_widths.split(",") if x]
    alone_w = [int(x) for x in args.alone_widths.split(",") if x]
    exact_mul_metrics(Mitchell(width=10, frac_bits=5))           # compile outside the timings
    exact_mul_metrics(Mitchell(width=16, frac_bits=15), em_above=12)
    error_metrics(Mitchell(width=8), "mul", method="sweep")
    res = {"cpu": cpu_model(), "alone": [], "vs_sweep": []}
    say = (lambda *a: None) if args.json else print
    say(f"CPU: {res['cpu']}")
    say(f"{'config':<22} {'pairs':>22} {'exact s':>9} {'MRED %':>16}")
    for w in alone_w:                     # first, so the peak RSS is the enumerator's alone
        for f in (w - 1, w // 2):
            cfg = Mitchell(width=w, frac_bits=f)
            t, m = timed(lambda: exact_mul_metrics(cfg))
            row = {"width": w, "frac_bits": f, "pairs": m["pairs"], "exact_s": round(t, 3), "mred": m["mred"]}
            res["alone"].append(row)
            say(f"u{w} frac_bits={f:<10} {m['pairs']:>22} {t:>9.3f} {100 * m['mred']:>16.12f}")
    res["exact_peak_rss_mb"] = round(rss_mb())
    say(f"peak RSS so far (enumerator only): {res['exact_peak_rss_mb']} MB")
    say(f"\n{'config':<22} {'exact s':>9} {'sweep s':>9} {'sweep/exact':>12}")
    for w in sweep_w:
        for f in (w - 1, w // 2):
            cfg = Mitchell(width=w, frac_bits=f)
            te, me = timed(lambda: exact_mul_metrics(cfg), repeat=3)
            ts, ms = timed(lambda: error_metrics(cfg, "mul", method="sweep"))
            assert me["pairs"] == ms["pairs"] and me["min_re_exact"] == ms["min_re_exact"]
            row = {"width": w, "frac_bits": f, "exact_s": round(te, 4), "sweep_s": round(ts, 3),
                   "speedup": round(ts / te, 1), "mred_rel_diff": abs(me["mred"] - ms["mred"]) / ms["mred"]}
            res["vs_sweep"].append(row)
            say(f"u{w} frac_bits={f:<10} {te:>9.4f} {ts:>9.3f} {ts / te:>11.1f}x")
    if 16 in sweep_w:
        tn, _ = timed(lambda: numpy_exact_products(16))
        te = min(r["exact_s"] for r in res["vs_sweep"] if r["width"] == 16 and r["frac_bits"] == 15)
        res["numpy_exact_products_16_s"] = round(tn, 3)
        res["exact_over_numpy_16"] = round(te / tn, 5)
        say(f"\nnumpy exact products, 2^32 pairs: {tn:.3f} s; exact statistics / numpy = {te / tn:.5f} "
            "(target <= 0.01)")
    res["peak_rss_mb"] = round(rss_mb())
    say(f"peak RSS (whole run, sweep included): {res['peak_rss_mb']} MB")
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
