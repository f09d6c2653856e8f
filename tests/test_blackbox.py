"""Circuits without a model (sim/blackbox.py, pymodel/table_mult.py, ``--verilog FILE --ports A,B,P``).

The circuits are written here: an array multiplier with its low partial products cut (gate by gate), and
a sign-magnitude multiplier of truncated operands.  Every figure is checked against numpy on the circuit's
own arithmetic, written independently of the Verilog.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from pymodel.table_mult import TableMultiplier, product_error_metrics

pytestmark = pytest.mark.skipif(shutil.which("yosys") is None or shutil.which("cc") is None,
                                reason="needs yosys and a C compiler")
PY = sys.executable


def array_mult_verilog(w, cut, name="arr"):
    """An unsigned ``w``-bit array multiplier whose partial-product bits ``a[i] & b[j]`` with ``i + j < cut``
    are left out: one AND gate per kept bit, the rows summed (ports x, y, z)."""
    rows = []
    for j in range(w):
        bits = [f"(x[{i}] & y[{j}])" if i + j >= cut else "1'b0" for i in reversed(range(w))]
        rows.append(f"  wire [{2 * w - 1}:0] r{j} = {{{w}'b0, {', '.join(bits)}}} << {j};")
    return (f"module {name}(input [{w - 1}:0] x, input [{w - 1}:0] y, output [{2 * w - 1}:0] z);\n"
            + "\n".join(rows) + f"\n  assign z = {' + '.join(f'r{j}' for j in range(w))};\nendmodule\n")


def array_mult_reference(w, cut):
    a = np.arange(1 << w)[:, None]
    b = np.arange(1 << w)[None, :]
    z = np.zeros((1 << w, 1 << w), np.int64)
    for i in range(w):
        for j in range(w):
            if i + j >= cut:
                z += (((a >> i) & 1) * ((b >> j) & 1)) << (i + j)
    return z


SIGNED_TRUNC = """module strunc(input signed [5:0] a, input signed [5:0] b, output signed [11:0] p);
  wire [5:0] ma = a[5] ? -a : a;
  wire [5:0] mb = b[5] ? -b : b;
  wire [11:0] m = {ma[5:1], 1'b0} * {mb[5:1], 1'b0};
  assign p = (a[5] ^ b[5]) ? -m : m;
endmodule
"""


def signed_trunc_reference():
    v = np.arange(-32, 32)
    ma, mb = np.abs(v)[:, None] & ~1, np.abs(v)[None, :] & ~1
    sign = np.where((v[:, None] < 0) != (v[None, :] < 0), -1, 1)
    return v, sign * ma * mb


def _metrics_reference(a, b, approx):
    """MRED, bias, EP, MAE, WCE from the definitions (exact a*b; relative figures over nonzero exact)."""
    exact = a[:, None] * b[None, :]
    err = approx - exact
    nz = exact != 0
    re = err[nz] / exact[nz]
    return {"mred": np.abs(re).mean(), "bias": re.mean(), "ep": np.mean(err != 0), "mae": np.abs(err).mean(),
            "wce": np.abs(err).max(), "min_re": re.min(), "max_re": re.max()}


def test_array_multiplier_with_cut_partial_products(tmp_path):
    from sim.blackbox import BlackBox
    w, cut = 6, 4
    f = tmp_path / "arr.v"
    f.write_text(array_mult_verilog(w, cut))
    bb = BlackBox(f, ("x", "y", "z"), build_root=tmp_path / "b")
    ref = array_mult_reference(w, cut)
    assert np.array_equal(bb.table(), ref)
    m = bb.metrics()
    want = _metrics_reference(np.arange(1 << w), np.arange(1 << w), ref)
    for k, v in want.items():
        assert m[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k
    assert m["pairs"] == 1 << (2 * w) and m["design"] == "verilog:arr" and m["method"] == "sweep"
    # the worst-case fraction comes from the circuit's own product at those operands
    a, b = m["min_re_operands"]
    assert m["min_re_exact"] == str((__import__("fractions").Fraction(int(ref[a, b]) - a * b, a * b)))
    # the reference can tell: a circuit cut one bit deeper gives other figures
    assert not np.array_equal(array_mult_reference(w, cut + 1), ref)


def test_signed_truncated_table_metrics_and_nn_kernel(tmp_path):
    from pymodel.nn.matmul import approx_matmul, gemm_path
    from sim.blackbox import BlackBox
    f = tmp_path / "s.v"
    f.write_text(SIGNED_TRUNC)
    bb = BlackBox(f, ("a", "b", "p"), signed=True, build_root=tmp_path / "b")
    v, ref = signed_trunc_reference()
    mult = bb.multiplier()
    assert mult.mul(v[:, None], v[None, :]).tolist() == ref.tolist() and mult.mul(-32, 31) == int(ref[0, -1])
    m = bb.metrics()
    for k, x in _metrics_reference(v, v, ref).items():
        assert m[k] == pytest.approx(x, rel=1e-12, abs=1e-15), k
    # every MAC of the NN studies through the table: approx_matmul equals the sum of the circuit's products
    rng = np.random.default_rng(3)
    A, B = rng.integers(-32, 32, (7, 9)), rng.integers(-32, 32, (9, 4))
    want = ref[A[:, :, None] + 32, B[None, :, :] + 32].sum(axis=1)
    assert gemm_path(mult) == "table" and np.array_equal(approx_matmul(A, B, mult), want)


def test_constant_output_bits_and_chunks():
    """A product whose low bit is a constant 1 (write_aiger leaves constants out of its map): read as 1."""
    from sim.blackbox import BlackBox
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "c.v"
        f.write_text("module c(input [3:0] a, input [3:0] b, output [7:0] p);\n  assign p = ((a * b) & 8'hfe) | 1;\n"
                     "endmodule\n")
        bb = BlackBox(f, build_root=Path(d) / "b")
        a = np.arange(16)
        assert np.array_equal(bb.table(), (a[:, None] * a[None, :] & 0xFE) | 1)


def test_product_error_metrics_refuses_a_short_stream():
    chunks = [(np.arange(2), np.arange(4), np.zeros((2, 4), np.int64))]
    with pytest.raises(RuntimeError, match="gave 8 products, expected 16"):
        product_error_metrics("x", {"width": 2, "signed": False}, chunks, total=16)
    with pytest.raises(ValueError, match="up to 12 bits"):
        TableMultiplier("x", 13, False, np.zeros((1, 1)))


def _cli(*args):
    r = subprocess.run([PY, "-m", "mitchell_cli", *args, "--json"], capture_output=True, text=True)
    return r.returncode, json.loads(r.stdout)


def test_cli_errors_cost_compare(tmp_path):
    f = tmp_path / "arr.v"
    f.write_text(array_mult_verilog(4, 3, "arr4"))
    rc, m = _cli("errors", "--verilog", str(f), "--ports", "x,y,z")
    want = _metrics_reference(np.arange(16), np.arange(16), array_mult_reference(4, 3))
    assert rc == 0 and m["mred"] == pytest.approx(want["mred"], rel=1e-12) and m["design"] == "verilog:arr4"
    rc, c = _cli("cost", "--verilog", str(f), "--ports", "x,y,z", "--no-fmax", "--cache-dir", str(tmp_path / "c"))
    r = c["rows"][0]
    assert rc == 0 and r["design"] == "verilog:arr4" and 0 < r["approx"]["cells"] < r["exact"]["cells"]
    plot = tmp_path / "p.png"
    rc, c = _cli("compare", "--designs", "mitchell", "--width", "4", "--no-nn", "--no-fmax", "--verilog", str(f),
                 "--ports", "x,y,z", "--cache-dir", str(tmp_path / "c"), "--plot", str(plot))
    assert rc == 0 and [x["design"] for x in c["rows"]] == ["mitchell", "verilog:arr4"]
    assert c["rows"][1]["mred"] == pytest.approx(want["mred"], rel=1e-12) and c["rows"][1]["cells"] == r["approx"]["cells"]
    assert plot.stat().st_size > 1000
    # bad input: named, before any work
    rc, e = _cli("errors", "--verilog", str(f), "--ports", "x,y")
    assert rc == 2 and "--ports takes three distinct port names" in e["error"]
    rc, e = _cli("errors", "--verilog", str(f), "--ports", "x,y,q")
    assert rc == 2 and "has no port q" in e["error"] and "z (out, 8 bits)" in e["error"]
    rc, e = _cli("errors", "--verilog", str(f), "--ports", "x,y,z", "--width", "8")
    assert rc == 2 and "differs from the circuit's operand width 4" in e["error"]
    rc, e = _cli("nn", "--verilog", str(f), "--ports", "x,y,z")
    assert rc == 2 and "needs a signed multiplier" in e["error"]
    rc, e = _cli("errors", "--ports", "x,y,z")
    assert rc == 2 and e["error"] == "--ports does not apply without --verilog"


def test_cli_nn_through_the_table(tmp_path):
    f = tmp_path / "s.v"
    f.write_text(SIGNED_TRUNC)
    rc, r = _cli("nn", "--verilog", str(f), "--signed", "--epochs", "2", "--finetune-epochs", "0",
                 "--cache-dir", str(tmp_path / "nn"))
    assert rc == 0 and r["design"] == "verilog:strunc" and r["width"] == 6 and r["gemm_path"] == "table"
    acc = r["accuracy"]
    assert set(acc) == {"float32", "int6_exact", "int6_verilog:strunc", "int6_verilog:strunc_finetuned"}
    assert 0 <= acc["int6_verilog:strunc"] <= 1


def test_cli_plot_heatmap_of_a_circuit(tmp_path):
    f = tmp_path / "arr.v"
    f.write_text(array_mult_verilog(4, 3, "arr4"))
    rc, r = _cli("plot", "--kind", "heatmap", "--verilog", str(f), "--ports", "x,y,z", "-o", str(tmp_path / "h.png"))
    ref = array_mult_reference(4, 3)
    a = np.arange(16)
    exact = a[:, None] * a[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        re = np.where(exact != 0, (ref - exact) / np.where(exact == 0, 1, exact), np.nan)
    assert rc == 0 and r["grid"] == [16, 16] and r["min_re"] == pytest.approx(np.nanmin(re), rel=1e-12)
    assert (tmp_path / "h.png").stat().st_size > 1000
    rc, e = _cli("plot", "--kind", "histogram", "--verilog", str(f), "--ports", "x,y,z", "-o", str(tmp_path / "x.png"))
    assert rc == 2 and "--kind heatmap or surface" in e["error"]
