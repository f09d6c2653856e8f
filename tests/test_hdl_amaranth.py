"""The Amaranth components on Amaranth's own simulator, block by block against the
matching pymodel.reference function, then whole units against pymodel.Mitchell,
all on the shared vector source."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl import Antilog, FractionAdder, LeadingOneDetector, LogConverter, create
from hdl.staged import balanced_cuts
from pymodel import Mitchell
from pymodel import reference as R
from pymodel.vectors import corner_values, directed, random_pairs


def run_comb(dut, cases, inputs, outputs):
    """Drive each case's ``inputs`` and return the tuple of ``outputs`` per case."""
    got = []

    async def bench(ctx):
        for case in cases:
            for port, v in zip(inputs, case):
                ctx.set(getattr(dut, port), v)
            got.append(tuple(ctx.get(getattr(dut, p)) for p in outputs))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("width", [2, 3, 5, 8, 13, 16, 32])
def test_leading_one_detector(width):
    cfg = Mitchell(width=width)
    vals = [int(v) for v in corner_values(cfg)] + random_pairs(cfg, 200, width)[0].tolist()
    got = run_comb(LeadingOneDetector(width=width), [(v,) for v in vals], ["v"], ["k", "zero"])
    for v, (k, zero) in zip(vals, got):
        assert zero == (v == 0), v
        if v:
            assert k == R.leading_one(v), f"v={v}"


@pytest.mark.parametrize("width, frac_bits", [(2, 1), (8, 7), (8, 3), (8, 0), (16, 15), (16, 5), (32, 31)])
def test_log_converter(width, frac_bits):
    cfg = Mitchell(width=width, frac_bits=frac_bits)
    vals = [int(v) for v in corner_values(cfg) if v] + [int(v) for v in random_pairs(cfg, 300, 1)[0] if v]
    got = run_comb(LogConverter(width=width, frac_bits=frac_bits), [(v,) for v in vals], ["v"], ["k", "x"])
    for v, (k, x) in zip(vals, got):
        assert (k, x if frac_bits else 0) == R.log_convert(v, width, frac_bits), f"v={v}"


@pytest.mark.parametrize("frac_bits", [1, 3, 7, 15])
@pytest.mark.parametrize("subtract", [False, True])
def test_fraction_adder(frac_bits, subtract):
    rng = np.random.default_rng(frac_bits)
    top = 1 << frac_bits
    cases = [(0, 0), (top - 1, top - 1), (top - 1, 0), (0, top - 1), (top // 2, top // 2)]
    cases += [tuple(int(x) for x in rng.integers(0, top, 2)) for _ in range(300)]
    got = run_comb(FractionAdder(frac_bits=frac_bits, subtract=subtract), cases, ["x1", "x2"], ["carry", "f"])
    ref = R.fraction_sub if subtract else R.fraction_add
    for (x1, x2), g in zip(cases, got):
        assert g == ref(x1, x2, frac_bits), (x1, x2)


@pytest.mark.parametrize("frac_bits, offset, shift_bits, out_width", [(7, 0, 4, 16), (3, -8, 4, 16), (7, 0, 5, 32)])
def test_antilog(frac_bits, offset, shift_bits, out_width):
    cases = [(sh, c, f) for sh in range((1 << shift_bits) - 1) for c in (0, 1)
             for f in range(0, 1 << frac_bits, max(1, (1 << frac_bits) // 16))]
    dut = Antilog(frac_bits=frac_bits, shift_bits=shift_bits, offset=offset, out_width=out_width)
    got = run_comb(dut, cases, ["sh", "carry", "f"], ["value"])
    mask = (1 << out_width) - 1
    for (sh, c, f), (v,) in zip(cases, got):
        assert v == R.antilog(sh + c + offset, f, frac_bits) & mask, (sh, c, f)


UNIT_CONFIGS = [dict(width=8), dict(width=8, signed=True), dict(width=8, frac_bits=3),
                dict(width=5, signed=True, frac_bits=2, quotient_frac_bits=3), dict(width=16, signed=True),
                dict(width=32), dict(width=12, frac_bits=0), dict(width=2)]


def model_outputs(cfg, op, a, b):
    if op == "mul":
        return [(int(p),) for p in cfg.mul(a, b).tolist()]
    q, dbz = cfg.div(a, b, on_zero="saturate")
    return [(int(x), int(d)) for x, d in zip(q.tolist(), dbz.tolist())]


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("kw", UNIT_CONFIGS, ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()))
def test_combinational_unit_directed_and_random(op, kw):
    cfg = Mitchell(**kw)
    a1, b1 = directed(cfg)
    a2, b2 = random_pairs(cfg, 400, seed=7)
    a, b = np.concatenate([a1, a2])[:1500], np.concatenate([b1, b2])[:1500]
    dut = create(cfg, op)
    outs = ["p"] if op == "mul" else ["q", "dbz"]
    got = run_comb(dut, list(zip(a.tolist(), b.tolist())), ["a", "b"], outs)
    want = model_outputs(cfg, op, a, b)
    bad = [(x, y, g, w) for x, y, g, w in zip(a.tolist(), b.tolist(), got, want) if g != w]
    assert not bad, f"{len(bad)} mismatches, first (a, b, hdl, model) = {bad[0]}"


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("stages", [1, 3, 6])
def test_pipelined_unit_with_backpressure(op, stages):
    cfg = Mitchell(width=8, signed=True)
    a, b = random_pairs(cfg, 300, seed=stages)
    dut = create(cfg, op, stages=stages)
    outs = ["p"] if op == "mul" else ["q", "dbz"]
    want = model_outputs(cfg, op, a, b)
    got = []
    rng = np.random.default_rng(stages)

    async def driver(ctx):
        for x, y in zip(a.tolist(), b.tolist()):
            while rng.random() < 0.3:
                ctx.set(dut.i_valid, 0)
                await ctx.tick()
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            ctx.set(dut.i_valid, 1)
            await ctx.tick().until(dut.i_ready)
        ctx.set(dut.i_valid, 0)

    async def consumer(ctx):
        while len(got) < len(want):
            ready = int(rng.random() < 0.6)
            ctx.set(dut.o_ready, ready)
            # values sampled at the edge: a beat transfers when valid and ready are both high
            _clk, _rst, valid, *vals = await ctx.tick().sample(dut.o_valid, *[getattr(dut, o) for o in outs])
            if valid and ready:
                got.append(tuple(vals))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(driver)
    sim.add_testbench(consumer)
    sim.run_until(1e-6 * 20 * len(want))
    assert got == want


def testbalanced_cuts():
    assert balanced_cuts([1, 6, 4, 5, 1], 1) == ([1], 0)       # 7 | 10
    assert balanced_cuts([1, 6, 4, 5, 1], 3)[0] == [0, 1, 2]   # 1 | 6 | 4 | 6
    assert balanced_cuts([1, 6, 4, 5, 1], 7) == ([0, 1, 2, 3], 3)


def test_component_parameter_errors(recwarn):
    with pytest.raises(TypeError, match="config must be a design config"):
        create({"width": 8}, "mul")
    with pytest.raises(ValueError, match=r"stages must be in 0..8"):
        create(Mitchell(width=8), "mul", stages=9)
    with pytest.raises(ValueError, match="op must be"):
        create(Mitchell(width=8), "add")
    with pytest.raises(ValueError, match=r"frac_bits must be in 0..7"):
        LogConverter(width=8, frac_bits=8)
    with pytest.raises(ValueError, match=r"subtract|frac_bits must be in 0..63"):
        FractionAdder(frac_bits=64)
    import gc
    gc.collect()     # rejected components must not warn "created but never used"
    assert not [w for w in recwarn if "never used" in str(w.message)]


def test_latency_is_the_stage_count():
    from hdl.verilog import generate
    assert generate(Mitchell(width=8), "mul")[1].latency == 0
    assert generate(Mitchell(width=8), "div", stages=4)[1].latency == 4


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("stages", [0])
def test_float_mitchell_unit(fmt, stages):
    from pymodel import FloatMitchell
    from pymodel.vectors import float_vectors
    f = FloatMitchell(fmt)
    a1, b1 = float_vectors(f, "directed", seed=1)
    a2, b2 = float_vectors(f, "random", n=600, seed=2)
    sel = np.random.default_rng(3).permutation(a1.size)[:900]
    a, b = np.concatenate([a1[sel], a2]), np.concatenate([b1[sel], b2])
    got = run_comb(create(f, "fmul"), list(zip(a.tolist(), b.tolist())), ["a", "b"], ["p"])
    want = [(int(p),) for p in f.mul_bits(a, b).tolist()]
    bad = [(x, y, g, w) for x, y, g, w in zip(a.tolist(), b.tolist(), got, want) if g != w]
    assert not bad, f"{len(bad)} mismatches, first (a, b, hdl, model) = {bad[0]}"
