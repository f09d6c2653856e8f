"""Exact statistics of a multiplier whose product is ``a*b - R(a)*R(b)``: one pass over the operands.

Used by the exact forms of ILM (:mod:`pymodel.exact.ilm`) and nearest-one (:mod:`pymodel.exact.nearestone`),
whose modules derive their residue ``R``.  Here only the factorisation is used.

The structure
-------------
With ``err = M - a*b = -R(a) R(b)`` and, for ``a, b != 0``, ``re = err / (a*b) = -f(a) f(b)`` where
``f(v) = R(v)/v``, every metric is a function of per-operand quantities (sums are over the magnitudes
``v`` with their multiplicities ``w(v)``: unsigned each of ``0 .. 2**width - 1`` once; signed ``0`` and
``2**(width-1)`` once, each of ``1 .. 2**(width-1) - 1`` twice, for ``+v`` and ``-v``; the sign of a
signed product multiplies error and exact value alike, so magnitudes give ``re`` and ``|err|``)::

    sum re    = -(sum_v w f)**2            sum |re|   = (sum_v w |f|)**2          (v != 0)
    sum |err| = (sum_v w |R|)**2           sum err**2 = (sum_v w R**2)**2
    #(err != 0) = (#{v : R(v) != 0} with multiplicity)**2

(``R(0) = 0``, so pairs with a zero operand add nothing to the error sums, as they should.)  The
extremes are products of per-operand extremes: with ``fmin <= f <= fmax`` over ``v != 0``,
``max f(a) f(b) = max(fmax**2, fmin**2)`` (both factors at the same end) and ``min f(a) f(b)`` is
``fmin * fmax`` when the signs differ (one factor at each end), else the square of the end nearer 0
(when that end is 0: every pair with one factor 0).  ``max |err| = (max |R|)**2``.  A product of two
numbers within those ranges reaches an extreme only with both factors at the named ends, so the pairs that
tie are exactly the products of the sets of operands at those ends, and the tie-break of the sweep (the
first pair in operand-value order, :mod:`pymodel.metric_defs`) picks from them: the first operand of the
sets, then the first of the set that pairs with it.  In signed operand order the first operand with a
given magnitude ``m >= 1`` is ``-m``, so the first of a set is minus its largest magnitude.

Exactness: the pass (numba, ``prange`` over 256 chunks) compares ``f`` values exactly (cross products of
integers below ``2**63``), keeps ``sum |R|`` in uint64 and ``sum R**2`` in two uint64 words per chunk,
combined as Python integers, so ``mae``, ``mse``, ``wce``, ``ep``, ``min_re``, ``max_re`` and the
operands are exact (rounded once).  ``sum f`` and ``sum |f|`` are float sums, Neumaier-compensated per
chunk and combined with ``math.fsum``.  Saturation at ``product_max`` is the caller's to rule out (both
designs stay below it; their model files say why).
"""

import math
from fractions import Fraction

import numpy as np
from numba import njit, prange

from ..metric_defs import exact_result

__all__ = ["separable_metrics"]

NCH = 256
SUB = 1024           # magnitudes per vectorised sub-block
# int64 columns per chunk
_FMAX_N, _FMAX_D, _FMIN_N, _FMIN_D, _RMAX, _RMAX_V, _ZERO_V, _NZ = range(8)
# uint64 columns per chunk
_SABS, _S2HI, _S2LO = range(3)
_BIG = np.int64(1) << 62


@njit(fastmath={"reassoc", "nsz"})
def _sub_sums(residue, params, v0, v1):
    """Plain reductions over magnitudes ``v0 .. v1-1`` (vectorised): ``sum f``, ``sum |f|``, ``sum |R|``,
    ``sum R**2`` in two 32-bit halves, the count of ``R != 0``, float ``max f``, ``min f``, ``max |R|``,
    the first and last ``v`` with ``R = 0``."""
    s = sa = 0.0
    sabs = sq_lo = sq_hi = np.uint64(0)
    nz = 0
    fmx = -np.inf
    fmn = np.inf
    rmx = 0
    z_first = _BIG
    z_last = 0
    for v in range(v0, v1):
        r = residue(np.int64(v), params)
        f = r / v
        s += f
        sa += abs(f)
        ar = abs(r)
        sabs += np.uint64(ar)
        sq = np.uint64(ar) * np.uint64(ar)
        sq_lo += sq & np.uint64(0xFFFFFFFF)
        sq_hi += sq >> np.uint64(32)
        nz += r != 0
        fmx = max(fmx, f)
        fmn = min(fmn, f)
        rmx = max(rmx, ar)
        z_first = min(z_first, v if r == 0 else _BIG)
        z_last = max(z_last, v if r == 0 else 0)
    return s, sa, sabs, sq_lo, sq_hi, nz, fmx, fmn, rmx, z_first, z_last


@njit(parallel=True)
def _pass(residue, params, vend, prefer_last, fl, it, ut):
    """Per chunk of the magnitudes ``1 .. vend-1``: the sums and the extremes of the module docstring.

    Sums are plain within a sub-block of ``SUB`` magnitudes (vectorised) and Neumaier-compensated across
    sub-blocks.  A sub-block whose float extreme reaches the chunk's is rescanned with exact integer
    comparisons of ``r/v`` (float division is monotone, so a strictly larger float is a strictly larger
    value): ties go to the larger magnitude when ``prefer_last``, else to the smaller.
    """
    nch = fl.shape[0]
    n = vend - 1
    for ch in prange(nch):
        c0 = 1 + (n * ch) // nch
        c1 = 1 + (n * (ch + 1)) // nch
        s = c = sa = ca = 0.0
        sabs = np.uint64(0)
        hi = np.uint64(0)
        lo = np.uint64(0)
        nz = 0
        fmax_n = fmin_n = np.int64(0)
        fmax_d = fmin_d = np.int64(0)          # 0: none yet
        fmxf = -np.inf
        fmnf = np.inf
        rmax = np.int64(-1)
        rmax_v = np.int64(0)
        zero_v = np.int64(0)
        for b0 in range(c0, c1, SUB):
            b1 = min(b0 + SUB, c1)
            x, xa, sab, qlo, qhi, nzb, bmx, bmn, brm, zf, zl = _sub_sums(residue, params, b0, b1)
            t = s + x
            c += (s - t) + x if abs(s) >= abs(x) else (x - t) + s
            s = t
            t = sa + xa
            ca += (sa - t) + xa if sa >= xa else (xa - t) + sa
            sa = t
            sabs += sab
            nz += nzb
            for part, sh in ((qlo, 0), (qhi, 32)):   # add part * 2**sh to the 128-bit (hi, lo)
                add = part << np.uint64(sh)
                lo += add
                if lo < add:
                    hi += np.uint64(1)
                if sh:
                    hi += part >> np.uint64(32)
            if zl != 0:
                if prefer_last:
                    zero_v = zl
                elif zero_v == 0:
                    zero_v = zf
            if bmx >= fmxf or bmn <= fmnf or brm >= rmax:
                for v in range(b0, b1):
                    r = residue(np.int64(v), params)
                    if fmax_d == 0 or r * fmax_d > fmax_n * v or (prefer_last and r * fmax_d == fmax_n * v):
                        fmax_n, fmax_d = r, np.int64(v)
                    if fmin_d == 0 or r * fmin_d < fmin_n * v or (prefer_last and r * fmin_d == fmin_n * v):
                        fmin_n, fmin_d = r, np.int64(v)
                    ar = abs(r)
                    if ar > rmax or (prefer_last and ar == rmax):
                        rmax, rmax_v = ar, np.int64(v)
                fmxf = max(fmxf, bmx)
                fmnf = min(fmnf, bmn)
        fl[ch, 0] = s
        fl[ch, 1] = c
        fl[ch, 2] = sa
        fl[ch, 3] = ca
        it[ch, _FMAX_N] = fmax_n
        it[ch, _FMAX_D] = fmax_d
        it[ch, _FMIN_N] = fmin_n
        it[ch, _FMIN_D] = fmin_d
        it[ch, _RMAX] = rmax
        it[ch, _RMAX_V] = rmax_v
        it[ch, _ZERO_V] = zero_v
        it[ch, _NZ] = nz
        ut[ch, _SABS] = sabs
        ut[ch, _S2HI] = hi
        ut[ch, _S2LO] = lo


class _Summary:
    """Per-operand sums over magnitudes ``1 .. vend-1`` (each once) and extreme candidates.

    ``fparts``, ``aparts``: float parts of ``sum f``, ``sum |f|``; ``sabs``, ``s2``, ``nz``: exact
    ``sum |R|``, ``sum R**2``, ``#(R != 0)``; ``fmax``, ``fmin``, ``rmax``, ``zeros``: candidate records
    ``(value, v)`` (``f`` as a Fraction) and magnitudes with ``R = 0``, among which the extremes lie.
    """

    def __init__(self):
        self.fparts, self.aparts, self.sabs, self.s2, self.nz = [], [], 0, 0, 0
        self.fmax, self.fmin, self.rmax, self.zeros = [], [], [], []


def _direct_summary(residue, params, vend, prefer_last):
    """:class:`_Summary` from the vectorised pass over every magnitude (:func:`_pass`)."""
    fl = np.zeros((NCH, 4))
    it = np.zeros((NCH, 8), np.int64)
    ut = np.zeros((NCH, 3), np.uint64)
    _pass(residue, params, np.int64(vend), prefer_last, fl, it, ut)
    out = _Summary()
    live = [c for c in range(NCH) if it[c, _FMAX_D]]
    out.fmax = [(Fraction(int(it[c, _FMAX_N]), int(it[c, _FMAX_D])), int(it[c, _FMAX_D])) for c in live]
    out.fmin = [(Fraction(int(it[c, _FMIN_N]), int(it[c, _FMIN_D])), int(it[c, _FMIN_D])) for c in live]
    out.rmax = [(int(it[c, _RMAX]), int(it[c, _RMAX_V])) for c in live]
    out.zeros = [int(it[c, _ZERO_V]) for c in live if it[c, _ZERO_V]]
    out.nz = int(it[:, _NZ].sum())
    out.sabs = sum(int(x) for x in ut[:, _SABS])
    out.s2 = sum((int(h) << 64) + int(lo) for h, lo in zip(ut[:, _S2HI], ut[:, _S2LO]))
    out.fparts = list(fl[:, :2].ravel())
    out.aparts = list(fl[:, 2:].ravel())
    return out


def _group_summary(groups, zeros):
    """:class:`_Summary` from affine groups, without visiting the magnitudes.

    ``groups``: ``(v0, L, C)`` with ``R(v) = v - C`` on ``v0 <= v < v0 + L``, ``C >= 1`` and ``C <= v0`` or
    ``C >= v0 + L - 1`` (one sign per group).  There ``f = 1 - C/v`` rises strictly with ``v`` and ``|R|``
    is monotone, so the ends are the only candidates; ``sum f = L - C (psi(v0 + L) - psi(v0))`` (for
    ``C = v0`` the cancellation-free :func:`pymodel.exact.mitchell._qrun`), ``sum R`` and ``sum R**2`` are
    power sums.  ``zeros``: ``(count, first, last)`` of the magnitudes outside every group, all with
    ``R = 0`` (``count`` 0: none).
    """
    from .mitchell import _hsum, _qrun
    out = _Summary()
    for v0, L, C in groups:
        d = v0 - C                                  # R at v0
        v1 = v0 + L - 1
        if C == v0:
            sf = _qrun(float(v0), float(L))
        else:
            sf = L - C * _hsum(float(v0), float(v0 + L))
        out.fparts.append(sf)
        out.aparts.append(abs(sf))
        out.sabs += abs(L * d + L * (L - 1) // 2)
        out.s2 += L * d * d + d * L * (L - 1) + (L - 1) * L * (2 * L - 1) // 6
        out.nz += L - (1 if v0 <= C <= v1 else 0)
        out.fmin.append((Fraction(d, v0), v0))
        out.fmax.append((Fraction(v1 - C, v1), v1))
        out.rmax.append((abs(d), v0) if abs(d) >= abs(v1 - C) else (abs(v1 - C), v1))
        if v0 <= C <= v1:
            out.zeros.append(C)
    count, first, last = zeros
    if count:
        out.zeros += [first, last]
        for v in (first, last):
            out.fmin.append((Fraction(0), v))
            out.fmax.append((Fraction(0), v))
            out.rmax.append((0, v))
    for v in list(out.zeros):                       # a zero inside a group is also a candidate |R| = 0
        out.rmax.append((0, v))
    return out


def separable_metrics(cfg, op, residue, params, groups=None, progress=None):
    """Every key of the sweep for ``cfg``'s multiplier, whose product is ``a*b - R(a) R(b)`` with
    ``R = residue(v, params)`` (a numba ``inline="always"`` function of an int64 magnitude ``v >= 1``,
    ``|R(v)| < 2**31`` and ``|R(v)| < v``).

    ``groups``: optional ``groups(bits) -> (groups, zeros)`` describing the magnitudes ``1 .. 2**bits - 1``
    as :func:`_group_summary` takes them, or None when the groups would be too many; then every magnitude
    is visited (vectorised, ``O(2**width)``).
    """
    if op != "mul":
        raise ValueError(f"the separable exact form is for 'mul', got {op!r}")
    w, signed = cfg.width, cfg.signed
    top = (1 << (w - 1)) if signed else (1 << w) - 1          # the largest magnitude
    params = tuple(np.int64(p) for p in params)
    # signed: magnitudes below top twice (the sums doubled), top once (added here)
    bits = w - 1 if signed else w
    g = groups(bits) if groups is not None else None
    summ = _group_summary(*g) if g is not None else _direct_summary(residue, params, 1 << bits, signed)
    if progress is not None:
        progress(1, 1)
    wt = 2 if signed else 1
    fmaxes, fmins, rmaxes, zeros = summ.fmax, summ.fmin, summ.rmax, summ.zeros
    nz, sabs, s2 = wt * summ.nz, wt * summ.sabs, wt * summ.s2
    fparts = [wt * x for x in summ.fparts]
    aparts = [wt * x for x in summ.aparts]
    if signed:
        rt = int(residue(np.int64(top), params))
        ft = Fraction(rt, top)
        fmaxes.append((ft, top))
        fmins.append((ft, top))
        rmaxes.append((abs(rt), top))
        if rt == 0:
            zeros.append(top)
        nz += rt != 0
        sabs += abs(rt)
        s2 += rt * rt
        fparts.append(rt / top)
        aparts.append(abs(rt) / top)

    def first(*vs):
        """The magnitude whose operand comes first (signed: ``-v``, so the largest)."""
        return max(vs) if signed else min(vs)

    def pick(records, larger):
        """The extreme record; ties to the magnitude whose operand comes first."""
        best = records[0]
        for r in records[1:]:
            if (r[0] > best[0] if larger else r[0] < best[0]) or (r[0] == best[0] and first(r[1], best[1]) == r[1]):
                best = r
        return best

    fmax, vmax = pick(fmaxes, True)
    fmin, vmin = pick(fmins, False)
    rmax, vr = pick(rmaxes, True)
    vzero = first(*zeros) if zeros else None
    vfirst = top if signed else 1                                 # first nonzero operand

    def op_(v):
        return -v if signed else v

    # min re = -max f(a) f(b)
    if fmax * fmax > fmin * fmin:
        min_re, mn = -fmax * fmax, (vmax, vmax)
    elif fmax * fmax < fmin * fmin:
        min_re, mn = -fmin * fmin, (vmin, vmin)
    else:
        v = first(vmax, vmin)
        min_re, mn = -fmax * fmax, (v, v)
    # max re = -min f(a) f(b)
    if fmin < 0 < fmax:
        v = first(vmin, vmax)
        max_re, mx = -fmin * fmax, (v, vmax if v == vmin else vmin)
    else:
        near, vnear = (fmin, vmin) if fmin >= 0 else (fmax, vmax)
        if near != 0:
            max_re, mx = -near * near, (vnear, vnear)
        else:                                     # every pair with one factor 0
            max_re, mx = Fraction(0), (vfirst, vfirst if vfirst == vzero else vzero)
    npair = 1 << (2 * w)
    nrel = ((1 << w) - 1) ** 2
    if rmax > 0:
        wce, wops = rmax * rmax, (op_(vr), op_(vr))
    else:                                          # no error anywhere: the first pair of all
        lo = cfg.operand_range[0]
        wce, wops = 0, (lo, lo)
    sf = math.fsum(fparts)
    saf = math.fsum(aparts)
    mae = Fraction(sabs * sabs, npair)
    max_exact = (1 << (2 * (w - 1))) if signed else ((1 << w) - 1) ** 2
    return exact_result(
        cfg, op, pairs=npair, min_re=min_re, max_re=max_re, bias=-(sf * sf) / nrel, mred=saf * saf / nrel,
        mae=mae, wce=wce, nmed=mae / max_exact, ep=Fraction(nz * nz, npair), mse=Fraction(s2 * s2, npair),
        min_re_operands=[op_(x) for x in mn], max_re_operands=[op_(x) for x in mx], wce_operands=wops)
