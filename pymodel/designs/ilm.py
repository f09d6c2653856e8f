"""ILM, the iterative logarithmic multiplier (Babić, Avramović, Bulić, Microprocessors and Microsystems 2011).

With ``a = 2^k1 + r1`` and ``b = 2^k2 + r2`` (``r`` = the bits below the leading one)::

    a*b = 2^(k1+k2) + r1*2^k2 + r2*2^k1  +  r1*r2

The basic block computes the first three terms (Mitchell's no-carry form for every input,
with full-precision fractions, so an integer with no truncation); its error ``r1*r2 >= 0``
is the product of the two residues, which the next basic block approximates in the same
way, and so on.  ``corrections`` is the number of blocks after the first: 0 is the basic
block alone (worst -25 %), 1 gives -6.25 %, 2 (the default) -1.56 %, the paper's "below
2 % with two iterations".  The result is exact once either residue is zero, i.e. after
``popcount(sparser operand) - 1`` corrections.  It never overestimates.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .. import fast
from ..gemm_forms import Residues
from ..reference import leading_one
from .base import Design, Param, grid_lines

__all__ = ["ILM"]


def basic_block(a, b):
    """``(P, r1, r2)``: the basic block's approximation of ``a*b`` and the two residues (``a, b > 0``)."""
    k1, k2 = leading_one(a), leading_one(b)
    r1, r2 = a - (1 << k1), b - (1 << k2)
    return (1 << (k1 + k2)) + (r1 << k2) + (r2 << k1), r1, r2


@njit(inline="always")
def mul_magnitude(a, b, P):
    """``P = (corrections, width)``: ``corrections + 1`` basic blocks on the residues."""
    p = np.uint64(0)
    x, y = a, b
    for _ in range(P[0] + 1):
        live = x != 0 and y != 0
        k1 = fast.leading_one(max(x, 1))
        k2 = fast.leading_one(max(y, 1))
        r1 = x - (np.int64(1) << k1)
        r2 = y - (np.int64(1) << k2)
        blk = (np.uint64(1) << np.uint64(k1 + k2)) + np.uint64(r1 << k2) + np.uint64(r2 << k1)
        p += blk if live else np.uint64(0)
        x = r1 if live else 0
        y = r2 if live else 0
    return p


@njit(inline="always")
def residue(v, P):
    """``v >= 0`` (int64) less its top ``P[0]`` set bits: what the basic blocks leave.  The blocks
    telescope: each adds ``x*y - r1*r2`` of its inputs ``x, y`` and passes on ``r1, r2`` (and once
    either is 0 the rest add 0), so the product is ``a*b - R(a)*R(b)``."""
    for _ in range(P[0]):
        v -= (np.int64(1) << fast.msb(v)) if v != 0 else 0
    return v


@dataclass(frozen=True, kw_only=True)
class ILM(Design):
    """Iterative logarithmic multiplier: a basic block plus ``corrections`` error-correction blocks.

    Parameters
    ----------
    width : int
        Operand bits, 2..32.
    signed : bool
        Two's-complement operands (sign-magnitude core).
    corrections : int
        Correction blocks after the basic block, 0..width-1 (default 2, or width-1 if smaller).
    """

    corrections: int = None

    NAME: ClassVar[str] = "ilm"
    TITLE: ClassVar[str] = "Iterative logarithmic multiplier (ILM)"
    REFERENCE: ClassVar[str] = ("Z. Babić, A. Avramović, P. Bulić, An iterative logarithmic multiplier, "
                                "Microprocessors and Microsystems 35(1), 2011")
    PARAMS: ClassVar[tuple] = (
        Param("corrections", int, 0, "width-1", "min(2, width-1)", "error-correction basic blocks after the first "
              "(0: the basic block alone)", "i"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.ilm:ILMMultiplier"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.ilm:ILMSpec"}

    mul_magnitude = mul_magnitude

    def exact_form(self, op):
        """Exact statistics of the multiplier (:mod:`pymodel.exact.ilm`):
        ``a*b - R(a) R(b)`` splits into one factor per operand."""
        if op != "mul":
            return None
        from ..exact.ilm import exact_metrics
        return exact_metrics

    def gemm_form(self):
        """``a*b - R(a) R(b)`` (see :func:`residue`); never above ``a*b``, so nothing saturates."""
        return Residues(residue=residue, params=(self.corrections + 1,))

    def fraction_boundaries(self, op):
        """No carry case; the error ``R(a) R(b)`` jumps where the top ``corrections`` set bits of a
        fraction move, i.e. at fractions with at most ``corrections`` set bits (none for the basic
        block alone, whose error ``x1 x2`` is smooth).  Drawn down to 1/16 (1/8 past one correction,
        so that the lines stay few)."""
        c = self.corrections
        if c == 0:
            return []
        bits = min(4 if c == 1 else 3, self.width - 1)
        vals = [k / (1 << bits) for k in range(1, 1 << bits) if bin(k).count("1") <= c]
        return [grid_lines(vals, f"residue jumps: x with <= {c} set bit{'s' if c > 1 else ''} "
                                 f"(to 1/{1 << bits})")]

    def mul_unsigned(self, a, b):
        """The specification: ``corrections + 1`` basic blocks, each on the previous residues."""
        p = 0
        for _ in range(self.corrections + 1):
            if a == 0 or b == 0:
                break
            blk, a, b = basic_block(a, b)
            p += blk
        return p
