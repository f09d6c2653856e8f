"""Mitchell's exact multiplier enumerator (pymodel.exact.mitchell) against the brute-force sweep, exact rational sums, a numpy
brute force over single block pairs, and sampling at 32 bits."""

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.exact import mitchell as es
from pymodel.exact.mitchell import exact_mul_metrics
from pymodel.metrics import METRIC_KEYS, error_metrics

from conftest import run_cli

FLOATS = ("bias", "mred", "mae", "nmed", "mse")
EXACT = ("pairs", "exhaustive", "min_re", "max_re", "wce", "ep", "min_re_operands", "max_re_operands",
         "wce_operands", "min_re_exact", "max_re_exact", "error_unit", "width", "frac_bits", "signed", "op",
         "design", "config_keys")


def assert_same(got, want, rel=1e-12):
    for k in FLOATS:
        assert got[k] == pytest.approx(want[k], rel=rel, abs=0), (k, got[k], want[k])
    for k in EXACT:
        assert got[k] == want[k], (k, got[k], want[k])


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", range(2, 11))
def test_equals_the_sweep_on_every_config_to_10_bits(width, signed):
    for f in range(width):
        cfg = Mitchell(width=width, frac_bits=f, signed=signed)
        got = exact_mul_metrics(cfg)
        want = error_metrics(cfg, "mul", method="sweep")
        assert want["method"] == "sweep" and got["method"] == "exact"
        assert_same(got, want)


@pytest.mark.parametrize("width, frac_bits, signed", [(12, 11, False), (12, 4, True), (12, 0, False),
                                                      (14, 13, True), (14, 6, False)])
def test_equals_the_sweep_at_12_and_14_bits(width, frac_bits, signed):
    cfg = Mitchell(width=width, frac_bits=frac_bits, signed=signed)
    assert_same(exact_mul_metrics(cfg), error_metrics(cfg, "mul", method="sweep"))


@pytest.mark.slow
@pytest.mark.parametrize("width, frac_bits, signed", [(16, 15, False), (16, 7, True)])
def test_equals_the_sweep_at_16_bits(width, frac_bits, signed):
    cfg = Mitchell(width=width, frac_bits=frac_bits, signed=signed)
    assert_same(exact_mul_metrics(cfg), error_metrics(cfg, "mul", method="sweep"))


def fraction_metrics(cfg):
    """Every metric as an exact rational, pair by pair through the scalar reference model."""
    lo, hi = cfg.operand_range
    n = nrel = nerr = 0
    sre = sae = sse = Fraction(0)
    worst = None
    for a in range(lo, hi + 1):
        for b in range(lo, hi + 1):
            p = a * b
            err = cfg.mul(a, b) - p
            n += 1
            sae += abs(err)
            sse += err * err
            nerr += err != 0
            if p:
                re = Fraction(err, p)
                nrel += 1
                sre += re
                if worst is None or re < worst:
                    worst = re
    mx = max(abs(lo), hi) ** 2
    return {"bias": sre / nrel, "mred": -sre / nrel, "mae": sae / n, "mse": sse / n, "nmed": sae / n / mx,
            "ep": Fraction(nerr, n), "min_re": worst}


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("width", range(2, 7))
def test_against_exact_rational_sums(width, signed):
    worst_rel = 0.0
    for f in range(width):
        cfg = Mitchell(width=width, frac_bits=f, signed=signed)
        got, want = exact_mul_metrics(cfg), fraction_metrics(cfg)
        for k, v in want.items():
            if v == 0:
                assert got[k] == 0, k
                continue
            rel = abs(Fraction(got[k]) - v) / abs(v)
            worst_rel = max(worst_rel, float(rel))
        assert Fraction(got["min_re_exact"]) == want["min_re"]
    assert worst_rel <= 1e-13, worst_rel


@pytest.mark.parametrize("cfg", [Mitchell(width=9), Mitchell(width=9, frac_bits=3, signed=True)])
def test_mred_is_minus_bias_and_never_positive(cfg):
    for m in (exact_mul_metrics(cfg), error_metrics(cfg, "mul", method="sweep")):
        assert m["max_re"] == 0.0 and m["min_re"] < 0
        assert m["mred"] == pytest.approx(-m["bias"], rel=1e-14)


def block_brute_force(k1, k2, w, f):
    """``sum M/(ab)``, ``sum err``, ``sum err**2`` over ``a`` in block k1, ``b`` in block k2, by numpy."""
    cfg = Mitchell(width=w, frac_bits=f)
    a = np.arange(1 << k1, 2 << k1, dtype=np.int64)[:, None]
    b = np.arange(1 << k2, 2 << k2, dtype=np.int64)[None, :]
    m = cfg.mul(a, b).astype(np.int64)
    p = a * b
    err = (p - m).ravel().astype(np.uint64)
    sq = (err * err).reshape(-1, 4096).sum(axis=1)      # each partial < 2**64
    return math.fsum((m / p).ravel()), int(err.sum()), sum(int(x) for x in sq)


@pytest.mark.parametrize("k1, k2, w, f", [(6, 17, 20, 9), (9, 9, 12, 4), (3, 14, 16, 15)])
def test_block_pair_sums_against_numpy(k1, k2, w, f):
    """One block pair, with runs of a and b longer than one code (prefix tables) and without."""
    def block(k):
        m = min(k, f)
        return k, 1 << (k - m), 1 << m, m
    _, La, n1, m1 = block(k1)
    _, Lb, n2, m2 = block(k2)
    c = 1 << (m2 - m1)
    s1, s2 = es._err_sums(k1, La, 0, n1, k2, Lb, n2, c)
    P0 = np.empty(n2 + 1)
    Q = np.empty(n2 + 1)
    es._tables(k2, float(Lb), n2, P0, Q)
    sr = es._direct_sum(0, n1, k1, float(La), k2, float(Lb), float(n2), float(c), P0, Q, Lb > 1)
    want_sr, want_s1, want_s2 = block_brute_force(k1, k2, w, f)
    assert (s1, s2) == (want_s1, want_s2)
    assert sr == pytest.approx(want_sr, rel=1e-13)
    if Lb > 1:   # the same from L - 1 digamma differences at fractional arguments (no tables)
        sr2 = es._direct_sum(0, n1, k1, float(La), k2, float(Lb), float(n2), float(c), P0, Q, False)
        assert sr2 == pytest.approx(want_sr, rel=1e-12)


@pytest.mark.parametrize("cfg", [Mitchell(width=14), Mitchell(width=14, frac_bits=12, signed=True)])
def test_euler_maclaurin_blocks_match_the_direct_sum(cfg):
    """Lowering em_above sends the big blocks through Euler-Maclaurin; the sums must not move."""
    direct = exact_mul_metrics(cfg)
    em = exact_mul_metrics(cfg, em_above=11)
    assert_same(em, direct, rel=1e-12)


def test_32_bits_full_precision_is_exhaustive_and_agrees_with_sampling():
    m = error_metrics(Mitchell(width=32), "mul")
    assert m["method"] == "exact" and m["exhaustive"] is True and m["pairs"] == 2 ** 64
    assert m["min_re_exact"] == "-1/9" and m["min_re_operands"] == [3, 3]
    assert m["wce"] == 2.0 ** 60 and m["wce_operands"] == [3 << 30, 3 << 30]
    assert 100 * m["mred"] == pytest.approx(3.8488, abs=5e-5)
    s = error_metrics(Mitchell(width=32), "mul", samples=1 << 20, seed=3)
    assert s["method"] == "sample" and s["exhaustive"] is False
    sigma = 0.03 / math.sqrt(s["pairs"])       # |re| spread is below 0.03
    assert abs(s["mred"] - m["mred"]) < 5 * sigma
    assert s["min_re"] >= m["min_re"] and s["ep"] <= 1.0


def test_32_bits_truncated_agrees_with_sampling():
    cfg = Mitchell(width=32, frac_bits=16, signed=True)
    m = exact_mul_metrics(cfg)
    s = error_metrics(cfg, "mul", samples=1 << 20, seed=5)
    assert abs(s["mred"] - m["mred"]) < 5 * 0.03 / math.sqrt(s["pairs"])
    assert abs(s["mae"] - m["mae"]) < 5 * math.sqrt(m["mse"] / s["pairs"])
    a, b = m["wce_operands"]
    assert float(abs(cfg.mul(a, b) - a * b)) == m["wce"] and s["wce"] <= m["wce"]
    a, b = m["min_re_operands"]
    assert Fraction(cfg.mul(a, b) - a * b, a * b) == Fraction(m["min_re_exact"])


def test_method_choice_and_refusals():
    cfg = Mitchell(width=6)
    assert error_metrics(cfg, "mul")["method"] == "exact"
    assert error_metrics(cfg, "mul", samples=100)["method"] == "sample"
    assert set(METRIC_KEYS) <= set(error_metrics(cfg, "mul"))
    with pytest.raises(ValueError, match="width must be <= 16"):
        error_metrics(Mitchell(width=17), "mul", method="sweep")
    with pytest.raises(ValueError, match="samples applies to method 'sample' only"):
        error_metrics(cfg, "mul", method="exact", samples=10)
    with pytest.raises(ValueError, match="method must be one of"):
        error_metrics(cfg, "mul", method="fast")


def test_cli_reports_the_method():
    rc, out, err = run_cli("errors", "--op", "mul", "--width", "24", "--frac-bits", "12", "--json")
    assert rc == 0, err
    m = json.loads(out)
    assert m["method"] == "exact" and m["exhaustive"] is True and m["pairs"] == 2 ** 48
    rc, out, _ = run_cli("errors", "--width", "20", "--method", "sweep", "--json")
    assert rc == 2 and "--width must be 2..16" in json.loads(out)["error"]
    rc, out, _ = run_cli("errors", "--width", "6", "--method", "sweep")
    assert rc == 0 and "every pair, method sweep" in out


@pytest.mark.parametrize("cfg", [Mitchell(width=18), Mitchell(width=20, frac_bits=18, signed=True),
                                 Mitchell(width=22, frac_bits=11)])
def test_wide_paths_agree(cfg):
    """At 18-22 bits the default mixes Euler-Maclaurin, digamma-only runs and prefix tables; em_above=30
    sums every outer run directly with tables wherever runs are longer than one code."""
    assert_same(exact_mul_metrics(cfg), exact_mul_metrics(cfg, em_above=30), rel=1e-13)
