"""The Mitchell datapath blocks, one Amaranth component per hardware function.

Each block matches one function of :mod:`pymodel.reference` and is tested
against it on its own, so a mismatch is localised to a block.
"""

import functools

from amaranth.hdl import Cat, Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LeadingOneDetector", "LogConverter", "FractionAdder", "Antilog", "index_bits"]


def checked_init(init):
    """For a component ``__init__`` that checks its parameters: a component whose
    constructor raised was never meant to be used, so Amaranth must not later warn
    that it was "created but never used" (the user already has the clear error)."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except Exception:
            self._MustUse__silence = True
            raise
    return wrapper


def index_bits(n):
    """Bits needed to index ``n`` positions (at least 1)."""
    return max(1, (n - 1).bit_length())


def _check_pos_int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo}.." + ("" if hi is None else str(hi))
        raise ValueError(f"{name} must be in {rng}, got {value}")


def prefix_add(a, b, cin):
    """``(sum, carry_out)`` of ``a + b + cin`` as a Sklansky parallel-prefix adder.

    log2(n) levels of generate/propagate merges; yosys would map ``+`` to a ripple
    carry chain, which on the fraction adder is the multiplier's critical path.
    """
    n = len(a)
    g = [a[i] & b[i] for i in range(n)]
    p = [a[i] ^ b[i] for i in range(n)]
    G, P = list(g), list(p)
    G[0] = g[0] | (p[0] & cin)          # fold the carry in at bit 0
    d = 1
    while d < n:
        for i in range(n):
            if (i // d) % 2 == 1:
                j = (i // (2 * d)) * 2 * d + d - 1
                G[i] = G[i] | (P[i] & G[j])
                P[i] = P[i] & P[j]
        d *= 2
    carries = [cin] + G[:-1]
    return Cat(*[p[i] ^ carries[i] for i in range(n)]), G[n - 1]


def _lod_tree(bits):
    """(any one, position of the leading one) of a power-of-two-long bit list; log depth."""
    if len(bits) == 2:
        return bits[1] | bits[0], bits[1]
    half = len(bits) // 2
    v_hi, p_hi = _lod_tree(bits[half:])
    v_lo, p_lo = _lod_tree(bits[:half])
    return v_hi | v_lo, Cat(Mux(v_hi, p_hi, p_lo), v_hi)


class LeadingOneDetector(wiring.Component):
    """Leading-one detector: a log-depth tree of 2:1 muxes (not a priority chain).

    Parameters
    ----------
    width : int
        Input width, 2..64.

    Attributes
    ----------
    v : Signal(width), in
        The input.
    k : Signal(index_bits(width)), out
        Position of the most significant set bit (0 when ``v`` is 0).
    zero : Signal(1), out
        ``v == 0``.

    Combinational (no latency).
    """

    @checked_init
    def __init__(self, *, width):
        _check_pos_int("width", width, 2, 64)
        self.width = width
        super().__init__({"v": In(width), "k": Out(index_bits(width)), "zero": Out(1)})

    def elaborate(self, platform):
        m = Module()
        n = 1 << index_bits(self.width)
        bits = [self.v[i] for i in range(self.width)] + [Const(0, 1)] * (n - self.width)
        any_one, pos = _lod_tree(bits)
        m.d.comb += [self.k.eq(pos), self.zero.eq(~any_one)]
        return m


class LogConverter(wiring.Component):
    """Log converter: ``v = 2**k (1 + x)`` to ``k`` and the fraction ``x`` truncated to ``frac_bits``.

    A leading-one detector drives a normalising left shifter that puts the
    leading one at bit ``width - 1``; the ``frac_bits`` bits below it are ``x``.

    Parameters
    ----------
    width : int
        Input width, 2..64.
    frac_bits : int
        Fraction bits kept, 0..width-1.

    Attributes
    ----------
    v : Signal(width), in
    k : Signal(index_bits(width)), out
        Integer part of ``log2(v)``.
    x : Signal(frac_bits), out
        Truncated fraction, ``floor(x * 2**frac_bits)``.
    zero : Signal(1), out
        ``v == 0`` (``k`` and ``x`` are then meaningless).

    Combinational (no latency).
    """

    @checked_init
    def __init__(self, *, width, frac_bits):
        _check_pos_int("width", width, 2, 64)
        _check_pos_int("frac_bits", frac_bits, 0, width - 1)
        self.width, self.frac_bits = width, frac_bits
        kb = index_bits(width)
        super().__init__({"v": In(width), "k": Out(kb), "x": Out(frac_bits), "zero": Out(1)})

    def elaborate(self, platform):
        m = Module()
        w, f = self.width, self.frac_bits
        m.submodules.lod = lod = LeadingOneDetector(width=w)
        kb = len(self.k)
        shamt = (Const(w - 1, kb) - lod.k)[:kb]          # w-1 >= k: never negative
        normalised = (self.v << shamt)[:w]                # leading one now at bit w-1
        m.d.comb += [lod.v.eq(self.v), self.k.eq(lod.k), self.zero.eq(lod.zero)]
        if f:
            m.d.comb += self.x.eq(normalised[w - 1 - f:w - 1])
        return m


class FractionAdder(wiring.Component):
    """Fraction adder (multiplier) or subtractor (divider) of two log fractions:
    a Sklansky parallel-prefix adder (log depth).

    Parameters
    ----------
    frac_bits : int
        Fraction width, 0..63.
    subtract : bool
        ``False``: ``f = x1 + x2 mod 1`` and ``carry``; ``True``: ``f = x1 - x2 mod 1``
        and ``carry`` is the borrow.

    Attributes
    ----------
    x1, x2 : Signal(frac_bits), in
    f : Signal(frac_bits), out
    carry : Signal(1), out
        Carry out of the add, or borrow of the subtract.

    Combinational (no latency).
    """

    @checked_init
    def __init__(self, *, frac_bits, subtract=False):
        _check_pos_int("frac_bits", frac_bits, 0, 63)
        self.frac_bits, self.subtract = frac_bits, bool(subtract)
        super().__init__({"x1": In(frac_bits), "x2": In(frac_bits), "f": Out(frac_bits), "carry": Out(1)})

    def elaborate(self, platform):
        m = Module()
        f = self.frac_bits
        if f == 0:
            return m
        if self.subtract:      # x1 - x2 = x1 + ~x2 + 1; no carry out means a borrow
            total, cout = prefix_add(self.x1, ~self.x2, Const(1, 1))
            m.d.comb += [self.f.eq(total), self.carry.eq(~cout)]
        else:
            total, cout = prefix_add(self.x1, self.x2, Const(0, 1))
            m.d.comb += [self.f.eq(total), self.carry.eq(cout)]
        return m


class Antilog(wiring.Component):
    """Antilog: ``floor(2**(sh + carry + offset) * (1 + f / 2**frac_bits))``, a left shifter.

    The shift amount ``sh`` is ready early (it is a sum of leading-one positions); the
    fraction adder's late ``carry`` only selects the shifter's data, ``(1.f) << carry``,
    rather than steering every shifter level.  ``offset`` (a constant, possibly
    negative) is the exponent of ``sh == carry == 0``, so no signed logic is needed.

    Parameters
    ----------
    frac_bits : int
        Fraction width, 0..63.
    shift_bits : int
        Width of ``sh``.
    offset : int
        Exponent of ``sh == carry == 0``.
    out_width : int
        Width of the result; callers guarantee it holds every value.

    Attributes
    ----------
    sh : Signal(shift_bits), in
    carry : Signal(1), in
    f : Signal(frac_bits), in
    value : Signal(out_width), out

    Combinational (no latency).
    """

    @checked_init
    def __init__(self, *, frac_bits, shift_bits, offset, out_width, _fault=None):
        _check_pos_int("frac_bits", frac_bits, 0, 63)
        _check_pos_int("shift_bits", shift_bits, 1, 8)
        _check_pos_int("out_width", out_width, 1)
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"offset must be an int, got {offset!r}")
        self.frac_bits, self.offset, self._fault = frac_bits, offset, _fault
        super().__init__({"sh": In(shift_bits), "carry": In(1), "f": In(frac_bits), "value": Out(out_width)})

    def elaborate(self, platform):
        m = Module()
        one_f = Cat(self.f, Const(1, 1))                              # 1.f
        mant = Mux(self.carry, Cat(Const(0, 1), one_f), one_f)       # (1.f) << carry
        t = mant << self.sh
        drop = self.frac_bits - self.offset              # constant right shift
        if drop >= 0:
            res = t[drop:] if drop < len(t) else Const(0, 1)
        else:
            res = Cat(Const(0, -drop), t)
        if self._fault == "antilog_lsb":                 # deliberate bug for bench self-tests
            res = res ^ 1
        m.d.comb += self.value.eq(res)
        return m
