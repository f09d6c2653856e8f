"""The run-box exact forms (Mitch-w, DR-ALM, ALM-SOA; pymodel.exact.runs) beyond the registry-wide test:
the path for long crossed runs (used past the exact budget, at 32 bits) against the exact path, the
delegation to Mitchell's form, and the budget that hands a configuration back to the sweep.

tests/test_exact_forms.py checks every form against the sweep at widths 2..9 (exact path only).
"""

import pytest

from pymodel.design_metrics import design_error_metrics
from pymodel.exact import runs
from pymodel.metrics import error_metrics
from pymodel.registry import make_design

SAME = ("pairs", "min_re", "max_re", "wce", "min_re_operands", "max_re_operands", "wce_operands", "ep")


@pytest.mark.parametrize("name, kw, K", [("mitch-w", {"w": 4}, 2), ("dr-alm", {"t": 4}, 2)])
def test_long_runs_equal_the_exact_path_at_18_bits(name, kw, K):
    cfg = make_design(name, width=18, **kw)
    exact = runs.run_metrics(cfg, "mul", K, long_run=1 << 62)
    long = runs.run_metrics(cfg, "mul", K, long_run=1 << 12)
    assert runs.exact_cost(18, False, K) > 0
    for k in SAME:                          # counts and extremes stay exact
        assert long[k] == exact[k], k
    for k in ("bias", "mse", "nmed"):
        assert long[k] == pytest.approx(exact[k], rel=1e-13), k
    for k in ("mred", "mae"):               # taken at the split: measured below 1e-12 from 18 bits
        assert long[k] == pytest.approx(exact[k], rel=5e-12), k


@pytest.mark.parametrize("name, kw", [("mitch-w", {"w": 5, "unbias": False}), ("alm-soa", {"m": 0})])
def test_mitchell_configurations_take_mitchells_form(name, kw):
    cfg = make_design(name, width=10, signed=True, **kw)
    got = cfg.exact_form("mul")(cfg, "mul")
    want = design_error_metrics(cfg, "mul")
    assert got["design"] == name and got["method"] == "exact"
    for k in SAME + ("min_re_exact", "max_re_exact"):
        assert got[k] == want[k], k
    for k in ("bias", "mred", "mae", "mse"):
        assert got[k] == pytest.approx(want[k], rel=1e-12), k


def test_over_the_box_budget_the_sweep_runs():
    cfg = make_design("mitch-w", width=16, w=16)             # 2**15 runs of one operand: 2**29 boxes
    assert runs.cost(16, False, 14) > runs.BOX_BUDGET
    assert cfg.exact_form("mul") is None
    assert error_metrics(make_design("mitch-w", width=5, w=5), "mul")["method"] == "exact"


@pytest.mark.parametrize("signed", [False, True])
def test_32_bit_figures_lie_in_the_sampled_confidence_intervals(signed):
    """The only check at 32 bits (no sweep there): 2**20 seeded pairs.  Twice the 95 % half-width (3.9
    standard errors), since the sample is the same for every design and seed: a wrong sum is off by far more."""
    cfg = make_design("dr-alm", width=32, signed=signed)
    exact = error_metrics(cfg, "mul")
    sample = error_metrics(cfg, "mul", method="sample", samples=1 << 20, seed=1)
    assert exact["method"] == "exact" and exact["pairs"] == 1 << 64
    for k in ("bias", "mred"):
        assert abs(sample[k] - exact[k]) <= 2 * sample[f"{k}_ci95"], k
    assert sample["min_re"] >= exact["min_re"] and sample["max_re"] <= exact["max_re"]
