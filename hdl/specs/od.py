"""Specification of operand decomposition (``pymodel.designs.od.OperandDecomposition``), from its
docstring: ``a*b = (a|b)(a&b) + (a&~b)(~a&b)``, each product by Mitchell's formula
(:func:`hdl.specs.mitchell.mitchell_product`), summed exactly.
"""

from amaranth.hdl import Mux, Signal

from .base import SpecMultiplier
from .mitchell import mitchell_product

__all__ = ["ODSpec"]


class ODSpec(SpecMultiplier):
    """Specification of ``OperandDecomposition.mul``.  Ports and latency as
    :class:`hdl.specs.base.SpecMultiplier` (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        w, f = c.width, c.frac_bits
        total = 0
        for x, y in ((ma | mb, ma & mb), (ma & ~mb, ~ma & mb)):
            px, py = Signal(w), Signal(w)
            m.d.comb += [px.eq(x), py.eq(y)]
            p = mitchell_product(m, px, py, w, f)
            total = total + Mux((px == 0) | (py == 0), 0, p)   # Mitchell's product of a zero is 0
        return total
