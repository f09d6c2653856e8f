"""Energy per operation (sim.power): toggle counts against Icarus's VCD of the same netlist, a hand-counted
glitch, ranking, determinism, an idle stream, the NN operand streams, and the command line."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import run_cli
from hdl.cost import generic_script, synth_metrics
from hdl.verilog import generate
from pymodel.nn import ExactMultiplier
from pymodel.nn.matmul import approx_matmul, recording_operands
from pymodel.nn.operands import weight_stationary
from pymodel.registry import make_design
from sim.power import Netlist, activity, make_stream, power, read_netlist, synth_netlist, toggles

needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")


def _vcd_toggles(text):
    """{(signal name, bit): toggles} from a VCD, counting settled values: the last value of each time step."""
    ids, width, cur, steps = {}, {}, {}, []
    body = text.split("$enddefinitions", 1)[1]
    for m in re.finditer(r"\$var\s+\w+\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+\[[^\]]*\])?\s+\$end", text):
        ids.setdefault(m.group(2), []).append(m.group(3))
        width[m.group(2)] = int(m.group(1))
    for line in body.split("\n"):
        line = line.strip()
        if not line or line.startswith("$"):
            continue
        if line.startswith("#"):
            steps.append(dict(cur))
            continue
        if line[0] in "bB":
            val, code = line[1:].split()
        else:
            val, code = line[0], line[1:]
        cur[code] = val.rjust(width[code], "0")
    steps.append(dict(cur))
    steps = [s for s in steps[1:] if s]         # the state at the end of each time step
    counts = {}
    for code, names in ids.items():
        seq = [s.get(code) for s in steps if s.get(code) is not None]
        w = width[code]
        for k in range(w):                       # VCD vectors are MSB first
            t = sum(x[w - 1 - k] != y[w - 1 - k] for x, y in zip(seq, seq[1:]))
            for nm in names:
                counts[(nm, k)] = t
    return counts


@needs_yosys
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")
def test_toggle_counts_match_icarus_vcd_of_the_same_netlist(tmp_path):
    cfg = make_design("mitchell", width=4)
    text, _, top = generate(cfg, "mul")
    (tmp_path / "d.v").write_text(text)
    subprocess.run(["yosys", "-q", "-p", f"read_verilog d.v; {generic_script(top)}; rename -enumerate -pattern w%; "
                    "write_verilog -noattr n.v; write_json n.json"], cwd=tmp_path, check=True)
    obj = json.loads((tmp_path / "n.json").read_text())
    net = read_netlist(obj, top)
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 16, 300), rng.integers(0, 16, 300)
    a[100:140] = 0                                  # a run of idle operations
    counts, n = toggles(net, a, b)
    (tmp_path / "a.hex").write_text("\n".join(f"{x:x}" for x in a))
    (tmp_path / "b.hex").write_text("\n".join(f"{x:x}" for x in b))
    (tmp_path / "tb.v").write_text(f"""module tb;
  reg [3:0] a, b; wire [7:0] p; reg [3:0] av [0:{len(a) - 1}]; reg [3:0] bv [0:{len(a) - 1}]; integer i;
  {top} dut(.a(a), .b(b), .p(p));
  initial begin
    $readmemh("a.hex", av); $readmemh("b.hex", bv);
    a = av[0]; b = bv[0];
    $dumpfile("t.vcd"); $dumpvars(1, dut);
    for (i = 1; i < {len(a)}; i = i + 1) begin #10; a = av[i]; b = bv[i]; end
    #10 $finish;
  end
endmodule
""")
    subprocess.run(["iverilog", "-o", "sim", "tb.v", "n.v"], cwd=tmp_path, check=True)
    subprocess.run(["vvp", "sim"], cwd=tmp_path, check=True, capture_output=True)
    vcd = _vcd_toggles((tmp_path / "t.vcd").read_text())
    mod = obj["modules"][top]
    checked = set()
    for name, nn in mod["netnames"].items():
        for k, bit in enumerate(nn["bits"]):
            if isinstance(bit, int) and bit in net.bit_ids and (name, k) in vcd:   # undriven leftovers skipped
                assert counts[net.bit_ids[bit]] == vcd[(name, k)], (name, k)
                checked.add(net.bit_ids[bit])
    # every gate output and input bit was compared
    assert checked >= set(net.outs.tolist()) | set(net.inputs["a"]) | set(net.inputs["b"])
    assert n == len(a) - 1 and counts.sum() > 0


def test_unit_delay_counts_a_hand_counted_glitch():
    # y = a AND (NOT a): always 0 when settled; with one step per gate a rising a makes y pulse 0 -> 1 -> 0
    # (AND sees the new a and the old NOT a), a falling a does not.  b drives nothing.
    net = Netlist({"a": [2], "b": [3]}, {"y": [5]}, [("$_NOT_", 4, (2,)), ("$_AND_", 5, (2, 4))])
    a = np.array([0, 1, 0, 1, 1, 0, 1, 0, 0, 1])
    b = np.zeros_like(a)
    rises, falls = int(np.sum(np.diff(a) == 1)), int(np.sum(np.diff(a) == -1))
    zd, _ = toggles(net, a, b)
    ud, _ = toggles(net, a, b, unit_delay=True)
    assert zd[5] == 0 and zd[4] == rises + falls and zd[2] == rises + falls
    assert ud[5] == 2 * rises and ud[4] == rises + falls
    # the capacitance proxy: a's net drives a NOT and an AND pin, the NOT's output one AND pin, y a port
    assert net.load[2] == pytest.approx(1 + 4 / 3) and net.load[4] == pytest.approx(1 + 4 / 3)
    assert net.load[5] == pytest.approx(4 + 1)


@needs_yosys
def test_depth_and_cells_are_the_cost_flows(tmp_path):
    for name in ("mbm",):
        text, _, top = generate(make_design(name, width=5), "mul")
        net = synth_netlist(text, top, cache_dir="")
        m = synth_metrics(text, top, fmax=False, cache_dir=str(tmp_path))
        assert (net.cells, net.depth) == (m["cells"], m["depth"])


@needs_yosys
def test_truncated_operands_cost_less_energy_than_exact():
    w = 6
    exact = "module m(input [5:0] a, input [5:0] b, output [11:0] p); assign p = a * b; endmodule\n"
    trunc = ("module m(input [5:0] a, input [5:0] b, output [11:0] p); "
             "assign p = {a[5:3], 3'b0} * {b[5:3], 3'b0}; endmodule\n")
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 1 << w, 4096), rng.integers(0, 1 << w, 4096)
    e = activity(synth_netlist(exact, "m", cache_dir=""), a, b)
    t = activity(synth_netlist(trunc, "m", cache_dir=""), a, b)
    assert t["switched_cap"] < 0.5 * e["switched_cap"]
    # and a Mitchell multiplier that keeps one fraction bit ranks below exact through power()
    r = power(make_design("mitchell", width=w, frac_bits=1), n=4096, cache_dir="")
    assert r["ratio"]["energy"] < 1 and r["approx"]["switched_cap"] < r["exact"]["switched_cap"]


@needs_yosys
def test_power_is_deterministic_for_a_seed_and_an_idle_stream_switches_nothing(tmp_path):
    cfg = make_design("mitchell", width=5)
    r1 = power(cfg, n=2048, seed=7, cache_dir=str(tmp_path), unit_delay=True)
    r2 = power(cfg, n=2048, seed=7, cache_dir=str(tmp_path), unit_delay=True)
    r3 = power(cfg, n=2048, seed=8, cache_dir=str(tmp_path))
    assert r1 == r2
    assert r3["approx"]["switched_cap"] != r1["approx"]["switched_cap"]
    # glitches only add toggles
    assert r1["approx"]["toggles_unit_delay"] >= r1["approx"]["toggles"]
    text, _, top = generate(cfg, "mul")
    net = synth_netlist(text, top, cache_dir=str(tmp_path))
    zeros = np.zeros(1000, np.int64)
    for ud in (False, True):
        assert activity(net, zeros, zeros, unit_delay=ud)["switched_cap"] == 0
    # one operand held at zero: the product never moves, so only the other operand's cone toggles
    a = np.random.default_rng(0).integers(0, 32, 1000)
    busy = activity(net, a, a)["switched_cap"]
    assert activity(net, a, zeros)["switched_cap"] < busy


def test_recording_and_weight_stationary_order():
    rng = np.random.default_rng(0)
    a, b = rng.integers(-127, 128, (50, 3)), rng.integers(-127, 128, (3, 4))
    with recording_operands() as calls:
        out = approx_matmul(a, b, ExactMultiplier(width=8, signed=True))
    assert np.array_equal(out, a @ b)
    assert len(calls) == 1 and np.array_equal(calls[0][0], a) and np.array_equal(calls[0][1], b)
    approx_matmul(a, b, ExactMultiplier(width=8, signed=True))
    assert len(calls) == 1                   # nothing recorded after the block
    sa, sb, info = weight_stationary(calls, 200, seed=3, max_run=50)
    assert len(sa) == len(sb) == 200
    # runs of 50: one weight each, paired with a column of a in row order
    for r in range(4):
        run_a, run_b = sa[50 * r:50 * (r + 1)], sb[50 * r:50 * (r + 1)]
        assert len(set(run_b.tolist())) == 1
        k = [kk for kk in range(3) if np.array_equal(a[:, kk], run_a)]
        assert k and run_b[0] in b[k[0]]
    sa2, sb2, _ = weight_stationary(calls, 200, seed=3, max_run=50)
    assert np.array_equal(sa, sa2) and np.array_equal(sb, sb2)
    with pytest.raises(ValueError, match="n must be"):
        weight_stationary(calls, 1)


def test_nn_stream_of_the_digits_mlp(tmp_path):
    from pymodel.nn.operands import record_study
    calls = record_study("mlp", width=6, images=4, epochs=1, cache_dir=str(tmp_path))
    assert [(x.shape, y.shape) for x, y in calls] == [((4, 64), (64, 128)), ((4, 128), (128, 10))]
    signed, unsigned = make_design("mitchell", width=6, signed=True), make_design("mitchell", width=6)
    a, b, info = make_stream("nn-mlp", signed, n=1000, calls=calls)
    assert a.min() >= -31 and a.max() <= 31 and b.min() >= -31 and b.max() <= 31 and b.min() < 0
    assert info["zero_a"] > 0.2                  # digits pixels and ReLU outputs: many zeros
    ua, ub, _ = make_stream("nn-mlp", unsigned, n=1000, calls=calls)
    assert np.array_equal(ua, np.abs(a)) and np.array_equal(ub, np.abs(b))


@needs_yosys
def test_cli_power(tmp_path, capsys):
    from mitchell_cli import main
    rc, out, err = run_cli("cost", "--width", "4", "--no-fmax", "--power", "--ops", "256", "--seed", "3",
                           "--cache-dir", str(tmp_path), "--json")
    assert rc == 0, err
    obj = json.loads(out)
    p = obj["rows"][0]["power"]
    assert p["stream"]["stream"] == "uniform" and p["pairs"] == 256 and 0 < p["ratio"]["energy"] < 2
    assert "seed: 3" in err and "switched capacitance" in obj["power_model"]
    for args, msg in ((["--stream", "nn-cnn"], "--stream does not apply without --power"),
                      (["--power", "--stream", "nn"], "--stream must be one of"),
                      (["--power", "--stages", "2"], "--stages 2 is pipelined"),
                      (["--power", "--ops", "10"], "--ops must be in 64..4194304"),
                      (["--power", "--stream", "onnx:/nonexistent.onnx"], "no such ONNX file"),
                      (["--op", "div", "--power", "--stream", "nn-cnn"], "--op div takes --stream uniform")):
        assert main(["cost", "--width", "4", "--no-fmax", *args, "--json"]) == 2, args
        assert msg in json.loads(capsys.readouterr().out)["error"], args


@needs_yosys
def test_explore_power_task(tmp_path):
    from sim.explore import build_rows, expand, make_sweep, pareto_flags, reproduce_commands, run_task
    sw = make_sweep(designs=["mitchell"], widths=[4], stages=[0, 1], fmax=False, power=True, seed=2)
    comb, piped = expand(sw)
    t = run_task("power", comb, sw, str(tmp_path))
    assert t["status"] == "ok", t
    want = power(make_design("mitchell", width=4), n=1 << 14, seed=2, cache_dir="")
    assert t["result"]["energy_uniform"] == pytest.approx(want["ratio"]["energy"])
    assert run_task("power", comb, sw, str(tmp_path))["cached"]
    n_a = run_task("power", piped, sw, str(tmp_path))
    assert n_a["status"] == "n/a" and "combinational" in n_a["reason"]
    rows = build_rows([comb, piped], [t, n_a])
    assert "energy" in pareto_flags(rows)
    assert "--power" in reproduce_commands(rows[0], sw)["power"] and "power" not in reproduce_commands(rows[1], sw)


def test_onnx_stream_of_the_exported_digits_cnn(tmp_path):
    pytest.importorskip("onnx")
    from pymodel.nn.onnx_export import export_onnx
    from pymodel.nn.operands import record_onnx, record_study
    from pymodel.nn.study import float_model
    net, (xtr, ytr, xte, yte), *_ = float_model(model="cnn", epochs=1, cache_dir=str(tmp_path))
    export_onnx(net, xtr.shape[1:], tmp_path / "cnn.onnx")
    np.savez(tmp_path / "d.npz", x=xte[:20], y=yte[:20], x_calib=xtr[:64])
    native = record_study("cnn", width=8, images=4, epochs=1, cache_dir=str(tmp_path))
    onnx_calls = record_onnx(str(tmp_path / "cnn.onnx"), str(tmp_path / "d.npz"), width=8, images=4, calib=64)
    # the same three MAC layers with the same (M, K, N), and int8 operands
    assert [(a.shape, b.shape) for a, b in onnx_calls] == [(a.shape, b.shape) for a, b in native]
    assert all(np.abs(a).max() <= 127 and np.abs(b).max() <= 127 for a, b in onnx_calls)
    cfg = make_design("mitchell", width=8, signed=True)
    a, b, info = make_stream(f"onnx:{tmp_path / 'cnn.onnx'}", cfg, n=512, data=str(tmp_path / "d.npz"),
                             calls=onnx_calls)
    assert len(a) == 512 and info["stream"].startswith("onnx:") and info["zero_a"] > 0


@needs_yosys
def test_compare_power_columns(tmp_path, monkeypatch, capsys):
    import pymodel.nn.operands as operands
    from mitchell_cli import main
    from mitchell_cli.compare import compare_rows, markdown_table
    real = operands.record_study
    # the CNN as the study trains it would take minutes here: one epoch, same code path
    monkeypatch.setattr(operands, "record_study",
                        lambda *a, **k: real(*a, **{**k, "epochs": 1, "images": 2, "cache_dir": str(tmp_path)}))
    rows = compare_rows(["mitchell"], [4], cost=False, nn=False, power=True, power_ops=256, cache_dir="")
    r = rows[0]
    assert 0 < r["energy_uniform"] < 10 and 0 < r["energy_cnn"] < 10 and r["edp_uniform"] > 0   # 4-bit: not a saving
    table = markdown_table(rows, cost=False, nn=False, power=True)
    assert "energy uniform (EDP)" in table and "energy CNN (EDP)" in table
    assert main(["compare", "--designs", "mitchell", "--width", "4", "--no-cost", "--no-nn", "--ops", "256",
                 "--json"]) == 2
    assert "--ops does not apply without --power" in json.loads(capsys.readouterr().out)["error"]


@needs_yosys
def test_long_streams_in_chunks_count_the_same(monkeypatch):
    import sim.power as sp
    text, _, top = generate(make_design("mitchell", width=4), "mul")
    net = synth_netlist(text, top, cache_dir="")
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 16, 3000), rng.integers(0, 16, 3000)
    whole = [toggles(net, a, b, unit_delay=ud)[0] for ud in (False, True)]
    monkeypatch.setattr(sp, "CHUNK", 333)
    for ud, w in zip((False, True), whole):
        got, n = toggles(net, a, b, unit_delay=ud)
        assert n == 2999 and np.array_equal(got, w)
