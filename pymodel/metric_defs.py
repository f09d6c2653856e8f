"""What every error-metrics path shares: the keys, the per-row accumulator, the reduction, the result header.

The sweep and the sampler (:mod:`pymodel.design_metrics`), the exact forms (:mod:`pymodel.exact`) and the
dispatcher (:func:`pymodel.metrics.error_metrics`) all import this module and nothing of each other, so
there is no import circle.

Definitions (every path): the exact reference is ``a*b`` (``mul``) or the real quotient ``a * 2**Q / b``
(``div``, in units of the output LSB, ``b == 0`` left out).  Relative metrics (``min_re``, ``max_re``,
``bias``, ``mred``) exclude pairs whose exact result is 0; ``mae``, ``wce``, ``ep``, ``mse`` count every
pair; ``nmed`` is ``mae`` over the largest exact magnitude.  Signed operands enter as magnitudes (the sign
multiplies error and exact value alike).  Ties of ``min_re``, ``max_re`` and ``wce`` go to the first pair in
operand-value order (lexicographically smallest ``(a, b)``): the sweep keeps the first pair it meets.
"""

import math
from fractions import Fraction

import numpy as np

__all__ = ["METRIC_KEYS", "METHODS", "EXHAUSTIVE_MAX_WIDTH", "DEFAULT_SAMPLES", "header", "exact_re",
           "reduce_rows", "exact_result", "progress_bar"]

EXHAUSTIVE_MAX_WIDTH = 16     # the sweep visits 4**width pairs
METHODS = ("exact", "sweep", "sample")
DEFAULT_SAMPLES = 1 << 24
METRIC_KEYS = ("pairs", "exhaustive", "min_re", "max_re", "bias", "mred", "mae", "wce",
               "nmed", "ep", "mse")
Z95 = 1.959963984540054       # two-sided 95 % normal quantile

# Columns of the per-row float accumulator.
NREL, SRE, SABS_RE, MIN_RE, MAX_RE, SAE, WCE, SSE, NERR, NPAIR, MAXEX, SRE2 = range(12)
NF = 12
# Columns of the per-row int accumulator: operands (a, b) of min_re, max_re, wce.
NI = 6


def error_unit(op):
    return "product LSB" if op == "mul" else "quotient LSB (2^-quotient_frac_bits)"


def header(cfg, op):
    """The leading keys of a metrics dict: design, operator, its configuration."""
    out = {"design": cfg.NAME, "op": op, **cfg.as_dict()}
    if op == "mul":
        out.pop("quotient_frac_bits", None)
    out["config_keys"] = [k for k in cfg.as_dict() if k in out]
    return out


def exact_re(cfg, op, a, b):
    """The relative error of one pair as an exact fraction string (from the scalar reference model)."""
    if op == "mul":
        exact = Fraction(a * b)
        approx = Fraction(cfg.mul(a, b))
    else:
        exact = Fraction(a, b)
        approx = Fraction(cfg.div(a, b), 1 << cfg.quotient_frac_bits)
    return str((approx - exact) / exact) if exact else None


def progress_bar(total, enabled, desc, unit="pair"):
    """A tqdm bar on stderr, or None."""
    if not enabled:
        return None
    from .progress import bar
    return bar(total=total, desc=desc, unit=unit, unit_scale=True)


def reduce_rows(cfg, op, fa, ia, total, exhaustive, seed):
    """The metrics dict from per-row accumulators ``fa`` (``NF`` columns) and ``ia`` (``NI``).

    A sampled result (``exhaustive`` False) also carries ``bias_ci95`` and ``mred_ci95``: half-widths of
    95 % normal confidence intervals, ``1.96 * s / sqrt(n)`` with ``s`` the sample standard deviation of the
    relative error (of its magnitude for MRED) over the ``n`` sampled pairs with a nonzero exact result.
    """
    nrel = fa[:, NREL].sum()
    npair = fa[:, NPAIR].sum()
    rmin = int(np.argmin(fa[:, MIN_RE]))
    rmax = int(np.argmax(fa[:, MAX_RE]))
    rwce = int(np.argmax(fa[:, WCE]))
    max_exact = fa[:, MAXEX].max()
    mae = fa[:, SAE].sum() / npair
    worst_min = [int(ia[rmin, 0]), int(ia[rmin, 1])]
    worst_max = [int(ia[rmax, 2]), int(ia[rmax, 3])]
    bias = float(fa[:, SRE].sum() / nrel) if nrel else math.nan
    mred = float(fa[:, SABS_RE].sum() / nrel) if nrel else math.nan
    out = header(cfg, op)
    out.update({
        "pairs": int(total),
        "exhaustive": bool(exhaustive),
        "seed": seed,
        "min_re": float(fa[rmin, MIN_RE]) if nrel else math.nan,
        "max_re": float(fa[rmax, MAX_RE]) if nrel else math.nan,
        "bias": bias,
        "mred": mred,
        "mae": float(mae),
        "wce": float(fa[rwce, WCE]),
        "nmed": float(mae / max_exact) if max_exact else math.nan,
        "ep": float(fa[:, NERR].sum() / npair),
        "mse": float(fa[:, SSE].sum() / npair),
        "error_unit": error_unit(op),
        "min_re_operands": worst_min,
        "max_re_operands": worst_max,
        "wce_operands": [int(ia[rwce, 4]), int(ia[rwce, 5])],
        "min_re_exact": exact_re(cfg, op, *worst_min) if nrel else None,
        "max_re_exact": exact_re(cfg, op, *worst_max) if nrel else None,
        "method": "sweep" if exhaustive else "sample",
    })
    if seed is None:
        del out["seed"]
    else:
        m2 = float(fa[:, SRE2].sum() / nrel) if nrel else math.nan
        half = (lambda mean: Z95 * math.sqrt(max(m2 - mean * mean, 0.0) * nrel / (nrel - 1) / nrel)
                if nrel > 1 else math.inf)
        out["bias_ci95"] = half(bias)
        out["mred_ci95"] = half(mred)
    return out


def exact_result(cfg, op, *, pairs, min_re, max_re, bias, mred, mae, wce, nmed, ep, mse,
                 min_re_operands, max_re_operands, wce_operands):
    """The metrics dict of an exact form: same keys and meaning as the sweep's, ``method`` "exact".

    ``min_re``, ``max_re``, ``mae``, ``wce``, ``nmed``, ``ep``, ``mse`` may be ``Fraction``; they are
    rounded once here.
    """
    out = header(cfg, op)
    ops = [list(map(int, v)) for v in (min_re_operands, max_re_operands, wce_operands)]
    out.update({
        "pairs": int(pairs),
        "exhaustive": True,
        "min_re": float(min_re),
        "max_re": float(max_re),
        "bias": float(bias),
        "mred": float(mred),
        "mae": float(mae),
        "wce": float(wce),
        "nmed": float(nmed),
        "ep": float(ep),
        "mse": float(mse),
        "error_unit": error_unit(op),
        "min_re_operands": ops[0],
        "max_re_operands": ops[1],
        "wce_operands": ops[2],
        "min_re_exact": exact_re(cfg, op, *ops[0]),
        "max_re_exact": exact_re(cfg, op, *ops[1]),
        "method": "exact",
    })
    return out
