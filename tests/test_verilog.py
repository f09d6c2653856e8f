"""Verilog generation: ports, names, Icarus compile, Verilator lint, and the CLI."""

import json
import subprocess

import pytest

from hdl.verilog import LINT_WAIVERS, generate, lint, ports_of
from pymodel import Mitchell

CONFIGS = [("mul", dict(width=8), 0), ("div", dict(width=8, signed=True), 0), ("mul", dict(width=32, signed=True), 4),
           ("div", dict(width=16, frac_bits=0), 2), ("mul", dict(width=2), 8), ("div", dict(width=32, quotient_frac_bits=32), 0)]

from conftest import run_cli


@pytest.mark.parametrize("op, kw, stages", CONFIGS)
def test_compiles_and_lints_clean(op, kw, stages, tmp_path):
    text, comp, name = generate(Mitchell(**kw), op, stages=stages)
    v = tmp_path / f"{name}.v"
    v.write_text(text)
    r = subprocess.run(["iverilog", "-o", str(tmp_path / "a.vvp"), str(v)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ok, out = lint(v)
    assert ok, out


def test_lint_can_fail(tmp_path):
    v = tmp_path / "bad.v"
    v.write_text("module bad(input a, output y); wire unused_multi_driven; assign y = a; assign y = ~a; endmodule\n")
    ok, out = lint(v)
    assert not ok and out
    assert set(LINT_WAIVERS) == {"DECLFILENAME", "WIDTH", "UNUSEDSIGNAL", "LITENDIAN"}


def test_combinational_ports_are_exactly_a_b_p():
    _, comp, name = generate(Mitchell(width=12), "mul")
    assert [(p["name"], p["direction"], p["width"]) for p in ports_of(comp)] == \
        [("a", "in", 12), ("b", "in", 12), ("p", "out", 24)]
    assert name == "mitchell_mul_u12_f11_p0"
    _, comp, _ = generate(Mitchell(width=12, signed=True, quotient_frac_bits=5), "div")
    assert [(p["name"], p["width"], p["signed"]) for p in ports_of(comp)] == \
        [("a", 12, True), ("b", 12, True), ("q", 18, True), ("dbz", 1, False)]


def test_name_override_and_check():
    text, _, name = generate(Mitchell(width=4), "mul", name="my_mul")
    assert name == "my_mul" and "module my_mul" in text
    with pytest.raises(ValueError, match="name must be a Verilog identifier"):
        generate(Mitchell(width=4), "mul", name="1bad-name")



def test_cli_verilog_json(tmp_path):
    out = tmp_path / "m.v"
    rc, stdout, _ = run_cli("verilog", "--op", "div", "--width", "8", "--stages", "2", "-o", str(out), "--json")
    assert rc == 0
    obj = json.loads(stdout)
    assert obj["latency"] == 2 and obj["file"] == str(out) and out.read_text().startswith("/*")
    assert {p["name"] for p in obj["ports"]} >= {"clk", "rst", "a", "b", "q", "dbz", "i_valid", "i_ready", "o_valid", "o_ready"}


def test_cli_verilog_bad_stages(tmp_path):
    rc, _, err = run_cli("verilog", "--op", "mul", "--width", "8", "--stages", "9", "-o", str(tmp_path / "x.v"))
    assert rc == 2 and "stages must be in 0..8" in err


def test_cli_sim_json(tmp_path):
    rc, stdout, err = run_cli("sim", "--op", "mul", "--width", "6", "--stages", "2", "--vectors", "500",
                              "--seed", "9", "--build-dir", str(tmp_path), "--json")
    assert rc == 0, err
    obj = json.loads(stdout)
    assert obj["mismatches"] == 0 and obj["seed"] == 9 and obj["latency_measured"] == [2]
    assert "seed: 9" in err


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16"])
def test_float_verilog_lints_clean(fmt, tmp_path):
    from pymodel import FloatMitchell
    text, comp, name = generate(FloatMitchell(fmt), "fmul", stages=1)
    assert name == f"float_mitchell_{fmt}_p1"
    v = tmp_path / f"{name}.v"
    v.write_text(text)
    ok, out = lint(v)
    assert ok, out


def test_cli_fmul_errors_json():
    rc, stdout, _ = run_cli("errors", "--op", "fmul", "--format", "bf16", "--json")
    assert rc == 0
    obj = json.loads(stdout)
    assert obj["min_re_exact"] == "-1/9" and obj["format"] == "bf16"
