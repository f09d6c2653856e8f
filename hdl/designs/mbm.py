"""MBM hardware: Mitchell's datapath with a constant correction adder before the antilog."""

from amaranth.hdl import Cat, Const, Mux

from pymodel.designs.mbm import correction

from ..blocks import FractionAdder, index_bits
from .base import DesignMultiplier, Step, log_step

__all__ = ["MBMMultiplier"]


class MBMMultiplier(DesignMultiplier):
    """Minimally biased log multiplier (``pymodel.designs.mbm.MBM``).

    Log converters, a prefix fraction adder at ``guard_bits``, the correction adder
    ``(1.f << carry) + c`` and a left shifter by ``k1 + k2``.  Ports, stream interface and
    latency as :class:`hdl.designs.base.DesignMultiplier`.  ``_fault="no_correction"`` drops ``c``
    after a carry (a deliberate bug for the proofs' self-test).
    """

    DESIGN = "mbm"

    def _core_steps(self, m):
        c = self.config
        w, f, g = c.width, c.frac_bits, c.guard_bits
        cg = correction(c.c_bits) << (g - c.c_bits)

        def add(m, env):
            fa = FractionAdder(frac_bits=g)
            m.submodules.fraction_adder = fa
            pad = Const(0, g - f)
            m.d.comb += [fa.x1.eq(Cat(pad, env["xa"])), fa.x2.eq(Cat(pad, env["xb"]))]
            one_f = Cat(fa.f, Const(1, 1))                               # 1.f
            mant = one_f << fa.carry                                      # (1.f) << carry
            corr = Mux(fa.carry, 0, cg) if self._fault == "no_correction" else cg   # deliberate bug
            return {"mant": mant + corr, "sh": env["ka"] + env["kb"]}

        def antilog(m, env):
            return {"mag": (env["mant"] << env["sh"])[g:]}

        return [log_step(w, f),
                Step("add", index_bits(g) + 3, {"xa", "xb", "ka", "kb"}, add),
                Step("antilog", (2 * w - 1).bit_length(), {"mant", "sh"}, antilog)]
