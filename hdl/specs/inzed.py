"""Specification of the bias-corrected divider after INZeD (``pymodel.designs.inzed.INZeD``),
from its docstring::

    x1 >= x2:   2^(k1-k2)   (1 + x1 - x2 - c)
    x1 <  x2:   2^(k1-k2-1) (2 + x1 - x2 - c)

fractions and ``c`` (rounded to ``c_bits`` bits) at ``G = max(frac_bits, c_bits)`` bits,
floored to ``quotient_frac_bits`` fraction bits.
"""

from amaranth.hdl import Signal

from pymodel.designs.inzed import correction

from .base import SpecDivider, bits_for, log_convert, shift_floor

__all__ = ["INZeDSpec"]


class INZeDSpec(SpecDivider):
    """Specification of ``INZeD.div`` (``on_zero="saturate"``).  Ports and latency as
    :class:`hdl.specs.base.SpecDivider` (``a``, ``b`` in, ``q``, ``dbz`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        w, f, g, qf = c.width, c.frac_bits, c.guard_bits, c.quotient_frac_bits
        one = 1 << g
        cg = correction(c.c_bits) << (g - c.c_bits)
        (k1, x1), (k2, x2) = log_convert(m, ma, w, f), log_convert(m, mb, w, f)
        X1, X2 = x1 << (g - f), x2 << (g - f)
        mant = Signal(g + 2)
        e = Signal(bits_for(2 * w))                   # k1 - k2 (- 1) + w >= 0
        with m.If(X1 >= X2):
            m.d.comb += [mant.eq(one + X1 - X2 - cg), e.eq(k1 + w - k2)]
        with m.Else():
            m.d.comb += [mant.eq(2 * one + X1 - X2 - cg), e.eq(k1 + w - 1 - k2)]
        return shift_floor(mant, e, w + g - qf)
