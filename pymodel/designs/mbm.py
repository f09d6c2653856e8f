"""MBM, the minimally biased multiplier (Saadat, Bokhari, Parameswaran, IEEE TCAD 2018).

Mitchell's product plus a constant correction ``c`` in the fraction sum::

    x1 + x2 <  1:   2^(k1+k2)   (1 + x1 + x2 + c)
    x1 + x2 >= 1:   2^(k1+k2+1) (x1 + x2 + c/2)

Both cases are ``2^(k1+k2) ((1.f << carry) + c)`` with ``f`` the fraction sum mod 1, so
the hardware is Mitchell's datapath with one constant adder before the antilog.  ``c``
is the first ``c_bits`` bits of 1/12 (0.000101...): the default ``c_bits=6`` gives
0.078125, the quantised constant whose ideal-model figures are bias -0.095 % and MRED
2.58 %; larger ``c_bits`` approach 1/12 (aproposorg/approx ``MBM.scala``).  The fraction
sum is carried at ``G = max(frac_bits, c_bits + 1)`` bits so that ``c/2`` is exact.
The result is floored; it can exceed ``a*b`` (by up to +7.8 %) and saturates at
``2**(2*width) - 1`` rather than wrap.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import LogAdd, below_2_31
from ..reference import floor_pow2, fraction_add, log_convert
from .base import Design, Param, shift_floor

__all__ = ["MBM", "corrected_antilog"]


def correction(c_bits):
    """``c * 2**c_bits``: the first ``c_bits`` bits of 1/12."""
    return (1 << c_bits) // 12


def correct(s, carry, c, guard):
    """Correction adder: ``(1.s << carry) + c`` at ``guard`` fraction bits."""
    return (((1 << guard) | s) << carry) + c


@njit(inline="always")
def corrected_antilog(la, lb, g, c):
    """Fraction adder, correction adder ``(1.f << carry) + c`` and antilog of two fixed-point logs
    ``k * 2^g + x`` (``c`` at ``g`` fraction bits); saturates past 64 bits (shared with REALM)."""
    mask = (np.int64(1) << g) - 1
    xs = (la & mask) + (lb & mask)
    carry = xs >> g
    mant = (((np.int64(1) << g) | (xs & mask)) << carry) + c
    return shift_floor(mant, (la >> g) + (lb >> g) - g)


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (frac_bits, c_bits, width)``: log converters, fraction adder, correction, antilog."""
    f, cb = P[0], P[1]
    g = max(f, cb + 1)
    la = fast.log_convert(max(a, 1), f) << (g - f)      # k * 2^g + x
    lb = fast.log_convert(max(b, 1), f) << (g - f)
    m = corrected_antilog(la, lb, g, ((np.int64(1) << cb) // 12) << (g - cb))
    return m if (a != 0 and b != 0) else np.uint64(0)


@dataclass(frozen=True, kw_only=True)
class MBM(Design):
    """Minimally biased log multiplier: Mitchell plus a constant ``c`` (``c/2`` on carry).

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    frac_bits : int
        Log-fraction bits kept, 0..width-1 (default width-1).
    c_bits : int
        Bits of the correction ``c`` = the first ``c_bits`` bits of 1/12, 2..16 (default 6:
        ``c = 0.078125``).
    """

    frac_bits: int = None
    c_bits: int = None

    NAME: ClassVar[str] = "mbm"
    TITLE: ClassVar[str] = "Minimally biased logarithmic multiplier (MBM)"
    REFERENCE: ClassVar[str] = "H. Saadat, H. Bokhari, S. Parameswaran, IEEE TCAD 37(11), 2018"
    PARAMS: ClassVar[tuple] = (
        Param("frac_bits", int, 0, "width-1", "width-1", "log-fraction bits kept after the log converter", "f",
              " (width - 1 keeps every bit)"),
        Param("c_bits", int, 2, 16, 6, "bits of the correction c (the first c_bits bits of 1/12; 6: 0.078125)", "c"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.mbm:MBMMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.mbm:MBMSpec"}

    mul_magnitude = mul_magnitude

    @property
    def guard_bits(self):
        """Fraction bits of the corrected sum: ``c/2`` must be exact."""
        return max(self.frac_bits, self.c_bits + 1)

    @property
    def c(self):
        """The correction as a float."""
        return correction(self.c_bits) / (1 << self.c_bits)

    def exact_form(self, op):
        """:mod:`pymodel.exact.mbm` (affine pieces) where they fit its budget; sampled otherwise."""
        from ..exact import mbm
        return mbm.exact_metrics if op == "mul" and mbm.available(self) else None

    @below_2_31
    def gemm_form(self):
        return LogAdd(keep_bits=self.frac_bits, correction=((correction(self.c_bits),),), correction_bits=self.c_bits)

    def mul_unsigned(self, a, b):
        """The specification: log converters, fraction adder, correction adder, antilog."""
        if a == 0 or b == 0:
            return 0
        f, g = self.frac_bits, self.guard_bits
        k1, x1 = log_convert(a, self.width, f)
        k2, x2 = log_convert(b, self.width, f)
        carry, s = fraction_add(x1 << (g - f), x2 << (g - f), g)
        mant = correct(s, carry, correction(self.c_bits) << (g - self.c_bits), g)
        return floor_pow2(mant, k1 + k2 - g)
