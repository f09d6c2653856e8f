"""Specification of DR-ALM-t (``pymodel.designs.dralm.DRALM``), from its docstring::

    g_i = 2 * trunc_{t-2}(x_i) + 1                    (t - 1 fraction bits)
    S   = g_1 + g_2 + 1,   k = k_1 + k_2 + (S >= 2**(t-1))
    p   = floor(2**k * (1 + (S mod 2**(t-1)) / 2**(t-1)))
"""

from amaranth.hdl import Signal

from .base import SpecMultiplier
from .mitchw import log_product, set_one_fraction

__all__ = ["DRALMSpec"]


class DRALMSpec(SpecMultiplier):
    """Specification of ``DRALM.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        F = c.t - 1
        (k1, g1), (k2, g2) = (set_one_fraction(m, v, c.width, c.t - 2) for v in (ma, mb))
        s = Signal(F + 1)
        m.d.comb += s.eq(g1 + g2 + 1)                  # the one-LSB compensation
        return log_product(m, k1, k2, s, F, c.width)
