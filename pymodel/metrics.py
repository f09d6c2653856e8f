"""Error metrics of the Mitchell operators over operand sweeps (EvoApproxLib's set).

Exact references: the product ``a*b`` for ``mul``; the real quotient ``a/b``
for ``div``, with absolute errors in units of the output LSB
(``q - a * 2**Q / b``).  Relative metrics exclude pairs whose exact result is
0, and ``div`` sweeps leave out ``b == 0``.  The approximate values come from
the same compiled datapath as :meth:`Mitchell.mul`/:meth:`Mitchell.div`.
"""

import math
import sys
from fractions import Fraction

import numpy as np
from numba import njit, prange

from . import fast
from .config import Mitchell

__all__ = ["error_metrics", "float_error_metrics", "float_relative_errors", "EXHAUSTIVE_MAX_WIDTH", "METRIC_KEYS",
           "METHODS"]

EXHAUSTIVE_MAX_WIDTH = 16     # the sweep; the exact method covers every width (mul)
METHODS = ("exact", "sweep", "sample")
DEFAULT_SAMPLES = 1 << 24
METRIC_KEYS = ("pairs", "exhaustive", "min_re", "max_re", "bias", "mred", "mae", "wce",
               "nmed", "ep", "mse")

# Columns of the per-row float accumulator.
_NREL, _SRE, _SABS_RE, _MIN_RE, _MAX_RE, _SAE, _WCE, _SSE, _NERR, _NPAIR, _MAXEX = range(11)
_NF = 11
# Columns of the per-row int accumulator: operands (a, b) of min_re, max_re, wce.
_NI = 6


@njit(inline="always")
def _log_or_zero(v, frac_bits):
    return fast.log_convert(v, frac_bits) if v != 0 else 0


@njit(parallel=True, cache=True)
def _log_table(vals, signed, frac_bits, out):
    """The log converter once per operand value, so the sweep does it once per operand, not per pair."""
    for i in prange(vals.size):
        out[i] = _log_or_zero(abs(vals[i]) if signed else vals[i], frac_bits)


def _make_sweep_kernel(is_div):
    """One compiled sweep kernel per operator, so ``is_div`` is a compile-time constant."""

    @njit(parallel=True, cache=True)
    def kernel(avals, la, bvals, lb, a_row, a_step, b_row, b_step, length, n, sym_row0,
               frac_bits, qfrac, signed, fa, ia):
        """Accumulate one row of pairs per ``r``: pair ``j`` of row ``r`` is
        ``(avals[r*a_row + j*a_step], bvals[r*b_row + j*b_step])`` for ``j < length``
        while the flat pair index ``r*length + j < n``.  A grid is ``(1, 0, 0, 1)``;
        a list of pairs is ``(length, 1, length, 1)``.  ``sym_row0 >= 0`` says the
        operator is commutative and the grid square, this call's first row being
        row ``sym_row0``: row ``r`` then visits only ``j >= sym_row0 + r`` and
        counts each off-diagonal pair twice.
        """
        qscale = 2.0 ** qfrac
        for r in prange(fa.shape[0]):
            nrel = 0.0
            sre = 0.0
            sabs = 0.0
            mn = np.inf
            mx = -np.inf
            sae = 0.0
            wce = -1.0
            sse = 0.0
            nerr = 0.0
            maxex = 0.0
            npair = 0.0
            i_mn = 0
            i_mx = 0
            i_wce = 0
            m_len = min(length, n - r * length)
            j0 = sym_row0 + r if sym_row0 >= 0 else 0
            for j in range(j0, m_len):
                w = 2.0 if (sym_row0 >= 0 and j != j0) else 1.0
                ia_ = r * a_row + j * a_step
                ib_ = r * b_row + j * b_step
                x = avals[ia_]
                y = bvals[ib_]
                ax = abs(x) if signed else x
                ay = abs(y) if signed else y
                # The sign of a signed result multiplies both the error and the exact
                # value, so magnitudes give the relative error itself and |error|.
                if is_div:
                    m = fast.antilog(la[ia_] - lb[ib_], frac_bits, qfrac) if ax != 0 else fast.U0
                    ex = float(ax) * qscale / float(ay)
                    err = float(m) - ex
                    re = float(m) * float(ay) / (float(ax) * qscale) - 1.0 if ax != 0 else np.nan
                else:
                    if ax == 0 or ay == 0:
                        m = fast.U0
                    else:
                        m = fast.antilog(la[ia_] + lb[ib_], frac_bits, 0)
                    p = np.uint64(ax) * np.uint64(ay)
                    err = float(m - p) if m >= p else -float(p - m)
                    ex = float(p)
                    re = err / ex if p != 0 else np.nan
                ae = abs(err)
                npair += w
                sae += w * ae
                sse += w * ae * ae
                if ae != 0.0:
                    nerr += w
                if ae > wce:
                    wce = ae
                    i_wce = j
                if ex > maxex:
                    maxex = ex
                if re == re:
                    nrel += w
                    sre += w * re
                    sabs += w * abs(re)
                    if re < mn:
                        mn = re
                        i_mn = j
                    if re > mx:
                        mx = re
                        i_mx = j
            fa[r, _NREL] = nrel
            fa[r, _SRE] = sre
            fa[r, _SABS_RE] = sabs
            fa[r, _MIN_RE] = mn
            fa[r, _MAX_RE] = mx
            fa[r, _SAE] = sae
            fa[r, _WCE] = wce
            fa[r, _SSE] = sse
            fa[r, _NERR] = nerr
            fa[r, _NPAIR] = npair
            fa[r, _MAXEX] = maxex
            for c, jj in enumerate((i_mn, i_mx, i_wce)):
                ia[r, 2 * c] = avals[r * a_row + jj * a_step]
                ia[r, 2 * c + 1] = bvals[r * b_row + jj * b_step]

    return kernel


_SWEEP = {False: _make_sweep_kernel(False), True: _make_sweep_kernel(True)}


def _logs(vals, cfg):
    out = np.empty(vals.size, np.int64)
    _log_table(vals, cfg.signed, cfg.frac_bits, out)
    return out


def _progress(total, enabled, desc):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="pair", unit_scale=True, leave=False, file=sys.stderr)


def _exact_re(cfg, op, a, b):
    """The relative error of one pair as an exact fraction string (from the reference)."""
    if op == "mul":
        exact = Fraction(a * b)
        approx = Fraction(cfg.mul(a, b))
    else:
        exact = Fraction(a, b)
        approx = Fraction(cfg.div(a, b), 1 << cfg.quotient_frac_bits)
    return str((approx - exact) / exact) if exact else None


def _pick_method(cfg, op, samples, method):
    """The method ``error_metrics`` runs: see its docstring."""
    exact_ok = op == "mul" and type(cfg) is Mitchell
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
        raise ValueError("method 'exact' is available for the Mitchell multiplier (op 'mul') only; "
                         "use 'sweep' (width <= 16) or 'sample'")
    if method == "sweep" and cfg.width > EXHAUSTIVE_MAX_WIDTH:
        raise ValueError(f"method 'sweep' visits all 4**width pairs: width must be <= {EXHAUSTIVE_MAX_WIDTH}, "
                         f"got {cfg.width} (use 'exact' for mul, or 'sample')")
    return method


def error_metrics(cfg, op="mul", *, samples=None, seed=0, progress=False, chunk_rows=None, method=None):
    """Error metrics of ``cfg``'s ``op`` (``"mul"`` or ``"div"``).

    ``method``:

    * ``"exact"``: every one of the ``4**width`` pairs at any width, without visiting them
      (:func:`pymodel.exact_stats.exact_mul_metrics`): the Mitchell multiplier only, the default for it;
    * ``"sweep"``: visits every operand pair (width <= 16), the independent cross-check, and the
      default for ``div`` up to 16 bits;
    * ``"sample"``: ``samples`` seeded uniform random pairs (default 2**24); the default when
      ``samples`` is given, and for ``div`` above 16 bits.

    Memory is O(2**width) for the sweep, O(samples) sampled, O(2**min(frac_bits, 22)) exact.

    Returns a dict with ``METRIC_KEYS`` plus the configuration, ``method``, the seed (when
    sampled), the operands of the worst cases and those cases as exact fractions.
    """
    if not isinstance(cfg, Mitchell):
        from .designs.base import Design
        if not isinstance(cfg, Design):
            raise TypeError(f"cfg must be a design config (pymodel.registry), got {type(cfg).__name__}")
        if method not in (None, "sweep", "sample"):
            raise ValueError(f"method {method!r} is for the Mitchell multiplier only; {cfg.NAME!r} takes "
                             "'sweep' (width <= 16) or 'sample'")
        if method == "sweep" and cfg.width > EXHAUSTIVE_MAX_WIDTH:
            raise ValueError(f"method 'sweep' visits all 4**width pairs: width must be <= {EXHAUSTIVE_MAX_WIDTH}, "
                             f"got {cfg.width}")
        from .design_metrics import design_error_metrics
        if method == "sample" and samples is None:
            samples = DEFAULT_SAMPLES
        return design_error_metrics(cfg, op, samples=samples, seed=seed, progress=progress)
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    method = _pick_method(cfg, op, samples, method)
    if method == "exact":
        from .exact_stats import exact_mul_metrics, n_block_pairs
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=n_block_pairs(cfg), desc=f"mul {cfg.describe()}", unit="block pair", leave=False,
                       file=sys.stderr)
        try:
            return exact_mul_metrics(cfg, progress=None if bar is None else bar.update)
        finally:
            if bar is not None:
                bar.close()
    is_div = op == "div"
    lo, hi = cfg.operand_range
    exhaustive = method == "sweep"
    f, qf, s = cfg.frac_bits, cfg.quotient_frac_bits, cfg.signed
    if exhaustive:
        vals = np.arange(lo, hi + 1, dtype=np.int64)
        bvals = vals[vals != 0] if is_div else vals
        total = vals.size * bvals.size
        la, lb = _logs(vals, cfg), _logs(bvals, cfg)
        fa = np.empty((vals.size, _NF))
        ia = np.empty((vals.size, _NI), np.int64)
        step = chunk_rows or max(1, vals.size // 64)
        bar = _progress(total, progress, f"{op} {cfg.describe()}")
        for r0 in range(0, vals.size, step):
            sl = slice(r0, r0 + step)
            rows = vals[sl].size
            _SWEEP[is_div](vals[sl], la[sl], bvals, lb, 1, 0, 0, 1, bvals.size, rows * bvals.size,
                           -1 if is_div else r0, f, qf, s, fa[sl], ia[sl])
            if bar is not None:
                bar.update(rows * bvals.size)
    else:
        n = DEFAULT_SAMPLES if samples is None else samples
        rng = np.random.default_rng(seed)
        bar = _progress(n, progress, f"{op} {cfg.describe()}")
        chunk = 1 << 16
        fas, ias = [], []
        for start in range(0, n, 1 << 22):   # bounded memory: 4M pairs at a time
            m = min(1 << 22, n - start)
            a = rng.integers(lo, hi, size=m, endpoint=True, dtype=np.int64)
            b = rng.integers(lo, hi, size=m, endpoint=True, dtype=np.int64)
            if is_div:   # resample zero divisors from the nonzero range
                z = b == 0
                while z.any():
                    b[z] = rng.integers(lo, hi, size=int(z.sum()), endpoint=True, dtype=np.int64)
                    z = b == 0
            rows = -(-m // chunk)
            fa_c = np.empty((rows, _NF))
            ia_c = np.empty((rows, _NI), np.int64)
            _SWEEP[is_div](a, _logs(a, cfg), b, _logs(b, cfg), chunk, 1, chunk, 1, chunk, m, -1,
                           f, qf, s, fa_c, ia_c)
            fas.append(fa_c)
            ias.append(ia_c)
            if bar is not None:
                bar.update(m)
        fa, ia = np.concatenate(fas), np.concatenate(ias)
        total = n
    if bar is not None:
        bar.close()
    return _reduce(cfg, op, fa, ia, total, exhaustive, None if exhaustive else seed)


def _header(cfg, op):
    """The leading keys of a metrics dict: design, operator, its configuration (shared with exact_stats)."""
    out = {"design": cfg.NAME, "op": op, **cfg.as_dict()}
    if op == "mul":
        out.pop("quotient_frac_bits", None)
    out["config_keys"] = [k for k in cfg.as_dict() if k in out]
    return out


def _reduce(cfg, op, fa, ia, total, exhaustive, seed):
    nrel = fa[:, _NREL].sum()
    npair = fa[:, _NPAIR].sum()
    rmin = int(np.argmin(fa[:, _MIN_RE]))
    rmax = int(np.argmax(fa[:, _MAX_RE]))
    rwce = int(np.argmax(fa[:, _WCE]))
    max_exact = fa[:, _MAXEX].max()
    mae = fa[:, _SAE].sum() / npair
    worst_min = [int(ia[rmin, 0]), int(ia[rmin, 1])]
    worst_max = [int(ia[rmax, 2]), int(ia[rmax, 3])]
    out = _header(cfg, op)
    out.update({
        "pairs": int(total),
        "exhaustive": bool(exhaustive),
        "seed": seed,
        "min_re": float(fa[rmin, _MIN_RE]) if nrel else math.nan,
        "max_re": float(fa[rmax, _MAX_RE]) if nrel else math.nan,
        "bias": float(fa[:, _SRE].sum() / nrel) if nrel else math.nan,
        "mred": float(fa[:, _SABS_RE].sum() / nrel) if nrel else math.nan,
        "mae": float(mae),
        "wce": float(fa[rwce, _WCE]),
        "nmed": float(mae / max_exact) if max_exact else math.nan,
        "ep": float(fa[:, _NERR].sum() / npair),
        "mse": float(fa[:, _SSE].sum() / npair),
        "error_unit": "product LSB" if op == "mul" else "quotient LSB (2^-quotient_frac_bits)",
        "min_re_operands": worst_min,
        "max_re_operands": worst_max,
        "wce_operands": [int(ia[rwce, 4]), int(ia[rwce, 5])],
        "min_re_exact": _exact_re(cfg, op, *worst_min) if nrel else None,
        "max_re_exact": _exact_re(cfg, op, *worst_max) if nrel else None,
        "method": "sweep" if exhaustive else "sample",
    })
    if seed is None:
        del out["seed"]
    return out


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
