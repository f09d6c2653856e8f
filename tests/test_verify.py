"""Verification that cannot be fooled: every flow must pass on the real design and fail on a wrong one.

The spec (``hdl.spec``) is checked against pymodel by Amaranth simulation; the
exhaustive harness, the proofs, the mutation flow and the protocol proofs each
run on a deliberately wrong design and must report operands or a trace.
"""

import json

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.vectors import directed, exhaustive
from sim.exhaustive import run_exhaustive
from sim.golden import data_outputs, expected
from sim.mutate import _equivalent, run_mutation
from sim.protocol import check_protocol
from sim.spec_check import simulate_spec
from sim.prove import prove

from conftest import run_cli


SPEC_CASES = [("mul", dict(width=4), "exhaustive"), ("mul", dict(width=4, signed=True, frac_bits=1), "exhaustive"),
              ("div", dict(width=4, signed=True), "exhaustive"),
              ("div", dict(width=5, frac_bits=2, quotient_frac_bits=1), "exhaustive"),
              ("mul", dict(width=16, frac_bits=6), "directed"),
              ("div", dict(width=32, signed=True, quotient_frac_bits=31), "directed")]


@pytest.mark.parametrize("op, kw, kind", SPEC_CASES, ids=[f"{o}-{k}-{i}" for i, (o, _, k) in enumerate(SPEC_CASES)])
def test_spec_matches_the_model(op, kw, kind):
    """The hardware spec the proofs use is itself bit-identical to pymodel."""
    cfg = Mitchell(**kw)
    a, b = exhaustive(cfg) if kind == "exhaustive" else directed(cfg)
    if kind == "directed":
        a, b = a[::3], b[::3]        # every third corner pair keeps the Amaranth simulation short
    got = simulate_spec(cfg, op, a, b)
    want = expected(cfg, op, a, b)
    want = list(zip(*[want[o].tolist() for o in data_outputs(op)]))
    bad = [(int(x), int(y), g, w) for x, y, g, w in zip(a, b, got, want) if g != w]
    assert not bad, bad[:5]
    assert len(got) == len(a) > 100


# -- exhaustive -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_exhaustive_12_bit(tmp_path):
    s = run_exhaustive(Mitchell(width=12, signed=True, frac_bits=5), "div", build_root=tmp_path)
    assert s["pairs"] == s["checked"] == 1 << 24
    assert s["mismatches"] == 0 and s["engine"] == "aig", s["first_mismatches"]


def test_exhaustive_verilator_pipelined(tmp_path):
    s = run_exhaustive(Mitchell(width=5, signed=True), "mul", stages=2, build_root=tmp_path)
    assert s["engine"] == "verilator"
    assert s["checked"] == 1 << 10 and s["mismatches"] == 0 and s["missing_results"] == 0


@pytest.mark.parametrize("engine", ["aig", "verilator"])
def test_exhaustive_fails_on_a_wrong_design(engine, tmp_path):
    cfg = Mitchell(width=6)
    s = run_exhaustive(cfg, "mul", engine=engine, build_root=tmp_path, _fault="antilog_lsb")
    assert s["mismatches"] > 0 and s["checked"] == 1 << 12
    for mm in s["first_mismatches"]:
        assert mm["want"] == [cfg.mul(mm["a"], mm["b"])] != mm["got"]


@pytest.mark.parametrize("op,kw", [("mul", dict(width=7, signed=True)), ("div", dict(width=7, signed=True))])
def test_exhaustive_fused_check_counts_as_the_model_path(op, kw, tmp_path):
    """The compiled per-chunk check (the design's magnitude function) and the model's array path
    (sim.golden) count the same mismatches of a wrong design, and both are zero on the right one."""
    cfg = Mitchell(**kw)
    fused = run_exhaustive(cfg, op, build_root=tmp_path, _fault="antilog_lsb")
    plain = run_exhaustive(cfg, op, build_root=tmp_path, _fault="antilog_lsb", fused_model=False)
    assert fused["fused_model"] and not plain["fused_model"]
    assert fused["mismatches"] == plain["mismatches"] > 0
    assert fused["first_mismatches"] == plain["first_mismatches"]
    ok = run_exhaustive(cfg, op, build_root=tmp_path)
    assert ok["fused_model"] and ok["mismatches"] == 0 and ok["checked"] == 1 << 14


# -- proofs -----------------------------------------------------------------------------------------------

PROVEN = [("mul", dict(width=8, frac_bits=3), 0, "abc"), ("div", dict(width=8, signed=True), 0, "abc"),
          ("mul", dict(width=6, signed=True), 0, "sat"), ("div", dict(width=6, signed=True, frac_bits=4), 1, "abc"),
          ("mul", dict(width=6), 2, "sat")]


@pytest.mark.parametrize("op, kw, stages, method", PROVEN, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in PROVEN])
def test_prove(op, kw, stages, method, tmp_path):
    s = prove(Mitchell(**kw), op, stages=stages, method=method, build_root=tmp_path)
    assert s["result"] == "proven", s


@pytest.mark.slow
@pytest.mark.parametrize("stages", [0, 5])
def test_prove_32_bit_multiplier(stages, tmp_path):
    s = prove(Mitchell(width=32), "mul", stages=stages, build_root=tmp_path)
    assert s["result"] == "proven" and s["method"] == ("abc-frames" if stages else "abc"), s


WRONG = [("mul", 0, "antilog_lsb", "abc"), ("div", 0, "no_borrow", "abc"), ("mul", 0, "antilog_lsb", "sat"),
         ("mul", 2, "antilog_lsb", "abc"), ("div", 1, "no_borrow", "sat")]


@pytest.mark.parametrize("op, stages, fault, method", WRONG, ids=[f"{c[2]}-{c[1]}-{c[3]}" for c in WRONG])
def test_prove_fails_on_a_wrong_design(op, stages, fault, method, tmp_path):
    """Every proof flow finds the bug and names operands on which the design and the model differ."""
    cfg = Mitchell(width=8, signed=(op == "div"))
    s = prove(cfg, op, stages=stages, method=method, build_root=tmp_path, _fault=fault)
    assert s["result"] == "counterexample", s
    cex = s["counterexample"]
    want = expected(cfg, op, cex["a"], cex["b"])
    assert all(cex[f"spec_{o}"] == int(want[o]) for o in data_outputs(op))        # the spec agrees with the model
    assert any(cex[f"design_{o}"] != int(want[o]) for o in data_outputs(op))      # the design does not


# -- protocol ---------------------------------------------------------------------------------------------

def test_protocol_proven(tmp_path):
    s = check_protocol(Mitchell(width=6, signed=True), "mul", stages=2, build_root=tmp_path)
    assert s["result"] == "proven" and s["depth"] >= 1, s


def test_protocol_fails_on_a_dropped_beat(tmp_path):
    s = check_protocol(Mitchell(width=6), "mul", stages=3, build_root=tmp_path, _fault="drop_beat")
    assert s["result"] == "counterexample"
    assert any(r["failed"] for r in s["trace"]) and {"a", "b", "o_ready"} <= set(s["trace"][0])


# -- mutation ---------------------------------------------------------------------------------------------

def test_mutation_score(tmp_path):
    s = run_mutation(Mitchell(width=5), "mul", n=4, seed=2, n_random=500, jobs=2, build_root=tmp_path)
    assert s["mutants"] == 4 and s["non_equivalent"] >= 1
    assert s["score"] == 1.0 and not s["survivors"], s["survivors"]


def test_mutation_reports_survivors_of_a_weak_bench(tmp_path):
    """One random vector kills few mutants: the flow must list the survivors, not hide them."""
    s = run_mutation(Mitchell(width=5), "mul", n=4, seed=2, kinds=("random",), n_random=1, jobs=2,
                     build_root=tmp_path)
    assert s["survivors"] and s["score"] < 1.0


def test_mutation_prover_sees_the_unmutated_netlist_as_equivalent(tmp_path):
    """The classifier can say "equivalent" (else every mutant would count, and the score mean less)."""
    from hdl.verilog import generate, ports_of
    from sim.mutate import _mutants
    for stages in (0, 2):
        text, comp, module = generate(Mitchell(width=5), "mul", stages=stages)
        d = tmp_path / f"p{stages}"
        d.mkdir()
        _mutants(text, module, 1, 1, d)                       # writes orig.v, the prepped netlist
        same = (d / "orig.v").read_text()
        assert _equivalent(0, same, module, ports_of(comp), ["p"], stages, d, 300) is True


# -- CLI --------------------------------------------------------------------------------------------------

def test_cli_exhaustive_json(tmp_path):
    rc, out, err = run_cli("verify", "--op", "div", "--width", "6", "--signed", "--exhaustive", "--json",
                           "--build-dir", str(tmp_path))
    assert rc == 0, err
    s = json.loads(out)
    assert s["checked"] == 1 << 12 and s["mismatches"] == 0 and s["seconds"] > 0


@pytest.mark.parametrize("args, needle", [
    (["--width", "17", "--exhaustive"], "--width 2..16"),
    (["--width", "33", "--prove"], "--width must be in 2..32"),
    (["--protocol"], "--stages 1..8"),
    (["--mutate", "0"], "--mutate must be in 1..10000"),
    (["--prove", "--engine", "aig"], "--engine does not apply"),
    (["--prove", "--exhaustive"], "not allowed with"),
])
def test_cli_bad_input(args, needle):
    rc, out, err = run_cli("verify", *args, "--json")
    assert rc == 2 and not err.strip().count("Traceback")
    msg = json.loads(out)["error"]
    assert needle in msg, msg


def test_golden_is_the_model():
    """sim.golden returns the model's arrays, port by port (no second copy of the formula)."""
    cfg = Mitchell(width=6, signed=True)
    a, b = np.array([5, -7, 0]), np.array([3, 0, -2])
    got = expected(cfg, "div", a, b)
    q, dbz = cfg.div(a, b, on_zero="saturate")
    assert np.array_equal(got["q"], q) and np.array_equal(got["dbz"], dbz)
