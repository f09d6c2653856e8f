"""Nearest-one log multiplier, ImpLM (after Ansari, Cockburn, Han, IEEE Trans. Computers 70(4), 2021).

A nearest-one detector replaces Mitchell's leading-one detector: each operand is written
around its *nearest* power of two, so the residue is signed::

    N = 2^n + q,   n = k + 1 if the bit right below the leading one (bit k-1) is 1, else k
                   (x = 0.5 rounds up: 3 -> 4, 6 -> 8, 12 -> 16), q = N - 2^n
    a*b ~ 2^(n1+n2) + q1 * 2^n2 + q2 * 2^n1   ( = a*b - q1*q2 )

There is no carry case and no antilog: the product is two shifted residues and a power of
two, added.  The error ``-q1*q2`` is negative when both operands round the same way and
positive otherwise; ``|q| <= 2^(n-1)`` down and ``<= 2^(n-2)`` up.

The nearest-one rule (round up iff bit ``k-1`` is one, ties up, no cap on ``n``) is the one
of the open RTL ``ILM_AE.v`` (RatkoFri/MulApprox, module NOD) and of the group's MATLAB model;
the paper itself was read only second-hand, hence "after".  An operand at or above
``3 * 2^(width-2)`` rounds up to ``2^width``, which does not fit ``width`` bits: the residues
are kept one bit wider inside.  The product always fits ``2*width`` bits: both down, it is
at most ``a*b``; ``a`` up and ``b`` down, it is ``2^n1 * b - (2^n1 - a) * 2^n2 < 2^width * b``;
both up, it is below ``2^(n1+n2) <= 2^(2*width)``.  The final sum is exact, so there is
nothing to floor or saturate.  The "ILM-k" variants
(k low sum bits replaced by an alternating pattern) are not modelled: ``PARAMS = ()``.

Figures (tests/test_fidelity_nearestone.py): 8-bit exhaustive MRED 2.862 %, bias -0.009 %,
range -11.1..+11.0 %, largest error 4096 (192 x 192); the paper (read second-hand) gives
MRED 2.75 % and largest error 3844 for ILM-0, which no tie or cap rule reproduced.  16-bit:
MRED 2.89 %.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import Residues
from ..reference import leading_one
from .base import Design, grid_lines

__all__ = ["NearestOne", "nearest_one"]


def nearest_one(v):
    """Nearest-one detector: ``v > 0`` to ``(n, q)`` with ``v = 2**n + q``, ``n`` the nearest
    power of two (ties up), ``q`` signed."""
    k = leading_one(v)
    n = k + 1 if k >= 1 and (v >> (k - 1)) & 1 else k
    return n, v - (1 << n)


@njit(inline="always")
def _residue(v):
    """``v - 2^n`` of the nearest power of two ``2^n`` of ``v >= 1`` (int64), branch-free."""
    k = fast.msb(v)
    up = (v >> max(k - 1, 0)) & np.int64(k > 0)
    return v - (np.int64(1) << (k + up))


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (width,)``: ``a*b - q1*q2`` in 64-bit modular arithmetic (the result is below 2^(2*width))."""
    q1 = _residue(max(a, 1))       # a == 0: residue of 1 is 0, and so is a*b
    q2 = _residue(max(b, 1))
    return np.uint64(a) * np.uint64(b) - np.uint64(q1 * q2)


@njit(inline="always")
def residue(v, P):
    """``q = v - 2**n`` of the nearest power of two of ``v >= 0`` (int64), 0 for 0 (the residue of 1).
    The product is ``2^(n1+n2) + q1 2^n2 + q2 2^n1 = a*b - q1*q2``."""
    return _residue(max(v, 1))


@dataclass(frozen=True, kw_only=True)
class NearestOne(Design):
    """Nearest-one (ImpLM) log multiplier: ``2^(n1+n2) + q1 2^n2 + q2 2^n1`` with signed residues.

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    """

    NAME: ClassVar[str] = "nearest-one"
    TITLE: ClassVar[str] = "Nearest-one (ImpLM) log multiplier"
    REFERENCE: ClassVar[str] = ("M. S. Ansari, B. F. Cockburn, J. Han, An improved logarithmic multiplier for "
                                "energy-efficient neural computing, IEEE Trans. Computers 70(4), 2021")
    AFTER: ClassVar[bool] = True
    PARAMS: ClassVar[tuple] = ()
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.nearestone:NearestOneMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.nearestone:NearestOneSpec"}

    mul_magnitude = mul_magnitude

    def exact_form(self, op):
        """Exact statistics of the multiplier (:mod:`pymodel.exact.nearestone`):
        ``a*b - q(a) q(b)`` splits into one factor per operand."""
        if op != "mul":
            return None
        from ..exact.nearestone import exact_metrics
        return exact_metrics

    def gemm_form(self):
        """``a*b - q1*q2``.  It overestimates (``q1 q2 < 0``) but never reaches ``product_max``: with
        ``a >= 3 * 2**(w-2)`` (rounded up to ``2**w``, ``q1 <= -1``) the product is
        ``2**w * b + 2**n2 * q1 < 2**w (2**w - 1)``; with both below, ``a*b - q1 q2 < (9/16 + 1/16) 2**(2w)``."""
        return Residues(residue=residue, params=())

    def fraction_boundaries(self, op):
        """The nearest-one detector's rounding: an operand rounds up to the next power of two
        when ``x >= 1/2`` (no carry case)."""
        return [grid_lines([0.5], "rounds up: x >= 1/2 (nearest power of two)")]

    def mul_unsigned(self, a, b):
        """The specification: two nearest-one detectors, two residue shifters, one adder."""
        if a == 0 or b == 0:
            return 0
        n1, q1 = nearest_one(a)
        n2, q2 = nearest_one(b)
        return (1 << (n1 + n2)) + (q1 << n2) + (q2 << n1)
