"""Mitchell multiplier and divider components, built from one ``pymodel.Mitchell``.

The datapath is a list of steps (sign, log converters, fraction adder,
antilog, output), each with an estimated logic depth.  ``stages=S`` cuts it
into ``S + 1`` parts of balanced depth with registers between them; only the
values a later step reads are registered.
"""

import re

from amaranth.hdl import Cat, Const, Mux, signed, unsigned
from amaranth.lib.wiring import In, Out

from pymodel import Mitchell

from .blocks import Antilog, FractionAdder, LogConverter, checked_init, index_bits
from .staged import MAX_STAGES, StagedUnit, Step

__all__ = ["MitchellMultiplier", "MitchellDivider", "FloatMitchellMultiplier", "create", "MAX_STAGES"]


class _MitchellUnit(StagedUnit):
    _op = None

    @checked_init
    def __init__(self, config, *, stages=0, _fault=None):
        if not isinstance(config, Mitchell):
            raise TypeError(f"config must be a pymodel.Mitchell, got {type(config).__name__}")
        w, s = config.width, config.signed
        self.config = config
        ports = {"a": In(signed(w) if s else unsigned(w)), "b": In(signed(w) if s else unsigned(w))}
        ports.update(self._outputs())
        self._init_staged(config, ports, stages, _fault)

    @property
    def default_name(self):
        c = self.config
        name = f"mitchell_{self._op}_{'s' if c.signed else 'u'}{c.width}_f{c.frac_bits}"
        if self._op == "div":
            name += f"_q{c.quotient_frac_bits}"
        return name + f"_p{self.stages}"

    def _out_shape(self, bits):
        return signed(bits) if self.config.signed else unsigned(bits)

    # -- steps shared by both operators ---------------------------------------
    def _common_steps(self, m):
        c = self.config
        w, lw = c.width, index_bits(c.width)

        def sign(m, env):
            if not c.signed:
                return {"ma": env["a"], "mb": env["b"], "neg": Const(0, 1), "a_neg": Const(0, 1)}
            a, b = env["a"], env["b"]
            return {"ma": abs(a), "mb": abs(b), "neg": a[-1] ^ b[-1], "a_neg": a[-1]}

        def log(m, env):
            out = {}
            for side in "ab":
                lc = LogConverter(width=w, frac_bits=c.frac_bits)
                m.submodules[f"log_{side}"] = lc
                m.d.comb += lc.v.eq(env[f"m{side}"])
                out.update({f"k{side}": lc.k, f"x{side}": lc.x, f"z{side}": lc.zero})
            return out

        return [Step("sign", lw if c.signed else 0, {"a", "b"}, sign),
                Step("log", 2 * lw, {"ma", "mb"}, log)]


class MitchellMultiplier(_MitchellUnit):
    """Mitchell's logarithmic multiplier.

    Parameters
    ----------
    config : pymodel.Mitchell
        Width, log-fraction truncation and signedness (the same object as the model's).
    stages : int
        Pipeline registers, 0..8.  0 is combinational.  ``S > 0`` splits the
        datapath into ``S + 1`` parts of balanced depth (past its five steps the
        extra registers sit at the output) and adds a valid/ready stream interface.

    Attributes
    ----------
    a, b : Signal(width), in
        Operands (two's complement when ``config.signed``).
    p : Signal(2 * width), out
        Product, bit-identical to ``config.mul(a, b)``.
    i_valid : Signal(1), in
        With ``stages > 0``: ``a`` and ``b`` hold an operand pair.
    i_ready : Signal(1), out
        With ``stages > 0``: the pair is accepted on a clock edge with ``i_valid & i_ready``.
    o_valid : Signal(1), out
        With ``stages > 0``: ``p`` holds a result; it and ``p`` stay until ``o_ready``.
    o_ready : Signal(1), in
        With ``stages > 0``: the consumer takes ``p`` on a clock edge with ``o_valid & o_ready``.
    latency : int
        ``stages`` clock cycles from an accepted pair to its result when
        ``o_ready`` is held high; one result per cycle.  Combinational when 0.
    """

    _op = "mul"

    def _outputs(self):
        return {"p": Out(self._out_shape(2 * self.config.width))}

    def _output_names(self):
        return ["p"]

    def _steps(self, m):
        c = self.config
        w, f, lw = c.width, c.frac_bits, index_bits(c.width)
        pw = 2 * w
        shift_bits = (2 * w - 1).bit_length()

        def add(m, env):
            fa = FractionAdder(frac_bits=f)
            m.submodules.fraction_adder = fa
            m.d.comb += [fa.x1.eq(env["xa"]), fa.x2.eq(env["xb"])]
            # The carry goes to the antilog's data, not into its shift amount (off the critical path).
            return {"f": fa.f, "carry": fa.carry, "sh": env["ka"] + env["kb"], "zero": env["za"] | env["zb"]}

        def antilog(m, env):
            al = Antilog(frac_bits=f, shift_bits=shift_bits, offset=0, out_width=pw, _fault=self._fault)
            m.submodules.antilog = al
            m.d.comb += [al.sh.eq(env["sh"]), al.carry.eq(env["carry"]), al.f.eq(env["f"])]
            return {"mag": al.value}

        def out(m, env):
            mag = Mux(env["zero"], 0, env["mag"])
            if not c.signed:
                return {"p": mag}
            return {"p": Mux(env["neg"], -mag, mag)}

        return self._common_steps(m) + [
            Step("add", lw + 1, {"xa", "xb", "ka", "kb", "za", "zb"}, add),
            Step("antilog", shift_bits, {"f", "carry", "sh"}, antilog),
            Step("out", index_bits(pw) if c.signed else 1, {"mag", "zero", "neg"}, out),
        ]


def quotient_out(env, mag, mag_w, signed):
    """A divider's output step: the quotient ``q`` from its ``mag_w``-bit magnitude, and ``dbz``; for
    ``b == 0`` (``env["zb"]``) all ones in the magnitude bits with the dividend's sign (``env["a_neg"]``)."""
    ones = Const((1 << mag_w) - 1, mag_w)
    if not signed:
        return {"q": Mux(env["zb"], ones, mag), "dbz": env["zb"]}
    sat = Mux(env["a_neg"], Cat(Const(0, mag_w), Const(1, 1)), Cat(ones, Const(0, 1)))
    return {"q": Mux(env["zb"], sat, Mux(env["neg"], -mag, mag)), "dbz": env["zb"]}


class MitchellDivider(_MitchellUnit):
    """Mitchell's logarithmic divider with a fixed-point quotient.

    Parameters
    ----------
    config : pymodel.Mitchell
        Width, log-fraction truncation, signedness and ``quotient_frac_bits``.
    stages : int
        Pipeline registers, 0..8, as for :class:`MitchellMultiplier`.

    Attributes
    ----------
    a, b : Signal(width), in
        Dividend and divisor (two's complement when ``config.signed``).
    q : Signal(width + quotient_frac_bits + signed), out
        ``config.div(a, b)``: ``floor(Q * 2**quotient_frac_bits)`` of the magnitude,
        with the sign applied after.  For ``b == 0``, the saturated value of
        ``config.div(a, 0, on_zero="saturate")``: all ones in the magnitude bits
        with the dividend's sign.
    dbz : Signal(1), out
        Division by zero (``b == 0``).
    i_valid, i_ready, o_valid, o_ready : Signal(1)
        Stream handshake when ``stages > 0``, as for :class:`MitchellMultiplier`.
    latency : int
        ``stages`` clock cycles, one result per cycle; combinational when 0.
    """

    _op = "div"

    def _outputs(self):
        return {"q": Out(self._out_shape(self.config.quotient_width)), "dbz": Out(1)}

    def _output_names(self):
        return ["q", "dbz"]

    def _steps(self, m):
        c = self.config
        w, f, qf, lw = c.width, c.frac_bits, c.quotient_frac_bits, index_bits(c.width)
        mag_w = w + qf
        shift_bits = (2 * w - 1).bit_length()

        def sub(m, env):
            fs = FractionAdder(frac_bits=f, subtract=True)
            m.submodules.fraction_subtractor = fs
            m.d.comb += [fs.x1.eq(env["xa"]), fs.x2.eq(env["xb"])]
            borrow = Const(0, 1) if self._fault == "no_borrow" else fs.carry
            # exponent k1 - k2 - borrow + width, kept unsigned: k1 + (width-1-k2) + (1-borrow);
            # the borrow goes to the antilog's data, not into its shift amount
            sh = env["ka"] + (Const(w - 1, lw) - env["kb"])[:lw]
            return {"f": fs.f, "carry": ~borrow, "sh": sh}

        def antilog(m, env):
            al = Antilog(frac_bits=f, shift_bits=shift_bits, offset=qf - w, out_width=mag_w,
                         _fault=self._fault)
            m.submodules.antilog = al
            m.d.comb += [al.sh.eq(env["sh"]), al.carry.eq(env["carry"]), al.f.eq(env["f"])]
            return {"mag": al.value}

        def out(m, env):
            return quotient_out(env, Mux(env["za"], 0, env["mag"]), mag_w, c.signed)

        return self._common_steps(m) + [
            Step("sub", lw + 1, {"xa", "xb", "ka", "kb"}, sub),
            Step("antilog", shift_bits, {"f", "carry", "sh"}, antilog),
            Step("out", index_bits(mag_w) if c.signed else 1, {"mag", "za", "zb", "neg", "a_neg"}, out),
        ]


class FloatMitchellMultiplier(StagedUnit):
    """Float Mitchell multiplier: ``bits(|a|) + bits(|b|) - bits(1.0)`` with IEEE special cases.

    Parameters
    ----------
    config : pymodel.FloatMitchell
        The format (``fp32``, ``fp16``, ``bf16``); the same object as the model's.
    stages : int
        Pipeline registers, 0..8, as for :class:`MitchellMultiplier`.

    Attributes
    ----------
    a, b : Signal(width), in
        IEEE bit patterns.
    p : Signal(width), out
        ``config.mul_bits(a, b)``: subnormal inputs are zeros, underflow flushes to a
        signed zero, overflow gives a signed infinity, NaN in (or inf x 0) gives the
        canonical quiet NaN.
    i_valid, i_ready, o_valid, o_ready : Signal(1)
        Stream handshake when ``stages > 0``.
    latency : int
        ``stages`` clock cycles, one result per cycle; combinational when 0.
    """

    @checked_init
    def __init__(self, config, *, stages=0, _fault=None):
        from pymodel import FloatMitchell
        if not isinstance(config, FloatMitchell):
            raise TypeError(f"config must be a pymodel.FloatMitchell, got {type(config).__name__}")
        w = config.width
        self._init_staged(config, {"a": In(w), "b": In(w), "p": Out(w)}, stages, _fault)

    @property
    def default_name(self):
        return f"float_mitchell_{self.config.fmt}_p{self.stages}"

    def _output_names(self):
        return ["p"]

    def _steps(self, m):
        c = self.config
        w, mb = c.width, c.mant_bits

        def classify(m, env):
            out = {"sign": env["a"][w - 1] ^ env["b"][w - 1]}
            for side in "ab":
                mag = env[side][:w - 1]
                exp, man = mag[mb:], mag[:mb]
                all_ones = exp == c.exp_max
                out.update({f"m{side}": mag, f"nan_{side}": all_ones & (man != 0),
                            f"inf_{side}": all_ones & (man == 0), f"zero_{side}": exp == 0})
            return out

        def add(m, env):
            t = env["ma"] + env["mb"]                      # w bits: the log add
            low, high = c.one + (1 << mb), c.one + c.inf   # bounds of the normal range, as t
            mag = (t - c.one)[:w - 1]
            return {"mag": mag, "under": t < low, "over": t >= high}

        def out(m, env):
            s = env["sign"]
            zero = Cat(Const(0, w - 1), s)
            inf = Cat(Const(c.inf, w - 1), s)
            nan = (env["nan_a"] | env["nan_b"] | (env["inf_a"] & env["zero_b"]) | (env["zero_a"] & env["inf_b"]))
            res = Mux(env["under"], zero, Mux(env["over"], inf, Cat(env["mag"], s)))
            res = Mux(env["zero_a"] | env["zero_b"], zero, res)
            res = Mux(env["inf_a"] | env["inf_b"], inf, res)
            if self._fault == "antilog_lsb":      # deliberate bug for bench self-tests
                res = res ^ 1
            return {"p": Mux(nan, Const(c.qnan, w), res)}

        return [Step("classify", 3, {"a", "b"}, classify),
                Step("add", index_bits(w) + 2, {"ma", "mb"}, add),
                Step("out", 4, {"sign", "mag", "under", "over", "nan_a", "nan_b", "inf_a", "inf_b",
                                 "zero_a", "zero_b"}, out)]


def create(config, op, *, stages=0, _fault=None):
    """The component for ``op`` of ``config``: any registered design (``"mul"``, ``"div"`` as the
    design has them, resolved through its ``HARDWARE``), or ``"fmul"`` with a FloatMitchell."""
    import importlib

    from pymodel import FloatMitchell
    from pymodel.designs.base import Design
    if op == "fmul" or isinstance(config, FloatMitchell):
        if op != "fmul" or not isinstance(config, FloatMitchell):
            raise ValueError(f"op 'fmul' takes a pymodel.FloatMitchell and a FloatMitchell only op 'fmul', "
                             f"got op {op!r} with {type(config).__name__}")
        return FloatMitchellMultiplier(config, stages=stages, _fault=_fault)
    if not isinstance(config, Design):
        raise TypeError(f"config must be a design config (pymodel.registry) or FloatMitchell, "
                        f"got {type(config).__name__}")
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul', 'div' or 'fmul', got {op!r}")
    if op not in config.HARDWARE:
        raise ValueError(f"design {config.NAME!r} has no {op!r} hardware (it has {', '.join(config.HARDWARE)})")
    module, cls = config.HARDWARE[op].split(":")
    return getattr(importlib.import_module(module), cls)(config, stages=stages, _fault=_fault)


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_module_name(name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"name must be a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*), got {name!r}")
    return name
