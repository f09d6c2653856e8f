"""DR-ALM, the dynamic-range approximate log multiplier (Yin, Wang, Waris, Liu, Han, Lombardi,
IEEE Trans. Sustainable Computing, 2021).

Each operand is truncated dynamically, from its leading one: DR-ALM-t keeps ``t`` bits, the
leading one, the next ``t - 2`` bits and a 1 set below them (so ``t - 1`` fraction bits, the
last one 1).  The fraction adder adds the two and a compensation of one LSB
(``2**-(t-1)``); as in Mitchell one adder covers the characteristics and the fractions (the
fraction carry ripples into the characteristic), the antilog is a shifter that floors, and
a zero operand gives 0::

    g_i = 2 * trunc_{t-2}(x_i) + 1                    (t - 1 fraction bits)
    S   = g_1 + g_2 + 1,   k = k_1 + k_2 + (S >= 2**(t-1))
    p   = floor(2**k * (1 + (S mod 2**(t-1)) / 2**(t-1)))

The paper's text was not read, so the design is "after" it: the definition is read from the
open implementation of RatkoFri/MulApprox (``behaviour_models/Logaritmic/DRALM.c`` and
``verilog/Logaritmic/DRALM_W5.v``, whose README cites the paper): ``y = (x & keep) | lsb; y_l = y_a + y_b + lsb``, floored antilog,
the set-one applied also to operands shorter than ``t`` bits.  It reproduces the paper's
16-bit figures for DR-ALM-6 (MRED 3.03 %, worst relative error 12.5 %; measured here 3.04 % on
random pairs and -12.496 % at 49151 x 49151); the 8-bit MRED is 2.93 % exhaustively against a
second-hand 2.91 %.  Other readings (5 fraction bits + set-one + 1; iCAS-Lab/APTPU's DR-ALM
Verilog) miss those figures (3.19 %; about 37 %).

DR-ALM-t is Mitch-w (``unbias=True``, ``w = t``) plus the one-LSB compensation.  ``t`` runs
3..width (default ``min(6, width)``), so widths are 3..32: with ``t = 2`` (one fraction bit) a
signed square of ``-2**(width-1)`` would overestimate past the signed product range.  The product can exceed ``a*b`` (by up to +9.3 % for
t = 6) but stays below ``2**(2*width)``.
"""

from dataclasses import dataclass
from typing import ClassVar

from numba import njit

from ..gemm_forms import LogAdd, below_2_31, fraction_ulp
from ..reference import antilog
from .base import Design, Param, region_edge
from .mitchw import antilog_floor, log_fixed, truncate

__all__ = ["DRALM", "compensated_add"]


def compensated_add(g1, g2, frac_bits):
    """Fraction adder with the one-LSB compensation as its carry-in: ``(carry, g1 + g2 + 1 mod 1)``."""
    s = g1 + g2 + 1
    return s >> frac_bits, s & ((1 << frac_bits) - 1)


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (t, width)``: two set-one fixed-point logs plus one LSB, a floor antilog."""
    kept = P[0] - 2
    L = log_fixed(max(a, 1), kept, 1) + log_fixed(max(b, 1), kept, 1) + 1
    return antilog_floor(L, P[0] - 1, a != 0 and b != 0)


@dataclass(frozen=True, kw_only=True)
class DRALM(Design):
    """Dynamic-range approximate log multiplier DR-ALM-t.

    Parameters
    ----------
    width : int
        Operand bits, 3..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    t : int
        Bits kept per operand, counting the leading one and the set-one bit, 3..width
        (default ``min(6, width)``); the fraction adder is ``t - 1`` bits.
    """

    t: int = None

    NAME: ClassVar[str] = "dr-alm"
    TITLE: ClassVar[str] = "DR-ALM: dynamic-range approximate log multiplier"
    REFERENCE: ClassVar[str] = ("P. Yin, C. Wang, H. Waris, W. Liu, Y. Han, F. Lombardi, Design and analysis of "
                                "energy-efficient dynamic range approximate logarithmic multipliers for machine "
                                "learning, IEEE Trans. Sustainable Computing, 2021")
    AFTER: ClassVar[bool] = True
    PARAMS: ClassVar[tuple] = (
        Param("t", int, 3, "width", "min(6, width)", "bits kept per operand: the leading one, t-2 truncated bits "
              "and a set-one bit (fraction adder: t-1 bits)", "t"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.dralm:DRALMMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.dralm:DRALMSpec"}
    MIN_WIDTH: ClassVar[int] = 3

    mul_magnitude = mul_magnitude

    @property
    def frac_bits(self):
        """Width of the fraction adder, ``t - 1``."""
        return self.t - 1

    def exact_form(self, op):
        """Exact statistics of the multiplier (:mod:`pymodel.exact.dralm`): the product reads ``t - 2``
        bits below each leading one, so it is constant on boxes of runs.  None where the boxes exceed
        the budget (:func:`pymodel.exact.dralm.available`): then the sweep or sampling runs."""
        from ..exact.dralm import available, exact_metrics
        return exact_metrics if op == "mul" and available(self) else None

    @below_2_31
    def gemm_form(self):
        """``t - 2`` kept bits and the set one in each code, the compensation LSB on the sum."""
        return LogAdd(keep_bits=self.t - 2, or_code=fraction_ulp(self.t - 1), add_a=fraction_ulp(self.t - 1))

    def fraction_boundaries(self, op):
        """The carry of the compensated adder: on ``t - 2`` kept bits ``i, j``,
        ``(2i + 1) + (2j + 1) + 1 >= 2**(t-1)``, i.e. ``i + j >= 2**(t-2) - 1``."""
        n = 1 << (self.t - 2)
        return [region_edge(self.t - 2, lambda i, j: i + j >= n - 1,
                            "carry: g1 + g2 + 2^-(t-1) >= 1, g = x truncated, last bit 1 (above)")]

    def mul_unsigned(self, a, b):
        """The specification: two dynamic truncation units (set-one), the compensated adder, a floor antilog."""
        if a == 0 or b == 0:
            return 0
        F = self.frac_bits
        k1, g1 = truncate(a, self.width, self.t, True)
        k2, g2 = truncate(b, self.width, self.t, True)
        carry, s = compensated_add(g1, g2, F)
        return antilog(k1 + k2 + carry, s, F)
