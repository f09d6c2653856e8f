"""The golden model as hardware: a plain, unoptimised rendering of ``pymodel.reference`` for proofs.

Each line mirrors the scalar reference (leading one by a priority loop, the
paper's carry/borrow case split, ``floor(m * 2**e)`` as a left shift by a
non-negative amount then a constant right shift).  None of the generated
design's structure (log-depth detector, prefix adder, carry-selected antilog,
register cuts) appears here, so an equivalence proof between the two checks
the design's optimisations against the model's arithmetic.  The spec itself
is checked against ``pymodel`` by simulation (``tests/test_verify.py``).
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MitchellSpec", "spec_for", "check_spec"]


def _bits(n):
    return max(1, int(n).bit_length())


class MitchellSpec(wiring.Component):
    """Combinational specification of ``config.mul`` or ``config.div(..., on_zero="saturate")``.

    Parameters
    ----------
    config : pymodel.Mitchell
        The model's config.
    op : str
        ``"mul"`` or ``"div"``.

    Attributes
    ----------
    a, b : Signal(width), in
        Operands (two's complement when signed).
    p : Signal(2 * width), out
        The product (``op="mul"``).
    q : Signal(quotient_width), out
        The quotient, saturated for ``b == 0`` (``op="div"``).
    dbz : Signal(1), out
        ``b == 0`` (``op="div"``).

    Latency: combinational.
    """

    def __init__(self, config, op):
        if op not in ("mul", "div"):
            raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
        self.config, self.op = config, op
        w, s = config.width, config.signed
        opd = signed(w) if s else unsigned(w)
        ports = {"a": In(opd), "b": In(opd)}
        if op == "mul":
            ports["p"] = Out(signed(2 * w) if s else unsigned(2 * w))
        else:
            qw = config.quotient_width
            ports.update({"q": Out(signed(qw) if s else unsigned(qw)), "dbz": Out(1)})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        c = self.config
        w, f = c.width, c.frac_bits
        kb = _bits(w)

        # sign and magnitude (reference._sign_magnitude)
        ma, mb = Signal(w), Signal(w)
        neg = Signal()
        if c.signed:
            m.d.comb += [ma.eq(Mux(self.a < 0, -self.a, self.a)), mb.eq(Mux(self.b < 0, -self.b, self.b)),
                         neg.eq((self.a < 0) != (self.b < 0))]
        else:
            m.d.comb += [ma.eq(self.a), mb.eq(self.b)]

        # log converter (reference.log_convert): k by a priority loop, x = (v - 2^k) << (w-1-k) >> (w-1-f)
        logs = []
        for v in (ma, mb):
            k = Signal(kb)
            for i in range(w):
                with m.If(v[i]):
                    m.d.comb += k.eq(i)
            r = Signal(w)
            m.d.comb += r.eq(v - (Const(1, w + 1) << k))
            xf = Signal(w)
            m.d.comb += xf.eq((r << (Const(w - 1, kb) - k)[:kb])[:w])
            x = Signal(max(f, 1))
            m.d.comb += x.eq(xf >> (w - 1 - f))
            logs.append((k, x if f else Const(0, 1)))
        (k1, x1), (k2, x2) = logs
        one = 1 << f

        if self.op == "mul":
            pw = 2 * w
            mag = Signal(pw)
            s = Signal(f + 2)
            m.d.comb += s.eq(x1 + x2)
            e = Signal(_bits(2 * w))            # k1 + k2 (+1): the exponent plus f, never negative
            mant = Signal(f + 2)
            with m.If(s < one):                 # 2^(k1+k2) (1 + x1 + x2)
                m.d.comb += [mant.eq(one + s), e.eq(k1 + k2)]
            with m.Else():                      # 2^(k1+k2+1) (x1 + x2)
                m.d.comb += [mant.eq(s), e.eq(k1 + k2 + 1)]
            m.d.comb += mag.eq((mant << e) >> f)
            with m.If((ma == 0) | (mb == 0)):
                m.d.comb += mag.eq(0)
            m.d.comb += self.p.eq(Mux(neg, -mag, mag) if c.signed else mag)
            return m

        qf = c.quotient_frac_bits
        mw = w + qf
        mag = Signal(mw)
        mant = Signal(f + 2)
        # k1 - k2 + qf (-1) + w >= 0: shift left by it, then right by f + w
        e = Signal(_bits(2 * w + qf + 1))
        with m.If(x1 >= x2):                    # 2^(k1-k2) (1 + x1 - x2)
            m.d.comb += [mant.eq(one + x1 - x2), e.eq(k1 + w + qf - k2)]
        with m.Else():                          # 2^(k1-k2-1) (2 + x1 - x2)
            m.d.comb += [mant.eq(2 * one + x1 - x2), e.eq(k1 + w + qf - 1 - k2)]
        m.d.comb += mag.eq((mant << e) >> (f + w))
        with m.If(ma == 0):
            m.d.comb += mag.eq(0)
        m.d.comb += self.dbz.eq(mb == 0)
        top = 1 << mw
        if not c.signed:
            m.d.comb += self.q.eq(Mux(mb == 0, top - 1, mag))
        else:
            sat = Mux(self.a < 0, Const(-top, signed(mw + 1)), Const(top - 1, signed(mw + 1)))
            m.d.comb += self.q.eq(Mux(mb == 0, sat, Mux(neg, -mag, mag)))
        return m


def check_spec(config, op):
    """Raise ValueError when there is no hardware specification of ``op`` on ``config`` (builds nothing)."""
    from pymodel import Mitchell
    if not isinstance(config, Mitchell):
        name = getattr(config, "NAME", None) or type(config).__name__
        raise ValueError(f"no hardware specification for {name} yet (hdl/spec.py): "
                         "--prove and the proof-based checks need one")
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")


def spec_for(config, op):
    """The specification component of ``op`` on ``config`` (the design family's model as hardware)."""
    check_spec(config, op)
    return MitchellSpec(config, op)
