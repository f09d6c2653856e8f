"""REALM through every verification flow, and tool failures as exit code 3.

REALM's factor table is a ``case`` in the generated Verilog that yosys's ``proc`` turns into a
ROM (``$mem_v2``), which ``write_aiger``, ``sat`` and ``mutate`` cannot read; every flow maps it
to logic first (:data:`hdl.tools.MAP_MEMORIES`).  Each flow must pass on REALM and fail on a
REALM with one wrong factor (``_fault="lut_entry"``), judged by the golden model ``pymodel``.
"""

import json
from pathlib import Path

import pytest

from hdl.cost import synth_metrics
from hdl.designs.realm import REALMMultiplier
from hdl.tools import ToolError, log_reason
from hdl.verilog import generate, ports_of
from mitchell_cli import main
from pymodel.designs.realm import segment_index
from pymodel.registry import make_design
from sim.exhaustive import run_exhaustive
from sim.golden import expected
from sim.mutate import _equivalent, _mutants, run_mutation
from sim.protocol import check_protocol
from sim.prove import prove

W = 6


def _realm(**kw):
    return make_design("realm", width=W, **kw)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_exhaustive(signed, tmp_path):
    s = run_exhaustive(_realm(signed=signed), "mul", build_root=tmp_path)
    assert s["engine"] == "aig" and s["checked"] == 1 << (2 * W)
    assert s["mismatches"] == 0 and s["missing_results"] == 0, s["first_mismatches"]


def test_exhaustive_finds_the_wrong_factor(tmp_path):
    """Every mismatch lies in the segment whose factor is wrong, and the model says what is right."""
    cfg = _realm()
    s = run_exhaustive(cfg, "mul", build_root=tmp_path, _fault="lut_entry")
    assert s["mismatches"] > 0 and s["first_mismatches"]
    for mm in s["first_mismatches"]:
        a, b = mm["a"], mm["b"]
        assert (segment_index(a, W, cfg.segment_bits), segment_index(b, W, cfg.segment_bits)) == (1, 1)
        assert mm["want"] == [cfg.mul(a, b)] != mm["got"]


def test_prove_with_a_table_on_both_sides(tmp_path):
    """The proof reads the ROM on both sides: the combinational REALM as the reference proves the
    pipelined one equal, and a wrong factor gives a counterexample the model confirms."""
    cfg = _realm(signed=True)
    ref = REALMMultiplier(cfg)
    assert prove(cfg, "mul", stages=1, spec=ref, build_root=tmp_path / "ok")["result"] == "proven"
    s = prove(cfg, "mul", spec=REALMMultiplier(cfg), build_root=tmp_path / "bad", _fault="lut_entry")
    assert s["result"] == "counterexample", s
    cex = s["counterexample"]
    want = int(expected(cfg, "mul", cex["a"], cex["b"])["p"])
    assert cex["spec_p"] == want != cex["design_p"]


def test_protocol(tmp_path):
    assert check_protocol(_realm(), "mul", stages=1, build_root=tmp_path)["result"] == "proven"
    bad = check_protocol(_realm(), "mul", stages=1, build_root=tmp_path, _fault="drop_beat")
    assert bad["result"] == "counterexample" and any(r["failed"] for r in bad["trace"])


def test_mutation_prover_reads_the_table(tmp_path):
    """The mutants' prover sees the unmutated netlist as equivalent and a wrong factor as not."""
    cfg = _realm()
    text, comp, module = generate(cfg, "mul")
    _mutants(text, module, 1, 1, tmp_path)                  # writes orig.v, with the table mapped to logic
    assert "$mem" not in (tmp_path / "orig.v").read_text()
    args = (module, ports_of(comp), ["p"], 0, tmp_path, 300)
    assert _equivalent(0, (tmp_path / "orig.v").read_text(), *args) is True
    assert _equivalent(1, generate(cfg, "mul", _fault="lut_entry")[0], *args) is False


def test_mutation_flow(tmp_path):
    s = run_mutation(_realm(), "mul", n=2, seed=1, n_random=200, build_root=tmp_path)
    assert s["mutants"] == 2 and s["non_equivalent"] >= 1 and s["killed"] == s["non_equivalent"], s["per_mutant"]


def test_cost_counts_the_table(tmp_path):
    """Synthesis maps the ROM to gates: REALM costs more than Mitchell's multiplier of the same width."""
    got = {}
    for name in ("realm", "mitchell"):
        text, _, module = generate(make_design(name, width=W), "mul")
        got[name] = synth_metrics(text, module, fmax=False)
    assert got["realm"]["cells"] > got["mitchell"]["cells"] > 20
    assert got["realm"]["ice40_luts"] > got["mitchell"]["ice40_luts"] > 10


# -- tool failures: exit code 3 ----------------------------------------------------------------------------

def test_unmapped_rom_is_a_tool_error_quoting_yosys(monkeypatch, tmp_path, capsys):
    """Without the memory mapping, yosys refuses REALM's ROM: exit 3, yosys's own ERROR line, the log."""
    import sim.exhaustive
    monkeypatch.setattr(sim.exhaustive, "MAP_MEMORIES", "opt_clean")
    with pytest.raises(ToolError, match=r"Unsupported cell type: \$mem_v2") as e:
        run_exhaustive(_realm(), "mul", build_root=tmp_path / "api")
    assert e.value.exit_code == 3 and e.value.log.endswith("yosys.log")
    args = ["verify", "--design", "realm", "--width", str(W), "--exhaustive", "--build-dir", str(tmp_path / "cli")]
    assert main(args + ["--json"]) == 3
    obj = json.loads(capsys.readouterr().out)
    assert set(obj) == {"error", "log"} and "Unsupported cell type: $mem_v2" in obj["error"]
    assert "ERROR: Unsupported cell type" in Path(obj["log"]).read_text()
    assert main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("mitchell: error: yosys failed to map") and "$mem_v2" in err and obj["log"] in err


def test_prover_timeout_is_a_tool_failure(tmp_path, capsys):
    """A proof stopped by --timeout did not finish: exit 3, not 1 (a check that failed)."""
    rc = main(["verify", "--width", "16", "--stages", "2", "--protocol", "--timeout", "1", "--json",
               "--build-dir", str(tmp_path)])
    obj = json.loads(capsys.readouterr().out)
    assert rc == 3 and "did not finish within --timeout 1 s" in obj["error"] and obj["log"].endswith(".log")


def test_log_reason_quotes_each_tool():
    assert log_reason("x\nERROR: Unsupported cell type: $mem_v2 (m)\n") == "Unsupported cell type: $mem_v2 (m)"
    assert log_reason("a.v:2: syntax error\na.v:2: error: bad assign\n") == "a.v:2: error: bad assign"
    assert log_reason("%Error: t.v:3:1: syntax error\n") == "t.v:3:1: syntax error"
    assert log_reason("first\nlast line\n\n") == "last line"
    assert log_reason("", default="none") == "none"


def test_iverilog_failure_quotes_iverilog(tmp_path):
    """Verilog Icarus cannot compile: a ToolError with Icarus's own error line and its log."""
    from sim.runner import run_bench
    cfg = _realm()
    text, comp, module = generate(cfg, "mul")
    broken = text.replace("endmodule", "  assign p = a &;\nendmodule", 1)
    with pytest.raises(ToolError, match=r"iverilog could not build .*: .*error") as e:
        run_bench(cfg, "mul", verilog=(broken, comp, module), build_root=tmp_path)
    assert e.value.exit_code == 3 and Path(e.value.log).exists()


def test_mutation_flow_does_not_count_a_tool_failure_as_a_kill(monkeypatch, tmp_path):
    """Icarus failing on every mutant would have scored 100 %: it is a tool failure instead."""
    import cocotb_tools.runner as r

    from sim.runner import BuildFailed

    def broken_build(self, **kw):
        raise RuntimeError("Command failed with return code: 1")
    monkeypatch.setattr(r.Icarus, "build", broken_build)
    with pytest.raises(BuildFailed, match="iverilog could not build"):
        run_mutation(_realm(), "mul", n=2, seed=1, n_random=10, build_root=tmp_path)
