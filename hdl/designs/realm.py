"""REALM hardware: Mitchell's datapath, a segment LUT from the top fraction bits, and the
MBM-like correction adder before the antilog."""

from amaranth.hdl import Array, Cat, Const

from ..blocks import FractionAdder, LogConverter, index_bits
from .base import DesignMultiplier, Step

__all__ = ["REALMMultiplier"]


class REALMMultiplier(DesignMultiplier):
    """REALM log multiplier (``pymodel.designs.realm.REALM``).

    Untruncated log converters (their top ``segment_bits`` fraction bits select the segment,
    the top ``frac_bits`` go to the adder, the last one set when ``set_one`` applies), a
    combinational ``M x M`` LUT of ``factor_bits``-bit factors read in parallel with the prefix
    fraction adder, the correction adder ``(1.f << carry) + s`` at ``guard_bits`` and a left
    shifter by ``k1 + k2``.  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignMultiplier`.

    The LUT is a ``case`` in the Verilog; yosys's ``proc`` turns it into a ROM, which the
    verification flows map back to logic (:data:`hdl.tools.MAP_MEMORIES`).
    ``_fault="lut_entry"`` flips the last bit of the factor of segment ``(1, 1)``: a deliberate
    bug the verification flows must find.
    """

    DESIGN = "realm"

    def _core_steps(self, m):
        c = self.config
        w, f, g, q, sb = c.width, c.frac_bits, c.guard_bits, c.factor_bits, c.segment_bits
        xw = w - 1                                   # untruncated fraction bits

        def log(m, env):
            out = {}
            for side in "ab":
                lc = LogConverter(width=w, frac_bits=xw)
                m.submodules[f"log_{side}"] = lc
                m.d.comb += lc.v.eq(env[f"m{side}"])
                x = lc.x
                seg = x[xw - sb:] if xw >= sb else Cat(Const(0, sb - xw), x)
                xt = x[xw - f:]
                if c.sets_one:                      # truncating: the last kept bit is set
                    xt = xt | 1
                out.update({f"k{side}": lc.k, f"x{side}": xt, f"i{side}": seg})
            return out

        def add(m, env):
            table = [v for row in c.table for v in row]                      # row-major: index i*M + j
            if self._fault == "lut_entry":      # deliberate bug for the verify self-tests: one factor off by an ulp
                table[c.segments + 1] ^= 1      # segment (1, 1)
            lut = Array([Const(v, q + 1) for v in table])
            s = lut[Cat(env["ib"], env["ia"])]
            fa = FractionAdder(frac_bits=g)
            m.submodules.fraction_adder = fa
            pad = Const(0, g - f)
            m.d.comb += [fa.x1.eq(Cat(pad, env["xa"])), fa.x2.eq(Cat(pad, env["xb"]))]
            mant = Cat(fa.f, Const(1, 1)) << fa.carry                    # (1.f) << carry
            return {"mant": mant + Cat(Const(0, g - q), s), "sh": env["ka"] + env["kb"]}

        def antilog(m, env):
            return {"mag": (env["mant"] << env["sh"])[g:]}

        return [Step("log", 2 * index_bits(w), {"ma", "mb"}, log),
                Step("add", index_bits(g) + 3, {"xa", "xb", "ka", "kb", "ia", "ib"}, add),
                Step("antilog", (2 * w - 1).bit_length(), {"mant", "sh"}, antilog)]
