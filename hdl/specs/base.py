"""Plain blocks of the hardware specifications, and the shape every spec shares.

A spec renders a design's model (its docstring's formula and scalar ``mul_unsigned`` /
``div_unsigned``) as hardware, unoptimised and unpipelined, so that an equivalence proof
against the generated unit checks the implementation's structure (log-depth detectors,
prefix adders, carry-selected shifts, register cuts) against the model's arithmetic.  The
blocks here are written as the scalar reference reads: the leading one by a priority loop,
the normalising shift and truncation of ``reference.log_convert``, ``floor(m * 2**e)`` as a
left shift by a non-negative amount then a constant shift.  Nothing is shared with
``hdl/blocks.py``, ``hdl/designs/*`` or ``hdl/staged.py``.

:class:`SpecMultiplier` and :class:`SpecDivider` give the ports and the steps every model
shares (``Design.mul_scalar`` / ``Design.div_scalar`` / ``Design.div_saturated``): magnitudes
of two's-complement operands, saturation of an overestimate, a zero operand, exact
negation, and the divider's ``b == 0``.  A design's spec gives ``magnitude(m, ma, mb)``.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SpecMultiplier", "SpecDivider", "bits_for", "leading_one", "log_convert", "shift_floor"]


def bits_for(n):
    """Bits of an unsigned signal holding ``0..n``."""
    return max(1, int(n).bit_length())


def leading_one(m, v, width):
    """Position of the most significant set bit of ``v`` (``width`` bits): a priority loop in which
    the highest set bit assigns last.  0 for ``v == 0``."""
    k = Signal(bits_for(width - 1))
    for i in range(width):
        with m.If(v[i]):
            m.d.comb += k.eq(i)
    return k


def log_convert(m, v, width, frac_bits):
    """``(k, x)`` of ``reference.log_convert``: ``k`` the leading one of ``v > 0``, ``x`` the bits below
    it normalised to ``width - 1`` fraction bits, ``(v - 2**k) << (width - 1 - k)``, then truncated
    to the top ``frac_bits`` (a 1-bit zero when ``frac_bits == 0``)."""
    k = leading_one(m, v, width)
    kw = len(k)
    r = Signal(width)
    m.d.comb += r.eq(v - (Const(1, width + 1) << k))
    xf = Signal(max(width - 1, 1))
    m.d.comb += xf.eq(r << (Const(width - 1, kw) - k)[:kw])
    x = Signal(max(frac_bits, 1))
    if frac_bits:
        m.d.comb += x.eq(xf >> (width - 1 - frac_bits))
    return k, x


def shift_floor(mant, e, off):
    """``floor(mant * 2**(e - off))`` for an unsigned ``mant``, an unsigned signal ``e`` and an int
    ``off``: a left shift by ``e``, then a constant shift (every bit kept: the value is exact)."""
    t = mant << e
    return t >> off if off >= 0 else t << -off


class _Spec(wiring.Component):
    """Ports and sign handling shared by the multiplier and divider specs."""

    #: A spec is combinational (``sim.exhaustive`` and ``hdl.verilog.ports_of`` read these).
    stages = 0
    latency = 0
    OP = None

    def __init__(self, config):
        w = config.width
        opd = signed(w) if config.signed else unsigned(w)
        ports = {"a": In(opd), "b": In(opd)}
        ports.update(self._out_ports(config))
        self.config = config
        super().__init__(ports)

    def _magnitudes(self, m):
        """``(ma, mb, neg)``: operand magnitudes (``width`` bits) and the sign of the result."""
        c = self.config
        w = c.width
        ma, mb, neg = Signal(w), Signal(w), Signal()
        if c.signed:
            m.d.comb += [ma.eq(Mux(self.a < 0, -self.a, self.a)), mb.eq(Mux(self.b < 0, -self.b, self.b)),
                         neg.eq((self.a < 0) != (self.b < 0))]
        else:
            m.d.comb += [ma.eq(self.a), mb.eq(self.b)]
        return ma, mb, neg

    def magnitude(self, m, ma, mb):
        """The design's unsigned result on magnitudes ``ma``, ``mb`` (a Value of any width, exact)."""
        raise NotImplementedError


class SpecMultiplier(_Spec):
    """Combinational specification of ``config.mul``.

    Parameters
    ----------
    config : pymodel design config
        The model's config.

    Attributes
    ----------
    a, b : Signal(width), in
        Operands (two's complement when ``config.signed``).
    p : Signal(product_width), out
        ``config.mul(a, b)``: the design's magnitude (:meth:`magnitude`), saturated at
        ``product_max``, 0 when an operand is 0, negated when the signs differ.

    Latency: combinational (no clock).
    """

    OP = "mul"

    @staticmethod
    def _out_ports(c):
        pw = c.product_width
        return {"p": Out(signed(pw) if c.signed else unsigned(pw))}

    def elaborate(self, platform):
        m = Module()
        c = self.config
        ma, mb, neg = self._magnitudes(m)
        mag = self.magnitude(m, ma, mb)
        sat = Signal(c.product_width)
        m.d.comb += sat.eq(Mux(mag > c.product_max, c.product_max, mag))      # Design.mul_scalar: min(...)
        with m.If((ma == 0) | (mb == 0)):
            m.d.comb += sat.eq(0)
        m.d.comb += self.p.eq(Mux(neg, -sat, sat) if c.signed else sat)
        return m


class SpecDivider(_Spec):
    """Combinational specification of ``config.div(a, b, on_zero="saturate")``.

    Parameters
    ----------
    config : pymodel design config with ``"div"`` in its ``OPS``
        The model's config.

    Attributes
    ----------
    a, b : Signal(width), in
        Dividend and divisor (two's complement when ``config.signed``).
    q : Signal(quotient_width), out
        The quotient: the design's magnitude saturated at ``2**(width + quotient_frac_bits) - 1``,
        0 for a zero dividend, negated when the signs differ; for ``b == 0`` all ones in the
        magnitude bits with the dividend's sign (``Design.div_saturated``).
    dbz : Signal(1), out
        ``b == 0``.

    Latency: combinational (no clock).
    """

    OP = "div"

    @staticmethod
    def _out_ports(c):
        qw = c.quotient_width
        return {"q": Out(signed(qw) if c.signed else unsigned(qw)), "dbz": Out(1)}

    def elaborate(self, platform):
        m = Module()
        c = self.config
        mw = c.width + c.quotient_frac_bits
        top = 1 << mw
        ma, mb, neg = self._magnitudes(m)
        mag = self.magnitude(m, ma, mb)
        sat = Signal(mw)
        m.d.comb += sat.eq(Mux(mag > top - 1, top - 1, mag))                 # Design.div_scalar: min(...)
        with m.If(ma == 0):
            m.d.comb += sat.eq(0)
        m.d.comb += self.dbz.eq(mb == 0)
        if not c.signed:
            m.d.comb += self.q.eq(Mux(mb == 0, top - 1, sat))
        else:
            full = Mux(self.a < 0, Const(-top, signed(mw + 1)), Const(top - 1, signed(mw + 1)))
            m.d.comb += self.q.eq(Mux(mb == 0, full, Mux(neg, -sat, sat)))
        return m
