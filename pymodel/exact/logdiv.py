"""Exact statistics of the log dividers (Mitchell's ``div``, INZeD): for a fixed divisor, pieces of dividends.

With ``a = 2**k1 + r1`` and ``b = 2**k2 + r2`` these dividers compute, at ``g`` guard fraction bits,
``M = floor(mant * 2**(k1 - k2 - borrow + Q - g))`` with ``mant = (2**g | (x1 - x2 mod 2**g)) - c`` (``c = 0``
for Mitchell, INZeD's constant otherwise).  Fix the divisor ``b`` (a row) and let ``a`` run over block ``k1``:

* where ``a``'s fraction is exact (``k1 <= f``) it is ``r1 * 2**(g-k1)``; the borrow ``x1 < x2`` holds below one
  threshold ``r1 < ceil(x2 / 2**(g-k1))``, and on each side ``mant`` is affine in ``r1``.  The output shift
  scales that slope to ``2**(Q - k2 - borrow)``: an integer whenever ``Q >= k2 + borrow`` (always for the
  default ``Q = width``), so the floor only shifts the intercept and ``M`` is affine in ``a``; otherwise ``M``
  is cut where the floor steps;
* where it is truncated (``k1 > f``) ``M`` is constant on runs of ``2**(k1-f)`` dividends.

The exact quotient ``a * 2**Q / b`` is linear in ``a`` too, so ``b*M - 2**Q*a`` is an affine integer on each
piece and :mod:`pymodel.exact.affine` sums it (the roles of the multiplier's operands swapped: the error is
that over ``b``, the relative error that over ``2**Q * a``).  Pairs with ``b = 0`` are left out, ``a = 0`` are
exact; ties go to the lexicographically smallest ``(a, b)`` (signed: ``(-|a|, -|b|)``), as in the sweep.
Cost O(2**width * width) at the defaults.
"""

import numpy as np
from numba import njit

from ..fast import leading_one

__all__ = ["logdiv_break", "logdiv_pieces", "fits_int64"]


@njit(inline="always")
def logdiv_break(b, a, f, g, qf, corr):
    """End (exclusive) of the piece of dividends from ``a`` on which ``M(., b)`` is affine."""
    k1 = leading_one(a)
    k2 = leading_one(b)
    blk_end = np.int64(2) << k1
    r1 = a - (np.int64(1) << k1)
    if k1 > f:
        L = np.int64(1) << (k1 - f)
        return min((np.int64(1) << k1) + (r1 // L + 1) * L, blk_end)
    fmask = (np.int64(1) << f) - 1
    x2 = b - (np.int64(1) << k2)
    x2f = (x2 << (f - k2)) if f >= k2 else (x2 >> (k2 - f))
    x2g = (x2f & fmask) << (g - f)
    step = np.int64(1) << (g - k1)
    rb = (x2g + step - 1) // step
    borrow = 1 if r1 < rb else 0
    side_end = (np.int64(1) << k1) + rb if borrow else blk_end
    h = qf - k2 - borrow
    if h >= 0:
        return min(side_end, blk_end)
    s = g - (k1 - k2 - borrow + qf)                 # right shift of the floor (> 0 here)
    mant = (np.int64(1) << (g + borrow)) + (r1 << (g - k1)) - x2g - corr
    nxt = ((mant >> s) + 1) << s                    # the next multiple of 2**s: M steps there
    r_next = r1 + (nxt - mant + step - 1) // step
    return min((np.int64(1) << k1) + r_next, side_end, blk_end)


def logdiv_pieces(width, signed, f, g, qf):
    """How many pieces :func:`logdiv_break` cuts the dividends into, summed over every divisor (the cost)."""
    nb = width - 1 if signed else width
    total = 0
    for k2 in range(nb):
        per_row = 0
        for k1 in range(nb):
            if k1 > f:
                per_row += 1 << f
            elif qf >= k2 + 1:
                per_row += 2
            else:                                   # steps of the floor: at most one per operand
                per_row += min(1 << k1, (1 << max(k1 + qf - k2 + 1, 0)) + 2)
        total += per_row << k2
    return total


def fits_int64(width, qf):
    """``b * M`` and ``2**Q * a`` stay below 2**62 (the piece sums are int64)."""
    return 2 * width + qf + 1 <= 62
