"""Wording: messages and titles that say what happened, in the CLI's names, with the digits that matter."""

import json

import pytest

from mitchell_cli import main
from mitchell_cli.common import ep_text
from pymodel import plots
from pymodel.registry import DESIGNS, make_design


@pytest.mark.parametrize("argv, message", [
    (["report", "-o", "{tmp}/r.html"], "give a sweep folder (mitchell report DIR) or --design NAME"),
    (["report", "{tmp}", "--design", "mbm", "-o", "{tmp}/r.html"],
     "give a sweep folder (mitchell report DIR) or --design NAME, not both"),
])
def test_report_says_what_is_missing(tmp_path, capsys, argv, message):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == message


def test_plot_titles_name_the_operator_once():
    for name in DESIGNS:
        cfg = make_design(name, width=8)
        for op in cfg.OPS:
            word = {"mul": "multiplier", "div": "divider"}[op]
            t = plots._title(cfg, op)
            assert t.count(word) == 1 and f"{word} {word}" not in t, t
    assert plots._title(make_design("mbm", width=8), "mul").startswith("MBM multiplier, unsigned 8-bit")
    assert plots._title(make_design("dr-alm", width=8), "mul").startswith("DR-ALM multiplier, unsigned 8-bit")


@pytest.mark.parametrize("designs, title", [
    (["mitchell", "mbm", "mitch-w"], "Multipliers mitchell, mbm, mitch-w (default parameters, unsigned)"),
    (None, "Every multiplier design (default parameters, unsigned)"),
])
def test_compare_plot_title_names_the_designs(monkeypatch, designs, title):
    from pymodel.registry import designs_with
    monkeypatch.setattr(plots, "_save", lambda fig, path: fig)      # the figure, not a file
    rows = [{"design": d, "width": 8, "mred": 0.03, "cells": 100 + i, "ice40_luts": 50 + i, "exact_cells": 300,
             "exact_ice40_luts": 150} for i, d in enumerate(designs or designs_with("mul"))]
    fig = plots.plot_design_pareto(rows, "x.png")
    assert fig._suptitle.get_text().startswith(title)


def test_ep_near_one_prints_its_distance_from_one(capsys):
    assert ep_text(0.930923) == "0.930923"
    assert ep_text(1 - 1.5e-8) == "1 - 1.5e-08"
    assert ep_text(1.0) == "1.000000" and ep_text(0.0) == "0.000000" and ep_text(None) == "n/a"
    assert ep_text(0.9996, 3) == "1 - 0.0004"
    # Mitchell's 32-bit multiplier, from its exact method: the printed 1 - EP is the JSON's
    assert main(["errors", "--width", "32", "--json"]) == 0
    ep = json.loads(capsys.readouterr().out)["ep"]
    assert 0 < 1 - ep < 1e-6
    assert main(["errors", "--width", "32"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("EP"))
    assert line.split()[-1] == f"{1 - ep:.3g}" and " 1 - " in line
