"""``mitchell explore`` on dask (LocalCluster and a scheduler started here), its cache, failures, Pareto set,
and ``mitchell report`` in a headless chromium."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mitchell_cli import main
from pymodel.metrics import error_metrics
from pymodel.registry import make_design
from sim.explore import make_sweep, pareto_flags, run_task

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["--designs", "mitchell,mbm", "--width", "6", "--stages", "0", "--no-fmax"]


def _mitchell(args, env, timeout=300):
    r = subprocess.run([sys.executable, "-m", "mitchell_cli", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def _crashing_yosys(tmp_path):
    """PATH with a ``yosys`` that crashes on the mbm design (a tool crash inside one task) and runs the real
    one otherwise."""
    real = shutil.which("yosys")
    assert real is not None, "yosys is not installed: `make setup` installs it (the Makefile's APT_TOOLS)"
    d = tmp_path / "bin"
    d.mkdir()
    (d / "yosys").write_text(f"#!/bin/sh\nif grep -qs 'module mbm_' design.v; then echo 'injected yosys crash' >&2; "
                             f"exit 3; fi\nexec {real} \"$@\"\n")
    (d / "yosys").chmod(0o755)
    return {**os.environ, "PATH": f"{d}:{os.environ['PATH']}"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_first_sweep(o):
    assert o["configurations"] == 2 and o["tasks"] == 4
    # the crashed task is recorded with its error; the other three complete
    assert [(f["kind"], f["config"]["design"]) for f in o["failed"]] == [("cost", "mbm")]
    assert "injected yosys crash" in o["failed"][0]["error"]
    mit, mbm = o["rows"]
    assert (mit["design"], mbm["design"]) == ("mitchell", "mbm")
    assert mit["ok"] and not mbm["ok"] and mbm["cost_status"] == "error" and mbm["errors_status"] == "ok"
    for row in (mit, mbm):         # against the golden model
        gold = error_metrics(make_design(row["design"], width=6), "mul")
        for k in ("mred", "bias", "min_re", "max_re", "ep", "pairs"):
            assert row[k] == gold[k], (row["design"], k)
    assert mit["cells"] > 0 and mit["exact_cells"] > 0 and mit["ice40_luts"] > 0 and mit["fmax_mhz"] is None
    assert mit["ratio_cells"] == mit["cells"] / mit["exact_cells"]
    assert mbm.get("cells") is None
    # the only row with every objective is the Pareto set
    assert mit["pareto"] and not mbm["pareto"]


@pytest.mark.slow
def test_sweep_local_cluster_rerun_and_scheduler(tmp_path):
    env = _crashing_yosys(tmp_path)
    d1 = tmp_path / "local"
    o1 = _mitchell(["explore", *SWEEP, "--workers", "2", "-o", str(d1), "--json"], env)
    assert o1["engine"] == "LocalCluster(2 workers)"
    _check_first_sweep(o1)
    assert o1["cache"]["hits"] == 0 and o1["cache"]["computed"] == 3
    with open(d1 / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["design"] for r in table] == ["mitchell", "mbm"] and table[0]["cells"] == str(o1["rows"][0]["cells"])
    with open(d1 / "pareto.csv") as f:
        assert [r["label"] for r in csv.DictReader(f)] == ["mitchell u6"]
    assert (d1 / "pareto.png").stat().st_size > 10_000
    assert json.loads((d1 / "results.json").read_text())["rows"] == o1["rows"]

    # a rerun computes nothing that succeeded before (the failed task is tried again, and fails again)
    cache_files = {p: p.stat().st_mtime_ns for p in (d1 / "cache").rglob("*.json")}
    o2 = _mitchell(["explore", *SWEEP, "--workers", "0", "-o", str(d1), "--json"], env)      # in-process: faster
    assert o2["cache"]["hits"] == 3 and o2["cache"]["computed"] == 0 and len(o2["failed"]) == 1
    assert o2["rows"] == o1["rows"]
    assert {p: p.stat().st_mtime_ns for p in (d1 / "cache").rglob("*.json")} == cache_files

    # the same sweep on a running cluster: a dask scheduler and a dask worker on 127.0.0.1
    port = _free_port()
    dask = str(Path(sys.executable).parent / "dask")
    procs = []
    try:
        procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        procs.append(subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        o3 = _mitchell(["explore", *SWEEP, "--scheduler", f"tcp://127.0.0.1:{port}", "-o", str(tmp_path / "remote"),
                        "--json"], env, timeout=240)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert o3["engine"] == f"tcp://127.0.0.1:{port}"
    _check_first_sweep(o3)
    assert o3["cache"]["hits"] == 0 and o3["rows"] == o1["rows"]


def test_task_timeout_and_subprocess_path(tmp_path):
    c = {"design": "mitchell", "op": "mul", "width": 6, "signed": False, "stages": 0, "params": {}}
    sw = make_sweep(designs=["mitchell"], widths=[6], fmax=False, timeout=0.05)
    t = run_task("cost", c, sw, str(tmp_path))
    assert t["status"] == "error" and "timed out after 0.05 s" in t["error"]
    assert not list(tmp_path.rglob("*.json"))            # a failure is not cached
    # with a timeout that is not reached, the child process gives the in-process result
    sw = make_sweep(designs=["mitchell"], widths=[6], fmax=False, timeout=120)
    t = run_task("errors", c, sw, str(tmp_path / "a"))
    assert t["status"] == "ok", t
    assert t["result"]["mred"] == error_metrics(make_design("mitchell", width=6), "mul")["mred"]


def test_pareto_flags():
    def row(i, mred, bias, cells, luts):
        return {"id": i, "op": "mul", "mred": mred, "bias": bias, "cells": cells, "ice40_luts": luts}
    rows = [row(0, 0.03, -0.03, 100, 50), row(1, 0.02, 0.001, 150, 60),
            row(2, 0.03, 0.03, 120, 55),      # dominated by row 0 (equal MRED and |bias|, more cost)
            row(3, 0.01, 0.0, 400, 300), {"id": 4, "op": "mul", "mred": 0.001, "bias": 0.0}]   # 4: cost failed
    objs = pareto_flags(rows)
    assert objs == ["mred", "abs_bias", "cells", "ice40_luts"]
    assert [r["pareto"] for r in rows] == [True, True, False, True, False]


@pytest.mark.parametrize("argv, message", [
    (["--designs", "mitchell", "--param", "c_bits=3"], "--param c_bits: none of the designs mitchell has it"),
    (["--designs", "mitchell,mbm", "--width", "6", "--param", "frac-bits=6"],
     "--param frac_bits of mitchell at width 6 must be an int in 0..5, got 6"),
    (["--designs", "nope"], "--designs: unknown design 'nope'"),
    (["--designs", "mitchell", "--widths", "6,40"], "--widths must be in 2..32, got 40"),
    (["--designs", "mitchell", "--timeout", "0"], "--timeout must be a number of seconds > 0"),
])
def test_bad_input_refused_before_work(tmp_path, capsys, argv, message):
    rc = main(["explore", *argv, "-o", str(tmp_path / "o"), "--json"])
    out = capsys.readouterr().out
    assert rc == 2 and message in json.loads(out)["error"], out
    assert not (tmp_path / "o").exists()       # refused before the output folder, the cluster, any task


def test_bad_sweep_file(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('designs = ["mitchell"]\nwidths = [8]\nstage = [1]\n')
    assert main(["explore", "--sweep", str(f), "-o", str(tmp_path / "o"), "--json"]) == 2
    assert "unknown key 'stage'" in json.loads(capsys.readouterr().out)["error"]


def _chromium(page, shot):
    """Load ``page`` in headless chromium; return its console messages and the screenshot's pixels."""
    exe = shutil.which("chromium")
    assert exe is not None, "chromium is not installed: `make setup` installs it (the Makefile's APT_TOOLS)"
    r = subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
                        "--window-size=1400,2400", f"--user-data-dir={shot.parent / 'chromium-profile'}",
                        f"--screenshot={shot}", page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    console = [ln for ln in r.stderr.splitlines() if ":CONSOLE" in ln]
    from matplotlib.image import imread
    return console, imread(shot) if shot.exists() else None


def test_report_in_headless_chromium(tmp_path, capsys):
    page = tmp_path / "r.html"
    rc = main(["report", "--design", "mitchell", "--width", "6", "--no-fmax", "--cache-dir", str(tmp_path / "c"),
               "-o", str(page), "--json"])
    assert rc == 0, capsys.readouterr()
    html = page.read_text()
    gold = error_metrics(make_design("mitchell", width=6), "mul")
    assert f"{100 * gold['mred']:.3f} %" in html and "Cost against the exact operator" in html
    assert html.count("data:image/png;base64,") == 3          # Pareto, fraction plane, histogram
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "mitchell cost --design mitchell --width 6 --stages 0 --abc fast --no-fmax" in html
    console, px = _chromium(page, tmp_path / "shot.png")
    assert console == []
    assert px is not None and px.shape[0] >= 2000
    rgb = px[..., :3]
    assert (rgb.min(axis=2) < 0.5).mean() > 0.01 and rgb.std() > 0.1     # text and figures, not a blank page
    # the check fails on a page with a script error
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><p>x</p><script>undefined_function();</script></body></html>")
    console, px = _chromium(bad, tmp_path / "bad.png")
    assert any("undefined_function" in c for c in console)
    assert np.asarray(px)[..., :3].min(axis=2).mean() > 0.9       # nearly blank: the detector above would refuse it
