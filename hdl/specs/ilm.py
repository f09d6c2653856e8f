"""Specification of ILM (``pymodel.designs.ilm.ILM``), from its docstring: ``corrections + 1`` basic
blocks, each on the residues of the one before, summed::

    a = 2^k1 + r1,  b = 2^k2 + r2:   block = 2^(k1+k2) + r1 2^k2 + r2 2^k1;   next a, b = r1, r2

stopping (adding nothing more) once either operand of a block is zero.
"""

from amaranth.hdl import Const, Mux, Signal

from .base import SpecMultiplier, leading_one

__all__ = ["ILMSpec"]


class ILMSpec(SpecMultiplier):
    """Specification of ``ILM.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        w = self.config.width
        x, y = ma, mb
        total = Const(0, 2 * w + 1)
        for i in range(self.config.corrections + 1):
            k1, k2 = leading_one(m, x, w), leading_one(m, y, w)
            r1, r2 = Signal(w, name=f"r1_{i}"), Signal(w, name=f"r2_{i}")
            m.d.comb += [r1.eq(x - (Const(1, w + 1) << k1)), r2.eq(y - (Const(1, w + 1) << k2))]
            live = (x != 0) & (y != 0)
            block = (Const(1, 1) << (k1 + k2)) + (r1 << k2) + (r2 << k1)
            acc = Signal(2 * w + 1, name=f"acc_{i}")
            m.d.comb += acc.eq(total + Mux(live, block, 0))
            nx, ny = Signal(w, name=f"x_{i + 1}"), Signal(w, name=f"y_{i + 1}")
            m.d.comb += [nx.eq(Mux(live, r1, 0)), ny.eq(Mux(live, r2, 0))]
            total, x, y = acc, nx, ny
        return total
