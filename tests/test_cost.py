"""Hardware cost: the exact baselines are the right operators, the flow reports and caches,
the 16-bit multiplier meets its targets, and the CLI."""

import json
import subprocess
import sys

import pytest

from hdl import cost as cost_mod
from hdl.cost import cost, exact_verilog, pareto, registered_wrapper
from hdl.verilog import generate, ports_of
from pymodel import Mitchell


def simulate(verilog, top, ports, vectors, tmp_path):
    """Drive ``vectors`` through ``top`` with a plain Icarus testbench; returns the outputs."""
    outs = [p for p in ports if p["direction"] == "out"]
    tb = ["module tb;"]
    for p in ports:
        kind = "reg" if p["direction"] == "in" else "wire"
        tb.append(f"  {kind} {'signed ' if p['signed'] else ''}[{p['width'] - 1}:0] {p['name']};")
    conns = ", ".join(f".{p['name']}({p['name']})" for p in ports)
    tb.append(f"  {top} dut({conns});")
    tb.append("  initial begin")
    for a, b in vectors:
        tb.append(f"    a = {a}; b = {b}; #1 $display(\"{' '.join('%0d' for _ in outs)}\", {', '.join(p['name'] for p in outs)});")
    tb.append("  end\nendmodule")
    (tmp_path / "d.v").write_text(verilog + "\n" + "\n".join(tb))
    subprocess.run(["iverilog", "-o", str(tmp_path / "t.vvp"), str(tmp_path / "d.v")], check=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "t.vvp")], capture_output=True, text=True, check=True).stdout
    return [tuple(int(x) for x in line.split()) for line in out.strip().splitlines()]


@pytest.mark.parametrize("signed", [False, True])
def test_exact_baselines_compute_the_exact_operators(signed, tmp_path):
    cfg = Mitchell(width=5, signed=signed, quotient_frac_bits=3)
    lo, hi = cfg.operand_range
    vecs = [(a, b) for a in range(lo, hi + 1, 3) for b in range(lo, hi + 1, 2)]
    mul_ports = [{"name": "a", "direction": "in", "width": 5, "signed": signed},
                 {"name": "b", "direction": "in", "width": 5, "signed": signed},
                 {"name": "p", "direction": "out", "width": 10, "signed": signed}]
    got = simulate(exact_verilog(cfg, "mul", "em"), "em", mul_ports, vecs, tmp_path)
    assert got == [(a * b,) for a, b in vecs]
    qw = cfg.quotient_width
    div_ports = mul_ports[:2] + [{"name": "q", "direction": "out", "width": qw, "signed": signed},
                                 {"name": "dbz", "direction": "out", "width": 1, "signed": False}]
    got = simulate(exact_verilog(cfg, "div", "ed"), "ed", div_ports, vecs, tmp_path)
    for (a, b), (q, dbz) in zip(vecs, got):
        if b == 0:     # the same saturated value as the Mitchell divider
            assert (q, dbz) == (cfg.div(a, 0, on_zero="saturate")[0], 1)
        else:
            t = abs(a) * 8 // abs(b)
            assert (q, dbz) == (t if (a < 0) == (b < 0) else -t, 0), (a, b)


def test_registered_wrapper_compiles(tmp_path):
    text, comp, name = generate(Mitchell(width=6, signed=True), "div", stages=2)
    wrap = registered_wrapper(name, ports_of(comp), "wrapped")
    (tmp_path / "w.v").write_text(text + wrap)
    subprocess.run(["iverilog", "-o", str(tmp_path / "w.vvp"), "-s", "wrapped", str(tmp_path / "w.v")], check=True)


def test_cost_reports_and_caches(tmp_path):
    r = cost(Mitchell(width=8), "mul", cache_dir=str(tmp_path))
    for d in ("approx", "exact"):
        assert set(r[d]) == {"cells", "depth", "ice40_luts", "fmax_mhz"}
        assert r[d]["cells"] > 50 and r[d]["depth"] > 5 and r[d]["ice40_luts"] > 20 and r[d]["fmax_mhz"] > 10
    assert r["ratio"]["cells"] == pytest.approx(r["approx"]["cells"] / r["exact"]["cells"])
    assert r["cached"] is False
    again = cost(Mitchell(width=8), "mul", cache_dir=str(tmp_path))
    assert again["cached"] is True and again["approx"] == r["approx"]


@pytest.mark.slow
def test_16_bit_multiplier_targets(tmp_path):
    r = cost(Mitchell(width=16), "mul", fmax=False, cache_dir=str(tmp_path))
    assert r["ratio"]["cells"] <= 0.35
    assert r["ratio"]["depth"] <= 0.80
    assert r["ratio"]["ice40_luts"] <= 0.50


def test_divider_cost_and_full_abc_flow(tmp_path):
    r = cost(Mitchell(width=8, signed=True), "div", fmax=False, abc="full", cache_dir=str(tmp_path))
    assert r["abc"] == "full" and r["approx"]["fmax_mhz"] is None
    assert r["ratio"]["cells"] < 1
    with pytest.raises(ValueError, match="abc must be one of"):
        cost(Mitchell(width=8), "mul", abc="medium", cache_dir=str(tmp_path))


def test_pareto_rows(tmp_path):
    rows = pareto([6], "mul", cache_dir=str(tmp_path))
    assert rows[0]["design"] == "exact" and rows[0]["mred"] == 0
    mit = [r for r in rows if r["design"] == "mitchell"]
    assert [r["frac_bits"] for r in mit] == [1, 3, 4, 5]
    full = next(r for r in mit if r["frac_bits"] == 5)
    assert full["mred"] < next(r for r in mit if r["frac_bits"] == 1)["mred"]
    assert full["cells"] > next(r for r in mit if r["frac_bits"] == 1)["cells"]


def test_missing_tool_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(cost_mod.shutil, "which", lambda tool: None)
    with pytest.raises(FileNotFoundError, match="install the Debian package 'yosys'"):
        cost(Mitchell(width=8), "mul")


def test_cli_cost_json(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "cost", "--op", "div", "--width", "6", "--no-fmax",
                        "--cache-dir", str(tmp_path), "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    # one schema for any design and any number of widths
    assert obj["design"] == "mitchell" and obj["widths"] == [6] and len(obj["rows"]) == 1
    assert set(obj["rows"][0]["approx"]) == {"cells", "depth", "ice40_luts", "fmax_mhz"} and "exact" in obj["rows"][0]
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "cost", "--width", "6,7", "--no-fmax",
                        "--cache-dir", str(tmp_path), "--json"], capture_output=True, text=True)
    obj = json.loads(p.stdout)
    assert obj["widths"] == [6, 7] and [r["width"] for r in obj["rows"]] == [6, 7]
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "cost", "--width", "6", "--stages", "12",
                        "--cache-dir", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2 and "stages must be in 0..8" in p.stderr
