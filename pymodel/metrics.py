"""Error metrics of every design's operators (EvoApproxLib's set): one path, three methods.

:func:`error_metrics` runs, per design and operator, one of

* ``"exact"``: the design's own exact form (``cfg.exact_form(op)``, in :mod:`pymodel.exact`), every
  pair at any width without visiting them;
* ``"sweep"``: every pair through the design's compiled datapath (:mod:`pymodel.design_metrics`),
  width <= 16: the independent cross-check of the exact forms;
* ``"sample"``: seeded uniform random pairs, with 95 % confidence intervals of bias and MRED.

The definitions of every key are in :mod:`pymodel.metric_defs`.  Nothing here knows any design.
"""

from fractions import Fraction

import numpy as np

from .design_metrics import design_error_metrics
from .metric_defs import DEFAULT_SAMPLES, EXHAUSTIVE_MAX_WIDTH, METHODS, METRIC_KEYS

__all__ = ["error_metrics", "pick_method", "float_error_metrics", "float_relative_errors", "EXHAUSTIVE_MAX_WIDTH",
           "METRIC_KEYS", "METHODS", "DEFAULT_SAMPLES"]


def _check(cfg, op, samples):
    from .designs.base import Design
    if not isinstance(cfg, Design):
        raise TypeError(f"cfg must be a design config (pymodel.registry), got {type(cfg).__name__}")
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    if op not in cfg.OPS:
        raise ValueError(f"design {cfg.NAME!r} has no {op!r} (it has {', '.join(cfg.OPS)})")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ValueError(f"samples must be a positive int, got {samples!r}")


def pick_method(cfg, op, samples=None, method=None):
    """The method :func:`error_metrics` runs (checked): see its docstring."""
    _check(cfg, op, samples)
    exact_ok = cfg.exact_form(op) is not None
    if method is None:
        if samples is not None:
            return "sample"
        if exact_ok:
            return "exact"
        return "sweep" if cfg.width <= EXHAUSTIVE_MAX_WIDTH else "sample"
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "sample" and samples is not None:
        raise ValueError(f"samples applies to method 'sample' only, not {method!r}")
    if method == "exact" and not exact_ok:
        raise ValueError(f"method 'exact' is not available for {cfg.NAME!r} {op!r}; use 'sweep' (width <= "
                         f"{EXHAUSTIVE_MAX_WIDTH}) or 'sample'")
    if method == "sweep" and cfg.width > EXHAUSTIVE_MAX_WIDTH:
        raise ValueError(f"method 'sweep' visits all 4**width pairs: width must be <= {EXHAUSTIVE_MAX_WIDTH}, "
                         f"got {cfg.width}" + (" (use 'exact' or 'sample')" if exact_ok else " (use 'sample')"))
    return method


_pick_method = pick_method      # the name older callers import


def _run_exact(form, cfg, op, progress):
    """Call an exact form with a tqdm bar fed by its ``progress(done, total)`` callbacks."""
    if not progress:
        return form(cfg, op, progress=None)
    from .progress import bar as progress_bar
    bar = progress_bar(total=None, desc=f"{op} {cfg.describe()} (exact)")

    def step(done, total):
        if bar.total != total:
            bar.total = total
        bar.update(done)

    try:
        return form(cfg, op, progress=step)
    finally:
        bar.close()


def error_metrics(cfg, op="mul", *, samples=None, seed=0, progress=False, method=None):
    """Error metrics of design ``cfg``'s ``op`` (``"mul"`` or ``"div"``).

    ``method``:

    * ``"exact"``: every one of the pairs at any width, without visiting them, where the design offers
      an exact form for ``op`` (``cfg.exact_form(op)`` is not None); then it is the default;
    * ``"sweep"``: visits every operand pair (width <= 16), the independent cross-check; the default
      up to 16 bits where there is no exact form;
    * ``"sample"``: ``samples`` seeded uniform random pairs (default 2**24); the default when
      ``samples`` is given, and above 16 bits where there is no exact form.  Adds ``bias_ci95`` and
      ``mred_ci95`` (half-widths of 95 % confidence intervals from the sample's standard error).

    Returns a dict with ``METRIC_KEYS`` plus the configuration, ``method``, the seed (when
    sampled), the operands of the worst cases and those cases as exact fractions.
    """
    method = pick_method(cfg, op, samples, method)
    if method == "exact":
        return _run_exact(cfg.exact_form(op), cfg, op, progress)
    if method == "sample" and samples is None:
        samples = DEFAULT_SAMPLES
    return design_error_metrics(cfg, op, samples=samples if method == "sample" else None, seed=seed,
                                progress=progress)


def float_relative_errors(f, *, samples=None, seed=0):
    """Relative error of ``FloatMitchell`` ``f`` on normal operands whose product is normal.

    Mitchell's error depends only on the mantissas, so the sweep is exhaustive over
    every mantissa pair for bf16 and fp16 (and ``samples`` seeded pairs for fp32,
    default 2**22), each pair with random signs and exponents that keep the product
    in the normal range.  The exact product is computed in float64 (exact here: at
    most 48 significant bits).
    """
    from .floatmitchell import FloatMitchell
    if not isinstance(f, FloatMitchell):
        raise TypeError(f"f must be a pymodel.FloatMitchell, got {type(f).__name__}")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    rng = np.random.default_rng(seed)
    mb, w = f.mant_bits, f.width
    exhaustive = samples is None and mb <= 10
    if exhaustive:
        m = np.arange(1 << mb, dtype=np.int64)
        ma, mbv = (x.ravel() for x in np.meshgrid(m, m, indexing="ij"))
    else:
        n = samples or (1 << 22)
        ma, mbv = rng.integers(0, 1 << mb, n, dtype=np.int64), rng.integers(0, 1 << mb, n, dtype=np.int64)
    n = ma.size
    half = f.bias // 2
    ea = rng.integers(f.bias - half, f.bias + half, n)
    eb = rng.integers(f.bias - half, f.bias + half, n)
    sa, sb = rng.integers(0, 2, n) << (w - 1), rng.integers(0, 2, n) << (w - 1)
    a = sa | (ea << mb) | ma
    b = sb | (eb << mb) | mbv
    p = f.mul_bits(a, b)

    def value(bits):
        bits = np.asarray(bits, np.int64)
        sign = np.where(bits >> (w - 1) & 1, -1.0, 1.0)
        e = (bits >> mb) & f.exp_max
        frac = (bits & ((1 << mb) - 1)) / float(1 << mb)
        return sign * np.ldexp(1.0 + frac, (e - f.bias).astype(np.int64))

    approx, exact = value(p), value(a) * value(b)
    return {"a": a, "b": b, "re": (approx - exact) / exact, "exhaustive": bool(exhaustive), "value": value}


def float_error_metrics(f, *, samples=None, seed=0):
    """Metrics of :func:`float_relative_errors` (same arguments), with the worst pairs."""
    d = float_relative_errors(f, samples=samples, seed=seed)
    a, b, re, value = d["a"], d["b"], d["re"], d["value"]
    mb, n, exhaustive = f.mant_bits, re.size, d["exhaustive"]
    i, j = int(np.argmin(re)), int(np.argmax(re))

    def frac_str(k):
        # the worst pair's relative error as an exact fraction, from the model's own output bits
        def exact_value(bits):
            bits = int(bits)
            e, m = (bits >> mb) & f.exp_max, bits & ((1 << mb) - 1)
            v = Fraction((1 << mb) | m, 1 << mb) * Fraction(2) ** (e - f.bias)
            return -v if bits >> (w - 1) & 1 else v
        w = f.width
        prod = exact_value(a[k]) * exact_value(b[k])
        return str((exact_value(f.mul_bits(int(a[k]), int(b[k]))) - prod) / prod)

    return {"op": "fmul", "format": f.fmt, "pairs": int(n), "exhaustive": bool(exhaustive),
            "seed": seed, "min_re": float(re[i]) + 0.0, "max_re": float(re[j]) + 0.0, "bias": float(re.mean()),
            "mred": float(np.abs(re).mean()), "ep": float((re != 0).mean()),
            "min_re_operands": [float(value(a[i])), float(value(b[i]))],
            "max_re_operands": [float(value(a[j])), float(value(b[j]))],
            "min_re_exact": frac_str(i), "max_re_exact": frac_str(j)}
