"""The exact forms of ILM and nearest-one (pymodel.exact.separable): both of their paths, the closed-form
groups and the pass over every magnitude, against the sweep and against each other past the sweep's widths.

The registry-wide test (tests/test_exact_forms.py) covers the default path at widths 2..9; here the pass
that ILM falls back to at mid-range ``corrections`` is forced, and the group sums are checked at 12 and 20 bits.
"""

import pytest

import pymodel.exact.ilm as exact_ilm
from pymodel.design_metrics import design_error_metrics
from pymodel.exact.separable import separable_metrics
from pymodel.registry import make_design

FLOATS = ("min_re", "max_re", "bias", "mred", "mae", "wce", "nmed", "ep", "mse")
SAME = ("pairs", "min_re_operands", "max_re_operands", "wce_operands", "min_re_exact", "max_re_exact")


def assert_same(got, want, rel=1e-12):
    for k in FLOATS:
        assert got[k] == pytest.approx(want[k], rel=rel, abs=1e-15), (k, got[k], want[k])
    for k in SAME:
        assert got[k] == want[k], (k, got[k], want[k])


@pytest.mark.parametrize("signed", [False, True])
def test_ilm_pass_over_every_magnitude_equals_the_sweep(monkeypatch, signed):
    monkeypatch.setattr(exact_ilm, "MAX_GROUPS", 0)       # no groups: every magnitude visited
    for width in range(2, 8):
        for c in sorted({0, 1, 2, width - 1} & set(range(width))):
            cfg = make_design("ilm", width=width, signed=signed, corrections=c)
            assert exact_ilm._groups(c + 1)(width) is None
            assert_same(exact_ilm.exact_metrics(cfg, "mul"), design_error_metrics(cfg, "mul"))


@pytest.mark.parametrize("name, kw, signed", [("ilm", {"corrections": 1}, False), ("nearest-one", {}, False),
                                              ("nearest-one", {}, True)])
def test_groups_equal_the_sweep_at_12_bits(name, kw, signed):
    cfg = make_design(name, width=12, signed=signed, **kw)
    assert_same(cfg.exact_form("mul")(cfg, "mul"), design_error_metrics(cfg, "mul"))


@pytest.mark.parametrize("kw, signed", [({}, False), ({"corrections": 0}, True), ({"corrections": 4}, False)])
def test_ilm_groups_equal_the_pass_over_every_magnitude_at_20_bits(kw, signed):
    cfg = make_design("ilm", width=20, signed=signed, **kw)
    c = cfg.corrections + 1
    assert exact_ilm._groups(c)(20) is not None
    assert_same(exact_ilm.exact_metrics(cfg, "mul"),
                separable_metrics(cfg, "mul", exact_ilm.residue, (c,), None), rel=1e-13)


@pytest.mark.parametrize("name, signed", [("ilm", False), ("nearest-one", True)])
def test_32_bit_figures_lie_in_the_sampled_confidence_intervals(name, signed):
    """The only check at 32 bits (no sweep there): 2**20 seeded pairs.  Twice the 95 % half-width (3.9
    standard errors), since the sample is the same for every design and seed: a wrong sum is off by far more."""
    from pymodel.metrics import error_metrics
    cfg = make_design(name, width=32, signed=signed)
    exact = error_metrics(cfg, "mul")
    sample = error_metrics(cfg, "mul", method="sample", samples=1 << 20, seed=1)
    assert exact["method"] == "exact" and exact["pairs"] == 1 << 64
    for k in ("bias", "mred"):
        assert abs(sample[k] - exact[k]) <= 2 * sample[f"{k}_ci95"], k
    assert sample["min_re"] >= exact["min_re"] and sample["max_re"] <= exact["max_re"]
