"""Exact error statistics of Mitchell's multiplier over all ``2**(2*width)`` operand pairs, block by block.

Mitchell's exact form (:meth:`pymodel.Mitchell.exact_form`): :func:`exact_metrics`.  :func:`exact_mul_metrics` returns every key of :func:`pymodel.metrics.error_metrics` for ``op="mul"``
(unsigned and signed, every ``frac_bits``, widths 2..32) without visiting the pairs one by one.

The structure (derived here, checked against the brute-force sweep by ``tests/test_exact_stats.py``)
---------------------------------------------------------------------------------------------------
Write an operand ``v >= 1`` as ``v = 2**k + r`` with ``0 <= r < 2**k`` (block ``k``).  With ``F = frac_bits``
the log converter keeps ``m = min(k, F)`` fraction bits of ``r``: the code is ``j = r >> (k - m)``, so block
``k`` splits into ``n = 2**m`` *runs* of ``L = 2**(k - m)`` operands sharing ``j``.  Let ``t = j*L`` (``r``
with its low ``k - m`` bits cleared) and ``d = r - t`` (the bits truncation drops), ``s = 2**k - r``.  The
fraction numerators are ``X = j * 2**(F - m)`` and the adder carries iff ``X1 + X2 >= 2**F``.  Then
(``reference.mul_unsigned``; the output shift never drops a set bit, so the floor never bites)::

    no carry: M = 2**(k1+k2) + 2**k2*t1 + 2**k1*t2,   a*b - M = r1*r2 + 2**k2*d1 + 2**k1*d2
    carry:    M = 2**(k2+1)*t1 + 2**(k1+1)*t2,        a*b - M = s1*s2 + 2**(k2+1)*d1 + 2**(k1+1)*d2

Both right-hand sides are >= 0, so ``M <= a*b``: the relative error is never positive, ``max_re = 0`` (powers
of two are exact), ``MRED = -bias``.  The error is 0 exactly when ``(r1 = 0 and d2 = 0)`` or ``(r2 = 0 and
d1 = 0)``: ``n1 + n2 - 1`` pairs of each block pair.

Take a block pair with ``k1 <= k2`` (so ``m1 <= m2``; the product is symmetric, the other order gets weight 2)
and an *outer* run ``j1`` of ``a``.  Put ``c = 2**(m2 - m1)``: the carry condition reads ``j2 >= J`` with
``J = n2 - c*j1``, one threshold, affine in ``j1``.  On each side ``M`` is affine in ``j2`` (and ``j1``):

* ``sum |err|``, ``sum err**2`` and the counts are polynomials summed over boxes and over ``j2 < J(j1)``:
  :func:`_psum` sums a polynomial of known degree from ``deg + 1`` samples by forward differences
  (Newton's form of Faulhaber), nested over ``d2, d1, j2, j1``.  Python integers: exact.
* ``sum M/(a*b)``: with ``B = 2**k2 + j2*L2`` the run base, no carry ``M = 2**k1*B + 2**k2*t1`` and carry
  ``M = 2**(k1+1)*B - 2**(k2+1)*(2**k1 - t1)``.  So for each side ``sum_b M/b`` needs only
  ``P0 = sum 1/b`` (a digamma difference, :func:`_hsum`) and ``Q = sum (b - B)/b`` (a prefix table per
  block, or ``L2`` digamma differences at fractional arguments), and the outer run contributes the factor
  ``sum_{a in run} 1/a``.  That is O(1) per outer run and block (:func:`_direct_sum`).  When a block has
  more than ``2**em_above`` (2**14) outer runs and that is cheaper, the per-run value ``phi(j1)`` is taken
  as the analytic function of ``j1`` it is (``J`` is affine, the digammas are analytic for positive
  arguments, the nearest singularity is one block length away) and the sum over ``j1`` is done by
  Euler-Maclaurin: the integral by Gauss-Legendre (32 nodes, convergence factor ``(3 + 2*sqrt(2))**-64``),
  the end corrections ``(phi(0) - phi(n))/2 + (phi'(n) - phi'(0))/12`` (central differences); the next
  term is ``O(n**-4)`` relative: measured 2.5e-15 at ``n = 2**12``, below 1e-18 from ``n = 2**15``.

Extremes (min relative error, worst-case error) come from a few candidates per side:

* within a run of ``a`` (fixed ``b``) and within a run of ``b`` (fixed ``a``) ``M`` is constant, so
  ``M/(a*b)`` strictly falls and ``a*b - M`` strictly rises toward the run's *last* code;
* across the runs of one side (fixed ``a``), at the run ends ``M/(a*b)`` is a ratio of two affine functions
  of ``j2`` and ``a*b - M`` is affine: monotone or constant, so the first or the last run of the side;
* across outer runs ``j1``, each of these four candidates is ``M(j1)/(A(j1)*B(j1))`` (affine over
  quadratic) or ``A*B - M`` (quadratic): the integer extremes lie at the ends of the ``j1`` range or next
  to a real root of the derivative's numerator (a quadratic, solved with exact integer square roots).

A non-constant such function takes any value at most twice, and a constant one ties at every ``j1`` (both
ends are candidates), so every tied optimum that the tie-break can pick is a candidate too.  The tie-break,
shared with the sweep in :mod:`pymodel.metrics` (which keeps the first pair it meets): the lexicographically
smallest pair ``(a, b)`` in operand value order.  Signed operands have magnitudes with multiplicities (each of
``1 .. 2**(w-1) - 1`` twice, ``2**(w-1)`` once, 0 once); the smallest signed pair then has the *largest*
magnitudes, both negative.

Accuracy: counts, ``sum |err|``, ``sum err**2`` and the extremes are exact integers or fractions (so ``mae``,
``mse``, ``wce``, ``ep``, ``min_re`` are correctly rounded).  ``sum M/(a*b)`` is a float sum whose every
partial is a sum of same-sign terms or a difference whose absolute error is ``O(eps * count)``; partials are
combined with Neumaier summation and ``math.fsum``.  Against exact ``fractions.Fraction`` sums over every
configuration of widths 2..6 the bias/MRED agree to 1.6e-15 relative at worst (the tests require 1e-13), and
with the sweep to 16 bits within the sweep's own float accumulation (about 1e-14).

Cost: a prefix table is built for an inner block only where it is cheaper than the digammas it saves, so the
memory is O(2**min(frac_bits, 22)) floats (at most 128 MB) and every configuration at 32 bits takes seconds.
"""

import math
from fractions import Fraction

import numpy as np
from numba import njit, prange

from ..metric_defs import exact_re as _exact_re, header as _header

__all__ = ["exact_metrics", "exact_mul_metrics", "n_block_pairs", "EM_ABOVE"]

EM_ABOVE = 14          # blocks with more than 2**EM_ABOVE outer runs may sum them by Euler-Maclaurin
TABLE_MAX = 1 << 22    # prefix tables for inner blocks with runs of L > 1 up to this many runs
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)


# -- harmonic sums (digamma differences) ------------------------------------------------------------------
@njit(cache=True)
def _xmlog1p(y):
    """``y - log1p(y)`` for ``y >= 0``, without cancellation for small ``y``."""
    if y < 0.25:
        p = y * y
        s = 0.5 * p
        p *= y
        n = 3
        sign = -1.0
        while n < 60 and p > 1e-19 * s:
            s += sign * p / n
            p *= y
            n += 1
            sign = -sign
        return s
    return y - math.log1p(y)


@njit(cache=True)
def _hsum(x0, x1):
    """``psi(x1) - psi(x0)``: for integral ``x1 - x0`` the sum of ``1/(x0 + i)``, ``0 <= i < x1 - x0``.

    Below 64 (integer arguments only) the terms are added one by one, smallest first; above, the
    asymptotic series of the digamma to ``x**-8`` (truncation below 1e-20), each term as a difference
    formed without cancellation (``log1p``)."""
    if x1 == x0:
        return 0.0
    if x1 < x0:       # the analytic continuation (Euler-Maclaurin evaluates just outside a block)
        return -_hsum(x1, x0)
    s = 0.0
    if x0 < 64.0:
        top = min(x1, 64.0)
        b = top - 1.0
        while b >= x0:
            s += 1.0 / b
            b -= 1.0
        x0 = top
        if x1 <= x0:
            return s
    d = x1 - x0
    i0 = 1.0 / x0
    i1 = 1.0 / x1
    a2, b2 = i0 * i0, i1 * i1
    a4, b4 = a2 * a2, b2 * b2
    r = math.log1p(d * i0) + 0.5 * d * i0 * i1 + (a2 - b2) / 12.0 - (a4 - b4) / 120.0 \
        + (a4 * a2 - b4 * b2) / 252.0 - (a4 * a4 - b4 * b4) / 240.0
    return s + r


@njit(cache=True)
def _qrun(B, L):
    """``sum_{d<L} d/(B+d)`` for one run (``B >= L``), accurate to a few ulps: term by term for short
    runs or small ``B``, else ``L - B*(psi(B+L) - psi(B))`` rearranged so nothing cancels."""
    if L <= 4.0 or B < 64.0:
        s = 0.0
        d = L - 1.0
        while d >= 1.0:
            s += d / (B + d)
            d -= 1.0
        return s
    y = L / B
    e = B + L
    ib, ie = 1.0 / B, 1.0 / e
    a2, b2 = ib * ib, ie * ie
    a4, b4 = a2 * a2, b2 * b2
    return B * _xmlog1p(y) - 0.5 * L * ie - B * (a2 - b2) / 12.0 + B * (a4 - b4) / 120.0 \
        - B * (a4 * a2 - b4 * b2) / 252.0 + B * (a4 * a4 - b4 * b4) / 240.0


@njit(cache=True)
def _qfly(p2, L, j0, j1):
    """``sum over runs j0 <= j < j1`` (real bounds allowed) of ``sum_{d<L} d/(p2 + j*L + d)``, as ``L - 1``
    digamma differences at fractional arguments (needs ``p2 / L >= 64``)."""
    s = 0.0
    for di in range(1, int(L)):
        d = float(di)
        x0 = (p2 + d) / L
        s += d * _hsum(x0 + j0, x0 + j1)
    return s / L


@njit(cache=True)
def _run_terms(k2, L, j0, j1, h, q):
    """Per run ``j0 <= j < j1`` of block ``k2``: ``h[j] = sum 1/b`` and ``q[j] = sum (b - B)/b`` over its
    ``L`` codes."""
    p2 = 2.0 ** k2
    for j in range(j0, j1):
        B = p2 + j * L
        h[j] = _hsum(B, B + L)
        q[j] = _qrun(B, L)


@njit(parallel=True, cache=True)
def _run_terms_par(k2, L, n2, h, q):
    for ch in prange(64):
        _run_terms(k2, L, (n2 * ch) // 64, (n2 * (ch + 1)) // 64, h, q)


@njit(cache=True)
def _prefix(v, out):
    """``out[j] = sum(v[:j])``, Neumaier-compensated running sum."""
    s = c = 0.0
    out[0] = 0.0
    for j in range(v.size):
        x = v[j]
        t = s + x
        c += (s - t) + x if abs(s) >= abs(x) else (x - t) + s
        s = t
        out[j + 1] = s + c


def _tables(k2, L, n2, P0, Q):
    """Prefix tables over the runs of block ``k2``: ``P0[j] = sum 1/b``, ``Q[j] = sum (b - B)/b`` over the
    first ``j`` runs."""
    h = np.empty(n2)
    q = np.empty(n2)
    if n2 < (1 << 16):
        _run_terms(k2, L, 0, n2, h, q)
    else:
        _run_terms_par(k2, L, n2, h, q)
    _prefix(h, P0)
    _prefix(q, Q)


@njit(cache=True)
def _phi(x, k1, La, k2, Lb, n2, c, P0, Q, use_tab):
    """``sum M/(a*b)`` over outer run ``x`` (all its ``a``) and the whole inner block ``k2``; analytic in
    real ``x`` when ``use_tab`` is False."""
    p1 = 2.0 ** k1
    p2 = 2.0 ** k2
    t1 = x * La
    A = p1 + t1
    Sa = 1.0 / A if La == 1.0 else _hsum(A, A + La)
    J = n2 - c * x
    if use_tab:
        jj = int(J)
        p_nc, q_nc = P0[jj], Q[jj]
        p_c, q_c = P0[int(n2)] - P0[jj], Q[int(n2)] - Q[jj]
    else:
        p_nc = _hsum(p2, p2 + J * Lb)
        p_c = _hsum(p2 + J * Lb, p2 + n2 * Lb)
        if Lb == 1.0:
            q_nc = 0.0
            q_c = 0.0
        else:
            q_nc = _qfly(p2, Lb, 0.0, J)
            q_c = _qfly(p2, Lb, J, n2)
    nc = p1 * (J * Lb - q_nc) + p2 * t1 * p_nc
    cc = 2.0 * p1 * ((n2 - J) * Lb - q_c) - 2.0 * p2 * (p1 - t1) * p_c
    return Sa * (nc + cc)


@njit(cache=True)
def _run_sum(a0, a1, k1, La, k2, Lb, n2, c, P0, Q, use_tab):
    """Neumaier-compensated ``sum_{a0 <= j1 < a1} phi(j1)``: ``(sum, compensation)``."""
    s = 0.0
    cp = 0.0
    for j in range(a0, a1):
        v = _phi(float(j), k1, La, k2, Lb, n2, c, P0, Q, use_tab)
        t = s + v
        cp += (s - t) + v if abs(s) >= abs(v) else (v - t) + s
        s = t
    return s, cp


@njit(parallel=True, cache=True)
def _run_sum_par(jlo, jhi, k1, La, k2, Lb, n2, c, P0, Q, use_tab):
    """:func:`_run_sum` in 64 chunks on the available cores; the chunk sums and compensations."""
    n = jhi - jlo
    nch = 64
    out = np.zeros(2 * nch)
    for ch in prange(nch):
        a0 = jlo + (n * ch) // nch
        a1 = jlo + (n * (ch + 1)) // nch
        s, cp = _run_sum(a0, a1, k1, La, k2, Lb, n2, c, P0, Q, use_tab)
        out[ch] = s
        out[nch + ch] = cp
    return out


def _direct_sum(jlo, jhi, *args):
    """``sum phi(j1)`` over outer runs ``jlo..jhi-1``; threads only when there is enough work for them."""
    if jhi - jlo < (1 << 17):
        return math.fsum(_run_sum(jlo, jhi, *args))
    return math.fsum(_run_sum_par(jlo, jhi, *args))


@njit(cache=True)
def _phi_many(xs, k1, La, k2, Lb, n2, c, P0, Q):
    out = np.empty(xs.size)
    for i in range(xs.size):
        out[i] = _phi(xs[i], k1, La, k2, Lb, n2, c, P0, Q, False)
    return out


def _em_sum(n1, k1, La, k2, Lb, n2, c):
    """``sum_{0 <= j < n1} phi(j)`` by Euler-Maclaurin (see the module docstring)."""
    dummy = np.zeros(1)
    h = max(1.0, n1 / 1024.0)
    mid = 0.5 * n1
    xs = np.concatenate([mid + mid * _GL_X, [0.0, float(n1), -h, h, n1 - h, n1 + h]])
    v = _phi_many(xs, k1, float(La), k2, float(Lb), float(n2), float(c), dummy, dummy)
    g = v[:_GL_X.size]
    f0, fn, fm0, fp0, fmn, fpn = v[_GL_X.size:]
    integral = math.fsum(mid * _GL_W * g)
    d0 = (fp0 - fm0) / (2 * h)
    dn = (fpn - fmn) / (2 * h)
    return math.fsum([integral, 0.5 * (f0 - fn), (dn - d0) / 12.0])


# -- exact polynomial sums ----------------------------------------------------------------------------------
def _psum(f, lo, hi, deg):
    """``sum_{lo <= x < hi} f(x)`` for ``f`` a polynomial of degree <= ``deg`` with values ``(s1, s2)``
    (pairs of Python ints): ``deg + 1`` samples, forward differences, binomials (Newton's form)."""
    n = hi - lo
    if n <= 0:
        return 0, 0
    if n <= deg + 1:
        t1 = t2 = 0
        for i in range(n):
            u, v = f(lo + i)
            t1 += u
            t2 += v
        return t1, t2
    v1, v2 = zip(*[f(lo + i) for i in range(deg + 1)])
    t1 = t2 = 0
    for i in range(deg + 1):
        cm = math.comb(n, i + 1)
        t1 += v1[0] * cm
        t2 += v2[0] * cm
        v1 = [v1[t + 1] - v1[t] for t in range(len(v1) - 1)]
        v2 = [v2[t + 1] - v2[t] for t in range(len(v2) - 1)]
    return t1, t2


def _err_sums(k1, La, jlo, jhi, k2, Lb, n2, c):
    """Exact ``(sum err, sum err**2)`` over outer runs ``jlo..jhi-1`` x block ``k2``, both sides.

    On a box of runs ``(j1, j2)`` the error is ``al + be*d1 + ga*d2 + d1*d2`` (no carry: ``al = La*Lb*j1*j2``,
    ``be = Lb*j2 + 2**k2``, ``ga = La*j1 + 2**k1``; carry: ``al = s1*s2`` at ``d = 0``, ``be = 2**(k2+1) - s2``,
    ``ga = 2**(k1+1) - s1``), summed over ``d1, d2`` with the power sums of ``0..L-1``; then over ``j2``
    (degree 2) and ``j1`` (degree <= 5) by :func:`_psum`."""
    P1, P2 = 1 << k1, 1 << k2
    a0, a1, a2 = La, La * (La - 1) // 2, (La - 1) * La * (2 * La - 1) // 6
    b0, b1, b2 = Lb, Lb * (Lb - 1) // 2, (Lb - 1) * Lb * (2 * Lb - 1) // 6
    m00, m10, m01, m11 = a0 * b0, a1 * b0, a0 * b1, a1 * b1
    m20, m02, m22, m21, m12 = a2 * b0, a0 * b2, a2 * b2, a2 * b1, a1 * b2

    def box(al, be, ga):
        s1 = al * m00 + be * m10 + ga * m01 + m11
        s2 = (al * al * m00 + be * be * m20 + ga * ga * m02 + m22
              + 2 * (al * be * m10 + al * ga * m01 + al * m11 + be * ga * m11 + be * m21 + ga * m12))
        return s1, s2

    def g(j1):
        J = n2 - c * j1
        x1 = La * j1
        u1, u2 = _psum(lambda j2: box(x1 * Lb * j2, Lb * j2 + P2, x1 + P1), 0, J, 2)
        s1 = P1 - x1
        v1, v2 = _psum(lambda j2: box(s1 * (P2 - Lb * j2), P2 + Lb * j2, P1 + x1), J, n2, 2)
        return u1 + v1, u2 + v2

    return _psum(g, jlo, jhi, 5)


# -- extremes ---------------------------------------------------------------------------------------------------
def _critical(a2, a1, a0, lo, hi):
    """Integers in ``[lo, hi)`` next to the real roots of ``a2 x^2 + a1 x + a0`` (exact integer arithmetic)."""
    roots = []
    if a2 == 0:
        if a1 != 0:
            roots.append((-a0) // a1)
    else:
        disc = a1 * a1 - 4 * a2 * a0
        if disc >= 0:
            s = math.isqrt(disc)
            for num in (-a1 - s, -a1 + s):
                roots.append(num // (2 * a2))
    out = set()
    for r in roots:
        for x in range(r - 2, r + 4):
            if lo <= x < hi:
                out.add(x)
    return out


class _Best:
    """Running extreme with the shared tie-break (smallest key)."""

    def __init__(self, signed):
        self.signed = signed
        self.re = None        # (M, P) minimising M/P, operands
        self.wce = None       # (E, operands)

    def key(self, a, b):
        return (-a, -b) if self.signed else (a, b)

    def offer(self, a, b, M):
        P = a * b
        for x, y in ((a, b), (b, a)):
            k = self.key(x, y)
            if self.re is None:
                self.re = (M, P, k)
            else:
                m0, p0, k0 = self.re
                lhs, rhs = M * p0, m0 * P
                if lhs < rhs or (lhs == rhs and k < k0):
                    self.re = (M, P, k)
            E = P - M
            if self.wce is None or E > self.wce[0] or (E == self.wce[0] and k < self.wce[1]):
                self.wce = (E, k)

    @staticmethod
    def operands(k):
        return [k[0], k[1]]     # the key is the signed pair itself


def _extremes(best, k1, La, jlo, jhi, k2, Lb, n2, c):
    """Offer the candidates of one block pair (see the module docstring) to ``best``."""
    P1, P2 = 1 << k1, 1 << k2
    qa0, qa1 = P1 + La - 1, La                      # a = last code of outer run j
    nc_hi = jhi if c == 0 else min(jhi, (n2 - 1) // c + 1)   # no-carry side nonempty: J >= 1
    c_lo = jhi if c == 0 else max(jlo, 1)                    # carry side nonempty: J <= n2 - 1
    funcs = [  # (range, b = u0 + u1 j, M = M0 + M1 j)
        ((jlo, nc_hi), (P2 + Lb - 1, 0), (P1 * P2, P2 * La)),
        ((jlo, nc_hi), (P2 + n2 * Lb - 1, -c * Lb), (P1 * P2 + P1 * Lb * (n2 - 1), P2 * La - P1 * Lb * c)),
        ((c_lo, jhi), (P2 + n2 * Lb + Lb - 1, -c * Lb), (2 * P1 * Lb * n2, 2 * P2 * La - 2 * P1 * Lb * c)),
        ((c_lo, jhi), (2 * P2 - 1, 0), (2 * P1 * (n2 - 1) * Lb, 2 * P2 * La)),
    ]
    for (lo, hi), (u0, u1), (M0, M1) in funcs:
        if lo >= hi:
            continue
        d2, d1, d0 = qa1 * u1, qa0 * u1 + qa1 * u0, qa0 * u0          # a*b = d2 j^2 + d1 j + d0
        js = {lo, hi - 1}
        js |= _critical(-M1 * d2, -2 * M0 * d2, M1 * d0 - M0 * d1, lo, hi)   # d/dj M/(ab) = 0
        js |= _critical(0, 2 * d2, d1 - M1, lo, hi)                           # d/dj (ab - M) = 0
        for j in js:
            best.offer(qa0 + qa1 * j, u0 + u1 * j, M0 + M1 * j)


# -- the enumerator -------------------------------------------------------------------------------------------
def exact_mul_metrics(cfg, *, em_above=EM_ABOVE, table_max=TABLE_MAX, progress=None):
    """Every key of ``error_metrics(cfg, "mul")``, exhaustive over all ``4**width`` pairs, exactly.

    ``em_above``: blocks with more than ``2**em_above`` outer runs may sum ``M/(a*b)`` by Euler-Maclaurin
    (when cheaper than the direct sum; a parameter so the tests can check it against the direct sum at
    small widths).  ``progress``: an optional callable, called with the number of block pairs done.
    Memory: O(2**min(frac_bits, 22)) for the prefix tables (under 150 MB at any width).
    """
    from ..config import Mitchell
    if not isinstance(cfg, Mitchell):
        raise TypeError(f"cfg must be a pymodel.Mitchell, got {type(cfg).__name__}")
    w, F, signed = cfg.width, cfg.frac_bits, cfg.signed
    nb = w - 1 if signed else w                       # full blocks k = 0 .. nb-1
    mult = 4 if signed else 1                         # sign combinations of a magnitude pair
    blocks = []
    for k in range(w):
        m = min(k, F)
        blocks.append((k, 1 << (k - m), 1 << m, m))   # (k, L, n, m)
    best = _Best(signed)
    d_parts = []            # weighted (count - sum M/(ab)) per block pair
    s1 = s2 = 0
    zero_err = 0            # nonzero pairs with no error
    empty = np.zeros(1)

    def pair(kb1, kb2, jlo, jhi, weight, c):
        nonlocal s1, s2
        k1, La, n1, _ = kb1
        k2, Lb, n2, _ = kb2
        a, b = _err_sums(k1, La, jlo, jhi, k2, Lb, n2, c)
        s1 += weight * a
        s2 += weight * b
        _extremes(best, k1, La, jlo, jhi, k2, Lb, n2, c)
        cnt = (jhi - jlo) * La * n2 * Lb
        n = jhi - jlo
        # Euler-Maclaurin costs ~40 phi at L2 digammas each; the direct sum n phi at 1 (table) or L2 digammas
        direct_cost = n if (Lb == 1 or k2 in tabs) else n * Lb
        if n > (1 << em_above) and 160 * Lb < direct_cost:
            sr = _em_sum(jhi - jlo, k1, La, k2, Lb, n2, c)
        else:
            P0, Q = tabs.get(k2, (empty, empty))
            sr = _direct_sum(jlo, jhi, k1, float(La), k2, float(Lb), float(n2), float(c), P0, Q, k2 in tabs)
        d_parts.append(weight * (float(cnt) - sr))

    for ib2 in range(nb):
        kb2 = blocks[ib2]
        k2, Lb, n2, _ = kb2
        tabs = {}
        # a prefix table costs n2 terms; without it a direct outer run costs Lb digammas (needs 2**F >= 64)
        if Lb > 1 and n2 <= table_max and n2 <= max(1 << 12, Lb << (em_above + 1)):
            P0 = np.empty(n2 + 1)
            Q = np.empty(n2 + 1)
            _tables(k2, float(Lb), n2, P0, Q)
            tabs[k2] = (P0, Q)
        for ib1 in range(ib2 + 1):
            kb1 = blocks[ib1]
            c = 1 << (kb2[3] - kb1[3])
            weight = mult * (1 if ib1 == ib2 else 2)
            pair(kb1, kb2, 0, kb1[2], weight, c)
            zero_err += weight * (kb1[2] + n2 - 1)
            if progress is not None:
                progress(1)
        if signed:   # the lone magnitude 2**(w-1) (r = 0: outer run 0, one code) against block k2
            top = (w - 1, 1, 1, 0)
            pair(top, kb2, 0, 1, 4, 0)
            zero_err += 4 * n2
    if signed:       # (2**(w-1), 2**(w-1)): exact
        P = 1 << (w - 1)
        best.offer(P, P, P * P)
        zero_err += 1
    nrel = ((1 << w) - 1) ** 2
    npair = 1 << (2 * w)
    max_exact = (1 << (2 * (w - 1))) if signed else ((1 << w) - 1) ** 2
    dsum = math.fsum(d_parts)
    M, Pm, kmin = best.re
    min_ops = best.operands(kmin)
    wce, kw = best.wce
    if signed and wce == 0:
        kw = best.key(P, P)
    max_ops = [-(1 << (w - 1)), -(1 << (w - 1))] if signed else [1, 1]
    mae = Fraction(s1, npair)
    out = _header(cfg, "mul")
    out.update({
        "pairs": npair,
        "exhaustive": True,
        "min_re": float(Fraction(M - Pm, Pm)),
        "max_re": 0.0,
        "bias": -dsum / nrel,
        "mred": dsum / nrel,
        "mae": float(mae),
        "wce": float(wce),
        "nmed": float(mae / max_exact),
        "ep": float(Fraction(nrel - zero_err, npair)),
        "mse": float(Fraction(s2, npair)),
        "error_unit": "product LSB",
        "min_re_operands": min_ops,
        "max_re_operands": max_ops,
        "wce_operands": best.operands(kw),
        "min_re_exact": _exact_re(cfg, "mul", *min_ops),
        "max_re_exact": _exact_re(cfg, "mul", *max_ops),
        "method": "exact",
    })
    return out


def n_block_pairs(cfg):
    """Block pairs :func:`exact_mul_metrics` visits (its progress total)."""
    nb = cfg.width - 1 if cfg.signed else cfg.width
    return nb * (nb + 1) // 2


def exact_metrics(cfg, op, progress=None):
    """Mitchell's exact form: every key of the sweep for ``op`` ("mul" here; "div" by the pieces of
    :mod:`pymodel.exact.logdiv`).  ``progress(done, total)`` is called as block pairs complete."""
    if op == "div":
        from .affine import affine_div_metrics
        return affine_div_metrics(cfg, _div_rows(), progress)
    total = n_block_pairs(cfg)
    return exact_mul_metrics(cfg, progress=None if progress is None else (lambda n: progress(n, total)))


def div_available(cfg):
    """Whether the divider's pieces (:mod:`pymodel.exact.logdiv`) fit the budget and 64-bit sums."""
    from .affine import PIECE_BUDGET
    from .logdiv import fits_int64, logdiv_pieces
    f, qf = cfg.frac_bits, cfg.quotient_frac_bits
    return fits_int64(cfg.width, qf) and logdiv_pieces(cfg.width, cfg.signed, f, f, qf) <= PIECE_BUDGET


_DIV_ROWS = []


def _div_rows():
    """The divider's compiled row loop, built on first use (it compiles for a few seconds)."""
    if not _DIV_ROWS:
        from .. import fast
        from .affine import div_row
        from .logdiv import logdiv_break

        @njit(inline="always")
        def brk(b, a, P):
            return logdiv_break(b, a, P[0], P[0], P[1], np.int64(0))

        mag = fast.div_magnitude_p

        @njit(parallel=True)
        def rows(P, maxmag, top_single, sat, qf, prefer_small_a, acc, idx):
            for r in prange(maxmag):
                div_row(mag, brk, P, r + 1, maxmag, top_single, sat, qf, prefer_small_a, acc[r], idx[r])

        _DIV_ROWS.append(rows)
    return _DIV_ROWS[0]
