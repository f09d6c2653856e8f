"""Every design's exact form (``cfg.exact_form(op)``) against the sweep that visits every pair.

Names no design: loops over the registry and skips the operators whose design offers no exact form.
Every key must equal the sweep's (floats to 1e-12 relative, operands of the extremes and their exact
fractions identically) at every width 2..9, signed and unsigned, at the design's defaults and at each
parameter's ends.  A deliberately wrong form shows that the comparison can fail.
"""

import pytest

from pymodel.metrics import METRIC_KEYS, error_metrics
from pymodel.registry import design_class, design_names, make_design

FLOATS = ("min_re", "max_re", "bias", "mred", "mae", "wce", "nmed", "ep", "mse")
SAME = ("pairs", "exhaustive", "min_re_operands", "max_re_operands", "wce_operands", "min_re_exact",
        "max_re_exact", "error_unit", "design", "op", "config_keys")


def assert_same(got, want, rel=1e-12):
    assert got["method"] == "exact" and got["exhaustive"] is True and want["method"] == "sweep"
    assert set(got) == set(want), set(got) ^ set(want)
    for k in FLOATS:
        assert got[k] == pytest.approx(want[k], rel=rel, abs=1e-15), (k, got[k], want[k])
    for k in SAME + tuple(got["config_keys"]):
        assert got[k] == want[k], (k, got[k], want[k])


def configs(name, op, width):
    """The design at its defaults and at each parameter's ends, middle and two values below the top (others
    default), both signs."""
    cls = design_class(name)
    variants = [{}]
    for p in cls.PARAMS:
        if op == "mul" and p.name == "quotient_frac_bits":
            continue
        if p.type is bool:
            variants += [{p.name: False}, {p.name: True}]
        else:      # the ends, the middle, and one and two below the top (e.g. MBM saturates at frac_bits w-3)
            lo, hi = p.bounds(width)
            variants += [{p.name: v} for v in sorted({lo, hi, (lo + hi) // 2, max(lo, hi - 1), max(lo, hi - 2)})]
    out, seen = [], set()
    for signed in (False, True):
        for kw in variants:
            try:
                cfg = make_design(name, width=width, signed=signed, **kw)
            except ValueError:           # a combination the design refuses (checks across parameters)
                continue
            if cfg not in seen:
                seen.add(cfg)
                out.append(cfg)
    return out


CASES = [(n, op) for n in design_names() for op in design_class(n).OPS]


@pytest.mark.parametrize("name, op", CASES)
def test_exact_form_equals_the_sweep_at_widths_2_to_9(name, op):
    cls = design_class(name)
    if max(cls.MIN_WIDTH, 2) > 9 or make_design(name, width=max(cls.MIN_WIDTH, 2)).exact_form(op) is None:
        pytest.skip(f"{name} offers no exact form for {op}")
    n = 0
    for width in range(max(cls.MIN_WIDTH, 2), 10):
        for cfg in configs(name, op, width):
            form = cfg.exact_form(op)
            assert form is not None, cfg.describe()
            got = error_metrics(cfg, op)
            assert got["method"] == "exact", cfg.describe()
            assert set(METRIC_KEYS) <= set(got)
            try:
                assert_same(got, error_metrics(cfg, op, method="sweep"))
            except AssertionError as e:
                raise AssertionError(f"{op} {cfg.describe()}: {e}") from None
            n += 1
    assert n > 0


def _some_exact_form():
    for name, op in CASES:
        cfg = make_design(name, width=6)
        if cfg.exact_form(op) is not None:
            return cfg, op
    pytest.skip("no design offers an exact form")


@pytest.mark.parametrize("break_it", ["bias", "operands", "ep"])
def test_a_wrong_exact_form_is_caught(break_it):
    cfg, op = _some_exact_form()
    got = dict(error_metrics(cfg, op))
    want = error_metrics(cfg, op, method="sweep")
    assert_same(got, want)
    if break_it == "bias":
        got["bias"] *= 1 + 1e-9                     # one rounding's worth of a float sum too many
    elif break_it == "operands":                   # a tied extreme reported at the other pair
        a, b = got["min_re_operands"]
        got["min_re_operands"] = [b, a] if a != b else [a, b + 1]
    else:
        got["ep"] += 1 / got["pairs"]               # one pair miscounted
    with pytest.raises(AssertionError):
        assert_same(got, want)


def test_every_design_answers_exact_form():
    for name, op in CASES:
        form = make_design(name, width=8).exact_form(op)
        assert form is None or callable(form)
        assert make_design(name, width=8).exact_form("nope") is None


def test_sampled_figures_carry_a_confidence_interval_that_covers_the_exact_one():
    cfg, op = _some_exact_form()
    cfg = make_design(cfg.NAME, width=12)
    exact = error_metrics(cfg, op)
    assert "mred_ci95" not in exact and "bias_ci95" not in exact
    small = error_metrics(cfg, op, samples=1 << 14, seed=3)
    big = error_metrics(cfg, op, samples=1 << 16, seed=3)
    for m in (small, big):
        assert m["method"] == "sample" and m["exhaustive"] is False
        for k in ("mred", "bias"):
            half = m[f"{k}_ci95"]
            assert 0 < half < 0.01
            assert abs(m[k] - exact[k]) <= 2 * half, (k, m[k], exact[k], half)   # 2 half-widths: ~4.5 sigma
    assert 0.4 < big["mred_ci95"] / small["mred_ci95"] < 0.6      # 4x the pairs: half the width


def test_cli_offers_exact_where_the_design_has_it():
    import json

    from conftest import run_cli
    cfg, op = _some_exact_form()
    rc, out, err = run_cli("errors", "--design", cfg.NAME, "--op", op, "--width", "8", "--json")
    assert rc == 0, err
    m = json.loads(out)
    assert m["method"] == "exact" and m["pairs"] == 1 << 16
    assert m == {**m, **{k: v for k, v in error_metrics(make_design(cfg.NAME, width=8), op).items()
                          if k in METRIC_KEYS}}
    rc, out, err = run_cli("errors", "--design", cfg.NAME, "--op", op, "--width", "8", "--samples", "5000")
    assert rc == 0, err
    assert "(95 % CI)" in out
    for name, op in CASES:
        if make_design(name, width=8).exact_form(op) is None:
            rc, out, _ = run_cli("errors", "--design", name, "--op", op, "--width", "8", "--method", "exact",
                                 "--json")
            assert rc == 2 and "--method exact is not available for --design" in json.loads(out)["error"]
            break
