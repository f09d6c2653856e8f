"""Exact statistics of a multiplier whose product is affine in ``b`` on known pieces: O(2**width * pieces).

A design supplies its compiled ``mul_magnitude`` ``fn(a, b, P)`` and a break function ``brk(a, b, P)``
(numba ``njit``): for magnitudes ``a, b >= 1``, ``brk`` returns ``e > b`` such that ``b' -> fn(a, b')`` is
affine on ``b <= b' < e`` (a constant counts).  Mitchell-like designs have few pieces per block of ``b``:
the carry threshold, segment boundaries, runs of a truncated fraction, and single pairs where the output
shift floors.  The product saturates at ``product_max`` like the sweep (a piece is split where the line
crosses it).

Structure (for one ``a`` and one piece ``b = b0 + t``, ``0 <= t < n``)
----------------------------------------------------------------------
With ``M = M0 + beta*t`` the error is affine, ``err(t) = e0 + q*t`` (``e0 = M0 - a*b0``, ``q = beta - a``),
so it changes sign at most once: the piece is split there, and on each part ``|err|`` is
``|e_s| + |q|*s`` counted from the end ``s = 0`` where it is smallest.  Then, with ``S1 = n(n-1)/2`` and
``S2 = (n-1)n(2n-1)/6``::

    sum |err|   = n|e_s| + |q| S1
    sum err**2  = n e_s**2 + 2|e_s||q| S1 + q**2 S2
    sum err/b   = e0 H + q Q                (from the start: H = sum 1/b, Q = sum t/b)
                = e_l H + (-q) ((n-1) H - Q) (from the end e_l)

every term of one sign, so no cancellation (``H``, ``Q`` by the digamma helpers of
:mod:`pymodel.exact.mitchell`, a few ulps).  The relative errors of a part share a sign, so
``sum |re| = |sum re|``, ``sum re = (sum err/b) / a``.  ``err`` is zero at most once on a part (or
everywhere when ``e0 = q = 0``): the count of exact pairs is closed-form.  ``re = q/a + (e0 - q t0)/(a b)``
is monotone in ``b`` and ``|err|`` is convex, so the extremes of a piece are at its ends; the values compared
are the sweep's own floats (``float(err) / float(a*b)``), and ties go to the smaller operand key (operand
order of :mod:`pymodel.metric_defs`), which for a fixed ``a`` is always an end of the piece too.

Signed operands: magnitudes ``1 .. 2**(w-1) - 1`` occur twice, ``2**(w-1)`` and 0 once; the weight of a
pair is the product.  A tied extreme reports the lexicographically smallest signed pair with ``x <= y``:
``(-max, -min)`` of the magnitudes (unsigned: ``(min, max)``).  The product is commutative (the designs'
tests check it; the sweep relies on it too), so row ``a`` visits ``b >= a`` and counts ``b > a`` twice.

Cost: ``2**width`` rows of a few dozen pieces each (half of them on average, ``b >= a``) (the floor region ``k1 + k2 < g`` pair by pair, about
``g * 2**(g-1)`` pairs).  Memory O(2**width).
"""

import math

import numpy as np
from numba import njit, prange

from .. import metric_defs as D
from .mitchell import _hsum, _qrun

__all__ = ["affine_mul_metrics", "affine_div_metrics", "row", "div_row", "PIECE_BUDGET"]

# per-row float columns
_SABS, _SSQ, _SRE, _SABSRE, _NERR, _MIN, _MAX, _WCE = range(8)
_NCOL = 8


@njit(cache=True)
def _better(v, best, bm, b, prefer_small_b, lower):
    """Whether ``(v, b)`` beats ``(best, bm)`` (``lower``: smaller value wins) with the row's tie rule."""
    if lower:
        if v < best:
            return True
    elif v > best:
        return True
    if v == best:
        return b < bm if prefer_small_b else b > bm
    return False


@njit(cache=True)
def _ends(a, b, m, acc, idx, prefer_small_b):
    """Offer pair ``(a, b)`` with magnitude ``m`` to the row's extremes (the sweep's float values)."""
    p = np.uint64(a) * np.uint64(b)
    err = float(m - p) if m >= p else -float(p - m)
    re = err / float(p)
    ae = abs(err)
    if _better(re, acc[_MIN], idx[0], b, prefer_small_b, True):
        acc[_MIN] = re
        idx[0] = b
    if _better(re, acc[_MAX], idx[1], b, prefer_small_b, False):
        acc[_MAX] = re
        idx[1] = b
    if _better(ae, acc[_WCE], idx[2], b, prefer_small_b, False):
        acc[_WCE] = ae
        idx[2] = b


@njit(cache=True)
def _part(rden, es, b0, n, e0, q, wt, acc):
    """Sums of one sign-constant part ``err = e0 + q t`` (``0 <= t < n``) at weight ``wt``: the absolute
    error is ``es * err``, the relative error ``err / (rden * (b0 + t))``."""
    fn_ = float(n)
    s1 = fn_ * (fn_ - 1.0) / 2.0
    s2 = (fn_ - 1.0) * fn_ * (2.0 * fn_ - 1.0) / 6.0
    el = e0 + q * (n - 1)
    fq = float(abs(q))
    H = _hsum(float(b0), float(b0 + n))
    Q = _qrun(float(b0), fn_)
    if (e0 >= 0 and q >= 0) or (e0 <= 0 and q <= 0):       # |err| grows from the start
        ea = float(abs(e0))
        ser = float(e0) * H + float(q) * Q
    else:                                                   # |err| shrinks toward the end
        ea = float(abs(el))
        ser = float(el) * H - float(q) * ((fn_ - 1.0) * H - Q)
    acc[_SABS] += wt * es * (fn_ * ea + fq * s1)
    acc[_SSQ] += wt * es * es * (fn_ * ea * ea + 2.0 * ea * fq * s1 + fq * fq * s2)
    sre = ser / rden
    acc[_SRE] += wt * sre
    acc[_SABSRE] += wt * abs(sre)


@njit(cache=True)
def _piece(rden, es, b0, n, e0, q, wt, acc):
    """An affine error ``e0 + q t`` on ``n`` operands from ``b0``: split at its sign change, count exact pairs."""
    zeros = 0
    if q == 0:
        zeros = n if e0 == 0 else 0
        _part(rden, es, b0, n, e0, q, wt, acc)
    else:
        if (-e0) % q == 0:
            t0 = (-e0) // q
            if 0 <= t0 < n:
                zeros = 1
        el = e0 + q * (n - 1)
        if (e0 < 0 < el) or (el < 0 < e0):
            tz = (-e0) // q if q > 0 else e0 // (-q)       # last t with the sign of e0 (or zero)
            _part(rden, es, b0, tz + 1, e0, q, wt, acc)
            _part(rden, es, b0 + tz + 1, n - tz - 1, e0 + q * (tz + 1), q, wt, acc)
        else:
            _part(rden, es, b0, n, e0, q, wt, acc)
    acc[_NERR] += wt * (n - zeros)


@njit(cache=True)
def _mul_piece(a, b0, n, m0, beta, wt, acc):
    """Multiplier piece: ``M = m0 + beta t`` against ``a * (b0 + t)``."""
    _piece(float(a), 1.0, b0, n, m0 - a * b0, beta - a, wt, acc)


@njit(cache=True)
def _div_piece(b, q2, a0, n, m0, beta, wt, acc):
    """Divider piece (row ``b``, operands ``a = a0 + t``): ``b*M - 2**Q * a`` is the error in units of
    ``1/b`` output LSBs, ``(b*M - 2**Q a) / (2**Q a)`` the relative error."""
    _piece(float(q2), 1.0 / float(b), a0, n, b * m0 - q2 * a0, b * beta - q2, wt, acc)


@njit(cache=True)
def _div_ends(b, a, m, qscale, acc, idx, prefer_small_a):
    """Offer divider pair ``(a, b)`` (quotient ``m``) to row ``b``'s extremes, the sweep's floats."""
    ex = float(a) * qscale / float(b)
    err = float(m) - ex
    re = float(m) * float(b) / (float(a) * qscale) - 1.0
    ae = abs(err)
    if _better(re, acc[_MIN], idx[0], a, prefer_small_a, True):
        acc[_MIN] = re
        idx[0] = a
    if _better(re, acc[_MAX], idx[1], a, prefer_small_a, False):
        acc[_MAX] = re
        idx[1] = a
    if _better(ae, acc[_WCE], idx[2], a, prefer_small_a, False):
        acc[_WCE] = ae
        idx[2] = a


@njit
def row(fn, brk, P, a, maxmag, top_single, sat, prefer_small_b, acc, idx):
    """Row ``a``: every piece of ``b = a .. maxmag`` into ``acc`` (``_NCOL``) and ``idx`` (3).

    A design's exact module calls it from its own ``prange`` loop over the rows, naming its
    ``mul_magnitude`` and break function."""
    acc[:] = 0.0
    acc[_MIN] = np.inf
    acc[_MAX] = -np.inf
    acc[_WCE] = -1.0
    idx[:] = 0
    wa = 1.0 if (top_single and a == maxmag) else (2.0 if top_single else 1.0)
    b = a                                          # commutative: b >= a, off the diagonal twice
    while b <= maxmag:
        e = a + 1 if b == a else min(brk(a, b, P), maxmag + 1)
        if top_single and b < maxmag:
            e = min(e, maxmag)                     # the lone top magnitude has weight 1
        wt = wa * (1.0 if (top_single and b == maxmag) else (2.0 if top_single else 1.0)) * (1.0 if b == a else 2.0)
        n = e - b
        raw0 = fn(a, b, P)
        if n == 1:
            m0 = min(raw0, sat)
            _mul_piece(a, b, 1, np.int64(m0), 0, wt, acc)
            _ends(a, b, m0, acc, idx, prefer_small_b)
        else:
            beta = np.int64(fn(a, b + 1, P)) - np.int64(raw0)
            last = np.int64(raw0) + beta * (n - 1)
            if beta == 0:                               # a run: one product, saturated or not
                m0 = min(raw0, sat)
                _mul_piece(a, b, n, np.int64(m0), 0, wt, acc)
                _ends(a, b, m0, acc, idx, prefer_small_b)
                _ends(a, e - 1, m0, acc, idx, prefer_small_b)
            elif beta < 0:                              # products fall with b: no design does; pair by pair
                for t in range(n):
                    m = min(fn(a, b + t, P), sat)
                    _mul_piece(a, b + t, 1, np.int64(m), 0, wt, acc)
                    _ends(a, b + t, m, acc, idx, prefer_small_b)
            elif last <= np.int64(sat):
                _mul_piece(a, b, n, np.int64(raw0), beta, wt, acc)
                _ends(a, b, np.uint64(raw0), acc, idx, prefer_small_b)
                _ends(a, e - 1, np.uint64(last), acc, idx, prefer_small_b)
            else:                                   # the line crosses the saturation level
                ts = 0 if np.int64(raw0) > np.int64(sat) else (np.int64(sat) - np.int64(raw0)) // beta + 1
                if ts > 0:
                    _mul_piece(a, b, ts, np.int64(raw0), beta, wt, acc)
                    _ends(a, b, np.uint64(raw0), acc, idx, prefer_small_b)
                    _ends(a, b + ts - 1, np.uint64(np.int64(raw0) + beta * (ts - 1)), acc, idx, prefer_small_b)
                _mul_piece(a, b + ts, n - ts, np.int64(sat), 0, wt, acc)
                _ends(a, b + ts, sat, acc, idx, prefer_small_b)
                _ends(a, e - 1, sat, acc, idx, prefer_small_b)
        b = e


@njit
def div_row(fn, brk, P, b, maxmag, top_single, sat, qf, prefer_small_a, acc, idx):
    """Divider row ``b``: every piece of dividends ``a = 1 .. maxmag`` (``brk(b, a, P)`` ends the piece of
    ``a`` on which the quotient is affine in ``a``); as :func:`row` otherwise."""
    acc[:] = 0.0
    acc[_MIN] = np.inf
    acc[_MAX] = -np.inf
    acc[_WCE] = -1.0
    idx[:] = 0
    q2 = np.int64(1) << qf
    qscale = float(q2)
    wb = 1.0 if (top_single and b == maxmag) else (2.0 if top_single else 1.0)
    a = 1
    while a <= maxmag:
        e = min(brk(b, a, P), maxmag + 1)
        if top_single and a < maxmag:
            e = min(e, maxmag)
        wt = wb * (1.0 if (top_single and a == maxmag) else (2.0 if top_single else 1.0))
        n = e - a
        raw0 = min(fn(a, b, P), sat)
        if n == 1:
            _div_piece(b, q2, a, 1, np.int64(raw0), 0, wt, acc)
            _div_ends(b, a, raw0, qscale, acc, idx, prefer_small_a)
        else:
            raw1 = min(fn(a + 1, b, P), sat)
            last = min(fn(e - 1, b, P), sat)
            beta = np.int64(raw1) - np.int64(raw0)
            if np.int64(last) == np.int64(raw0) + beta * (n - 1):
                _div_piece(b, q2, a, n, np.int64(raw0), beta, wt, acc)
                _div_ends(b, a, raw0, qscale, acc, idx, prefer_small_a)
                _div_ends(b, e - 1, last, qscale, acc, idx, prefer_small_a)
            else:                           # saturated part-way (never at these designs' ranges): pair by pair
                for t in range(n):
                    m = min(fn(a + t, b, P), sat)
                    _div_piece(b, q2, a + t, 1, np.int64(m), 0, wt, acc)
                    _div_ends(b, a + t, m, qscale, acc, idx, prefer_small_a)
        a = e


# About 250 ns a piece on 2 cores: 1.2e8 pieces take some 30 s, cheaper than a 16-bit sweep.
PIECE_BUDGET = 120_000_000


def _key(signed, a, b):
    return (-max(a, b), -min(a, b)) if signed else (min(a, b), max(a, b))


def affine_mul_metrics(cfg, rows, progress=None):
    """Every key of the sweep of ``error_metrics(cfg, "mul")`` from the affine pieces (module docstring).

    ``rows(P, maxmag, top_single, sat, prefer_small_b, acc, idx)`` is the design's compiled loop of
    :func:`row` over ``a = 1 .. maxmag`` (row ``a - 1`` of ``acc``, ``idx``) with its own ``mul_magnitude``
    and break function, so only the piece boundaries are the design's to state."""
    w, signed = cfg.width, cfg.signed
    maxmag = (1 << (w - 1)) if signed else (1 << w) - 1
    P = cfg.kernel_params()
    sat = np.uint64(cfg.product_max)
    acc = np.empty((maxmag, _NCOL))
    idx = np.empty((maxmag, 3), np.int64)
    rows(P, maxmag, signed, sat, not signed, acc, idx)
    if progress is not None:
        progress(1, 1)
    npair = 1 << (2 * w)
    nrel = ((1 << w) - 1) ** 2
    max_exact = maxmag * maxmag

    def pick(col, j, lower):
        v = acc[:, col]
        best = v.min() if lower else v.max()
        rows = np.flatnonzero(v == best)
        ops = min((_key(signed, int(r) + 1, int(idx[r, j])) for r in rows))
        return float(best), list(ops)

    mn, mn_ops = pick(_MIN, 0, True)
    mx, mx_ops = pick(_MAX, 1, False)
    wce, wce_ops = pick(_WCE, 2, False)
    sabs = math.fsum(acc[:, _SABS])
    mae = sabs / npair
    return D.exact_result(
        cfg, "mul", pairs=npair, min_re=mn, max_re=mx,
        bias=math.fsum(acc[:, _SRE]) / nrel, mred=math.fsum(acc[:, _SABSRE]) / nrel,
        mae=mae, wce=wce, nmed=mae / max_exact, ep=math.fsum(acc[:, _NERR]) / npair,
        mse=math.fsum(acc[:, _SSQ]) / npair,
        min_re_operands=mn_ops, max_re_operands=mx_ops, wce_operands=wce_ops)


def affine_div_metrics(cfg, rows, progress=None):
    """Every key of the sweep of ``error_metrics(cfg, "div")`` from the divider's affine pieces: rows are
    divisors ``b``, pieces run over dividends ``a`` (for a fixed ``b`` the log difference is affine in
    ``a``, and so is the exact quotient ``a * 2**Q / b``).  ``rows(P, maxmag, top_single, sat, qf,
    prefer_small_a, acc, idx)`` is the design's compiled loop of :func:`div_row`."""
    w, signed, qf = cfg.width, cfg.signed, cfg.quotient_frac_bits
    maxmag = (1 << (w - 1)) if signed else (1 << w) - 1
    P = cfg.kernel_params()
    sat = np.uint64((1 << (w + qf)) - 1)
    acc = np.empty((maxmag, _NCOL))
    idx = np.empty((maxmag, 3), np.int64)
    rows(P, maxmag, signed, sat, qf, not signed, acc, idx)
    if progress is not None:
        progress(1, 1)
    n_all = 1 << w
    npair = n_all * (n_all - 1)
    nrel = (n_all - 1) ** 2
    max_exact = float(maxmag) * float(2 ** qf)

    def key(b, a):
        return (-a, -b) if signed else (a, b)

    def pick(col, j, lower):
        v = acc[:, col]
        best = v.min() if lower else v.max()
        rws = np.flatnonzero(v == best)
        return float(best), list(min(key(int(r) + 1, int(idx[r, j])) for r in rws))

    mn, mn_ops = pick(_MIN, 0, True)
    mx, mx_ops = pick(_MAX, 1, False)
    wce, wce_ops = pick(_WCE, 2, False)
    mae = math.fsum(acc[:, _SABS]) / npair
    return D.exact_result(
        cfg, "div", pairs=npair, min_re=mn, max_re=mx,
        bias=math.fsum(acc[:, _SRE]) / nrel, mred=math.fsum(acc[:, _SABSRE]) / nrel,
        mae=mae, wce=wce, nmed=mae / max_exact, ep=math.fsum(acc[:, _NERR]) / npair,
        mse=math.fsum(acc[:, _SSQ]) / npair,
        min_re_operands=mn_ops, max_re_operands=mx_ops, wce_operands=wce_ops)
