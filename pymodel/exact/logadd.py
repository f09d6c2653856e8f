"""Pieces of the log-add multipliers with a correction constant (MBM, REALM): where ``fn(a, .)`` is affine.

For ``a = 2**k1 + r1`` and ``b = 2**k2 + r2`` these designs compute, at ``g`` guard fraction bits,
``M = floor(mant * 2**(k1 + k2 - g))`` with ``mant = ((2**g | s) << carry) + c`` (``s`` the fraction sum
mod 1, ``c`` a constant or a LUT entry chosen by the top ``sb`` bits of each untruncated fraction).  For a
fixed ``a`` and block ``k2`` of ``b``:

* where the output shift floors (``k1 + k2 < g``) ``M`` is taken pair by pair (``g * 2**(g-1)`` pairs);
* where ``b``'s fraction is exact (``k2 < f``, or ``k2 = f`` without set-one) it is
  ``r2 * 2**(g-k2)`` (plus the set-one bit, a constant), so ``mant`` is affine in ``r2`` on each side of
  the carry threshold ``r2 >= ceil((2**g - x1 - one) / 2**(g-k2))`` and within one segment;
* where it is truncated (``k2 > f``; set-one at ``k2 = f`` merges pairs of codes) ``M`` is constant on a
  run of ``2**(k2-f)`` operands (2 for set-one at ``k2 = f``) within one segment.

:func:`logadd_break` returns the end of that piece; :mod:`pymodel.exact.affine` does the sums.
"""

import numpy as np
from numba import njit

from ..fast import leading_one

__all__ = ["logadd_break", "logadd_pieces"]


@njit(inline="always")
def logadd_break(a, b, f, g, sb, one):
    """End (exclusive) of the piece of ``b`` starting at ``b`` on which ``M(a, .)`` is affine."""
    k1 = leading_one(a)
    k2 = leading_one(b)
    blk_end = np.int64(2) << k2
    if k1 + k2 < g:
        return b + 1
    r2 = b - (np.int64(1) << k2)
    seg_end = blk_end
    if sb > 0:
        if k2 >= sb:
            seg = np.int64(1) << (k2 - sb)
            seg_end = (np.int64(1) << k2) + (r2 // seg + 1) * seg
        else:
            seg_end = b + 1
    if k2 > f or (k2 == f and one != 0):
        L = (np.int64(1) << (k2 - f)) if k2 > f else np.int64(2)
        run_end = (np.int64(1) << k2) + (r2 // L + 1) * L
        return min(run_end, seg_end, blk_end)
    fmask = (np.int64(1) << f) - 1
    x1 = a - (np.int64(1) << k1)
    x1f = (x1 << (f - k1)) if f >= k1 else (x1 >> (k1 - f))
    x1g = ((x1f & fmask) | one) << (g - f)
    need = (np.int64(1) << g) - x1g - (one << (g - f))
    step = np.int64(1) << (g - k2)
    rc = (need + step - 1) // step if need > 0 else 0
    carry_end = (np.int64(1) << k2) + rc if r2 < rc else blk_end
    return min(carry_end, seg_end, blk_end)


def logadd_pieces(width, signed, f, g, sb, one):
    """How many pieces :func:`logadd_break` cuts the ``b`` range into, summed over every ``a`` (the cost)."""
    nb = width - 1 if signed else width
    total = 0
    for k1 in range(nb):
        per_row = 0
        for k2 in range(nb):
            if k1 + k2 < g:
                per_row += 1 << k2
                continue
            segs = (1 << min(sb, k2)) if sb else 1
            if k2 > f or (k2 == f and one):
                runs = 1 << (k2 - max(k2 - f, 1 if k2 == f else k2 - f))
                per_row += max(runs, segs)
            else:
                per_row += segs + 1
        total += per_row << k1
    return total // 2                               # rows visit b >= a: about half
