"""Mitch-w (Kim, Del Barrio, Oliveira, Hermida, Bagherzadeh, IEEE Trans. Computers, 2019).

Mitchell's multiplier with each operand truncated to ``w`` bits counted from the leading
one, so the fraction adder and the antilog are ``w - 1`` bits wide whatever the operand
width.  One adder sums the characteristics and the fractions together (the fraction
carry ripples into the characteristic), the antilog is a shifter that floors, and a zero
operand gives 0 (exact zero detection).

The authors' repository (albertodbg/log-arithmetic) holds two versions, both read here:

``unbias=True`` (default; ``vhdl/logMult-w/logMultK.vhd``, "this version unbias the operands")
    The leading one, the next ``w - 2`` bits truncated, and a forced 1
    (``op <= '0' & k & a_sh(N-2 downto N-K+1) & '1'``): ``w - 1`` fraction bits whose last
    is 1, i.e. the midpoint of the truncation interval.  The 1 is forced whether or not
    bits were dropped (also for operands shorter than ``w`` bits), as in the VHDL.  The
    VHDL's own decoder returns 0 for products below ``2**width`` (its low-half path reads
    the wrong mantissa bits, found by simulating it); that path is taken here as the
    floor antilog of the Verilog version, not as a reference.
``unbias=False`` (``verilog/logMultK-w/logMultK_rev.v``, "the version used for the IEEE
TC publication", whose ``K`` is ``w - 1``)
    The leading one and the next ``w - 1`` bits, plain truncation: exactly Mitchell with
    ``frac_bits = w - 1`` (the fidelity tests check this).

The published figures are of the second (TC) version: at 32 bits with ``w = 6`` its bias is
-5.90 % (1M random pairs; a second-hand summary of the TC/TETC papers says "about -5.9 %"),
while the unbiased version gives -3.84 %.  At 16 bits with ``w = 8`` (every pair) the MRED is
4.358 % for the TC version and 3.863 % unbiased (bias -3.837 %, range -12.02..+1.56 %).  The
TC version always underestimates; the unbiased version can overestimate but its product stays
below ``2**(2*width)`` (fractions are below 1).

``w`` runs 3..width, so widths are 3..32: with ``w = 2`` (one fraction bit) a signed square of
``-2**(width-1)`` would overestimate past the signed product range.  The default
``min(8, width)`` is the ``w = 8`` of the paper's ImageNet result (0.2 % accuracy loss).
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import LogAdd, below_2_31, fraction_ulp
from ..reference import antilog, fraction_add, log_convert
from .base import Design, Param, region_edge

__all__ = ["MitchW", "truncate", "log_fixed", "antilog_floor"]


def truncate(v, width, w, unbias):
    """Operand truncation (log converter + set-one): ``v > 0`` to ``(k, g)``, ``g`` with ``w - 1`` bits.

    ``unbias``: the top ``w - 2`` fraction bits and a forced 1 below them; otherwise the
    top ``w - 1`` bits.
    """
    if unbias:
        k, x = log_convert(v, width, w - 2)
        return k, (x << 1) | 1
    return log_convert(v, width, w - 1)


@njit(inline="always")
def log_fixed(v, kept, set_one):
    """``v > 0`` (int64) to the fixed-point log ``k * 2**F + g`` with ``F = kept + set_one`` fraction
    bits: ``kept`` truncated bits, then a 1 when ``set_one`` (0 or 1)."""
    return (fast.log_convert(v, kept) << set_one) + set_one


@njit(inline="always")
def antilog_floor(L, F, live):
    """Branch-free ``floor(2**floor(L/2**F) * (1 + (L mod 2**F)/2**F))``, or 0 unless ``live``."""
    m = np.uint64((np.int64(1) << F) | (L & ((np.int64(1) << F) - 1)))
    e = (L >> F) - F
    p = (m << np.uint64(max(e, 0))) >> np.uint64(max(-e, 0))
    return p if live else np.uint64(0)


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (w, unbias, width)``: one addition of two fixed-point logs and a floor antilog."""
    u = P[1]
    kept = P[0] - 1 - u
    L = log_fixed(max(a, 1), kept, u) + log_fixed(max(b, 1), kept, u)
    return antilog_floor(L, P[0] - 1, a != 0 and b != 0)


@dataclass(frozen=True, kw_only=True)
class MitchW(Design):
    """Mitch-w: Mitchell's multiplier on operands truncated to ``w`` bits from the leading one.

    Parameters
    ----------
    width : int
        Operand bits, 3..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    w : int
        Bits kept from the leading one on, 3..width (default ``min(8, width)``); the fraction
        adder is ``w - 1`` bits.
    unbias : bool
        True (default): the last kept bit is forced to 1 (leading one, ``w - 2`` truncated
        bits, a 1; the authors' VHDL).  False: leading one and ``w - 1`` truncated bits (the
        TC-paper Verilog; equal to Mitchell with ``frac_bits = w - 1``).
    """

    w: int = None
    unbias: bool = None

    NAME: ClassVar[str] = "mitch-w"
    TITLE: ClassVar[str] = "Mitch-w: Mitchell on operands truncated to w bits"
    REFERENCE: ClassVar[str] = ("M. S. Kim, A. A. Del Barrio, L. T. Oliveira, R. Hermida, N. Bagherzadeh, Efficient "
                                "Mitchell's approximate log multipliers for convolutional neural networks, "
                                "IEEE Trans. Computers, 2019")
    PARAMS: ClassVar[tuple] = (
        Param("w", int, 3, "width", "min(8, width)", "bits kept from the leading one on (fraction adder: w-1 bits)",
              "w"),
        Param("unbias", bool, False, True, True, "force the last kept bit to 1 (the authors' VHDL); False: plain "
              "truncation (the TC-paper Verilog)", "u"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.mitchw:MitchWMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.mitchw:MitchWSpec"}
    MIN_WIDTH: ClassVar[int] = 3

    mul_magnitude = mul_magnitude

    @property
    def frac_bits(self):
        """Width of the fraction adder, ``w - 1``."""
        return self.w - 1

    def exact_form(self, op):
        """Exact statistics of the multiplier (:mod:`pymodel.exact.mitchw`): the product reads ``w - 1 - unbias``
        bits below each leading one, so it is constant on boxes of runs.  None where the boxes exceed
        the budget (:func:`pymodel.exact.mitchw.available`): then the sweep or sampling runs."""
        from ..exact.mitchw import available, exact_metrics
        return exact_metrics if op == "mul" and available(self) else None

    @below_2_31
    def gemm_form(self):
        """``w - 1 - unbias`` kept bits, then the forced one."""
        kept = self.w - 1 - int(self.unbias)
        return LogAdd(keep_bits=kept, or_code=fraction_ulp(kept + 1) if self.unbias else 0)

    def fraction_boundaries(self, op):
        """The carry of the ``w - 1``-bit fraction adder: on ``w - 2`` kept bits ``i, j`` and the forced
        ones, ``(2i + 1) + (2j + 1) >= 2**(w-1)``, i.e. ``i + j >= 2**(w-2) - 1`` (unbias); plain
        truncation: Mitchell's on ``w - 1`` bits."""
        if not self.unbias:
            n = 1 << (self.w - 1)
            return [region_edge(self.w - 1, lambda i, j: i + j >= n, "carry: x1 + x2 >= 1 (above)")]
        n = 1 << (self.w - 2)
        return [region_edge(self.w - 2, lambda i, j: i + j >= n - 1, "carry: g1 + g2 >= 1, g = x truncated, "
                                                                      "last bit 1 (above)")]

    def mul_unsigned(self, a, b):
        """The specification: two truncating log converters, one adder, a floor antilog."""
        if a == 0 or b == 0:
            return 0
        F = self.frac_bits
        k1, g1 = truncate(a, self.width, self.w, self.unbias)
        k2, g2 = truncate(b, self.width, self.w, self.unbias)
        carry, s = fraction_add(g1, g2, F)
        return antilog(k1 + k2 + carry, s, F)
