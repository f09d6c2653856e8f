"""``mitchell explore``'s task statuses: a failed task keeps a configuration out of the Pareto set (and red in
the report); a task that cannot run for a design is "not available" (``n/a``), not a failure."""

import csv
from pathlib import Path

import pytest

from sim.explore import build_rows, make_sweep, pareto_flags, run_task, write_results
from sim.report import _row_class, write_report


def _cfg(design, width=4):
    return {"design": design, "op": "mul", "width": width, "signed": False, "stages": 0, "params": {}}


def _without_spec():
    """A multiplier without a hardware specification (None when every design has one)."""
    from hdl.spec import check_spec
    from pymodel.registry import designs_with, make_design
    for name in designs_with("mul"):
        try:
            check_spec(make_design(name, width=4), "mul")
        except ValueError:
            return name
    return None


def test_verify_without_spec_is_not_available(tmp_path, monkeypatch):
    def no_spec(config, op):
        raise ValueError(f"no hardware specification for {config.NAME} yet (hdl/spec.py): --prove needs one")
    monkeypatch.setattr("hdl.spec.check_spec", no_spec)
    sw = make_sweep(designs=["dr-alm"], widths=[4], fmax=False, verify=True)
    t = run_task("verify", _cfg("dr-alm"), sw, str(tmp_path))
    assert t["status"] == "n/a", t
    assert t["reason"] == "no hardware specification for dr-alm yet (hdl/spec.py)"
    assert not list(tmp_path.rglob("*.json"))        # nothing cached: a spec added later is picked up


def test_not_available_from_a_task_process(tmp_path):
    name = _without_spec()
    if name is None:
        pytest.skip("every multiplier has a hardware specification")
    sw = make_sweep(designs=[name], widths=[4], fmax=False, verify=True, timeout=120)     # the child-process path
    t = run_task("verify", _cfg(name), sw, str(tmp_path))
    assert t["status"] == "n/a", t
    # the CLI's name of the design, not its class name (DRALM)
    assert t["reason"].startswith("no hardware specification") and name in t["reason"]


def _tasks():
    """mitchell: every task ok; mbm: cost ok but verify failed (the best numbers, so it would dominate);
    dr-alm: verify not available."""
    m, b, d = _cfg("mitchell"), _cfg("mbm"), _cfg("dr-alm")
    ok = lambda c, kind, res: {"kind": kind, "config": c, "status": "ok", "cached": False, "result": res}   # noqa: E731
    return [ok(m, "errors", {"mred": 0.04, "bias": -0.04}), ok(m, "cost", {"cells": 100, "ice40_luts": 50}),
            ok(m, "verify", {"verify": "proven"}),
            ok(b, "errors", {"mred": 0.01, "bias": 0.0}), ok(b, "cost", {"cells": 90, "ice40_luts": 40}),
            {"kind": "verify", "config": b, "status": "error", "cached": False, "error": "RuntimeError: yosys crashed"},
            ok(d, "errors", {"mred": 0.03, "bias": 0.01}), ok(d, "cost", {"cells": 95, "ice40_luts": 60}),
            {"kind": "verify", "config": d, "status": "n/a", "cached": False,
             "reason": "no hardware specification for dr-alm yet (hdl/spec.py)"}]


def test_failed_row_is_not_pareto_and_na_row_is_candidate(tmp_path):
    rows = build_rows([_cfg("mitchell"), _cfg("mbm"), _cfg("dr-alm")], _tasks())
    pareto_flags(rows)
    mit, mbm, dr = rows
    assert not mbm["ok"] and mbm["errors_of_tasks"] == {"verify": "RuntimeError: yosys crashed"}
    # mbm dominates both in MRED, |bias|, cells and LUTs but failed a task: neither in the set nor dominating
    assert [r["pareto"] for r in rows] == [True, False, True]
    assert dr["ok"] and dr["verify_status"] == "n/a" and dr["not_available"] == {"verify": _tasks()[-1]["reason"]}
    assert _row_class(mbm) == "failed" and _row_class({"ok": False, "pareto": True}) == "failed"
    assert _row_class(dr) == "pareto"

    # the CSVs: the same columns in the same order, statuses as written
    sw = make_sweep(designs=["mitchell", "mbm", "dr-alm"], widths=[4], fmax=False, verify=True)
    obj = {"sweep": sw, "rows": rows, "failed": [], "not_available": []}
    files = write_results(obj, tmp_path)
    with open(files["csv"]) as f:
        res = list(csv.reader(f))
    with open(files["pareto_csv"]) as f:
        par = list(csv.reader(f))
    assert res[0] == par[0] and res[0][:10] == ["id", "label", "design", "op", "width", "signed", "stages", "params",
                                                "ok", "pareto"]
    st = res[0].index("verify_status")
    assert [r[st] for r in res[1:]] == ["ok", "error", "n/a"]
    assert [r[res[0].index("label")] for r in par[1:]] == ["mitchell u4", "dr-alm u4"]


def test_report_legend_and_verify_cells(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.report.MAX_DESIGN_FIGURES", 0)     # the figures take seconds and are not tested here
    rows = build_rows([_cfg("mitchell"), _cfg("mbm"), _cfg("dr-alm")], _tasks())
    pareto_flags(rows)
    for r, label in zip(rows, ("mitchell u4", "mbm u4", "dr-alm u4")):
        r["label"] = label
    sw = make_sweep(designs=["mitchell", "mbm", "dr-alm"], widths=[4], fmax=False, verify=True)
    na = [{"kind": "verify", "config": _cfg("dr-alm"), "reason": "no hardware specification for dr-alm yet"}]
    page = write_report({"sweep": sw, "rows": rows, "failed": [], "not_available": na}, tmp_path / "r.html")
    text = Path(page).read_text()
    assert '<tr class="failed"><td class="l">mbm u4</td>' in text
    assert "not a Pareto candidate" in text and "Tasks not available" in text
    assert '>not available</span>' in text and '<span class="bad">failed</span>' in text
