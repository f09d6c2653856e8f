"""The sweep and the sampler of :func:`pymodel.metrics.error_metrics`, for every registered design.

Both call the design's own compiled datapath, ``mul_magnitude`` or ``div_magnitude``, so a new
design needs nothing here.  They accumulate the columns of :mod:`pymodel.metric_defs` per row of
pairs and share its reduction (and its definitions) with the exact forms of :mod:`pymodel.exact`.
"""

import numpy as np
from numba import njit, prange

from . import metric_defs as M

__all__ = ["design_error_metrics"]


@njit(inline="always")
def _add(acc, idx, j, w, err, ex, re):
    """Accumulate one pair (weight ``w``) into the row's columns; ``idx`` keeps the argmin/argmax ``j``."""
    ae = abs(err)
    acc[M.NPAIR] += w
    acc[M.SAE] += w * ae
    acc[M.SSE] += w * ae * ae
    if ae != 0.0:
        acc[M.NERR] += w
    if ae > acc[M.WCE]:
        acc[M.WCE] = ae
        idx[2] = j
    if ex > acc[M.MAXEX]:
        acc[M.MAXEX] = ex
    if re == re:
        acc[M.NREL] += w
        acc[M.SRE] += w * re
        acc[M.SABS_RE] += w * abs(re)
        acc[M.SRE2] += w * re * re
        if re < acc[M.MIN_RE]:
            acc[M.MIN_RE] = re
            idx[0] = j
        if re > acc[M.MAX_RE]:
            acc[M.MAX_RE] = re
            idx[1] = j


@njit(parallel=True)
def _sweep(fn, is_div, avals, bvals, a_row, a_step, b_row, b_step, length, n, sym_row0, signed, P, sat,
           qscale, fa, ia):
    """Rows of pairs as in :mod:`pymodel.metrics` (grid or list); ``sym_row0 >= 0``: commutative, square grid."""
    for r in prange(fa.shape[0]):
        acc = np.zeros(M.NF)
        acc[M.MIN_RE] = np.inf
        acc[M.MAX_RE] = -np.inf
        acc[M.WCE] = -1.0
        idx = np.zeros(3, np.int64)
        m_len = min(length, n - r * length)
        j0 = sym_row0 + r if sym_row0 >= 0 else 0
        for j in range(j0, m_len):
            w = 2.0 if (sym_row0 >= 0 and j != j0) else 1.0
            x = avals[r * a_row + j * a_step]
            y = bvals[r * b_row + j * b_step]
            ax = abs(x) if signed else x
            ay = abs(y) if signed else y
            m = min(fn(ax, ay, P), sat)
            if is_div:
                ex = float(ax) * qscale / float(ay)
                err = float(m) - ex
                re = float(m) * float(ay) / (float(ax) * qscale) - 1.0 if ax != 0 else np.nan
            else:
                p = np.uint64(ax) * np.uint64(ay)
                err = float(m - p) if m >= p else -float(p - m)
                ex = float(p)
                re = err / ex if p != 0 else np.nan
            _add(acc, idx, j, w, err, ex, re)
        fa[r, :] = acc
        for c in range(3):
            ia[r, 2 * c] = avals[r * a_row + idx[c] * a_step]
            ia[r, 2 * c + 1] = bvals[r * b_row + idx[c] * b_step]


def design_error_metrics(cfg, op="mul", *, samples=None, seed=0, progress=False):
    """Every key of :func:`pymodel.metrics.error_metrics` for design ``cfg``'s ``op``.

    Exhaustive over every pair up to 16 bits when ``samples`` is None (``div`` leaves out
    ``b == 0``), otherwise ``samples`` seeded uniform pairs (default 2**24).  Multipliers
    are commutative (the tests check it), so the sweep visits each unordered pair once.
    """
    if op not in cfg.OPS:
        raise ValueError(f"design {cfg.NAME!r} has no {op!r} (it has {', '.join(cfg.OPS)})")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    is_div = op == "div"
    fn = type(cfg).div_magnitude if is_div else type(cfg).mul_magnitude
    sat = np.uint64((1 << (cfg.width + cfg.quotient_frac_bits)) - 1) if is_div else np.uint64(cfg.product_max)
    qscale = float(2 ** cfg.quotient_frac_bits) if is_div else 1.0
    P = cfg.kernel_params()
    lo, hi = cfg.operand_range
    exhaustive = samples is None and cfg.width <= M.EXHAUSTIVE_MAX_WIDTH
    desc = f"{op} {cfg.describe()}"
    if exhaustive:
        vals = np.arange(lo, hi + 1, dtype=np.int64)
        bvals = vals[vals != 0] if is_div else vals
        total = vals.size * bvals.size
        fa = np.empty((vals.size, M.NF))
        ia = np.empty((vals.size, M.NI), np.int64)
        step = vals.size if total <= (1 << 24) else max(1, vals.size // 64)   # chunks only for the bar
        bar = M.progress_bar(total, progress, desc)
        for r0 in range(0, vals.size, step):
            sl = slice(r0, r0 + step)
            rows = vals[sl].size
            _sweep(fn, is_div, vals[sl], bvals, 1, 0, 0, 1, bvals.size, rows * bvals.size,
                   -1 if is_div else r0, cfg.signed, P, sat, qscale, fa[sl], ia[sl])
            if bar is not None:
                bar.update(rows * bvals.size)
    else:
        total = M.DEFAULT_SAMPLES if samples is None else samples
        rng = np.random.default_rng(seed)
        bar = M.progress_bar(total, progress, desc)
        chunk = 1 << 16
        fas, ias = [], []
        for start in range(0, total, 1 << 22):
            m = min(1 << 22, total - start)
            a = rng.integers(lo, hi, size=m, endpoint=True, dtype=np.int64)
            b = rng.integers(lo, hi, size=m, endpoint=True, dtype=np.int64)
            if is_div:
                z = b == 0
                while z.any():
                    b[z] = rng.integers(lo, hi, size=int(z.sum()), endpoint=True, dtype=np.int64)
                    z = b == 0
            rows = -(-m // chunk)
            fa_c = np.empty((rows, M.NF))
            ia_c = np.empty((rows, M.NI), np.int64)
            _sweep(fn, is_div, a, b, chunk, 1, chunk, 1, chunk, m, -1, cfg.signed, P, sat, qscale, fa_c, ia_c)
            fas.append(fa_c)
            ias.append(ia_c)
            if bar is not None:
                bar.update(m)
        fa, ia = np.concatenate(fas), np.concatenate(ias)
    if bar is not None:
        bar.close()
    return M.reduce_rows(cfg, op, fa, ia, total, exhaustive, None if exhaustive else seed)
