"""Nearest-one (ImpLM) hardware: two nearest-one detectors, two residue shifters, one adder."""

from amaranth.hdl import Cat, Const

from ..blocks import LeadingOneDetector, index_bits
from .base import DesignMultiplier, Step

__all__ = ["NearestOneMultiplier"]


class NearestOneMultiplier(DesignMultiplier):
    """Nearest-one log multiplier (``pymodel.designs.nearestone.NearestOne``).

    Each nearest-one detector is a leading-one detector plus the bit right below the
    leading one (read through a shifter), which rounds ``n`` up; the residue
    ``q = v - 2^n`` is signed and one bit wider than the operand (``n`` reaches
    ``width``).  The product ``2^(n1+n2) + q1 2^n2 + q2 2^n1`` is summed modulo
    ``2^(2*width)``, where it always fits.  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "nearest-one"

    def _core_steps(self, m):
        w = self.config.width
        pw = 2 * w

        def nod(m, env):
            out = {}
            for side in "ab":
                v = env[f"m{side}"]
                lod = LeadingOneDetector(width=w)
                m.submodules[f"nod_{side}"] = lod
                m.d.comb += lod.v.eq(v)
                up = (Cat(Const(0, 1), v) >> lod.k)[0]          # bit k-1 of v (0 when k == 0)
                if self._fault == "tie_down":                # deliberate bug: 3 * 2^(k-1) rounds down
                    up = up & (Cat(Const(0, 1), v) != (Const(3, 2) << lod.k))
                n = lod.k + up
                q = (Cat(v, Const(0, 2)) - (Const(1, 1) << n))[:w + 2].as_signed()
                out.update({f"n{side}": n, f"q{side}": q})
            return out

        def add(m, env):
            na, nb = env["na"], env["nb"]
            total = (Const(1, 1) << (na + nb)) + (env["qa"] << nb) + (env["qb"] << na)
            return {"mag": total[:pw]}

        return [Step("nod", 2 * index_bits(w) + 1, {"ma", "mb"}, nod),
                Step("add", (pw - 1).bit_length() + index_bits(pw) + 1, {"na", "nb", "qa", "qb"}, add)]
