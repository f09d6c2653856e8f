"""Specification of MBM (``pymodel.designs.mbm.MBM``), from its docstring::

    x1 + x2 <  1:   2^(k1+k2)   (1 + x1 + x2 + c)
    x1 + x2 >= 1:   2^(k1+k2+1) (x1 + x2 + c/2)  =  2^(k1+k2) (2 (x1 + x2) + c)

with the fractions and ``c`` (the first ``c_bits`` bits of 1/12) at ``G = max(frac_bits,
c_bits + 1)`` bits, floored.
"""

from amaranth.hdl import Signal

from pymodel.designs.mbm import correction

from .base import SpecMultiplier, log_convert, shift_floor

__all__ = ["MBMSpec", "corrected_product"]


def corrected_product(m, k1, x1, k2, x2, frac_bits, guard, corr):
    """``floor(2^(k1+k2) (1 + x1 + x2 + s))`` or ``floor(2^(k1+k2+1) (x1 + x2 + s/2))`` (the case split
    on ``x1 + x2 >= 1``), fractions of ``frac_bits`` bits widened to ``guard`` bits, ``corr`` the
    correction ``s`` at ``guard`` bits (an int or a Value)."""
    g = guard
    one = 1 << g
    s = Signal(g + 2)
    m.d.comb += s.eq((x1 << (g - frac_bits)) + (x2 << (g - frac_bits)))
    mant = Signal(g + 3)
    with m.If(s < one):
        m.d.comb += mant.eq(one + s + corr)
    with m.Else():
        m.d.comb += mant.eq(2 * s + corr)
    e = Signal(len(k1) + 1)
    m.d.comb += e.eq(k1 + k2)
    return shift_floor(mant, e, g)


class MBMSpec(SpecMultiplier):
    """Specification of ``MBM.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        w, f, g = c.width, c.frac_bits, c.guard_bits
        (k1, x1), (k2, x2) = log_convert(m, ma, w, f), log_convert(m, mb, w, f)
        return corrected_product(m, k1, x1, k2, x2, f, g, correction(c.c_bits) << (g - c.c_bits))
