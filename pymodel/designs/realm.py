"""REALM, segment-wise error reduction for log multipliers (after Saadat, Javaid, Ignjatovic,
Parameswaran, DATE 2020).

Mitchell's product plus a correction that depends on where the fractions lie: the unit
square of ``(x1, x2)`` is cut into ``M x M`` segments (``M = 2**segment_bits``), indexed by
the top ``segment_bits`` bits of each fraction (the bits right below the leading one,
taken before any truncation), and each segment has one factor ``s_ij`` from a LUT shared
by every power-of-two interval.  It is added to the fraction sum like MBM's constant::

    x1 + x2 <  1:   2^(k1+k2)   (1 + x1 + x2 + s_ij)
    x1 + x2 >= 1:   2^(k1+k2+1) (x1 + x2 + s_ij / 2)

i.e. ``2^(k1+k2) ((1.f << carry) + s_ij)`` with ``f`` the fraction sum mod 1.

Derivation of the LUT (the paper's formula was not read; this one is derived here)
----------------------------------------------------------------------------------
In units of ``2^(k1+k2)`` Mitchell gives ``P = 1 + x1 + x2`` (no carry) or
``P = 2 (x1 + x2)`` (carry) where the exact product is ``E = (1 + x1)(1 + x2)``; adding
``s`` in both cases gives ``P + s``.  The factor of segment ``(i, j)`` is the one that
makes the mean relative error over the segment zero::

    s_ij = - (double integral of (P - E) / E) / (double integral of 1 / E)  over the segment

(both integrands are smooth on each side of the carry line ``x1 + x2 = 1``, which cuts a
segment only corner to corner).  The integrals are computed in numpy with nested
Gauss-Legendre quadrature (32 x 32 nodes on each side of the line: exact to about 1e-15),
once per ``segment_bits``, and quantised to ``factor_bits`` bits by rounding to the
nearest ``2**-factor_bits``.  For ``M = 8``, ``factor_bits = 5`` this reproduces all 64
entries of the ECTable of the open MATLAB model ``fn_MitchellMul_REALM8x8_t.m`` (a check,
not a source: the design is "after" the paper).  Because Mitchell never overestimates
(``P <= E``), every factor is ``>= 0``.

Truncation (``frac_bits < width - 1``) floors the fraction and then, with ``set_one`` (the
default, as the MATLAB model does), sets its last kept bit to one: the truncated fraction
becomes the middle of the interval it stands for, which removes the bias that flooring
adds (at 16 bits, REALM8 with ``frac_bits=5`` has bias -2.1 % floored).  The MATLAB model
also adds 1 to some small products; that is not done here.  The result is floored and
saturates at ``2**(2*width) - 1``.

Figures (tests/test_fidelity_realm.py).  The abstract gives bias mostly within 0.05 %, mean
error 0.4-1.6 % and peak 2.08-7.4 % over its configurations.  REALM8 (default): 8-bit
exhaustive MRED 0.899 %, 16-bit 0.81 %, bias -0.05 %, peak 3.7 %; REALM16 with
``factor_bits=6``: MRED 0.42 %, peak 2.07 % (the best published pair; with 5-bit factors
0.52 %, 2.23 %); REALM8 with ``frac_bits=5``: MRED 1.64 %, peak 7.46 % (the worst pair).
"""

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import LogAdd, below_2_31, fraction_ulp
from ..reference import floor_pow2, fraction_add, log_convert
from .base import Design, Param, grid_lines, region_edge
from .mbm import correct, corrected_antilog

__all__ = ["REALM", "factors", "lut", "split_integral", "MAX_SEGMENT_BITS", "MAX_FACTOR_BITS"]

MAX_SEGMENT_BITS = 4
MAX_FACTOR_BITS = 12
_GL = np.polynomial.legendre.leggauss(32)


def split_integral(f_low, f_high, seg, split):
    """``double integral of f`` over ``seg = (a1, b1, a2, b2)``, where ``f = f_low`` for
    ``x2 < split(x1)`` and ``f_high`` above: nested Gauss-Legendre, the inner rule split at
    the line so that each piece integrates a smooth function."""
    t, w = _GL
    a1, b1, a2, b2 = seg
    x1 = a1 + (b1 - a1) * (t + 1) / 2
    w1 = w * (b1 - a1) / 2
    s = np.clip(split(x1), a2, b2)
    total = 0.0
    for lo, hi, f in ((np.full_like(s, a2), s, f_low), (s, np.full_like(s, b2), f_high)):
        x2 = lo[:, None] + (hi - lo)[:, None] * (t[None, :] + 1) / 2
        w2 = w[None, :] * (hi - lo)[:, None] / 2
        total += float((w1[:, None] * w2 * f(x1[:, None], x2)).sum())
    return total


def _exact(x1, x2):
    return (1 + x1) * (1 + x2)


@functools.lru_cache(maxsize=None)
def factors(segment_bits):
    """The unquantised factors ``s_ij`` (an ``M x M`` float array, read-only) of the docstring."""
    m = 1 << segment_bits
    out = np.empty((m, m))
    err_lo = lambda x1, x2: (1 + x1 + x2 - _exact(x1, x2)) / _exact(x1, x2)   # noqa: E731 (no carry)
    err_hi = lambda x1, x2: (2 * (x1 + x2) - _exact(x1, x2)) / _exact(x1, x2)   # noqa: E731 (carry)
    inv = lambda x1, x2: 1 / _exact(x1, x2)   # noqa: E731
    for i in range(m):
        for j in range(m):
            seg = (i / m, (i + 1) / m, j / m, (j + 1) / m)
            out[i, j] = -split_integral(err_lo, err_hi, seg, lambda x1: 1 - x1) / split_integral(
                inv, inv, seg, lambda x1: 1 - x1)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def lut(segment_bits, factor_bits):
    """The LUT: ``s_ij * 2**factor_bits`` rounded to the nearest int, as a tuple of rows."""
    s = factors(segment_bits)
    return tuple(tuple(int(np.floor(v * (1 << factor_bits) + 0.5)) for v in row) for row in s)


def _all_luts():
    """Every LUT in one read-only array ``[segment_bits, factor_bits, i, j]`` for the compiled kernel."""
    m = 1 << MAX_SEGMENT_BITS
    t = np.zeros((MAX_SEGMENT_BITS + 1, MAX_FACTOR_BITS + 1, m, m), np.int64)
    for sb in range(1, MAX_SEGMENT_BITS + 1):
        for q in range(1, MAX_FACTOR_BITS + 1):
            n = 1 << sb
            t[sb, q, :n, :n] = np.array(lut(sb, q), np.int64)
    t.setflags(write=False)
    return t


LUTS = _all_luts()


def segment_index(v, width, segment_bits):
    """Segment selector: the top ``segment_bits`` bits of the untruncated fraction of ``v > 0``
    (zero-padded when the fraction has fewer bits)."""
    _, x = log_convert(v, width, width - 1)
    return floor_pow2(x, segment_bits - (width - 1))


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (frac_bits, segment_bits, factor_bits, set_one, width)``: fixed-point logs, one add,
    the LUT factor at guard bits, one antilog (saturating instead of overflowing 64 bits)."""
    f, sb, q, w = P[0], P[1], P[2], P[4]
    g = max(f, q + 1)
    one = np.int64((P[3] != 0) & (f > 0) & (f < w - 1))    # set-one: the last kept fraction bit
    a1, b1 = max(a, 1), max(b, 1)
    la = (fast.log_convert(a1, f) | one) << (g - f)      # k * 2^g + x
    lb = (fast.log_convert(b1, f) | one) << (g - f)
    ia = fast.log_convert(a1, sb) & ((np.int64(1) << sb) - 1)   # top sb fraction bits
    ib = fast.log_convert(b1, sb) & ((np.int64(1) << sb) - 1)
    m = corrected_antilog(la, lb, g, LUTS[sb, q, ia, ib] << (g - q))
    return m if (a != 0 and b != 0) else np.uint64(0)


@dataclass(frozen=True, kw_only=True)
class REALM(Design):
    """REALM log multiplier: Mitchell plus a per-segment factor from an ``M x M`` LUT.

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    frac_bits : int
        Log-fraction bits kept in the fraction adder, 0..width-1 (default width-1).
    segment_bits : int
        ``log2(M)``, 1..4 (M = 2..16 segments per fraction; default 3: REALM8).
    factor_bits : int
        Fraction bits of the LUT factors, 1..12 (default 5, as the open REALM8 table).
    set_one : bool
        With truncation, set the last kept fraction bit to one (default True).
    """

    frac_bits: int = None
    segment_bits: int = None
    factor_bits: int = None
    set_one: bool = None

    NAME: ClassVar[str] = "realm"
    TITLE: ClassVar[str] = "REALM: segment-wise error-reduced log multiplier"
    REFERENCE: ClassVar[str] = ("H. Saadat, H. Javaid, A. Ignjatovic, S. Parameswaran, REALM: reduced-error "
                                "approximate log-based integer multiplier, DATE 2020")
    AFTER: ClassVar[bool] = True
    PARAMS: ClassVar[tuple] = (
        Param("frac_bits", int, 0, "width-1", "width-1", "log-fraction bits kept in the fraction adder", "f",
              " (width - 1 keeps every bit)"),
        Param("segment_bits", int, 1, MAX_SEGMENT_BITS, 3,
              "log2(M): M x M segments indexed by the top segment_bits fraction bits (3: REALM8)", "m"),
        Param("factor_bits", int, 1, MAX_FACTOR_BITS, 5, "fraction bits of the LUT factors (rounded)", "c"),
        Param("set_one", bool, False, True, True, "with truncation, set the last kept fraction bit to one", "o"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.realm:REALMMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.realm:REALMSpec"}

    mul_magnitude = mul_magnitude

    @property
    def segments(self):
        """``M``, segments per fraction."""
        return 1 << self.segment_bits

    @property
    def guard_bits(self):
        """Fraction bits of the corrected sum: ``s/2`` must be exact."""
        return max(self.frac_bits, self.factor_bits + 1)

    @property
    def table(self):
        """The LUT as ints in units of ``2**-factor_bits`` (rows: segment of ``a``)."""
        return lut(self.segment_bits, self.factor_bits)

    @property
    def sets_one(self):
        """Whether the log converters set their last kept bit (truncating, ``set_one``, ``frac_bits > 0``)."""
        return self.set_one and 0 < self.frac_bits < self.width - 1

    def truncate(self, k, x):
        """The set-one step after a log converter."""
        return k, (x | 1) if self.sets_one else x

    def exact_form(self, op):
        """:mod:`pymodel.exact.realm` (affine pieces) where they fit its budget; sampled otherwise."""
        from ..exact import realm
        return realm.exact_metrics if op == "mul" and realm.available(self) else None

    @below_2_31
    def gemm_form(self):
        return LogAdd(keep_bits=self.frac_bits, or_code=fraction_ulp(self.frac_bits) if self.sets_one else 0,
                      segment_bits=self.segment_bits, correction=self.table, correction_bits=self.factor_bits)

    def fraction_boundaries(self, op):
        """Mitchell's carry (on the fractions after the set-one step) and the LUT's segment edges,
        where the correction factor changes."""
        f, one = self.frac_bits, int(self.sets_one)
        carry = region_edge(f, lambda i, j: (i | one) + (j | one) >= 1 << f, "carry: x1 + x2 >= 1 (above)")
        m = self.segments
        return [carry, grid_lines([k / m for k in range(1, m)], f"LUT segment edges ({m} x {m} factors)")]

    def mul_unsigned(self, a, b):
        """The specification: log converters, segment selectors and LUT, fraction adder,
        correction adder, antilog."""
        if a == 0 or b == 0:
            return 0
        w, f, g, q = self.width, self.frac_bits, self.guard_bits, self.factor_bits
        k1, x1 = self.truncate(*log_convert(a, w, f))
        k2, x2 = self.truncate(*log_convert(b, w, f))
        s = self.table[segment_index(a, w, self.segment_bits)][segment_index(b, w, self.segment_bits)]
        carry, fs = fraction_add(x1 << (g - f), x2 << (g - f), g)
        mant = correct(fs, carry, s << (g - q), g)
        return floor_pow2(mant, k1 + k2 - g)
