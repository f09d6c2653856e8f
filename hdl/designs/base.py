"""The hardware shape every multiplier of the design family shares.

A design's hardware file subclasses :class:`DesignMultiplier` (or :class:`DesignDivider`)
and lists its core steps:
from the operand magnitudes ``ma``, ``mb`` (unsigned, ``width`` bits) to an unsigned
magnitude ``mag`` of any width.  The base wraps them in the sign step (sign-magnitude
around the core, two's complement on the ports) and the output step (saturation to
``2*width`` bits, zero operands, negation), and gives the stream interface, the pipeline
cuts and ``latency`` through :class:`hdl.staged.StagedUnit`.
"""

from amaranth.hdl import Const, Mux, signed, unsigned
from amaranth.lib.wiring import In, Out

from pymodel.designs.base import Design

from ..blocks import LogConverter, checked_init, index_bits
from ..mitchell import quotient_out
from ..staged import StagedUnit, Step

__all__ = ["DesignMultiplier", "DesignDivider", "Step", "log_step"]


def log_step(width, frac_bits):
    """The two log converters as a step: ``ma``, ``mb`` to ``ka``, ``xa``, ``za`` and ``kb``, ``xb``, ``zb``."""
    def log(m, env):
        out = {}
        for side in "ab":
            lc = LogConverter(width=width, frac_bits=frac_bits)
            m.submodules[f"log_{side}"] = lc
            m.d.comb += lc.v.eq(env[f"m{side}"])
            out.update({f"k{side}": lc.k, f"x{side}": lc.x, f"z{side}": lc.zero})
        return out
    return Step("log", 2 * index_bits(width), {"ma", "mb"}, log)


class DesignMultiplier(StagedUnit):
    """A multiplier of the design family (subclasses give ``_core_steps``).

    Parameters
    ----------
    config : pymodel design config
        The same object as the model's (``pymodel.registry.make_design``).
    stages : int
        Pipeline registers, 0..8.  0 is combinational; ``S > 0`` cuts the datapath into
        ``S + 1`` parts of balanced estimated depth and adds a valid/ready stream.

    Attributes
    ----------
    a, b : Signal(width), in
        Operands (two's complement when ``config.signed``).
    p : Signal(2 * width), out
        Product, bit-identical to ``config.mul(a, b)``.
    i_valid, i_ready, o_valid, o_ready : Signal(1)
        With ``stages > 0``: the stream handshake (a pair is taken on ``i_valid & i_ready``,
        a result on ``o_valid & o_ready``; payloads hold while valid and not ready).
    latency : int
        ``stages`` clock cycles from an accepted pair to its product, one per cycle.
    """

    @checked_init
    def __init__(self, config, *, stages=0, _fault=None):
        if not isinstance(config, Design) or config.NAME != self.DESIGN:
            raise TypeError(f"config must be a {self.DESIGN!r} design config, got {config!r}")
        w = config.width
        op_shape = signed(w) if config.signed else unsigned(w)
        ports = {"a": In(op_shape), "b": In(op_shape),
                 "p": Out(signed(2 * w) if config.signed else unsigned(2 * w))}
        self._init_staged(config, ports, stages, _fault)

    @property
    def default_name(self):
        return self.config.module_name("mul", self.stages)

    def _output_names(self):
        return ["p"]

    def _core_steps(self, m):
        raise NotImplementedError

    def _steps(self, m):
        c = self.config
        w = c.width
        pw = 2 * w

        def sign(m, env):
            if not c.signed:
                return {"ma": env["a"], "mb": env["b"], "neg": Const(0, 1),
                        "zero": (env["a"] == 0) | (env["b"] == 0)}
            a, b = env["a"], env["b"]
            return {"ma": abs(a), "mb": abs(b), "neg": a[-1] ^ b[-1], "zero": (a == 0) | (b == 0)}

        def out(m, env):
            mag = env["mag"]
            if (1 << len(mag)) - 1 > c.product_max:    # an overestimate saturates, never wraps
                mag = Mux(mag > c.product_max, c.product_max, mag)[:pw]
            mag = Mux(env["zero"], 0, mag)
            if self._fault == "antilog_lsb":          # deliberate bug for bench self-tests
                mag = mag ^ 1
            return {"p": Mux(env["neg"], -mag, mag) if c.signed else mag}

        core = self._core_steps(m)
        return [Step("sign", index_bits(w) if c.signed else 1, {"a", "b"}, sign), *core,
                Step("out", index_bits(pw) + 1, {"mag", "zero", "neg"}, out)]


class DesignDivider(StagedUnit):
    """A divider of the design family (subclasses give ``_core_steps``).

    The core steps go from the magnitudes ``ma``, ``mb`` (``b != 0``) to an unsigned quotient
    magnitude ``mag`` of any width; the base adds the sign step, saturation to
    ``width + quotient_frac_bits`` bits, the zero dividend, the sign, and ``b == 0`` as
    :class:`hdl.MitchellDivider` does.

    Parameters
    ----------
    config : pymodel design config with ``"div"`` in its ``OPS``
        The same object as the model's (``pymodel.registry.make_design``).
    stages : int
        Pipeline registers, 0..8, as for :class:`DesignMultiplier`.

    Attributes
    ----------
    a, b : Signal(width), in
        Dividend and divisor (two's complement when ``config.signed``).
    q : Signal(width + quotient_frac_bits + signed), out
        ``config.div(a, b)``; for ``b == 0`` the saturated value of
        ``config.div(a, 0, on_zero="saturate")`` (all ones in the magnitude bits with the
        dividend's sign).
    dbz : Signal(1), out
        Division by zero (``b == 0``).
    i_valid, i_ready, o_valid, o_ready : Signal(1)
        With ``stages > 0``: the stream handshake, as for :class:`DesignMultiplier`.
    latency : int
        ``stages`` clock cycles, one result per cycle; combinational when 0.
    """

    @checked_init
    def __init__(self, config, *, stages=0, _fault=None):
        if not isinstance(config, Design) or config.NAME != self.DESIGN or "div" not in config.OPS:
            raise TypeError(f"config must be a {self.DESIGN!r} divider config, got {config!r}")
        w = config.width
        op_shape = signed(w) if config.signed else unsigned(w)
        qw = config.quotient_width
        ports = {"a": In(op_shape), "b": In(op_shape),
                 "q": Out(signed(qw) if config.signed else unsigned(qw)), "dbz": Out(1)}
        self._init_staged(config, ports, stages, _fault)

    @property
    def default_name(self):
        return self.config.module_name("div", self.stages)

    def _output_names(self):
        return ["q", "dbz"]

    def _core_steps(self, m):
        raise NotImplementedError

    def _steps(self, m):
        c = self.config
        w = c.width
        mag_w = w + c.quotient_frac_bits

        def sign(m, env):
            a, b = env["a"], env["b"]
            if not c.signed:
                return {"ma": a, "mb": b, "neg": Const(0, 1), "a_neg": Const(0, 1), "za": a == 0, "zb": b == 0}
            return {"ma": abs(a), "mb": abs(b), "neg": a[-1] ^ b[-1], "a_neg": a[-1], "za": a == 0, "zb": b == 0}

        def out(m, env):
            mag = env["mag"]
            top = (1 << mag_w) - 1
            if len(mag) > mag_w:      # never wrap: saturate as the model does
                mag = Mux(mag > top, top, mag)[:mag_w]
            mag = Mux(env["za"], 0, mag)
            if self._fault == "antilog_lsb":          # deliberate bug for bench self-tests
                mag = mag ^ 1
            return quotient_out(env, mag, mag_w, c.signed)

        core = self._core_steps(m)
        return [Step("sign", index_bits(w) if c.signed else 1, {"a", "b"}, sign), *core,
                Step("out", index_bits(mag_w) + 1, {"mag", "za", "zb", "neg", "a_neg"}, out)]
