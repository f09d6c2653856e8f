"""OD hardware: an operand decomposer, two Mitchell multipliers, an adder."""

from pymodel import Mitchell

from ..mitchell import MitchellMultiplier
from .base import DesignMultiplier, Step

__all__ = ["ODMultiplier"]


class ODMultiplier(DesignMultiplier):
    """Operand-decomposition log multiplier (``pymodel.designs.od.OperandDecomposition``).

    ``(a|b)(a&b) + (a&~b)(~a&b)`` with two unsigned combinational Mitchell multipliers.
    Ports, stream interface and latency as :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "od"

    def _core_steps(self, m):
        c = self.config
        w = c.width
        core = Mitchell(width=w, frac_bits=c.frac_bits)

        def decompose(m, env):
            a, b = env["ma"], env["mb"]
            p1 = a ^ b if self._fault == "od_xor" else a | b        # deliberate bug: a ^ b
            return {"p1": p1, "q1": a & b, "p2": a & ~b, "q2": ~a & b}

        def mitchell(m, env):
            out = []
            for i in (1, 2):
                mm = MitchellMultiplier(core)
                m.submodules[f"mitchell{i}"] = mm
                m.d.comb += [mm.a.eq(env[f"p{i}"]), mm.b.eq(env[f"q{i}"])]
                out.append(mm.p)
            return {"m1": out[0], "m2": out[1]}

        def add(m, env):
            return {"mag": (env["m1"] + env["m2"])[:2 * w]}

        return [Step("decompose", 1, {"ma", "mb"}, decompose),
                Step("mitchell", 6 * (w - 1).bit_length() + 4, {"p1", "q1", "p2", "q2"}, mitchell),
                Step("add", (2 * w).bit_length(), {"m1", "m2"}, add)]
