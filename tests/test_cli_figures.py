"""The data behind the figures (issue 13, item 14), the bf16 scalar type (11), the quantizer's range (1),
the Verilog header and ports (12), and the NN JSON keys (8).  The figures are drawn but not written: the
tests read the axes of the figure each plot function built."""

import json
import re

import numpy as np
import pytest

from pymodel import FloatMitchell, Mitchell
from pymodel import plots

from conftest import run_cli


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures the plot functions save."""
    got = []

    def save(fig, path):
        got.append(fig)
        return str(path)
    monkeypatch.setattr(plots, "_save", save)
    return got


# -- item 14 ---------------------------------------------------------------------------------------------------
def test_training_curves_show_every_epoch_and_every_curve(figures):
    curves = {"float32": [0.60, 0.90, 0.95, 0.97], "float_mitchell_fp32": [0.55, 0.88, 0.95, 0.97],
              "float_mitchell_bf16": [0.55, 0.88, 0.95, 0.97]}
    r = {"dataset": "digits", "model": "mlp", "curves": curves, "optimizer": "SGD", "lr": 0.02, "seed": 0,
         "test_samples": 360}
    plots.plot_training_curves([r], "c.png")
    ax = figures[0].axes[0]
    lo, hi = ax.get_ylim()
    assert lo <= 55 and hi == 100                       # epoch 1 (55 %) is inside the axis, not clipped at 92 %
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 4]
    assert ticks and all(float(t).is_integer() for t in ticks)     # whole epochs
    lines = ax.get_lines()
    assert len(lines) == 3
    styles = {(ln.get_linestyle(), ln.get_marker(), ln.get_linewidth()) for ln in lines}
    assert len(styles) == 3                             # identical fp32 and bf16 curves stay distinguishable


def test_histogram_mred_is_positive(figures):
    res = plots.plot_histogram(Mitchell(width=8), "mul", "h.png")
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    mred = [t for t in labels if t.startswith("MRED")]
    assert mred == [f"MRED (mean |error|): {100 * res['mred']:.3f} %"] and "-" not in mred[0]
    assert res["mred"] > 0 > res["bias"]


@pytest.mark.parametrize("op", ["mul", "div"])
def test_fraction_plane_fills_the_axes_and_shows_the_marker(figures, op):
    res = plots.plot_fraction(Mitchell(width=8), op, "f.png")
    fig = figures[0]
    ax = fig.axes[0]
    assert ax.get_aspect() == "auto"
    fig.draw_without_rendering()                        # runs the constrained layout
    box = ax.get_position()
    assert box.width > 0.7                              # the plane spans most of the width next to its colorbar
    for key, mark in (("argmin", "v"), ("argmax", "^")):   # both extremes are marked (issue 24, item 6)
        marker = [ln for ln in ax.get_lines() if ln.get_marker() == mark]
        assert len(marker) == 1 and list(marker[0].get_xydata()[0]) == res[key]
        assert not marker[0].get_clip_on()              # the divider's worst case sits on x1 = 0
    if op == "div":
        assert res["argmax"] == [0.0, 0.5]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("min ") for t in labels) and any(t.startswith("max +") for t in labels)


def test_fraction_plane_draws_the_designs_own_boundaries(figures):
    """Issue 24, item 6: nearest-one has no carry; its rounding line x = 1/2 is drawn, not Mitchell's."""
    from pymodel.registry import make_design
    res = plots.plot_fraction(make_design("nearest-one", width=8), "mul", "f.png")
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert not any("x1 + x2" in t for t in labels) and any("1/2" in t for t in labels)
    assert "carry" not in res["boundary"]
    lines = [ln for ln in figures[0].axes[0].get_lines() if "1/2" in str(ln.get_label())]
    xy = lines[0].get_xydata()
    assert set(xy[np.isfinite(xy[:, 0]), 0]) >= {0.5} and set(xy[np.isfinite(xy[:, 1]), 1]) >= {0.5}



def test_fraction_plane_without_boundaries_says_so(figures, monkeypatch):
    monkeypatch.setattr(Mitchell, "fraction_boundaries", lambda self, op: [])     # as OD's
    res = plots.plot_fraction(Mitchell(width=6), "mul", "f.png")
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert "no case boundary to draw" in labels and res["boundary"] == "none"


def test_surface_keeps_every_8bit_pair(figures):
    res = plots.plot_surface(Mitchell(width=8), "mul", "s.png")
    assert res["grid"] == [256, 256] and res["decimated"] is False
    res = plots.plot_surface(Mitchell(width=10), "mul", "s.png")
    assert res["decimated"] is True and res["grid"] == [plots.SURFACE_MAX, plots.SURFACE_MAX]


def test_frac_sweep_axis_shows_the_test_set_resolution(figures):
    sweep = [{"frac_bits": f, "int8_mitchell": 0.975 - 0.0028 * (f == 1), "int8_mitchell_finetuned": 0.9778}
             for f in range(7, 0, -1)]
    r = {"dataset": "digits", "model": "mlp", "width": 8, "seed": 0, "test_samples": 360,
         "accuracy": {"int8_exact": 0.9778}, "frac_sweep": sweep}
    plots.plot_nn_frac_sweep([r], "s.png")
    ax = figures[0].axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo >= plots.FRAC_SWEEP_MIN_SPAN          # a one-image step (0.28 pp) is a small step
    assert lo <= 100 * 0.9722 and hi >= 97.78
    assert "one image = 0.28 pp" in ax.get_title()


# -- item 11 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, dtype", [("fp32", np.float32), ("fp16", np.float16), ("bf16", np.float32)])
def test_float_mitchell_scalar_in_scalar_out(fmt, dtype):
    r = FloatMitchell(fmt).mul(dtype(1.5), dtype(1.5))
    assert np.ndim(r) == 0 and not isinstance(r, np.ndarray) and float(r) == 2.0
    a = FloatMitchell(fmt).mul(np.full((2, 3), 1.5, dtype), dtype(1.5))
    assert a.shape == (2, 3)


# -- item 1 ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [2, 8, 25, 26, 32])
def test_quantizer_stays_in_the_signed_range(width):
    from pymodel.nn.layers import quantize
    qmax = (1 << (width - 1)) - 1
    rng = np.random.default_rng(width)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    s_w = (np.abs(w).max(axis=1) / qmax).astype(np.float32)      # as Dense.weight_q: float32 scales
    q = quantize(w, s_w[:, None], qmax)
    assert q.max() == qmax and q.min() >= -qmax
    x = np.abs(rng.standard_normal(1000)).astype(np.float32)
    q = quantize(x, max(float(x.max()), 1e-12) / qmax, qmax)
    assert q.max() == qmax
    m = Mitchell(width=width, signed=True)
    m.mul(q, q)                                                    # the multiplier accepts every value


# -- item 12 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, stages", [("div", 2), ("mul", 0)])
def test_verilog_header_signed_ports_order(op, stages, tmp_path):
    from hdl.verilog import lint
    path = tmp_path / "d.v"
    q = ["--quotient-frac-bits", "4"] if op == "div" else []
    rc, out, err = run_cli("verilog", "--op", op, "--width", "8", "--signed", *q, "--stages", str(stages),
                           "-o", str(path), "--json")
    assert rc == 0, err
    r = json.loads(out)
    text = path.read_text()
    head = text.split("/* Generated by Amaranth")[0]
    assert head.startswith(f"// {r['module']}: generated by mitchell")
    for k, v in r["config"].items():
        assert f"{k}={v}" in head                       # every parameter
    assert f"stages={stages}" in head
    assert (f"latency {stages} clock cycle(s)" in head and "valid/ready" in head) if stages else \
        "combinational" in head
    if op == "div":
        assert "fixed point with 4 fraction bits: a / b ~ q / 2^4" in head and "two's complement" in head
    names = [p["name"] for p in r["ports"]]
    dirs = [p["direction"] for p in r["ports"]]
    if stages:
        assert names[:2] == ["clk", "rst"]
    assert dirs == sorted(dirs)                          # "in" before "out"
    decl = re.search(rf"^module {r['module']}\(([^)]*)\);", text, re.M).group(1)
    assert [x.strip() for x in decl.split(",")] == names
    for p in r["ports"]:
        if p["signed"]:
            assert re.search(rf"^  {p['direction']}put signed \[{p['width'] - 1}:0\] {p['name']};", text, re.M)
    ok, msg = lint(path)
    assert ok, msg


@pytest.mark.parametrize("kw", ["module", "wire", "always", "logic"])
def test_verilog_keywords_refused_as_name(kw):
    rc, out, _ = run_cli("verilog", "--name", kw, "-o", "never.v", "--json")
    assert rc == 2 and json.loads(out)["error"].startswith(f"--name '{kw}' is a Verilog keyword")


def test_cli_kinds_match_the_plot_module():
    from mitchell_cli import plot as cli_plot
    assert cli_plot.KINDS == plots.KINDS


# -- issue 24, item 7 ------------------------------------------------------------------------------------------
@pytest.fixture
def fake_sweep(monkeypatch):
    """Rows as ``analysis.parameter_sweep`` gives them (the figure is under test here, not the metrics)."""
    from pymodel import analysis
    from pymodel.registry import design_class

    def sweep(designs, widths, param=None, **kw):
        rows = []
        for name in designs:
            ints = [p.name for p in design_class(name).PARAMS if p.type is int and p.name != "quotient_frac_bits"]
            pname = "frac_bits" if "frac_bits" in ints else (ints[0] if ints else None)
            for w in widths:
                for v in (analysis.sweep_values(name, pname, w) if pname else [None]):
                    e = 0.01 * (len(rows) + 1)
                    rows.append({"design": name, "param": pname, "value": v, "op": "mul", "width": w, "mred": e,
                                 "bias": -e / 2, "min_re": -2 * e, "max_re": e / 4, "ep": 0.9, "exhaustive": True})
        return rows
    monkeypatch.setattr(analysis, "parameter_sweep", sweep)


def test_design_compare_gives_each_parameter_its_own_axis(figures, fake_sweep):
    """frac_bits (mitchell) and w (mitch-w) never share an x axis; a design without a parameter is a
    labelled reference line in each row; no label overflows the figure."""
    res = plots.plot_design_compare(["mitchell", "mitch-w", "nearest-one"], [5], "c.png")
    fig = figures[0]
    axes = fig.axes
    assert len(axes) == 6                               # two parameters x three metrics
    xlabels = [ax.get_xlabel() for ax in axes]
    assert all(x.startswith("frac_bits (mitchell)") for x in xlabels[:3])
    assert all(x.startswith("w (mitch-w)") for x in xlabels[3:])
    for row in (axes[0], axes[3]):
        labels = [t.get_text() for t in row.get_legend().get_texts()]
        assert "nearest-one 5-bit (no parameter)" in labels
    ref = [ln for ln in axes[0].get_lines() if ln.get_label() == "nearest-one 5-bit (no parameter)"]
    (nearest,) = [r for r in res["rows"] if r["design"] == "nearest-one"]
    assert ref and ref[0].get_ydata()[0] == pytest.approx(100 * nearest["mred"])
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()                         # lays the figure out as saving does
    renderer = fig.canvas.get_renderer()
    for ax in axes:                                     # the right panel's label was cut off (issue 24)
        for t in (ax.xaxis.label, ax.yaxis.label):
            box = t.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0


def test_design_compare_without_any_parameter(figures, fake_sweep):
    res = plots.plot_design_compare(["nearest-one"], [5, 6], "c.png")
    ax = figures[0].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["nearest-one\n5-bit", "nearest-one\n6-bit"]
    assert ax.get_xlim() == (-0.6, 1.6)                  # both points well inside the axis
    ys = sorted(ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_marker() == "o")
    assert ys == pytest.approx(sorted(100 * r["mred"] for r in res["rows"]))
    assert "no parameter" in figures[0]._suptitle.get_text()


def test_cli_compare_prints_no_none():
    from mitchell_cli.plot import _param_text
    assert _param_text({"param": None, "value": None}) == "(none)"
    assert _param_text({"param": "w", "value": 6}) == "w=6"


# -- issue 24, item 11 -----------------------------------------------------------------------------------------
def _tick_texts(fig, axis="x"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    out = []
    for ax in fig.axes:
        a = ax.xaxis if axis == "x" else ax.yaxis
        out += [t.get_text() for t in a.get_ticklabels(which="both") if t.get_visible() and t.get_text()]
    return out


def test_pareto_log_axes_have_plain_ticks(figures):
    """180..380 cells lies inside one decade: the labels are 200 and 300, not 2×10²."""
    rows = [{"design": d, "width": 8, "cells": c, "ice40_luts": c // 2, "mred": m, "exact_cells": 380,
             "exact_ice40_luts": 190} for d, c, m in (("mitchell", 180, 0.038), ("mbm", 240, 0.027))]
    plots.plot_design_pareto(rows, "p.png")
    texts = _tick_texts(figures[0])
    assert "200" in texts and "300" in texts
    assert not [t for t in texts if "10^" in t or "times" in t or "×" in t]
    wide = [{"design": "mitchell", "width": 8, "cells": c, "mred": 0.01, "frac_bits": 3} for c in (50, 5000, 50000)]
    plots.plot_pareto(wide, "q.png")                   # four decades: powers of ten only, no crowding
    texts = _tick_texts(figures[1])
    assert {"100", "1000", "10000"} <= set(texts) and "200" not in texts


def test_explore_pareto_names_the_nn_panel(monkeypatch, tmp_path):
    from matplotlib.figure import Figure
    from sim.explore import plot_pareto
    got = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: got.append(self))
    rows = [{"design": "mitchell", "label": f"m{i}", "width": 8, "cells": 100 + 50 * i, "ice40_luts": 60 + i,
             "mred": 0.03 - 0.005 * i, "bias": -0.02, "nn_mlp_int8": 0.95, "nn_mlp_float32": 0.97, "pareto": True}
            for i in range(3)]
    plot_pareto(rows, tmp_path / "p.png")
    ylabels = [ax.get_ylabel() for ax in got[0].axes]
    assert "digits MLP: int8 accuracy loss vs float32 (pp)" in ylabels
    assert not [y for y in ylabels if "nn_" in y]
    assert not [t for t in _tick_texts(got[0]) if "×" in t or "10^" in t]


def test_surface_is_block_averaged_with_a_colour_bar(figures):
    res = plots.plot_surface(Mitchell(width=8), "mul", "s.png")
    assert res["grid"] == [256, 256] and res["block"] == 4 and res["cells"] == [64, 64]
    fig = figures[0]
    assert len(fig.axes) == 2 and "relative error" in fig.axes[1].get_ylabel()     # the colour bar
    from pymodel.analysis import error_grid
    g = error_grid(Mitchell(width=8), "mul")
    a, b, z, k = plots._block_mean(g["a"].astype(float), g["b"].astype(float), g["re"], 64)
    assert k == 4 and a[1] == 5.5 and not np.isnan(z[0, 0])     # a block with a 0 operand keeps its other pairs
    assert z[10, 20] == pytest.approx(np.nanmean(g["re"][40:44, 80:84]))
    assert np.nanmin(z) > res["min_re"]                # the mean smooths the extremes, the title states them


def test_report_formats_the_load_average():
    from sim.report import load_text
    assert load_text([1.523, 1.3, 12.0]) == "1.52, 1.30, 12.00 (1, 5, 15 min)"
    assert load_text(None) == "?"
