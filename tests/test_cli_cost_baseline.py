"""``mitchell cost --stages S`` compares like with like: the exact multiplier pipelined with the same stages and
handshake (checked in iverilog against Python's ``a * b`` under backpressure), and every table names its baseline."""

import json
import random
import subprocess

import pytest

from hdl.cost import exact_baseline, exact_pipelined_div, exact_pipelined_mul
from mitchell_cli import main
from mitchell_cli.cost import cost_table
from pymodel import Mitchell


def _stream(tmp_path, width, signed, stages, seed=1, op="mul", qf=None):
    """Every pair (a, b) through the pipelined exact multiplier (or divider: ``op="div"``, its outputs as
    ``(q, dbz)``) in iverilog, with random input gaps and random ``o_ready`` (backpressure); returns the results
    in the order they left."""
    rng = random.Random(seed)
    n = 1 << width
    sg = "signed " if signed else ""
    cfg = Mitchell(width=width, signed=signed, quotient_frac_bits=qf)
    if op == "div":
        outs = f"wire {sg}[{cfg.quotient_width - 1}:0] q; wire dz, ir, ov;"
        conn, show = ".q(q), .dbz(dz)", '$display("%0d %0d", q, dz)'
    else:
        outs = f"wire {sg}[{2 * width - 1}:0] p; wire ir, ov;"
        conn, show = ".p(p)", '$display("%0d", p)'
    gaps = "".join(str(rng.randint(0, 1)) for _ in range(4 * n * n))
    ready = "".join(str(rng.randint(0, 1)) for _ in range(8 * n * n + 64))
    tb = f"""
module tb; reg clk = 0, rst = 1; reg {sg}[{width - 1}:0] a = 0, b = 0; reg iv = 0, ordy = 0;
{outs}
reg [{len(gaps) - 1}:0] gaps = {len(gaps)}'b{gaps}; reg [{len(ready) - 1}:0] rdy = {len(ready)}'b{ready};
dut d(.clk(clk), .rst(rst), .a(a), .b(b), .i_valid(iv), .o_ready(ordy), {conn}, .i_ready(ir), .o_valid(ov));
integer k = 0, t = 0, got = 0;
always #1 clk = ~clk;
initial begin
  @(negedge clk); rst = 0;
  while (got < {n * n} && t < {16 * n * n + 100}) begin
    if (k < {n * n} && gaps[t % {len(gaps)}]) begin iv = 1; a = k / {n}; b = k % {n}; end else iv = 0;
    ordy = rdy[t % {len(ready)}];
    @(posedge clk); #0;
    if (ov && ordy) got = got + 1;
    if (iv && ir) k = k + 1;
    @(negedge clk); t = t + 1;
  end
  $finish;
end
always @(posedge clk) if (ov && ordy) {show};
endmodule
"""
    src = tmp_path / "t.v"
    src.write_text((exact_pipelined_mul if op == "mul" else exact_pipelined_div)(cfg, "dut", stages) + tb)
    subprocess.run(["iverilog", "-o", str(tmp_path / "t.vvp"), str(src)], check=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "t.vvp")], capture_output=True, text=True, timeout=60)
    return [tuple(int(x) for x in ln.split()) if op == "div" else int(ln) for ln in out.stdout.split("\n")
            if ln.strip()]


@pytest.mark.parametrize("width, signed, stages", [(4, False, 1), (4, True, 3), (5, True, 2), (3, True, 5)])
def test_pipelined_exact_multiplier_is_exact_under_backpressure(tmp_path, width, signed, stages):
    n = 1 << width
    vals = [x - n if signed and x >= n // 2 else x for x in range(n)]
    assert _stream(tmp_path, width, signed, stages) == [x * y for x in vals for y in vals]


@pytest.mark.parametrize("width, signed, stages, qf", [(4, False, 1, None), (4, True, 3, None), (3, True, 8, 2),
                                                       (4, False, 2, 0)])
def test_pipelined_exact_divider_is_exact_under_backpressure(tmp_path, width, signed, stages, qf):
    cfg = Mitchell(width=width, signed=signed, quotient_frac_bits=qf)
    n = 1 << width
    vals = [x - n if signed and x >= n // 2 else x for x in range(n)]

    def want(a, b):         # toward zero; b = 0: the Mitchell divider's saturated value and dbz
        if b == 0:
            return (cfg.div(a, 0, on_zero="saturate")[0], 1)
        t = abs(a) * 2 ** cfg.quotient_frac_bits // abs(b)
        return (t if (a < 0) == (b < 0) else -t, 0)
    assert _stream(tmp_path, width, signed, stages, op="div", qf=qf) == [want(x, y) for x in vals for y in vals]


def test_cost_names_its_baseline(tmp_path, capsys):
    cache = str(tmp_path / "c")
    assert main(["cost", "--width", "4", "--stages", "2", "--no-fmax", "--cache-dir", cache, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["rows"][0]
    assert r["baseline"].startswith("exact unsigned 4-bit multiplier a*b pipelined with the same 2 stages")
    # like with like: the registers cut the exact multiplier's depth too (the combinational one is deeper)
    assert main(["cost", "--width", "4", "--no-fmax", "--cache-dir", cache, "--json"]) == 0
    comb = json.loads(capsys.readouterr().out)["rows"][0]
    assert comb["baseline"] == "exact unsigned 4-bit multiplier a*b, combinational"
    assert r["exact"]["depth"] < comb["exact"]["depth"]
    assert exact_baseline(Mitchell(width=4), "div", 1).startswith(
        "exact unsigned 4-bit divider (a << 4) / b pipelined with the same 1 stage and handshake (restoring, 8 "
        "quotient rows in 2 groups")
    assert cost_table([comb]).splitlines()[-1].strip() == "exact: exact unsigned 4-bit multiplier a*b, combinational"
