"""ALM-SOA, the approximate log multiplier with a set-one adder (Liu, Xu, Wang, Wang, Montuschi,
Lombardi, IEEE Trans. Circuits and Systems I, 2018).

Mitchell's multiplier (full-precision fractions, ``width - 1`` bits) whose fraction adder is
approximate in its low ``m`` bits: the sum's low ``m`` bits are set to 1 and the carry into
bit ``m`` is the AND of bit ``m - 1`` of both fractions; the upper part is an exact adder
over the fractions and the characteristics together (its carry ripples into ``k``).  The
antilog is a shifter that floors; a zero operand gives 0::

    cin = x1[m-1] & x2[m-1]
    L   = ((L1 >> m) + (L2 >> m) + cin) << m  |  (2**m - 1)      (L = k * 2**(width-1) + x)
    p   = floor(2**floor(L / 2**(width-1)) * (1 + (L mod 2**(width-1)) / 2**(width-1)))

The paper's text was not read; the definition is read from two third-party implementations
that agree: iCAS-Lab/APTPU (``SOA.v``: ``sum[i] = 1`` below ``M``, ``Cin = OP1[M-1] & OP2[M-1]``)
and RatkoFri/MulApprox (``ALM_SOA.c``, whose README cites the paper).  The design is "after"
the paper.  ``m = 0`` is Mitchell's multiplier (the fidelity tests check this).

No per-``m`` figures of the paper were found, so none is reproduced.  The default
``m = max(width - 5, 0)`` is where the MRED measured here is lowest (8 bits: m = 3, 3.09 %
exhaustively; 16 bits: m = 11, about 3.37 %), and m = 11 at 16 bits is the set-one width of
MulApprox's ``ALM_SOA_W11.v``.  The product can exceed ``a*b`` but stays below ``2**(2*width)``.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import LogAdd, below_2_31, fraction_ulp
from ..reference import antilog, log_convert
from .base import Design, Param, region_edge
from .mitchw import antilog_floor

__all__ = ["ALMSOA", "set_one_add"]


def set_one_add(x1, x2, frac_bits, m):
    """Set-one fraction adder: ``(carry, sum mod 1)``; the low ``m`` sum bits are 1 and the carry
    into bit ``m`` is ``x1[m-1] & x2[m-1]``."""
    cin = (x1 >> (m - 1)) & (x2 >> (m - 1)) & 1 if m else 0
    s = (((x1 >> m) + (x2 >> m) + cin) << m) | ((1 << m) - 1)
    return s >> frac_bits, s & ((1 << frac_bits) - 1)


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (m, width)``: the set-one adder on the fixed-point logs ``k * 2**F + x``, a floor antilog."""
    m, F = P[0], P[1] - 1
    la = fast.log_convert(max(a, 1), F)
    lb = fast.log_convert(max(b, 1), F)
    cin = (((la & lb) << 1) >> m) & 1          # bit m-1 of both; 0 when m == 0
    L = (((la >> m) + (lb >> m) + cin) << m) | ((np.int64(1) << m) - 1)
    return antilog_floor(L, F, a != 0 and b != 0)


@dataclass(frozen=True, kw_only=True)
class ALMSOA(Design):
    """Approximate log multiplier with a set-one adder in the low ``m`` bits of the fraction sum.

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    m : int
        Low bits of the ``width - 1``-bit fraction sum that are set to 1, 0..width-1 (default
        ``max(width - 5, 0)``; 0 is Mitchell's multiplier).
    """

    m: int = None

    NAME: ClassVar[str] = "alm-soa"
    TITLE: ClassVar[str] = "ALM-SOA: approximate log multiplier with a set-one adder"
    REFERENCE: ClassVar[str] = ("W. Liu, J. Xu, D. Wang, C. Wang, P. Montuschi, F. Lombardi, Design and evaluation "
                                "of approximate logarithmic multipliers for low power error-tolerant applications, "
                                "IEEE Trans. Circuits and Systems I, 2018")
    AFTER: ClassVar[bool] = True
    PARAMS: ClassVar[tuple] = (
        Param("m", int, 0, "width-1", "max(width-5, 0)", "low bits of the fraction sum set to 1 (set-one adder; "
              "0: Mitchell)", "m"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.almsoa:ALMSOAMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.almsoa:ALMSOASpec"}

    mul_magnitude = mul_magnitude

    @property
    def frac_bits(self):
        """Width of the fraction adder, ``width - 1`` (no truncation)."""
        return self.width - 1

    def exact_form(self, op):
        """Exact statistics of the multiplier (:mod:`pymodel.exact.almsoa`): the product reads ``width - m``
        bits below each leading one, so it is constant on boxes of runs.  None where the boxes exceed
        the budget (:func:`pymodel.exact.almsoa.available`): then the sweep or sampling runs."""
        from ..exact.almsoa import available, exact_metrics
        return exact_metrics if op == "mul" and available(self) else None

    @below_2_31
    def gemm_form(self):
        """The upper ``F - m`` fraction bits add; bit ``m - 1`` of both is kept one place below them, so
        that adding the codes carries into the upper part exactly when both are set (the adder's
        carry-in), and the low ``m`` bits of the sum are then set to one."""
        F, m = self.frac_bits, self.m
        if m == 0:
            return LogAdd(keep_bits=F)
        return LogAdd(keep_bits=F - m + 1, or_sum=sum(fraction_ulp(i) for i in range(F - m + 1, F + 1)))

    def fraction_boundaries(self, op):
        """The set-one adder's carry out: the upper ``F - m`` bits and the carry-in ``x1[m-1] & x2[m-1]``
        carry exactly when the fractions truncated to ``F - m + 1`` bits sum to 1 or more (the low
        ``m - 1`` bits never carry)."""
        F, m = self.frac_bits, self.m
        bits = F - m + 1 if m else F
        return [region_edge(bits, lambda i, j: i + j >= 1 << bits,
                            f"carry: x1 + x2 >= 1 on the top {bits} fraction bits (above)")]

    def mul_unsigned(self, a, b):
        """The specification: two log converters, the set-one adder, a floor antilog."""
        if a == 0 or b == 0:
            return 0
        F = self.frac_bits
        k1, x1 = log_convert(a, self.width, F)
        k2, x2 = log_convert(b, self.width, F)
        carry, s = set_one_add(x1, x2, F, self.m)
        return antilog(k1 + k2 + carry, s, F)
