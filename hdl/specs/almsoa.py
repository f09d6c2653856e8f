"""Specification of ALM-SOA (``pymodel.designs.almsoa.ALMSOA``), from its docstring: full-precision
fractions (``F = width - 1`` bits), the sum's low ``m`` bits set to 1 and the carry into bit ``m``
the AND of bit ``m - 1`` of both fractions, an exact sum above, then Mitchell's antilog, floored.
"""

from amaranth.hdl import Const, Signal

from .base import SpecMultiplier, log_convert
from .mitchw import log_product

__all__ = ["ALMSOASpec"]


class ALMSOASpec(SpecMultiplier):
    """Specification of ``ALMSOA.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        F, sm = c.width - 1, c.m
        (k1, x1), (k2, x2) = (log_convert(m, v, c.width, F) for v in (ma, mb))
        cin = (x1[sm - 1] & x2[sm - 1]) if sm else Const(0, 1)
        s = Signal(F + 1)
        m.d.comb += s.eq((((x1 >> sm) + (x2 >> sm) + cin) << sm) | ((1 << sm) - 1))
        return log_product(m, k1, k2, s, F, c.width)
