"""Error metrics: Mitchell 1962's figures, and the compiled sweep against a brute
force over the golden model's own outputs."""

import json
from fractions import Fraction

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.metrics import METRIC_KEYS, error_metrics

from conftest import all_operands


def brute_force(cfg, op):
    v = all_operands(cfg)
    a, b = (x.ravel() for x in np.meshgrid(v, v, indexing="ij"))
    if op == "div":
        keep = b != 0
        a, b = a[keep], b[keep]
        approx = cfg.div(a, b).astype(np.float64)
        exact = a * 2.0 ** cfg.quotient_frac_bits / b
    else:
        approx = cfg.mul(a, b).astype(np.float64)
        exact = (a * b).astype(np.float64)
    err = approx - exact
    nz = exact != 0
    re = err[nz] / exact[nz]
    return {"pairs": a.size, "min_re": re.min(), "max_re": re.max(), "bias": re.mean(),
            "mred": np.abs(re).mean(), "mae": np.abs(err).mean(), "wce": np.abs(err).max(),
            "nmed": np.abs(err).mean() / np.abs(exact).max(), "ep": (err != 0).mean(),
            "mse": (err ** 2).mean()}


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("kw", [dict(width=7), dict(width=7, signed=True), dict(width=8, frac_bits=3),
                                dict(width=6, signed=True, frac_bits=2, quotient_frac_bits=3)])
def test_sweep_matches_brute_force_over_the_model(op, kw):
    cfg = Mitchell(**kw)
    got = error_metrics(cfg, op)
    want = brute_force(cfg, op)
    assert got["exhaustive"] is True
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k


def test_worst_operands_reproduce_the_reported_extremes():
    cfg = Mitchell(width=9, signed=True, frac_bits=5)
    m = error_metrics(cfg, "mul")
    a, b = m["min_re_operands"]
    assert Fraction(cfg.mul(a, b) - a * b, a * b) == Fraction(m["min_re_exact"])
    assert float(Fraction(m["min_re_exact"])) == pytest.approx(m["min_re"], rel=1e-12)
    a, b = m["wce_operands"]
    assert abs(cfg.mul(a, b) - a * b) == m["wce"]


def test_mitchell_1962_figures_at_8_bits():
    mul = error_metrics(Mitchell(width=8), "mul")
    assert mul["min_re_exact"] == "-1/9" and mul["max_re"] == 0.0
    assert round(100 * mul["mred"], 3) == 3.788
    assert mul["bias"] == pytest.approx(-mul["mred"])      # one-sided: always underestimates
    div = error_metrics(Mitchell(width=8), "div")
    assert div["max_re_exact"] == "1/8"
    assert div["pairs"] == 256 * 255
    assert set(METRIC_KEYS) <= set(mul) and set(METRIC_KEYS) <= set(div)


def test_12_bit_mred():
    assert round(100 * error_metrics(Mitchell(width=12), "mul")["mred"], 2) == 3.84


def test_sampling_is_seeded_and_reported():
    cfg = Mitchell(width=20)
    a = error_metrics(cfg, "mul", samples=50_000, seed=7)
    b = error_metrics(cfg, "mul", samples=50_000, seed=7)
    c = error_metrics(cfg, "mul", samples=50_000, seed=8)
    assert a == b and a["seed"] == 7 and a["exhaustive"] is False and a["pairs"] == 50_000
    assert a["mred"] != c["mred"]
    assert a["mred"] == pytest.approx(0.0385, abs=0.001)
    assert -1 / 9 <= a["min_re"] < -0.10


def test_sampled_div_never_divides_by_zero():
    m = error_metrics(Mitchell(width=3, signed=True), "div", samples=20_000, seed=1)
    assert m["max_re"] == pytest.approx(0.125)
    assert all(v != 0 for v in (m["min_re_operands"][1], m["max_re_operands"][1]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="op must be"):
        error_metrics(Mitchell(width=4), "add")
    with pytest.raises(ValueError, match="samples must be a positive int"):
        error_metrics(Mitchell(width=4), "mul", samples=0)
    with pytest.raises(TypeError, match="cfg must be a design config"):
        error_metrics({"width": 4}, "mul")


@pytest.mark.slow
def test_16_bit_exhaustive_mul():
    m = error_metrics(Mitchell(width=16), "mul")
    assert m["pairs"] == 2 ** 32 and m["min_re_exact"] == "-1/9"
    assert m["mred"] == pytest.approx(0.038486, abs=2e-6)


def test_compiled_kernels_survive_numba_cache_reuse(tmp_path):
    """The two sweep kernels come from one factory; numba's on-disk cache must keep them
    apart.  One process fills a fresh cache with the divider's, the next runs the product's."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    code = ("import json,sys; from pymodel import Mitchell; from pymodel.metrics import error_metrics; "
            "print(json.dumps(error_metrics(Mitchell(width=6), sys.argv[1])))")
    runs = {}
    for op in ("div", "mul", "div"):
        r = subprocess.run([sys.executable, "-c", code, op], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        runs.setdefault(op, []).append(json.loads(r.stdout))
    assert runs["mul"][0]["min_re_exact"] == "-1/9" and runs["mul"][0]["max_re"] == 0.0
    assert runs["div"][0]["max_re_exact"] == "1/8" and runs["div"][0] == runs["div"][1]
