"""The family table's figures whose conditions docs/designs.md states, rerun from the exact forms (issue 20 item 4).

Each figure is computed here by ``error_metrics`` (the design's exact form, itself checked against the
every-pair sweep by ``tests/test_exact_forms.py``), so a change in a model or a form that moves a published
figure fails here, naming the figure.
"""

import pytest

from pymodel.metrics import error_metrics
from pymodel.registry import make_design


@pytest.mark.parametrize("corrections, worst", [(0, -24.9992), (1, -6.2494), (2, -1.5622)])
def test_ilm_16_bit_worst_case_per_stage(corrections, worst):
    r = error_metrics(make_design("ilm", width=16, corrections=corrections))
    assert r["exhaustive"]
    assert round(r["min_re"] * 100, 4) == worst
    assert r["min_re_operands"] == [65535, 65535]


def test_inzed_defaults_at_16_bits():
    r = error_metrics(make_design("inzed", width=16), "div")
    assert r["exhaustive"]
    assert round(r["bias"] * 100, 4) == 0.0111 and round(r["mred"] * 100, 3) == 2.682
    assert r["min_re"] == -1.0 and r["min_re_operands"] == [1, 63681]
    assert round(r["max_re"] * 100, 3) == 8.292


def test_mbm_floored_range_at_16_bits():
    r = error_metrics(make_design("mbm", width=16))
    assert r["min_re"] == pytest.approx(-1 / 9, rel=1e-12) and r["min_re_operands"] == [3, 3]
    assert round(r["max_re"] * 100, 2) == 7.81


def test_dr_alm_8_bit_mred_with_and_without_zero_pairs():
    r = error_metrics(make_design("dr-alm", width=8))
    assert round(r["mred"] * 100, 3) == 2.932                      # pairs without a zero operand
    assert round(r["mred"] * 100 * 255 ** 2 / 2 ** 16, 3) == 2.909   # the 511 zero pairs counted as exact


@pytest.mark.parametrize("unbias, bias", [(False, -5.91), (True, -3.85)])
def test_mitch_w6_bias_at_32_bits(unbias, bias):
    r = error_metrics(make_design("mitch-w", width=32, w=6, unbias=unbias))
    assert r["exhaustive"]
    assert round(r["bias"] * 100, 2) == bias


def test_nearest_one_ties_round_up():
    m = make_design("nearest-one", width=8)
    # 6 = 3*2**1 is as far from 4 as from 8; 5 rounds to 4 (residue 1). Rounding 6 up gives
    # 30 - (6 - 8)*1 = 32, down would give 30 - (6 - 4)*1 = 28.
    assert m.mul(6, 5) == 32
