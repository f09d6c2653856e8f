"""The command line takes any design by name, with its own parameters, and refuses the others'."""

import json

import pytest

from pymodel.registry import DESIGNS, design_class, make_design
from pymodel.metrics import error_metrics

from conftest import run_cli


def test_designs_json_lists_every_design_with_parameters():
    rc, out, _ = run_cli("designs", "--json")
    assert rc == 0
    info = {d["name"]: d for d in json.loads(out)["designs"]}
    assert list(info) == list(DESIGNS)
    for name, d in info.items():
        assert [p["name"] for p in d["params"]] == design_class(name).param_names()
    assert info["realm"]["gemm_path_s16"] == "log-add-corrected" and info["inzed"]["gemm_path_s16"] is None


@pytest.mark.parametrize("name", ["mbm", "inzed"])     # a multiplier and a divider: the path is the same for all
def test_errors_of_a_design_equal_the_library(name):
    op = design_class(name).OPS[0]
    rc, out, err = run_cli("errors", "--design", name, "--op", op, "--width", "6", "--signed", "--json")
    assert rc == 0, err
    got = json.loads(out)
    want = error_metrics(make_design(name, width=6, signed=True), op)
    assert got["pairs"] == want["pairs"] and got["exhaustive"] is True
    assert got["mred"] == pytest.approx(want["mred"], rel=1e-12)
    assert got["min_re_operands"] == want["min_re_operands"]


@pytest.mark.parametrize("args, msg", [
    (["errors", "--design", "mbm", "--corrections", "1"], "--corrections does not apply to --design mbm (only to ilm)"),
    (["errors", "--design", "ilm", "--op", "div"], "--design ilm has no --op div"),
    (["errors", "--design", "nope"], "invalid choice"),
    (["errors", "--design", "ilm", "--corrections", "9"], "--corrections must be in 0..7"),
    (["verilog", "--design", "mbm", "--frac-bits", "3", "--c-bits", "40", "-o", "x.v"], "--c-bits must be in 2..16"),
    (["errors", "--op", "fmul", "--design", "mbm"], "--design"),
    (["compare", "--designs", "mbm,inzed"], "--designs inzed does not multiply"),
    (["compare", "--no-cost", "--plot", "p.png"], "--plot draws MRED against cost"),
    (["plot", "--kind", "compare", "--designs", "ilm", "--sweep", "c_bits", "-o", "x.png"], "--sweep: design 'ilm' has no"),
])
def test_design_options_are_checked(args, msg, tmp_path):
    rc, out, _ = run_cli(*args, "--json")
    assert rc == 2
    assert msg in json.loads(out)["error"]


def test_verilog_and_plot_take_a_design(tmp_path):
    v = tmp_path / "ilm.v"
    rc, out, err = run_cli("verilog", "--design", "ilm", "--corrections", "1", "--width", "8", "--stages", "2",
                           "-o", str(v), "--json")
    assert rc == 0, err
    obj = json.loads(out)
    assert obj["module"] == "ilm_mul_u8_i1_p2" and obj["latency"] == 2
    assert "module ilm_mul_u8_i1_p2" in v.read_text()
    png = tmp_path / "f.png"
    rc, out, err = run_cli("plot", "--design", "mbm", "--kind", "fraction", "--width", "8", "-o", str(png), "--json")
    assert rc == 0, err
    assert json.loads(out)["max_re"] > 0 > json.loads(out)["min_re"]       # MBM's error takes both signs
    rc, out, err = run_cli("plot", "--kind", "compare", "--designs", "mitchell,ilm", "--width", "6",
                           "-o", str(tmp_path / "c.png"), "--json")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    assert {r["design"] for r in rows} == {"mitchell", "ilm"}
    assert {r["param"] for r in rows if r["design"] == "ilm"} == {"corrections"}


def test_sim_takes_a_design(tmp_path):
    rc, out, err = run_cli("sim", "--design", "nearest-one", "--width", "6", "--exhaustive",
                           "--build-dir", str(tmp_path), "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert s["mismatches"] == 0 and s["checked"] == 4096


def test_compare_table_without_synthesis(tmp_path):
    rc, out, err = run_cli("compare", "--designs", "mitchell,realm", "--width", "6", "--no-cost", "--no-nn", "--json")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    assert [r["design"] for r in rows] == ["mitchell", "realm"]
    assert rows[1]["mred"] == pytest.approx(error_metrics(make_design("realm", width=6), "mul")["mred"])
