"""Compiled (numba) Mitchell datapath, bit-identical to :mod:`pymodel.reference`.

It is written the way the hardware computes, not as the paper's case split:
the log converter yields one fixed-point number ``L = k * 2**F + x``; the
multiplier adds two of them and the divider subtracts; a single antilog turns
``L`` back into ``2**floor(L / 2**F) * (1 + (L mod 2**F) / 2**F)``.  The carry
and borrow cases fall out of the two's-complement floor.  Being a different
formulation from the reference is what makes the cross-check worth having.

Everything magnitude-like is ``uint64`` and everything signed is ``int64``;
numba promotes mixed ``uint64``/``int64`` arithmetic to float, so every
constant below is typed explicitly.
"""

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import leading_zeros

U1 = np.uint64(1)
U0 = np.uint64(0)


@njit(inline="always")
def leading_one(v):
    """Log-depth leading-one detector for ``0 < v < 2**32`` (int64)."""
    k = 0
    if v >> 16:
        v >>= 16
        k += 16
    if v >> 8:
        v >>= 8
        k += 8
    if v >> 4:
        v >>= 4
        k += 4
    if v >> 2:
        v >>= 2
        k += 2
    if v >> 1:
        k += 1
    return k


@njit(inline="always")
def msb(v):
    """The leading one's position of ``0 <= v < 2**63`` (0 for 0 and 1) from one count-leading-zeros
    instruction: branch-free, so loops calling it vectorize."""
    return 63 - np.int64(leading_zeros(np.uint64(v | 1)))


@njit(inline="always")
def log_convert(v, frac_bits):
    """``v > 0`` to the fixed-point log ``k * 2**frac_bits + x`` (int64)."""
    k = leading_one(v)
    r = v - (1 << k)
    if frac_bits >= k:
        x = r << (frac_bits - k)
    else:
        x = r >> (k - frac_bits)
    return (k << frac_bits) + x


@njit(inline="always")
def antilog(L, frac_bits, scale):
    """``floor(2**(floor(L/2**F) + scale) * (1 + (L mod 2**F)/2**F))`` as uint64."""
    m = (1 << frac_bits) | (L & ((1 << frac_bits) - 1))   # & on int64 = mod 2^F
    e = (L >> frac_bits) + scale - frac_bits               # >> on int64 = floor
    if e >= 0:
        return np.uint64(m) << np.uint64(e)
    return np.uint64(m >> (-e))


@njit(inline="always")
def mul_magnitude(a, b, frac_bits):
    if a == 0 or b == 0:
        return U0
    return antilog(log_convert(a, frac_bits) + log_convert(b, frac_bits), frac_bits, 0)


@njit(inline="always")
def div_magnitude(a, b, frac_bits, qfrac):
    """Quotient magnitude for ``b > 0``."""
    if a == 0:
        return U0
    return antilog(log_convert(a, frac_bits) - log_convert(b, frac_bits), frac_bits, qfrac)


@njit(inline="always")
def sign_magnitude(x, y, signed):
    """(result negative, |x|, |y|): signed operands go through the unsigned core as magnitudes."""
    if signed:
        return (x < 0) != (y < 0), abs(x), abs(y)
    return False, x, y


@njit(parallel=True, cache=True)
def mul_kernel(a, b, out, frac_bits, signed):
    """``out[i]`` = two's-complement bit pattern (uint64) of the product of ``a[i]``, ``b[i]`` (int64)."""
    for i in prange(a.size):
        neg, x, y = sign_magnitude(a[i], b[i], signed)
        m = mul_magnitude(x, y, frac_bits)
        out[i] = (U0 - m) if neg else m


@njit(parallel=True, cache=True)
def div_kernel(a, b, out, dbz, frac_bits, qfrac, signed, sat):
    """Quotient bit patterns; ``b == 0`` sets ``dbz`` and writes the saturated value ``sat`` (magnitude)."""
    for i in prange(a.size):
        neg, x, y = sign_magnitude(a[i], b[i], signed)
        if y == 0:
            dbz[i] = True
            if signed and a[i] < 0:
                out[i] = U0 - sat - U1      # -2^(W+Q): the most negative quotient
            else:
                out[i] = sat
            continue
        m = div_magnitude(x, y, frac_bits, qfrac)
        out[i] = (U0 - m) if neg else m


@njit(inline="always")
def mul_magnitude_p(a, b, P):
    """:func:`mul_magnitude` with the design-kernel signature: ``P = (frac_bits, quotient_frac_bits)``."""
    return mul_magnitude(a, b, P[0])


@njit(inline="always")
def div_magnitude_p(a, b, P):
    """:func:`div_magnitude` with the design-kernel signature: ``P = (frac_bits, quotient_frac_bits)``."""
    return div_magnitude(a, b, P[0], P[1])
