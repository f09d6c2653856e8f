"""Every registered design, through the same checks: reference vs compiled datapath, properties,
the Amaranth hardware (combinational and pipelined), the config API.

Nothing here names a design class: the designs come from ``pymodel.registry``.
"""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from hdl import create
from pymodel.registry import DESIGNS, design_class, designs_info, make_design
from pymodel.vectors import corner_values, random_pairs

from conftest import all_operands

NAMES = list(DESIGNS)


def param_cases(name, width, most=3):
    """Parameter dicts for ``width``: the defaults, then each parameter at its ends and middle."""
    cls = design_class(name)
    cases = [{}]
    for p in cls.PARAMS:
        if p.type is bool:
            vals = [False, True]
        else:
            lo, hi = p.bounds(width)
            vals = sorted({lo, hi, (lo + hi) // 2})
        for v in vals:
            d = {p.name: v}
            try:
                make_design(name, width=width, **d)
            except ValueError:
                continue
            if d not in cases:
                cases.append(d)
    return cases[:1] + cases[1:][:most] if len(cases) > most + 1 else cases


def configs(widths, signs=(False, True), most=3):
    out = []
    for name in NAMES:
        cls = design_class(name)
        for w in widths:
            if not cls.MIN_WIDTH <= w <= cls.MAX_WIDTH:
                continue
            for s, params in itertools.product(signs, param_cases(name, w, most)):
                for op in cls.OPS:
                    out.append((name, op, w, s, params))
    return out


def _id(c):
    name, op, w, s, params = c
    return f"{name}-{op}-{'s' if s else 'u'}{w}-" + "-".join(f"{k}{int(v)}" for k, v in params.items())


def reference(cfg, op, a, b):
    """The scalar specification, pair by pair (saturated quotient for ``b == 0``)."""
    if op == "mul":
        return [cfg.mul(x, y) for x, y in zip(a.tolist(), b.tolist())]
    return [cfg.div(x, y, on_zero="saturate")[0] for x, y in zip(a.tolist(), b.tolist())]


def compiled(cfg, op, a, b):
    return cfg.mul(a, b) if op == "mul" else cfg.div(a, b, on_zero="saturate")[0]


def assert_same(cfg, op, a, b):
    fast = compiled(cfg, op, a, b)
    ref = np.array(reference(cfg, op, a, b), dtype=object)
    bad = np.flatnonzero(fast.astype(object) != ref)
    assert bad.size == 0, (f"{op} {cfg.describe()}: {bad.size} mismatches, first a={a[bad[0]]} b={b[bad[0]]} "
                           f"compiled={fast[bad[0]]} reference={ref[bad[0]]}")


def grid(cfg):
    v = all_operands(cfg)
    a, b = np.meshgrid(v, v, indexing="ij")
    return a.ravel(), b.ravel()


SMALL = configs(range(2, 9))


@pytest.mark.parametrize("case", SMALL, ids=[_id(c) for c in SMALL])
def test_reference_equals_compiled_exhaustive(case):
    name, op, w, s, params = case
    cfg = make_design(name, width=w, signed=s, **params)
    assert_same(cfg, op, *grid(cfg))


TEN = configs([10], signs=(False,), most=0)


@pytest.mark.parametrize("case", TEN, ids=[_id(c) for c in TEN])
def test_reference_equals_compiled_exhaustive_10_bits(case):
    name, op, w, s, params = case
    cfg = make_design(name, width=w, signed=s, **params)
    assert_same(cfg, op, *grid(cfg))


WIDE = configs([16, 24, 32], most=1)


@pytest.mark.parametrize("case", WIDE, ids=[_id(c) for c in WIDE])
def test_reference_equals_compiled_random_wide(case):
    name, op, w, s, params = case
    cfg = make_design(name, width=w, signed=s, **params)
    if op == "div" and cfg.quotient_width > 64:       # numpy holds 64 bits: fewer quotient bits
        cfg = make_design(name, **{**cfg.as_dict(), "quotient_frac_bits": 63 - w})
    a, b = random_pairs(cfg, 4000, seed=w)
    c = corner_values(cfg)
    ca, cb = (x.ravel() for x in np.meshgrid(c, c, indexing="ij"))
    assert_same(cfg, op, np.concatenate([a, ca]), np.concatenate([b, cb]))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_properties(name, data):
    """Commutative (multipliers), odd in each operand when signed, zero in gives zero out."""
    cls = design_class(name)
    w = data.draw(st.integers(max(cls.MIN_WIDTH, 3), min(cls.MAX_WIDTH, 32)), label="width")
    params = data.draw(st.sampled_from(param_cases(name, w)), label="params")
    cfg = make_design(name, width=w, signed=True, **params)
    lo, hi = cfg.operand_range
    a = data.draw(st.integers(lo + 1, hi), label="a")
    b = data.draw(st.integers(lo + 1, hi), label="b")
    if "mul" in cls.OPS:
        p = cfg.mul(a, b)
        assert p == cfg.mul(b, a)
        assert cfg.mul(-a, b) == -p == cfg.mul(a, -b)
        assert cfg.mul(a, 0) == 0 == cfg.mul(0, b)
        assert (p > 0) == (a * b > 0) or p == 0
    if "div" in cls.OPS and b != 0:
        q = cfg.div(a, b)
        assert cfg.div(-a, b) == -q
        assert cfg.div(0, b) == 0


# -- the hardware -------------------------------------------------------------------

def run_comb(dut, op, a, b):
    outs = ["p"] if op == "mul" else ["q", "dbz"]
    got = []

    async def bench(ctx):
        for x, y in zip(a.tolist(), b.tolist()):
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            got.append(ctx.get(getattr(dut, outs[0])))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=object)


HW = configs([5], most=2) + configs([9], signs=(True,), most=0)


@pytest.mark.parametrize("case", HW, ids=[_id(c) for c in HW])
def test_hardware_combinational(case):
    name, op, w, s, params = case
    cfg = make_design(name, width=w, signed=s, **params)
    a, b = grid(cfg) if w <= 6 else random_pairs(cfg, 1500, seed=9)
    got = run_comb(create(cfg, op), op, a, b)
    want = compiled(cfg, op, a, b).astype(object)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{cfg.describe()}: {bad.size} mismatches, first a={a[bad[0]]} b={b[bad[0]]} " \
                          f"hdl={got[bad[0]]} model={want[bad[0]]}"


def run_stream(dut, op, a, b, seed):
    """Drive a pipelined unit with random input gaps and output backpressure; the results in order."""
    rng = np.random.default_rng(seed)
    out = "p" if op == "mul" else "q"
    got = []

    async def bench(ctx):
        i = 0
        for _ in range(20 * len(a) + 50):
            if len(got) == len(a):
                break
            offer = i < len(a) and rng.random() < 0.8
            if offer:
                ctx.set(dut.a, int(a[i]))
                ctx.set(dut.b, int(b[i]))
            ctx.set(dut.i_valid, int(offer))
            ready = rng.random() < 0.7
            ctx.set(dut.o_ready, int(ready))
            taken = offer and ctx.get(dut.i_ready)
            if ready and ctx.get(dut.o_valid):
                got.append(ctx.get(getattr(dut, out)))
            await ctx.tick()
            i += bool(taken)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=object)


STREAM = configs([8], signs=(True,), most=0)


@pytest.mark.parametrize("case", STREAM, ids=[_id(c) for c in STREAM])
def test_hardware_pipelined_stream(case):
    name, op, w, s, params = case
    cfg = make_design(name, width=w, signed=s, **params)
    a, b = random_pairs(cfg, 300, seed=3)
    dut = create(cfg, op, stages=2)
    assert dut.latency == 2
    got = run_stream(dut, op, a, b, seed=4)
    want = compiled(cfg, op, a, b).astype(object)
    assert got.size == want.size, f"{got.size} results for {want.size} pairs"
    assert (got == want).all()


@pytest.mark.parametrize("name", NAMES)
def test_hardware_fault_is_caught(name):
    """The Amaranth check can fail: a unit with its output LSB flipped mismatches."""
    cls = design_class(name)
    op = cls.OPS[0]
    cfg = make_design(name, width=5)
    a, b = grid(cfg)
    got = run_comb(create(cfg, op, _fault="antilog_lsb"), op, a, b)
    assert (got != compiled(cfg, op, a, b).astype(object)).any()


# -- the config API -------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_config_api(name):
    cls = design_class(name)
    w = max(8, cls.MIN_WIDTH)
    names, cfgs = set(), set()
    for params in param_cases(name, w, most=9):
        for s in (False, True):
            cfg = make_design(name, width=w, signed=s, **params)
            for op in cls.OPS:      # a multiplier's name leaves out the divider's output format
                cfgs.add((op, tuple((k, v) for k, v in cfg.as_dict().items()
                                    if op == "div" or k != "quotient_frac_bits")))
            assert make_design(name, **cfg.as_dict()) == cfg        # as_dict rebuilds the config
            assert cfg.describe().startswith(name)
            for op in cls.OPS:
                names.add(cfg.module_name(op, 2))
    assert len(names) == len(cfgs)        # every parameter is in the module name
    with pytest.raises(ValueError, match="width must be in"):
        make_design(name, width=cls.MAX_WIDTH + 1)
    with pytest.raises(ValueError, match="has no parameter bogus"):
        make_design(name, width=w, bogus=1)
    for p in cls.PARAMS:
        if p.type is int:
            lo, hi = p.bounds(w)
            with pytest.raises(ValueError, match=f"{p.name} must be in"):
                make_design(name, width=w, **{p.name: hi + 1})
    cfg = make_design(name, width=w)
    with pytest.raises(ValueError, match="out of range"):
        cfg.mul(1 << w, 1) if "mul" in cls.OPS else cfg.div(1 << w, 1)
    with pytest.raises(TypeError, match="integer"):
        cfg.mul(np.array([1.5]), 1) if "mul" in cls.OPS else cfg.div(np.array([1.5]), 1)


def test_registry_lists_every_design_with_parameters():
    info = {d["name"]: d for d in designs_info()}
    assert list(info) == NAMES
    for d in info.values():
        assert d["ops"] and d["reference"]
        for p in d["params"]:
            assert {"name", "type", "range", "default", "meaning"} <= set(p)
    with pytest.raises(ValueError, match="unknown design 'nope'"):
        design_class("nope")
