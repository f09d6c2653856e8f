"""Specification of Mitchell's multiplier and divider (``pymodel.Mitchell``, ``pymodel.reference``).

Each line mirrors the scalar reference: the leading one by a priority loop, the paper's
carry/borrow case split, ``floor(m * 2**e)`` as a left shift by a non-negative amount then
a constant right shift.
"""

from amaranth.hdl import Signal

from .base import SpecDivider, SpecMultiplier, bits_for, log_convert, shift_floor

__all__ = ["MitchellMulSpec", "MitchellDivSpec", "MitchellSpec", "mitchell_product"]


def mitchell_product(m, a, b, width, frac_bits):
    """``reference.mul_unsigned(a, b, width, frac_bits)`` for ``a, b > 0`` (an exact Value)::

        x1 + x2 <  1:   2^(k1+k2)   (1 + x1 + x2)
        x1 + x2 >= 1:   2^(k1+k2+1) (x1 + x2)
    """
    f = frac_bits
    one = 1 << f
    (k1, x1), (k2, x2) = log_convert(m, a, width, f), log_convert(m, b, width, f)
    s = Signal(f + 2)
    m.d.comb += s.eq(x1 + x2)               # x = 0 (a 1-bit zero) when f == 0
    mant = Signal(f + 2)
    e = Signal(bits_for(2 * width - 1))            # k1 + k2 (+ 1), never negative
    with m.If(s < one):
        m.d.comb += [mant.eq(one + s), e.eq(k1 + k2)]
    with m.Else():
        m.d.comb += [mant.eq(s), e.eq(k1 + k2 + 1)]
    return shift_floor(mant, e, f)


class MitchellMulSpec(SpecMultiplier):
    """Specification of ``Mitchell.mul``: :func:`mitchell_product` of the magnitudes.

    Ports and latency as :class:`hdl.specs.base.SpecMultiplier` (``a``, ``b`` in, ``p`` out,
    combinational).
    """

    def magnitude(self, m, ma, mb):
        c = self.config
        return mitchell_product(m, ma, mb, c.width, c.frac_bits)


class MitchellDivSpec(SpecDivider):
    """Specification of ``Mitchell.div`` (``on_zero="saturate"``)::

        x1 >= x2:   2^(k1-k2)   (1 + x1 - x2)
        x1 <  x2:   2^(k1-k2-1) (2 + x1 - x2)

    floored to ``quotient_frac_bits`` fraction bits.  Ports and latency as
    :class:`hdl.specs.base.SpecDivider` (``a``, ``b`` in, ``q``, ``dbz`` out, combinational).
    """

    def magnitude(self, m, ma, mb):
        c = self.config
        w, f, qf = c.width, c.frac_bits, c.quotient_frac_bits
        one = 1 << f
        (k1, x1), (k2, x2) = log_convert(m, ma, w, f), log_convert(m, mb, w, f)
        mant = Signal(f + 2)
        e = Signal(bits_for(2 * w))                # k1 - k2 (- 1) + w >= 0
        with m.If(x1 >= x2):
            m.d.comb += [mant.eq(one + x1 - x2), e.eq(k1 + w - k2)]
        with m.Else():
            m.d.comb += [mant.eq(2 * one + x1 - x2), e.eq(k1 + w - 1 - k2)]
        return shift_floor(mant, e, w + f - qf)


def MitchellSpec(config, op):
    """The spec of ``op`` (``"mul"`` or ``"div"``) on a ``pymodel.Mitchell`` (the name earlier callers use)."""
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    return (MitchellMulSpec if op == "mul" else MitchellDivSpec)(config)
