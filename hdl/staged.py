"""A datapath given as steps, cut into balanced pipeline stages with a valid/ready stream.

Every unit of every design is built on :class:`StagedUnit`: it lists its steps (each with an
estimated logic depth and the values it reads), and ``stages=S`` cuts them into ``S + 1``
parts of balanced depth with registers between them; only the values a later step reads are
registered.
"""

import itertools

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Step", "StagedUnit", "balanced_cuts", "MAX_STAGES", "FAULTS"]

MAX_STAGES = 8
FAULTS = (None, "antilog_lsb", "no_borrow", "drop_beat", "no_compensation", "lut_entry",
          "no_correction", "no_set_one", "no_soa_carry", "tie_down", "last_block", "od_xor")


class Step:
    def __init__(self, name, depth, needs, fn):
        self.name, self.depth, self.needs, self.fn = name, depth, needs, fn


def balanced_cuts(depths, stages):
    """Cut positions (after step i) splitting ``depths`` into balanced parts.

    With more stages than step boundaries, the extra registers go at the output.
    """
    n_in = min(stages, len(depths) - 1)
    best = None
    for cuts in itertools.combinations(range(len(depths) - 1), n_in):
        bounds = [0, *[c + 1 for c in cuts], len(depths)]
        worst = max(sum(depths[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1))
        if best is None or worst < best[0]:
            best = (worst, cuts)
    return list(best[1]), stages - n_in


class StagedUnit(wiring.Component):
    """A datapath given as steps (``_steps``), cut into ``stages + 1`` balanced parts.

    Subclasses give the data ports, ``_steps(m)``, ``_output_names()`` and ``default_name``.
    With ``stages > 0`` the unit gets a valid/ready handshake (``i_valid``, ``i_ready``,
    ``o_valid``, ``o_ready``) and ``latency == stages``.
    """

    def _init_staged(self, config, ports, stages, _fault):
        if isinstance(stages, bool) or not isinstance(stages, int):
            raise TypeError(f"stages must be an int in 0..{MAX_STAGES}, got {stages!r}")
        if not 0 <= stages <= MAX_STAGES:
            raise ValueError(f"stages must be in 0..{MAX_STAGES}, got {stages}")
        if _fault not in FAULTS:
            raise ValueError(f"_fault must be one of {FAULTS}, got {_fault!r}")
        self.config, self.stages, self._fault = config, stages, _fault
        if stages:
            ports.update({"i_valid": In(1), "i_ready": Out(1), "o_valid": Out(1), "o_ready": In(1)})
        super().__init__(ports)

    @property
    def latency(self):
        """Cycles from an accepted input to its result with no backpressure (= ``stages``)."""
        return self.stages

    def elaborate(self, platform):
        m = Module()
        steps = self._steps(m)
        env = {"a": self.a, "b": self.b}
        cuts, extra = balanced_cuts([s.depth for s in steps], self.stages)
        outputs = self._output_names()
        valid = self.i_valid if self.stages else None
        if self.stages:
            # One global enable: the pipeline moves when its last stage is empty or read.
            advance = Signal()
            m.d.comb += [advance.eq(~self.o_valid | self.o_ready), self.i_ready.eq(advance)]
            if self._fault == "drop_beat":       # deliberate bug: ignore backpressure
                m.d.comb += advance.eq(1)
        n_reg = 0

        def register(env, valid, names):
            nonlocal n_reg
            n_reg += 1
            new = {}
            for name in names:
                v = env[name]
                r = Signal(v.shape(), name=f"s{n_reg}_{name}")
                with m.If(advance):
                    m.d.sync += r.eq(v)
                new[name] = r
            vr = Signal(name=f"s{n_reg}_valid")
            with m.If(advance):
                m.d.sync += vr.eq(valid)
            return new, vr

        for i, step in enumerate(steps):
            env.update(step.fn(m, env))
            if i in cuts:
                later = set(outputs).union(*(s.needs for s in steps[i + 1:]))
                env, valid = register(env, valid, [k for k in env if k in later])
        for _ in range(extra):
            env, valid = register(env, valid, outputs)
        for name in outputs:
            m.d.comb += getattr(self, name).eq(env[name])
        if self.stages:
            m.d.comb += self.o_valid.eq(valid)
        return m
