"""Error surfaces: the data behind each figure, checked against the model and Mitchell 1962,
then the figures themselves (size, format) and the CLI."""

import json
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.analysis import error_distribution, error_grid, fraction_grid, relative_error, truncation_sweep
from pymodel.metrics import error_metrics
from pymodel.plots import plot

from conftest import run_cli


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_error_grid_minimum_is_minus_one_ninth_at_three_times_three():
    g = error_grid(Mitchell(width=8), "mul")
    assert g["re"].shape == (256, 256) and not g["decimated"]
    assert g["argmin"] == (3, 3) and g["min"] == pytest.approx(-1 / 9, abs=1e-15)
    assert g["max"] == 0.0
    # every cell is the model's own relative error
    a, b = 200, 77
    assert g["re"][a, b] == pytest.approx(float(Fraction(Mitchell(width=8).mul(a, b) - a * b, a * b)))
    assert np.isnan(g["re"][0, 5])                       # exact 0: no relative error


def test_error_grid_div_and_zero_divisor():
    g = error_grid(Mitchell(width=6), "div")
    assert np.isnan(g["re"][:, 0]).all()                 # b = 0
    assert g["max"] == pytest.approx(1 / 8)


def test_error_grid_decimates_and_says_so():
    g = error_grid(Mitchell(width=16), "mul", max_points=300)
    assert g["decimated"] and g["re"].shape == (300, 300)
    assert g["a"][0] == 0 and g["a"][-1] == 65535
    g = error_grid(Mitchell(width=16), "mul", a_range=(100, 199), b_range=(3, 3))
    assert not g["decimated"] and g["re"].shape == (100, 1)
    g = error_grid(Mitchell(width=16), "mul", max_points=200, log2=True)
    assert g["a"][0] == 1 and g["a"][:10].tolist() == list(range(1, 11))   # small operands kept
    assert g["a"].size >= 200 and g["min"] == pytest.approx(-1 / 9)


@pytest.mark.parametrize("signed", [False, True])
def test_fraction_plane_extremes(signed):
    m = fraction_grid(Mitchell(width=10, signed=signed), "mul")
    assert m["argmin"] == (0.5, 0.5) and m["min"] == pytest.approx(-1 / 9)
    d = fraction_grid(Mitchell(width=10, signed=signed), "div")
    assert d["argmax"] == (0.0, 0.5) and d["max"] == pytest.approx(1 / 8)
    assert d["min"] >= 0                                  # same k: the quotient only overestimates
    assert "carry" in m["boundary"] and "borrow" in d["boundary"]


def _above(b, x1, x2):
    """Whether ``(x1, x2)`` lies on or above a staircase :func:`pymodel.designs.base.region_edge`."""
    left, y = b.x1[0::2], b.x2[0::2]
    k = np.searchsorted(left, x1, side="right") - 1
    with np.errstate(invalid="ignore"):
        return x2 >= y[k]                                 # NaN (empty column): never


@pytest.mark.parametrize("name,params", [("mitchell", {}), ("mitchell", {"frac_bits": 3}), ("mitch-w", {"w": 5}),
                                         ("mitch-w", {"w": 5, "unbias": False}), ("dr-alm", {"t": 5}),
                                         ("alm-soa", {"m": 3}), ("alm-soa", {"m": 0})])
def test_carry_boundary_is_the_models_own_carry(name, params):
    """Issue 24, item 6: each design's drawn carry edge is where its model carries.  Both leading ones at
    bit 7, the product reaches 2^15 exactly when the fraction adder carries (these designs add nothing
    after the carry)."""
    from pymodel.registry import make_design
    cfg = make_design(name, width=8, **params)
    v = np.arange(128, dtype=np.int64) | 128
    carry = cfg.mul(v[:, None], v[None, :]) >= 1 << 15
    assert carry.any() and not carry.all()
    x = (v - 128) / 128
    (b,) = cfg.fraction_boundaries("mul")
    assert np.array_equal(_above(b, x[:, None], x[None, :]), carry)


def test_borrow_boundary_is_the_dividers_borrow():
    from pymodel.registry import make_design
    for name in ("mitchell", "inzed"):
        cfg = make_design(name, width=8, frac_bits=3)
        v = np.arange(128, dtype=np.int64) | 128
        q = cfg.div(v[:, None], v[None, :])
        x = (v - 128) / 128
        (b,) = cfg.fraction_boundaries("div")
        borrow = _above(b, x[:, None], x[None, :])
        assert borrow.any() and not borrow.all()
        if name == "mitchell":                           # without a borrow the quotient is 1 + x1 - x2 >= 1
            assert np.array_equal(borrow, q < 1 << cfg.quotient_frac_bits)


def test_boundaries_of_the_other_designs():
    """ILM's residue lines, REALM's segment grid, none for OD: checked against the model's jumps."""
    from pymodel.registry import make_design
    assert make_design("od", width=8).fraction_boundaries("mul") == []
    assert make_design("ilm", width=8, corrections=0).fraction_boundaries("mul") == []
    (b,) = make_design("ilm", width=8, corrections=1).fraction_boundaries("mul")
    assert set(b.x1[np.isfinite(b.x1)]) >= {1 / 2, 1 / 4, 1 / 8, 1 / 16}
    ilm = make_design("ilm", width=8, corrections=1)
    v = np.arange(128, dtype=np.int64) | 128
    re = relative_error(ilm, "mul", v, v[-1])            # along x1, x2 = 127/128: jumps at 1/2, 1/4, ...
    jumps = {float(v[k + 1] - 128) / 128 for k in np.flatnonzero(np.diff(re) > 1e-12)}
    assert jumps == {1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32}     # (below 1/32 the residue is 0 or 1 LSB)
    carry, seg = make_design("realm", width=8).fraction_boundaries("mul")
    assert "segment" in seg.label and set(seg.x1[np.isfinite(seg.x1)]) >= {k / 8 for k in range(1, 8)}


def test_distribution_matches_the_metrics():
    cfg = Mitchell(width=8, frac_bits=4)
    d = error_distribution(cfg, "mul")
    m = error_metrics(cfg, "mul")
    assert d["exhaustive"] and d["mred"] == pytest.approx(m["mred"], rel=1e-12)
    assert d["min"] == pytest.approx(m["min_re"]) and d["mean"] == pytest.approx(m["bias"], rel=1e-12)
    s = error_distribution(Mitchell(width=20), "div", samples=5000, seed=3)
    assert not s["exhaustive"] and s["seed"] == 3 and s["re"].size <= 5000


def test_truncation_sweep_rows():
    rows = truncation_sweep([6], ("mul",))
    assert [r["frac_bits"] for r in rows] == list(range(6))
    mred = [r["mred"] for r in rows]
    assert mred[-1] == pytest.approx(error_metrics(Mitchell(width=6), "mul")["mred"])
    assert mred[0] > mred[-1]                              # truncation costs accuracy


def test_relative_error_uses_the_model():
    cfg = Mitchell(width=8, signed=True)
    re = relative_error(cfg, "mul", np.array([-3, 5]), np.array([3, -7]))
    assert re[0] == pytest.approx(-1 / 9)
    assert re[1] == pytest.approx((cfg.mul(5, -7) + 35) / -35)


@pytest.mark.parametrize("kind", ["heatmap", "surface", "fraction", "histogram"])
@pytest.mark.parametrize("op", ["mul", "div"])
def test_figures_are_big_enough(kind, op, tmp_path):
    res = plot(kind, tmp_path / f"{kind}.png", op=op, cfg=Mitchell(width=8))
    w, h = png_size(res["path"])
    assert w >= 1200 and h >= 800
    assert res["max_re"] == pytest.approx(0.0 if op == "mul" else 0.125, abs=1e-12)


def test_compare_and_formats(tmp_path):
    res = plot("compare", tmp_path / "c.svg", widths=[5, 6])
    assert Path(res["path"]).read_text()[:200].lstrip().startswith("<?xml")
    assert len(res["rows"]) == 2 * (5 + 6)
    res = plot("fraction", tmp_path / "f.pdf", op="mul", cfg=Mitchell(width=8))
    assert Path(res["path"]).read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="must end in one of"):
        plot("fraction", tmp_path / "f.jpg", op="mul", cfg=Mitchell(width=8))



def test_cli_plot_json(tmp_path):
    out = tmp_path / "h.png"
    rc, stdout, _ = run_cli("plot", "--op", "mul", "--width", "16", "--kind", "heatmap", "-o", str(out), "--json")
    assert rc == 0
    obj = json.loads(stdout)
    assert obj["path"] == str(out) and obj["decimated"] is True and obj["argmin"] == [192, 192]
    rc, stdout, _ = run_cli("plot", "--kind", "histogram", "--cdf", "--width", "12", "-o", str(out), "--json")
    assert rc == 0 and json.loads(stdout)["exhaustive"] is False


@pytest.mark.parametrize("args, msg", [
    (["--kind", "heatmap", "--width", "8", "--a-range", "3:900"], "--a-range must satisfy 0 <= LO <= HI <= 255"),
    (["--kind", "heatmap", "--width", "8,12"], "--width takes one width"),
    (["--kind", "compare", "--width", "8,x"], "--width must be an int or a comma list"),
    (["--kind", "compare", "--width", "8,40"], "width must be in 2..32"),
])
def test_cli_plot_errors(args, msg, tmp_path):
    rc, stdout, err = run_cli("plot", *args, "-o", str(tmp_path / "x.png"))
    assert rc == 2 and msg in err
