"""Bias-corrected Mitchell divider (after INZeD: Saadat, Javaid, Parameswaran, DAC 2019).

Only the paper's abstract was read ("an approximate log based divider with a novel,
analytically deduced error-correction method ... near-zero error bias"); the correction
below is derived here, the MBM way, so the design is "after" INZeD.

Mitchell's quotient always overestimates (by up to +12.5 %, +4.10 % on average over
uniform fractions)::

    x1 >= x2:   2^(k1-k2)   (1 + x1 - x2)
    x1 <  x2:   2^(k1-k2-1) (2 + x1 - x2)        (borrow)

This divider subtracts one constant ``c`` from the normalised mantissa in both cases::

    x1 >= x2:   2^(k1-k2)   (1 + x1 - x2 - c)
    x1 <  x2:   2^(k1-k2-1) (2 + x1 - x2 - c)

i.e. ``c`` in units of ``2^(k1-k2)`` without a borrow and ``c/2`` with one, so the hardware
is Mitchell's divider with one constant subtractor before the antilog.

Derivation of ``c``
-------------------
In units of ``2^(k1-k2)`` the exact quotient is ``T = (1 + x1) / (1 + x2)``, Mitchell gives
``D = 1 + x1 - x2`` (no borrow) or ``(2 + x1 - x2) / 2`` (borrow) and the corrected value is
``D - w c`` with ``w = 1`` or ``1/2``.  The mean relative error over uniform fractions is zero
for::

    c = (double integral of (D - T) / T) / (double integral of w / T)   over the unit square

= 0.0568453 (computed in numpy by nested Gauss-Legendre quadrature split at the borrow line
``x1 = x2``).  The ``w = 1/2`` in the borrow case is the analytic choice too: the constants
that zero each case's mean separately are 0.0579 and 0.0278 (ratio 0.48) in units of
``2^(k1-k2)``, and one constant with ``w = 1/2`` loses almost nothing against them (MRED
2.683 % against 2.682 %), while ``w = 1`` would give 2.90 %.  ``c`` is rounded to ``c_bits``
fraction bits; the subtraction is carried at ``G = max(frac_bits, c_bits)`` bits and the
quotient is floored to ``quotient_frac_bits`` fraction bits, like Mitchell's.  Division by
zero (``dbz``, saturated quotient) and a zero dividend behave exactly as Mitchell's divider.

Figures (tests/test_fidelity_inzed.py), every 11-bit fraction pair: bias +0.014 % (Mitchell
+4.10 %), MRED 2.68 % (Mitchell 4.10 %), range -5.66..+8.29 % (Mitchell 0..+12.5 %).  The
abstract's bias range 0.01-4.4 % spans its configurations; truncating to 6..8 log-fraction
bits keeps the bias here within 0.02 %, so its upper end is not reached.
"""

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..reference import floor_pow2, fraction_sub, log_convert
from .base import Design, Param, shift_floor
from .realm import split_integral

__all__ = ["INZeD", "correction_constant", "correction"]


@functools.lru_cache(maxsize=None)
def correction_constant():
    """The unquantised ``c`` of the docstring (a float)."""
    t = lambda x1, x2: (1 + x1) / (1 + x2)   # noqa: E731
    no_borrow = lambda x1, x2: (1 + x1 - x2 - t(x1, x2)) / t(x1, x2)   # noqa: E731  (x2 <= x1)
    borrow = lambda x1, x2: ((2 + x1 - x2) / 2 - t(x1, x2)) / t(x1, x2)   # noqa: E731
    weight_nb = lambda x1, x2: 1 / t(x1, x2)   # noqa: E731
    weight_b = lambda x1, x2: 0.5 / t(x1, x2)   # noqa: E731
    square = (0.0, 1.0, 0.0, 1.0)
    diag = lambda x1: x1   # noqa: E731
    return split_integral(no_borrow, borrow, square, diag) / split_integral(weight_nb, weight_b, square, diag)


@functools.lru_cache(maxsize=None)
def correction(c_bits):
    """``c * 2**c_bits`` rounded to the nearest int."""
    return int(np.floor(correction_constant() * (1 << c_bits) + 0.5))


CORRECTIONS = np.array([correction(cb) if cb else 0 for cb in range(17)], np.int64)   # for the kernel
CORRECTIONS.setflags(write=False)


@njit(inline="always")
def div_magnitude(a, b, P):
    """``P = (frac_bits, quotient_frac_bits, c_bits, width)``: one fixed-point log difference,
    the constant subtracted from ``1.f``, one antilog (``b > 0``)."""
    f, qf, cb = P[0], P[1], P[2]
    cq = CORRECTIONS[cb]
    g = max(f, cb)
    mask = (np.int64(1) << g) - 1
    d = (fast.log_convert(max(a, 1), f) - fast.log_convert(b, f)) << (g - f)   # (k1-k2)*2^g + x1 - x2
    mant = ((np.int64(1) << g) | (d & mask)) - (cq << (g - cb))                 # & is mod 2^g: the borrow case
    e = (d >> g) + qf - g                                                       # >> floors: k1-k2-borrow
    m = shift_floor(mant, e)
    return m if a != 0 else np.uint64(0)


@dataclass(frozen=True, kw_only=True)
class INZeD(Design):
    """Mitchell divider minus an analytically derived constant ``c`` (``c/2`` after a borrow).

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core); signed quotients round toward zero.
    frac_bits : int
        Log-fraction bits kept after the log converter, 0..width-1 (default width-1).
    quotient_frac_bits : int
        Fraction bits of the quotient, 0..min(2*width, 64-width) (default width).
    c_bits : int
        Fraction bits of the correction ``c`` (rounded), 4..16 (default 9: ``c = 29/512``, the
        shortest with a bias below 0.02 %; 4..6 give 1/16, bias -0.41 %).
    """

    frac_bits: int = None
    quotient_frac_bits: int = None
    c_bits: int = None

    NAME: ClassVar[str] = "inzed"
    TITLE: ClassVar[str] = "Bias-corrected Mitchell divider (after INZeD)"
    REFERENCE: ClassVar[str] = ("H. Saadat, H. Javaid, S. Parameswaran, Approximate integer and floating-point "
                                "dividers with near-zero error bias, DAC 2019")
    AFTER: ClassVar[bool] = True
    OPS: ClassVar[tuple] = ("div",)
    PARAMS: ClassVar[tuple] = (
        Param("frac_bits", int, 0, "width-1", "width-1", "log-fraction bits kept after the log converter "
              "(truncation floors)", "f", " (width - 1 keeps every bit)"),
        Param("quotient_frac_bits", int, 0, "min(2*width, 64-width)", "width",
              "divider output fraction bits: q = floor(Q * 2^quotient_frac_bits)", "q",
              " (at most 2*width, and width + quotient_frac_bits <= 64)"),
        Param("c_bits", int, 4, 16, 9, "fraction bits of the correction c (0.05685 rounded; 9: 29/512)", "c"),
    )
    HARDWARE: ClassVar[dict] = {"div": "hdl.designs.inzed:INZeDDivider"}
    SPEC: ClassVar[dict] = {"div": "hdl.specs.inzed:INZeDSpec"}

    div_magnitude = div_magnitude

    @property
    def guard_bits(self):
        """Fraction bits of the corrected mantissa."""
        return max(self.frac_bits, self.c_bits)

    @property
    def c(self):
        """The quantised correction as a float."""
        return correction(self.c_bits) / (1 << self.c_bits)

    def exact_form(self, op):
        """:mod:`pymodel.exact.inzed` (pieces of dividends) where they fit its budget; swept or sampled otherwise."""
        from ..exact import inzed
        return inzed.exact_metrics if op == "div" and inzed.available(self) else None

    def div_unsigned(self, a, b):
        """The specification: log converters, fraction subtractor, constant subtractor, antilog."""
        if b == 0:
            raise ZeroDivisionError("inzed division by zero")
        if a == 0:
            return 0
        w, f, g = self.width, self.frac_bits, self.guard_bits
        k1, x1 = log_convert(a, w, f)
        k2, x2 = log_convert(b, w, f)
        borrow, d = fraction_sub(x1 << (g - f), x2 << (g - f), g)
        mant = (1 << g) + d - (correction(self.c_bits) << (g - self.c_bits))
        return floor_pow2(mant, k1 - k2 - borrow + self.quotient_frac_bits - g)
