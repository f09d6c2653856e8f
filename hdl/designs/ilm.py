"""ILM hardware: a cascade of basic blocks, each two leading-one detectors and two shifters."""

from amaranth.hdl import Const, Mux

from ..blocks import LeadingOneDetector, index_bits
from .base import DesignMultiplier, Step

__all__ = ["ILMMultiplier"]


class ILMMultiplier(DesignMultiplier):
    """Iterative logarithmic multiplier (``pymodel.designs.ilm.ILM``).

    Block ``i`` takes the residues of block ``i - 1``; each is a step of the pipeline, with
    the running sum carried along.  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "ilm"

    def _core_steps(self, m):
        c = self.config
        w = c.width
        pw = 2 * w

        def block(i):
            def fn(m, env):
                x, y = env[f"x{i}"], env[f"y{i}"]
                lods = []
                for side, v in (("x", x), ("y", y)):
                    lod = LeadingOneDetector(width=w)
                    m.submodules[f"lod{i}_{side}"] = lod
                    m.d.comb += lod.v.eq(v)
                    lods.append(lod)
                k1, k2 = lods[0].k, lods[1].k
                live = ~lods[0].zero & ~lods[1].zero
                r1 = (x ^ (Const(1, w) << k1))[:w]          # clear the leading one
                r2 = (y ^ (Const(1, w) << k2))[:w]
                blk = (Const(1, 1) << (k1 + k2)) + (r1 << k2) + (r2 << k1)
                if self._fault == "last_block" and i == n - 1:     # deliberate bug: the last block adds 0
                    blk = Const(0, 1)
                acc = env[f"acc{i}"] + Mux(live, blk[:pw], 0)
                return {f"acc{i + 1}": acc[:pw], f"x{i + 1}": Mux(live, r1, 0), f"y{i + 1}": Mux(live, r2, 0)}
            return Step(f"block{i}", 3 * index_bits(w) + 2, {f"x{i}", f"y{i}", f"acc{i}"}, fn)

        def start(m, env):
            return {"x0": env["ma"], "y0": env["mb"], "acc0": Const(0, pw)}

        n = c.corrections + 1

        def finish(m, env):
            return {"mag": env[f"acc{n}"]}

        return [Step("start", 0, {"ma", "mb"}, start), *[block(i) for i in range(n)],
                Step("finish", 0, {f"acc{n}"}, finish)]

