"""The hardware specs (:mod:`hdl.specs`) against the model, by simulation.

A spec is what the proofs trust (:mod:`sim.prove`), so it is itself checked bit for bit
against ``pymodel`` (:mod:`sim.golden`): every pair at small widths, corners and random
pairs at wide ones.  Amaranth's simulator runs the spec directly (a few thousand pairs a
second, no Verilog build), which is enough for these counts.
"""

import numpy as np
from amaranth.sim import Simulator

from hdl.spec import spec_for
from pymodel.vectors import directed, exhaustive

from .golden import data_outputs, expected

__all__ = ["simulate_spec", "check_spec_model", "spec_vectors"]


def simulate_spec(cfg, op, a, b):
    """The spec's outputs on operand arrays ``a``, ``b``: a list of tuples in ``data_outputs(op)`` order."""
    dut = spec_for(cfg, op)
    outs = data_outputs(op)
    got = []

    async def bench(ctx):
        for x, y in zip(np.asarray(a).tolist(), np.asarray(b).tolist()):
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            got.append(tuple(ctx.get(getattr(dut, o)) for o in outs))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


def spec_vectors(cfg, *, max_exhaustive_width=6, n_random=200, corner_step=3, seed=0):
    """Every pair up to ``max_exhaustive_width`` bits; above, every ``corner_step``-th directed corner
    pair (:func:`pymodel.vectors.directed`) and ``n_random`` random pairs."""
    if cfg.width <= max_exhaustive_width:
        return exhaustive(cfg)
    a, b = directed(cfg)
    a, b = a[::corner_step], b[::corner_step]
    lo, hi = cfg.operand_range
    rng = np.random.default_rng(seed)
    ra = rng.integers(lo, hi, n_random, endpoint=True, dtype=np.int64)
    rb = rng.integers(lo, hi, n_random, endpoint=True, dtype=np.int64)
    return np.concatenate([a, ra]), np.concatenate([b, rb])


def check_spec_model(cfg, op, a=None, b=None, **kw):
    """``(pairs checked, mismatches)``: the spec against the model on ``a``, ``b`` (default
    :func:`spec_vectors`); each mismatch is ``(a, b, spec outputs, model outputs)``."""
    if a is None:
        a, b = spec_vectors(cfg, **kw)
    got = simulate_spec(cfg, op, a, b)
    if op == "div" and cfg.quotient_width > 64:      # beyond numpy's integers: the scalar model (Python ints)
        want = [tuple(int(v) for v in cfg.div(int(x), int(y), on_zero="saturate")) for x, y in zip(a, b)]
    else:
        want = expected(cfg, op, np.asarray(a), np.asarray(b))
        want = list(zip(*[want[o].tolist() for o in data_outputs(op)]))
    bad = [(int(x), int(y), g, w) for x, y, g, w in zip(a, b, got, want) if tuple(int(v) for v in g) != w]
    return len(got), bad
