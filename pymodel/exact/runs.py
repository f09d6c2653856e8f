"""Exact statistics of a log-add multiplier whose product depends on each operand's kept bits only.

Used by the exact forms of Mitch-w, DR-ALM and ALM-SOA (:mod:`pymodel.exact.mitchw`,
:mod:`pymodel.exact.dralm`, :mod:`pymodel.exact.almsoa`), whose modules say which bits are kept.

The structure
-------------
Write a magnitude ``v >= 1`` as ``v = 2**k + r`` (block ``k``).  If the product reads only the leading-one
position ``k`` and the top ``K`` bits below it, block ``k`` splits into ``2**min(k, K)`` *runs*
``A <= v < A + L`` with ``L = 2**max(k - K, 0)``, and the product ``M`` is one constant on every *box*
(run of ``a``) x (run of ``b``): ``M = fn(A1, A2)`` (saturated at ``product_max`` as the sweep does).  With
``a = A1 + x``, ``b = A2 + y`` (``0 <= x < L1``, ``0 <= y < L2``) the error ``M - a*b`` falls strictly in
``x`` and ``y``, so on a box:

* if ``M <= A1*A2`` every error is ``<= 0`` and if ``M >= (A1+L1-1)(A2+L2-1)`` every error is ``>= 0``: then
  ``sum |err|``, ``sum err**2`` are polynomials in the power sums ``sum x**i``, ``sum y**j`` (``i, j <= 2``),
  expanded from the corner where ``|err|`` is smallest so that every term has one sign,
  ``sum re = M H1 H2 - L1 L2`` with ``H = sum 1/v`` over a run (a digamma difference,
  :func:`pymodel.exact.mitchell._hsum`), ``sum |re| = |sum re|``, and only a corner can be exact;
* otherwise (the hyperbola ``a*b = M`` crosses the box) for each ``a`` of the shorter run the other run
  splits at ``b = M/a`` into a part with ``err > 0`` and one with ``err <= 0``; on each ``err`` is affine
  in ``b`` with one sign and its sums are closed forms from the end where ``|err|`` is smallest
  (``sum err/b`` with ``H`` and ``Q = sum (b - B)/b``, :func:`pymodel.exact.mitchell._qrun`, every term of
  one sign); ``a*b = M`` at most once (when ``a`` divides ``M``).

The relative error ``M/(a*b) - 1`` and ``a*b`` are strictly monotone in each operand on a box, so the
extremes (``min_re``, ``max_re``, ``|err|``) of a box are at its two corners ``(A1, A2)`` and
``(A1+L1-1, A2+L2-1)``.  They are compared as the sweep computes them (``float(err) / float(a*b)``), and
ties go to the first pair in operand-value order (:mod:`pymodel.metric_defs`): unsigned the smaller
magnitudes, signed the larger ones (both negative), ordered ``x <= y`` like the sweep's pairs.

Signed operands: the magnitudes ``1 .. 2**(w-1) - 1`` occur twice, ``2**(w-1)`` (a run of its own) and 0
once; a box's weight is the product of its runs' weights, twice for a box off the diagonal (the product
is commutative: the designs' tests check it, and the test against the sweep would see it otherwise).

Long runs: visiting every operand of the shorter run of each crossed box costs ``sum min(L1, L2)`` (about
``2**(width + K)``), hours at 32 bits.  When that exceeds ``EXACT_BUDGET`` (never up to 16 bits), crossed
boxes whose shorter run is longer than ``LONG_RUN`` (2**12 up to 22 bits, half as long per further bit, at
least 64) are summed differently
(:func:`_crossed_long`): the operands ``a`` whose row has one sign go to the closed forms; on the rest
``sum err**2`` and ``sum re`` need no split, the exact pairs are counted from the divisors of ``M``, and the
positive parts of ``sum |err|`` and ``sum |re|`` are taken at the split ``b = M/a - 1/2``, where their
derivative in ``b`` vanishes, so rounding the split to an integer moves a row by ``a d**2 / 2`` and
``d**2 / (2 c)`` (``|d| <= 1/2``, ``c = M/a``; the mean ``a/24``, ``1/(24 c)`` is taken off), then summed over
``a`` by Euler-Maclaurin.  So MAE and MRED there are not exact to the last bit: against the exact path
the relative difference of MRED measured (Mitch-w, defaults) 8e-13 at 18 bits and 4e-14 at 20 with runs
from 2**12 on, and 4e-14 at 22 bits with runs from 64 on (9e-16 from 2**12 on): it falls about 4x per bit
(the rounding moves a row by at most ``1/(8 c)`` against rows of size about ``L 2**-K``), so well below
1e-14 at 32 bits; every other figure (bias, MSE, EP, extremes and their operands) stays exact.

Accuracy otherwise: the count of exact pairs is an integer (float64 below 2**53); the sums are float64, per
box as above (no cancellation beyond a box's own spread), Neumaier-compensated per row of boxes and
combined with ``math.fsum``.  Cost: one ``fn`` call per box plus four digamma differences per operand of
the shorter run of each crossed box.
"""

import math

import numpy as np
from numba import njit, prange

from ..metric_defs import exact_result
from numba.cpython.unsafe.numbers import leading_zeros
from .mitchell import _GL_W, _GL_X, _hsum, _qrun

__all__ = ["run_metrics", "runs", "cost", "BOX_BUDGET"]

# per-row float columns; per-row int columns (operands of the extremes)
_NEXACT, _SRE, _SABSRE, _SAE, _SSE, _MIN, _MAX, _WCE = range(8)
_NCOL = 8


def runs(bits, K, signed_top=0):
    """``(v0, L, weight)`` of the runs of the magnitudes ``1 .. 2**bits - 1`` that keep ``K`` bits below
    the leading one (weight 2 when ``signed_top``, which is then a run of its own of weight 1)."""
    v0, ln = [], []
    for k in range(bits):
        L = 1 << max(k - K, 0)
        v0.append(np.arange(1 << k, 2 << k, L, dtype=np.int64))
        ln.append(np.full(v0[-1].size, L, np.int64))
    v0, ln = np.concatenate(v0), np.concatenate(ln)
    wt = np.full(v0.size, 2 if signed_top else 1, np.int64)
    if signed_top:
        v0, ln, wt = np.append(v0, signed_top), np.append(ln, 1), np.append(wt, 1)
    return v0, ln, wt


def cost(width, signed, K):
    """Boxes visited (``n (n + 1) / 2`` for ``n`` runs), the cost model of the budget."""
    bits = width - 1 if signed else width
    n = sum(1 << min(k, K) for k in range(bits)) + int(signed)
    return n * (n + 1) // 2


def exact_cost(width, signed, K):
    """An upper bound of the operands visited one by one in crossed boxes: ``sum min(L1, L2)`` over boxes."""
    bits = width - 1 if signed else width
    blocks = [(1 << min(k, K), 1 << max(k - K, 0)) for k in range(bits)]
    return sum(n1 * n2 * min(l1, l2) for i, (n1, l1) in enumerate(blocks) for (n2, l2) in blocks[i:])


BOX_BUDGET = 1 << 27     # boxes (one design call each) an exact form takes on (seconds)
LONG_RUN = 1 << 12        # crossed boxes with longer runs are summed at the split (_crossed_long), to 22 bits
EXACT_BUDGET = 1 << 27    # ... but only when visiting every operand of the crossed boxes would cost more


@njit(inline="always")
def _add(acc, col, x):
    """Neumaier-compensated ``acc[col] += x`` (compensation in ``acc[col + _NCOL]``)."""
    s = acc[col]
    t = s + x
    acc[col + _NCOL] += (s - t) + x if abs(s) >= abs(x) else (x - t) + s
    acc[col] = t


@njit(inline="always")
def _better(v, a, b, best, ba, bb, lower, signed):
    """Whether ``(v, a, b)`` beats ``(best, ba, bb)``; ties to the pair that comes first in operand order."""
    if (v < best) if lower else (v > best):
        return True
    if v != best:
        return False
    if signed:
        return a > ba or (a == ba and b > bb)
    return a < ba or (a == ba and b < bb)


@njit(inline="always")
def _offer(a, b, M, acc, ia, signed):
    """Offer the pair of magnitudes ``{a, b}`` (both orders have the same value) to the row's extremes."""
    x, y = (max(a, b), min(a, b)) if signed else (min(a, b), max(a, b))
    p = np.uint64(a) * np.uint64(b)
    err = float(M - p) if M >= p else -float(p - M)
    re = err / float(p)
    ae = abs(err)
    for c, col, lower, v in ((0, _MIN, True, re), (1, _MAX, False, re), (2, _WCE, False, ae)):
        if _better(v, x, y, acc[col], ia[2 * c], ia[2 * c + 1], lower, signed):
            acc[col] = v
            ia[2 * c] = x
            ia[2 * c + 1] = y


@njit(inline="always")
def _part(a, b0, n, es, M, above, wt, acc):
    """One sign part of a fixed ``a``: ``b0 <= b < b0 + n``, ``err = M - a*b`` with ``|err|`` smallest
    (``es``) at the start when ``above`` (``err <= 0``), at the end otherwise (``err > 0``)."""
    fn_ = float(n)
    fa = float(a)
    s1 = fn_ * (fn_ - 1.0) / 2.0
    s2 = (fn_ - 1.0) * fn_ * (2.0 * fn_ - 1.0) / 6.0
    H = _hsum(float(b0), float(b0 + n))
    Q = _qrun(float(b0), fn_)
    e = float(es)
    _add(acc, _SAE, wt * (fn_ * e + fa * s1))
    _add(acc, _SSE, wt * (fn_ * e * e + 2.0 * e * fa * s1 + fa * fa * s2))
    if above:      # |err| = e + a t from the start: sum |err|/b = e H + a Q
        sre = (e * H + fa * Q) / fa
        _add(acc, _SRE, -wt * sre)
    else:          # err = e + a s from the end: sum err/b = e H + a ((n-1) H - Q)
        sre = (e * H + fa * ((fn_ - 1.0) * H - Q)) / fa
        _add(acc, _SRE, wt * sre)
    _add(acc, _SABSRE, wt * sre)


@njit
def _box(A1, L1, A2, L2, M, wt, acc, ia, signed, long_run):
    """Every pair of one box (module docstring) at weight ``wt``; crossed boxes whose shorter run is longer
    than ``long_run`` go to :func:`_crossed_long`."""
    a1 = A1 + L1 - 1
    a2 = A2 + L2 - 1
    _offer(A1, A2, M, acc, ia, signed)
    _offer(a1, a2, M, acc, ia, signed)
    n = L1 * L2
    fn_ = float(n)
    plo = np.uint64(A1) * np.uint64(A2)
    phi = np.uint64(a1) * np.uint64(a2)
    if M <= plo or M >= phi:
        _one_sign(A1, L1, A2, L2, M, wt, acc)
        return
    if L1 <= L2:
        O, LO, B, LB = A1, L1, A2, L2
    else:
        O, LO, B, LB = A2, L2, A1, L1
    if LO > long_run:
        _crossed_long(O, LO, B, LB, M, wt, acc, ia, signed)
        return
    _crossed(O, LO, B, LB, M, wt, acc)


@njit(inline="always")
def _one_sign(A1, L1, A2, L2, M, wt, acc):
    """A box where the error has one sign (or is 0): closed forms from the corner where ``|err|`` is
    smallest."""
    a1 = A1 + L1 - 1
    a2 = A2 + L2 - 1
    n = L1 * L2
    fn_ = float(n)
    plo = np.uint64(A1) * np.uint64(A2)
    phi = np.uint64(a1) * np.uint64(a2)
    if True:
        X0, Y0 = float(L1), float(L2)
        X1, Y1 = X0 * (X0 - 1.0) / 2.0, Y0 * (Y0 - 1.0) / 2.0
        X2, Y2 = (X0 - 1.0) * X0 * (2.0 * X0 - 1.0) / 6.0, (Y0 - 1.0) * Y0 * (2.0 * Y0 - 1.0) / 6.0
        acc[_NEXACT] += wt * ((1 if M == plo else 0) + (1 if (M == phi and n > 1) else 0))
        H1 = _hsum(float(A1), float(A1 + L1))
        H2 = _hsum(float(A2), float(A2 + L2))
        if M <= plo:   # |err| = u + A2 x + A1 y + x y, u = A1 A2 - M >= 0
            u = float(plo - M)
            p, q = float(A2), float(A1)
            sa = u * X0 * Y0 + p * X1 * Y0 + q * X0 * Y1 + X1 * Y1
            ss = (u * u * X0 * Y0 + p * p * X2 * Y0 + q * q * X0 * Y2 + X2 * Y2
                  + 2.0 * (u * p * X1 * Y0 + u * q * X0 * Y1 + u * X1 * Y1 + p * q * X1 * Y1 + p * X2 * Y1
                           + q * X1 * Y2))
            sre = fn_ - float(M) * H1 * H2
            _add(acc, _SRE, -wt * sre)
        else:          # err = u + a2 x + a1 y - x y from the far corner (x, y counted down), u = M - a1 a2 >= 0
            u = float(M - phi)
            p, q = float(a2), float(a1)
            sa = u * X0 * Y0 + p * X1 * Y0 + q * X0 * Y1 - X1 * Y1
            ss = (u * u * X0 * Y0 + p * p * X2 * Y0 + q * q * X0 * Y2 + X2 * Y2
                  + 2.0 * (u * p * X1 * Y0 + u * q * X0 * Y1 - u * X1 * Y1 + p * q * X1 * Y1 - p * X2 * Y1
                           - q * X1 * Y2))
            sre = float(M) * H1 * H2 - fn_
            _add(acc, _SRE, wt * sre)
        _add(acc, _SABSRE, wt * sre)
        _add(acc, _SAE, wt * sa)
        _add(acc, _SSE, wt * ss)


@njit(inline="always")
def _crossed(O, LO, B, LB, M, wt, acc):
    """A box crossed by ``a*b = M``, per operand ``a`` of the run ``O .. O+LO-1`` (exact)."""
    zeros = 0
    for a in range(O, O + LO):
        ua = np.uint64(a)
        nlo = min(max(np.int64((M - np.uint64(1)) // ua) - B + 1, 0), LB)    # b with a*b < M
        if nlo > 0:
            be = B + nlo - 1
            _part(a, B, nlo, M - ua * np.uint64(be), M, False, wt, acc)
        if nlo < LB:
            bs = B + nlo
            pb = ua * np.uint64(bs)
            if pb == M:
                zeros += 1
            _part(a, bs, LB - nlo, pb - M, M, True, wt, acc)
    acc[_NEXACT] += wt * zeros


@njit
def _divisor_pairs(M, O, LO, B, LB):
    """Pairs of the box with ``a*b = M`` exactly: ``a = d * 2**i`` for the odd divisors ``d`` of ``M``'s odd
    part, at most one ``i`` per ``d`` (a run lies within one block).  The odd part is factored by trial
    division, which stops once the square of the trial divisor exceeds what is left (usually early)."""
    e2 = 0
    mo = M
    while mo & np.uint64(1) == 0:
        mo >>= np.uint64(1)
        e2 += 1
    if mo >> np.uint64(40) != 0:          # a large odd part: test each a instead
        cnt = 0
        for a in range(O, O + LO):
            if M % np.uint64(a) == 0:
                b = np.int64(M // np.uint64(a))
                if B <= b < B + LB:
                    cnt += 1
        return cnt
    primes = np.zeros(16, np.uint64)
    exps = np.zeros(16, np.int64)
    npr = 0
    rest = mo
    d = np.uint64(3)
    while d * d <= rest:
        if rest % d == 0:
            primes[npr] = d
            while rest % d == 0:
                rest //= d
                exps[npr] += 1
            npr += 1
        d += np.uint64(2)
    if rest > 1:
        primes[npr] = rest
        exps[npr] = 1
        npr += 1
    nd = 1
    for t in range(npr):
        nd *= exps[t] + 1
    divs = np.empty(nd, np.uint64)
    divs[0] = 1
    cur = 1
    for t in range(npr):
        base = cur
        pw = np.uint64(1)
        for _ in range(exps[t]):
            pw *= primes[t]
            for u in range(base):
                divs[cur] = divs[u] * pw
                cur += 1
    k = 63 - np.int64(leading_zeros(np.uint64(O)))
    cnt = 0
    for t in range(nd):
        dd = divs[t]
        i = k - (63 - np.int64(leading_zeros(dd)))
        if 0 <= i <= e2:
            a = np.int64(dd) << i
            if O <= a < O + LO:
                b = np.int64(M // np.uint64(a))
                if B <= b < B + LB:
                    cnt += 1
    return cnt


@njit
def _g(x, M, B, which):
    """At real ``a = x``, with ``c = M/a``: the positive part of the row at ``b = c - 1/2``:
    ``which`` 0: ``sum (M - a b) = a (c - B + 1/2)**2 / 2``, 1: ``sum (c/b - 1) = c (psi(c + 1/2) - psi(B)) -
    (c + 1/2 - B)``, each less the mean of the rounding of ``b`` (``a/24``, ``1/(24 c)``)."""
    c = M / x
    if which == 0:
        e = c - B + 0.5
        return x * e * e / 2.0 - x / 24.0
    return c * _hsum(B, c + 0.5) - (c + 0.5 - B) - 1.0 / (24.0 * c)


@njit
def _em(M, B, m0, n, which):
    """``sum_{m0 <= a < m0 + n} _g(a)`` by Euler-Maclaurin: Gauss-Legendre integral and end corrections."""
    fm, fb = float(M), float(B)
    if n <= 64:
        s = 0.0
        for j in range(n):
            s += _g(float(m0 + j), fm, fb, which)
        return s
    h = max(1.0, n / 1024.0)
    lo, hi = float(m0), float(m0 + n)
    mid = 0.5 * (hi - lo)
    integral = 0.0
    for t in range(_GL_X.size):
        integral += _GL_W[t] * _g(lo + mid + mid * _GL_X[t], fm, fb, which)
    integral *= mid
    d0 = (_g(lo + h, fm, fb, which) - _g(lo - h, fm, fb, which)) / (2.0 * h)
    dn = (_g(hi + h, fm, fb, which) - _g(hi - h, fm, fb, which)) / (2.0 * h)
    return integral + 0.5 * (_g(lo, fm, fb, which) - _g(hi, fm, fb, which)) + (dn - d0) / 12.0


@njit
def _crossed_long(O, LO, B, LB, M, wt, acc, ia, signed):
    """A crossed box with long runs: the operands ``a`` whose whole row has one sign go to
    :func:`_one_sign`; on the rest, where the row splits at ``b = M/a``, ``sum err**2`` and ``sum re`` need no
    split, and the positive parts of ``sum |err|`` and ``sum |re|`` are taken at the split ``b = M/a - 1/2``
    (where their derivative in ``b`` vanishes, so rounding ``b`` moves them by ``a d**2/2`` and
    ``d**2/(2c)``, ``|d| <= 1/2``, less the mean taken off in :func:`_g`) and summed over ``a`` by
    Euler-Maclaurin (:func:`_em`).  The exact pairs are counted from the divisors of ``M``."""
    BE = B + LB - 1
    um = M - np.uint64(1)
    f1 = min(np.int64(um // np.uint64(BE)), O + LO - 1)          # a <= f1: a*BE < M, every b positive
    e0 = max(np.int64((M + np.uint64(B) - np.uint64(1)) // np.uint64(B)), O)   # a >= e0: a*B >= M
    if f1 >= O:
        _one_sign(O, f1 - O + 1, B, LB, M, wt, acc)
    if e0 <= O + LO - 1:
        _one_sign(e0, O + LO - e0, B, LB, M, wt, acc)
    m0 = max(f1 + 1, O)
    n = min(e0, O + LO) - m0
    if n <= 0:
        return
    _offer(m0, B, M, acc, ia, signed)
    _offer(m0 + n - 1, BE, M, acc, ia, signed)
    fn_, fl = float(n), float(LB)
    X0, Y0 = fn_, fl
    X1, Y1 = X0 * (X0 - 1.0) / 2.0, Y0 * (Y0 - 1.0) / 2.0
    X2, Y2 = (X0 - 1.0) * X0 * (2.0 * X0 - 1.0) / 6.0, (Y0 - 1.0) * Y0 * (2.0 * Y0 - 1.0) / 6.0
    u = float(M - np.uint64(m0) * np.uint64(B))                  # err = u - B x - m0 y - x y > 0 at (m0, B)
    p, q = float(B), float(m0)
    serr = u * X0 * Y0 - p * X1 * Y0 - q * X0 * Y1 - X1 * Y1
    ss = (u * u * X0 * Y0 + p * p * X2 * Y0 + q * q * X0 * Y2 + X2 * Y2
          + 2.0 * (-u * p * X1 * Y0 - u * q * X0 * Y1 - u * X1 * Y1 + p * q * X1 * Y1 + p * X2 * Y1 + q * X1 * Y2))
    Ha = _hsum(float(m0), float(m0 + n))
    Hb = _hsum(float(B), float(B + LB))
    sre = float(M) * Ha * Hb - fn_ * fl
    gpos = _em(M, B, m0, n, 0)
    rpos = _em(M, B, m0, n, 1)
    _add(acc, _SAE, wt * (2.0 * gpos - serr))
    _add(acc, _SSE, wt * ss)
    _add(acc, _SRE, wt * sre)
    _add(acc, _SABSRE, wt * (2.0 * rpos - sre))
    acc[_NEXACT] += wt * _divisor_pairs(M, m0, n, B, LB)


@njit(parallel=True)
def _rows(fn, P, sat, v0, ln, wt, signed, nch, long_run, acc_out, ia_out):
    """Boxes ``(i, j >= i)``, rows ``i`` dealt round-robin to ``nch`` chunks (rows shrink with ``i``)."""
    nr = v0.size
    for ch in prange(nch):
        acc = np.zeros(2 * _NCOL)
        acc[_MIN] = np.inf
        acc[_MAX] = -np.inf
        acc[_WCE] = -1.0
        ia = np.zeros(6, np.int64)
        for i in range(ch, nr, nch):
            A1, L1 = v0[i], ln[i]
            for j in range(i, nr):
                A2, L2 = v0[j], ln[j]
                M = min(fn(A1, A2, P), sat)
                w = float(wt[i] * wt[j] * (1 if i == j else 2))
                _box(A1, L1, A2, L2, M, w, acc, ia, signed, long_run)
        for c in range(_NCOL):
            acc_out[ch, c] = acc[c]
            acc_out[ch, _NCOL + c] = acc[_NCOL + c]
        ia_out[ch, :] = ia


def run_metrics(cfg, op, K, progress=None, long_run=None):
    """Every key of the sweep of ``cfg``'s multiplier, whose product reads ``K`` bits below each leading
    one (module docstring); ``cfg.mul_magnitude`` gives the products."""
    if op != "mul":
        raise ValueError(f"this exact form is for 'mul', got {op!r}")
    w, signed = cfg.width, cfg.signed
    bits = w - 1 if signed else w
    v0, ln, wt = runs(bits, K, (1 << (w - 1)) if signed else 0)
    nch = 256
    acc = np.zeros((nch, 2 * _NCOL))
    ia = np.zeros((nch, 6), np.int64)
    if long_run is None:
        # the split's error per crossed box falls about 4x per bit of width (measured 4e-14 relative at
        # 22 bits with runs from 64 on): shorter runs take the split as the width grows
        long_run = max(64, LONG_RUN >> max(w - 22, 0)) if exact_cost(w, signed, K) > EXACT_BUDGET else 1 << 62
    _rows(type(cfg).mul_magnitude, cfg.kernel_params(), np.uint64(cfg.product_max), v0, ln, wt, signed, nch,
          long_run, acc, ia)
    if progress is not None:
        progress(1, 1)
    live = [c for c in range(nch) if acc[c, _WCE] >= 0]

    def total(col):
        return math.fsum(list(acc[:, col]) + list(acc[:, _NCOL + col]))

    def pick(col, c, lower):
        best = live[0]
        for ch in live[1:]:
            if ((acc[ch, col] < acc[best, col]) if lower else (acc[ch, col] > acc[best, col])) or (
                    acc[ch, col] == acc[best, col] and _first(ia[ch, 2 * c:2 * c + 2], ia[best, 2 * c:2 * c + 2],
                                                              signed)):
                best = ch
        ops = [int(ia[best, 2 * c]), int(ia[best, 2 * c + 1])]
        return float(acc[best, col]), [-x for x in ops] if signed else ops

    mn, mn_ops = pick(_MIN, 0, True)
    mx, mx_ops = pick(_MAX, 1, False)
    wce, wce_ops = pick(_WCE, 2, False)
    npair = 1 << (2 * w)
    nrel = ((1 << w) - 1) ** 2
    if wce == 0.0:                                   # no error anywhere: the first pair of all
        lo = cfg.operand_range[0]
        wce_ops = [lo, lo]
    mae = total(_SAE) / npair
    max_exact = (1 << (2 * (w - 1))) if signed else ((1 << w) - 1) ** 2
    nerr = nrel - round(total(_NEXACT))      # pairs with a zero operand are exact
    return exact_result(
        cfg, op, pairs=npair, min_re=mn, max_re=mx, bias=total(_SRE) / nrel, mred=total(_SABSRE) / nrel,
        mae=mae, wce=wce, nmed=mae / max_exact, ep=nerr / npair, mse=total(_SSE) / npair,
        min_re_operands=mn_ops, max_re_operands=mx_ops, wce_operands=wce_ops)


def _first(p, q, signed):
    """Whether magnitude pair ``p`` comes before ``q`` in operand order."""
    p, q = (int(p[0]), int(p[1])), (int(q[0]), int(q[1]))
    return p > q if signed else p < q
