"""``mitchell errors``: error metrics over every (or a seeded sample of) operand pair."""

import sys

from .byo import add_blackbox_args, blackbox
from .common import add_config_args, clean, config, emit, ep_text, pct, progress_wanted, int_in, refuse, seed_arg

MAX_SAMPLES = 1 << 26     # memory is O(samples): about 2 GB here


def ci(m, key):
    """`` ± x % (95 % CI)`` for a sampled figure, else nothing."""
    return f"  ± {100 * m[key]:.4f} % (95 % CI)" if key in m else ""


def errors_table(m):
    rows = [
        ("configuration", f"{m.get('design', 'mitchell')} {m['op']} " + " ".join(
            f"{k}={v}" for k, v in m.items() if k in m.get("config_keys", ("width", "frac_bits", "signed",
                                                                             "quotient_frac_bits")))),
        ("pairs", f"{m['pairs']} (" + (f"every pair, method {m['method']}" if m["exhaustive"]
                                        else f"sampled, seed {m.get('seed')}") + ")"),
        ("min relative error", f"{pct(m['min_re'])}  at {m['min_re_operands']}  (= {m['min_re_exact']})"),
        ("max relative error", f"{pct(m['max_re'])}  at {m['max_re_operands']}  (= {m['max_re_exact']})"),
        ("bias (mean rel. err.)", pct(m["bias"]) + ci(m, "bias_ci95")),
        ("MRED", pct(m["mred"]).replace("+", "") + ci(m, "mred_ci95")),
        ("MAE", f"{m['mae']:.6g} {m['error_unit']}"),
        ("WCE", f"{m['wce']:.6g} at {m['wce_operands']}"),
        ("NMED", f"{m['nmed']:.6g}"),
        ("EP (error probability)", ep_text(m["ep"])),
        ("MSE", f"{m['mse']:.6g}"),
    ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def check_method(args, cfg):
    """The method to run (``--method``, or the default for the design, operator and width), checked before
    any work: exact wherever the design offers an exact form for the operator."""
    from pymodel.metrics import EXHAUSTIVE_MAX_WIDTH
    method = args.method
    exact_ok = cfg.exact_form(args.op) is not None
    if method is None:
        if args.samples is not None:
            return "sample"
        if exact_ok:
            return "exact"
        return "sweep" if cfg.width <= EXHAUSTIVE_MAX_WIDTH else "sample"
    if method == "exact" and not exact_ok:
        raise ValueError(f"--method exact is not available for --design {cfg.NAME} --op {args.op} "
                         "(use --method sweep up to 16 bits, or sample)")
    if method == "sweep" and cfg.width > EXHAUSTIVE_MAX_WIDTH:
        raise ValueError(f"--method sweep visits all 4^width pairs: --width must be 2..{EXHAUSTIVE_MAX_WIDTH}, "
                         f"got {cfg.width} (use --method " + ("exact or sample)" if exact_ok else "sample)"))
    if method != "sample" and args.samples is not None:
        raise ValueError(f"--samples applies to --method sample only, not --method {method}")
    return method


def cmd_errors(args):
    from pymodel.metrics import error_metrics, float_error_metrics
    bb = blackbox(args)
    if bb is not None:
        refuse(args, ("--method", "--samples", "--seed"), "with --verilog (every pair of the circuit is measured)")
        from pymodel.metric_defs import progress_bar
        bar = progress_bar(1 << (2 * bb.width), progress_wanted(args), f"{bb.name} (every pair)")
        try:
            m = clean(bb.metrics(progress=bar.update if bar else None))
        finally:
            if bar:
                bar.close()
        m["circuit"] = bb.describe()
        emit(args, m, errors_table(m) + f"\n(circuit: {bb.describe()})")
        return
    cfg = config(args)
    if args.op == "fmul":
        refuse(args, ("--method",), "to --op fmul (every mantissa pair, or sampled)")
        print(f"seed: {args.seed}", file=sys.stderr)
        m = float_error_metrics(cfg, samples=args.samples, seed=args.seed)
        rows = [("configuration", f"fmul {cfg.fmt} (bits(x) + bits(y) - bits(1.0))"),
                ("pairs", f"{m['pairs']} ({'every mantissa pair' if m['exhaustive'] else 'sampled mantissas'}, "
                          f"random signs and exponents, seed {m['seed']})"),
                ("min relative error", f"{pct(m['min_re'])}  at {m['min_re_operands']}  (= {m['min_re_exact']})"),
                ("max relative error", f"{pct(m['max_re'])}  at {m['max_re_operands']}"),
                ("bias (mean rel. err.)", pct(m["bias"])),
                ("MRED", pct(m["mred"]).replace("+", "")),
                ("EP (error probability)", ep_text(m["ep"]))]
        wd = max(len(k) for k, _ in rows)
        emit(args, m, "\n".join(f"{k:<{wd}}  {v}" for k, v in rows))
        return
    method = check_method(args, cfg)
    if method != "sample":
        refuse(args, ("--seed",), f"to --method {method} (every pair counts, nothing is sampled; --seed seeds "
                                  "--method sample or --samples N)")
    if method == "sample":
        print(f"seed: {args.seed}", file=sys.stderr)
    m = clean(error_metrics(cfg, args.op, samples=args.samples, seed=args.seed,
                             progress=progress_wanted(args), method=method))
    emit(args, m, errors_table(m))


def add_parser(sub):
    p = sub.add_parser("errors", help="error metrics over every (or a seeded sample of) operand pair")
    add_config_args(p)
    p.add_argument("--method", choices=("exact", "sweep", "sample"), default=None,
                   help="exact: every pair at any width from the design's exact form (the default wherever the "
                        "design has one for the operator); sweep: visit every pair (width <= 16); "
                        "sample: --samples random pairs, with 95%% confidence intervals of bias and MRED")
    p.add_argument("--samples", type=int_in("--samples", 1, MAX_SAMPLES), default=None,
                   help="random pairs (implies --method sample), 1..2^26 "
                        "(default 2^24 when sampling)")
    seed_arg(p, "seed of the random sample")
    add_blackbox_args(p)
    p.set_defaults(func=cmd_errors)
