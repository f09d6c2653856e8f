"""Bias-corrected Mitchell divider hardware (after INZeD): Mitchell's divider with a constant
subtractor between the fraction subtractor and the antilog."""

from amaranth.hdl import Cat, Const

from pymodel.designs.inzed import correction

from ..blocks import FractionAdder, index_bits
from .base import DesignDivider, Step, log_step

__all__ = ["INZeDDivider"]


class INZeDDivider(DesignDivider):
    """Bias-corrected log divider (``pymodel.designs.inzed.INZeD``).

    Log converters, a prefix fraction subtractor at ``guard_bits`` whose borrow lowers the
    exponent, the constant subtractor ``1.f - c`` (never negative: ``c < 1``) and a
    shifter by ``k1 - k2 - borrow`` (kept unsigned as ``k1 + (width-1-k2) + (1-borrow)``,
    the offset folded into a constant slice).  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignDivider`.
    """

    DESIGN = "inzed"

    def _core_steps(self, m):
        c = self.config
        w, f, g, qf = c.width, c.frac_bits, c.guard_bits, c.quotient_frac_bits
        lw = index_bits(w)
        cg = correction(c.c_bits) << (g - c.c_bits)

        def sub(m, env):
            fs = FractionAdder(frac_bits=g, subtract=True)
            m.submodules.fraction_subtractor = fs
            pad = Const(0, g - f)
            m.d.comb += [fs.x1.eq(Cat(pad, env["xa"])), fs.x2.eq(Cat(pad, env["xb"]))]
            borrow = Const(0, 1) if self._fault == "no_borrow" else fs.carry
            mant = (Cat(fs.f, Const(1, 1)) - cg)[:g + 1]               # 1.f - c > 0
            sh = env["ka"] + (Const(w - 1, lw) - env["kb"])[:lw] + ~borrow
            return {"mant": mant, "sh": sh}

        def antilog(m, env):
            # value = mant * 2^(sh - w + qf - g): a left shift, then a constant slice
            t = env["mant"] << env["sh"]
            drop = w + g - qf
            return {"mag": t[drop:] if drop >= 0 else Cat(Const(0, -drop), t)}

        return [log_step(w, f),
                Step("sub", index_bits(g) + 3, {"xa", "xb", "ka", "kb"}, sub),
                Step("antilog", (2 * w).bit_length(), {"mant", "sh"}, antilog)]
