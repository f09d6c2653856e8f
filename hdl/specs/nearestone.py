"""Specification of the nearest-one (ImpLM) multiplier (``pymodel.designs.nearestone.NearestOne``),
from its docstring::

    N = 2^n + q,   n = k + 1 if bit k-1 of N is 1 (ties round up), else k;   q = N - 2^n (signed)
    a*b ~ 2^(n1+n2) + q1 * 2^n2 + q2 * 2^n1
"""

from amaranth.hdl import Const, Signal, signed

from .base import SpecMultiplier, bits_for, leading_one

__all__ = ["NearestOneSpec"]


def nearest_one(m, v, width):
    """``(n, q)``: the nearest power of two ``2**n`` of ``v > 0`` and the signed residue ``v - 2**n``."""
    k = leading_one(m, v, width)
    below = Signal()                                   # bit k-1 of v (none when k == 0)
    for i in range(1, width):
        with m.If(k == i):
            m.d.comb += below.eq(v[i - 1])
    n = Signal(bits_for(width))
    m.d.comb += n.eq(k + below)
    q = Signal(signed(width + 2))
    m.d.comb += q.eq(v - (Const(1, width + 1) << n))
    return n, q


class NearestOneSpec(SpecMultiplier):
    """Specification of ``NearestOne.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        w = self.config.width
        (n1, q1), (n2, q2) = nearest_one(m, ma, w), nearest_one(m, mb, w)
        total = Signal(signed(2 * w + 4))
        m.d.comb += total.eq((Const(1, 1) << (n1 + n2)) + (q1 << n2) + (q2 << n1))
        mag = Signal(2 * w + 3)                        # the sum is never negative (the model's docstring)
        m.d.comb += mag.eq(total)
        return mag
