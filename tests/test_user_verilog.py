"""``--verilog FILE``: a user's netlist or RTL checked against a design's spec and model (sim/user_verilog.py).

The netlists are written here by yosys (``synth -flatten; write_verilog``) from the generated units at small
widths; every flow is also shown to fail on a changed copy.
"""

import json
import re
import shutil
import subprocess
import sys

import pytest

from pymodel import Mitchell
from sim.user_verilog import PortMismatch, load, resolve_conditionals

pytestmark = pytest.mark.skipif(shutil.which("yosys") is None or shutil.which("iverilog") is None,
                                reason="needs yosys and iverilog")

PY = sys.executable


def _netlist(tmp_path, cfg, stages=0, name="net.v"):
    """A yosys gate-level netlist of the generated unit (``synth -flatten; write_verilog``)."""
    from hdl.verilog import generate
    text, _, module = generate(cfg, "mul", stages=stages)
    (tmp_path / "rtl.v").write_text(text)
    out = tmp_path / name
    subprocess.run(["yosys", "-q", "-p", f"read_verilog rtl.v; synth -flatten -top {module}; "
                    f"write_verilog -noattr {name}"], cwd=tmp_path, check=True)
    return out, module


def _one_gate_changed(text):
    """The netlist with its first two-input AND gate made an OR (one gate changed)."""
    m = re.search(r"assign (\S+) = (~?)\((\S+) & (\S+)\);", text)
    assert m, "no AND gate in the netlist"
    return text[:m.start()] + f"assign {m.group(1)} = {m.group(2)}({m.group(3)} | {m.group(4)});" + text[m.end():]


def test_conditionals_resolved_once():
    src = ("// `ifdef IN_A_COMMENT\nmodule t(input a, output y);\n`ifndef YOSYS\n  assign y = ~a;\n`else\n"
           "  assign y = a;\n`endif\n`define MINE 1\n`ifdef MINE\n  wire w;\n`elsif OTHER\n  wire v;\n`endif\n"
           "endmodule\n")
    text, dec = resolve_conditionals(src)
    assert "assign y = ~a;" in text and "assign y = a;" not in text      # YOSYS is not defined for any tool
    assert "wire w;" in text and "wire v;" not in text
    assert "`ifdef" not in text.split("\n", 1)[1] and "`else" not in text
    assert text.count("\n") == src.count("\n")                             # line numbers kept
    assert [(d["directive"], d["taken"]) for d in dec] == [("`ifndef YOSYS", True), ("`ifdef MINE", True),
                                                           ("`elsif OTHER", False)]
    text, dec = resolve_conditionals(src, ["YOSYS"])
    assert "assign y = a;" in text and "assign y = ~a;" not in text and text.startswith("`define YOSYS\n")
    with pytest.raises(ValueError, match="not closed"):
        resolve_conditionals("`ifdef X\nmodule t; endmodule\n")
    with pytest.raises(ValueError, match="`include is not supported"):
        resolve_conditionals('`include "x.vh"\n')
    with pytest.raises(ValueError, match="--define '1X'"):
        resolve_conditionals("", ["1X"])


def test_netlist_proven_and_exhaustive_and_a_changed_gate_fails(tmp_path):
    from sim.exhaustive import run_exhaustive
    from sim.golden import expected
    from sim.prove import prove
    cfg = Mitchell(width=6)
    net, module = _netlist(tmp_path, cfg)
    verilog, info = load(net, cfg, "mul", build_root=tmp_path / "load")
    assert info["top"] == module and info["stages"] == 0 and not info["notes"]
    assert prove(cfg, "mul", verilog=verilog, build_root=tmp_path / "p")["result"] == "proven"
    s = run_exhaustive(cfg, "mul", verilog=verilog, build_root=tmp_path / "x")
    assert s["checked"] == 1 << 12 and s["mismatches"] == 0

    bad = tmp_path / "bad.v"
    bad.write_text(_one_gate_changed(net.read_text()))
    verilog, _ = load(bad, cfg, "mul", build_root=tmp_path / "load")
    r = prove(cfg, "mul", verilog=verilog, build_root=tmp_path / "pb")
    assert r["result"] == "counterexample"
    cex = r["counterexample"]
    # the operands are real: the model (not the spec) disagrees with the changed netlist there
    assert cex["design_p"] != int(expected(cfg, "mul", cex["a"], cex["b"])["p"]) == cex["spec_p"]
    s = run_exhaustive(cfg, "mul", verilog=verilog, build_root=tmp_path / "xb")
    assert s["mismatches"] > 0
    assert any((m["a"], m["b"]) == (cex["a"], cex["b"]) for m in s["first_mismatches"]) or s["mismatches"] > 10


def test_bug_under_ifndef_yosys_is_caught_by_every_tool(tmp_path):
    """The bug that Icarus would simulate and the yosys proof would not see: both now read it."""
    from sim.prove import prove
    from sim.runner import run_bench
    cfg = Mitchell(width=5)
    net, module = _netlist(tmp_path, cfg)
    body = net.read_text().replace(f"module {module}(", "module core(")
    wrapper = (f"module {module}(a, b, p);\n  input [4:0] a;\n  input [4:0] b;\n  output [9:0] p;\n"
               "  wire [9:0] good;\n  core u (.a(a), .b(b), .p(good));\n"
               "`ifndef YOSYS\n  assign p = good ^ 10'd1;\n`else\n  assign p = good;\n`endif\nendmodule\n")
    f = tmp_path / "hidden.v"
    f.write_text(body + wrapper)
    verilog, info = load(f, cfg, "mul", build_root=tmp_path / "load")
    assert info["top"] == module
    assert info["conditionals"] == [{"line": body.count("\n") + 7, "directive": "`ifndef YOSYS", "macro": "YOSYS",
                                     "taken": True}]
    assert prove(cfg, "mul", verilog=verilog, build_root=tmp_path / "p")["result"] == "counterexample"
    s = run_bench(cfg, "mul", verilog=verilog, n_random=50, build_root=tmp_path / "b")
    assert s["mismatches"] > 0
    # with the macro stated, every tool takes the other branch: proven
    verilog, info = load(f, cfg, "mul", defines=["YOSYS"], build_root=tmp_path / "load")
    assert info["conditionals"][0]["taken"] is False
    assert prove(cfg, "mul", verilog=verilog, build_root=tmp_path / "p2")["result"] == "proven"


def test_pipelined_netlist_latency_measured_and_proven(tmp_path):
    from sim.prove import prove
    cfg = Mitchell(width=4)
    net, _ = _netlist(tmp_path, cfg, stages=2)
    verilog, info = load(net, cfg, "mul", build_root=tmp_path / "load")
    assert info["stages"] == 2 and info["latency"] == "measured" and verilog[1].latency == 2
    r = prove(cfg, "mul", verilog=verilog, build_root=tmp_path / "p", stream=True)
    assert r["result"] == "proven" and r["stream"]["freeze"]["proven"] and r["stream"]["handshake"]["proven"]
    with pytest.raises(PortMismatch, match=r"--stages 3, but the file's latency is 2"):
        load(net, cfg, "mul", stages=3, build_root=tmp_path / "load")
    with pytest.raises(PortMismatch, match="missing port clk"):
        load(_netlist(tmp_path, cfg, stages=0, name="comb.v")[0], cfg, "mul", stages=2, build_root=tmp_path / "l")


def test_cli_port_mismatch_and_signedness(tmp_path):
    net, _ = _netlist(tmp_path, Mitchell(width=5))
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "6", "--prove", "--verilog", str(net),
                        "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    err = json.loads(r.stdout)["error"]
    assert "port a has 5 bits, the contract 6" in err and "port p has 10 bits, the contract 12" in err
    (tmp_path / "s.v").write_text("module m(input signed [4:0] a, input signed [4:0] b, output signed [9:0] p);\n"
                                  "  assign p = a * b;\nendmodule\n")
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "5", "--exhaustive", "--verilog",
                        str(tmp_path / "s.v"), "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "port a is declared signed, the contract's is unsigned" in json.loads(r.stdout)["error"]
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "5", "--exhaustive", "--top", "m",
                        "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True, text=True)
    assert r.returncode == 2 and json.loads(r.stdout)["error"] == "--top does not apply without --verilog"
    # an exact signed multiplier is a real multiplier, but not Mitchell's: the exhaustive check says where
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "5", "--signed", "--exhaustive", "--verilog",
                        str(tmp_path / "s.v"), "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True,
                       text=True)
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["mismatches"] > 0 and s["verilog"]["top"] == "m"


def test_cli_mutate_and_protocol_on_a_netlist(tmp_path):
    """The other two checks read the file too: mutants of the netlist killed by the bench, and the stream
    properties of a pipelined netlist (latency measured)."""
    cfg = Mitchell(width=4)
    net, module = _netlist(tmp_path, cfg)
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "4", "--mutate", "2", "--vectors", "20",
                        "--verilog", str(net), "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True,
                       text=True)
    s = json.loads(r.stdout)
    assert s["module"] == module and s["verilog"]["file"] == str(net) and s["mutants"] == 2
    assert r.returncode == (0 if not s["survivors"] else 1) and s["killed"] + s["equivalent"] + len(s["survivors"]) == 2
    pnet, pmodule = _netlist(tmp_path, cfg, stages=1, name="p1.v")
    r = subprocess.run([PY, "-m", "mitchell_cli", "verify", "--width", "4", "--protocol", "--verilog", str(pnet),
                        "--build-dir", str(tmp_path / "b"), "--json"], capture_output=True, text=True)
    s = json.loads(r.stdout)
    assert r.returncode == 0 and s["module"] == pmodule and s["stages"] == 1 and s["proven"]
    assert s["verilog"]["latency"] == "measured"
