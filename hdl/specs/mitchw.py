"""Specification of Mitch-w (``pymodel.designs.mitchw.MitchW``), from its docstring: each operand
truncated to ``w`` bits from the leading one (``unbias``: the leading one, ``w - 2`` bits and a
forced 1; else the leading one and ``w - 1`` bits), then Mitchell's product on the ``w - 1`` bit
fractions, floored::

    g1 + g2 <  1:   2^(k1+k2)   (1 + g1 + g2)
    g1 + g2 >= 1:   2^(k1+k2+1) (g1 + g2)
"""

from amaranth.hdl import Signal

from .base import SpecMultiplier, bits_for, log_convert, shift_floor

__all__ = ["MitchWSpec", "set_one_fraction", "log_product"]


def set_one_fraction(m, v, width, kept):
    """``(k, g)``: the leading one of ``v`` and its top ``kept`` fraction bits with a 1 appended below."""
    k, x = log_convert(m, v, width, kept)
    g = Signal(kept + 1)
    m.d.comb += g.eq((x << 1) | 1 if kept else 1)
    return k, g


def log_product(m, k1, k2, s, frac_bits, width):
    """``floor(2^(k1+k2) (1 + s))`` for a fraction sum ``s < 1``, ``floor(2^(k1+k2+1) s)`` for ``1 <= s < 2``
    (``s`` at ``frac_bits`` bits)."""
    one = 1 << frac_bits
    mant = Signal(frac_bits + 2)
    e = Signal(bits_for(2 * width - 1))
    with m.If(s < one):
        m.d.comb += [mant.eq(one + s), e.eq(k1 + k2)]
    with m.Else():
        m.d.comb += [mant.eq(s), e.eq(k1 + k2 + 1)]
    return shift_floor(mant, e, frac_bits)


class MitchWSpec(SpecMultiplier):
    """Specification of ``MitchW.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        F = c.w - 1
        if c.unbias:
            (k1, g1), (k2, g2) = (set_one_fraction(m, v, c.width, c.w - 2) for v in (ma, mb))
        else:
            (k1, g1), (k2, g2) = (log_convert(m, v, c.width, F) for v in (ma, mb))
        s = Signal(F + 1)
        m.d.comb += s.eq(g1 + g2)
        return log_product(m, k1, k2, s, F, c.width)
