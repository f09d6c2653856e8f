"""Hypothesis properties of the golden model."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pymodel import Mitchell


@st.composite
def config_and_operands(draw, signed=None, full=False, nonzero_b=False):
    width = draw(st.integers(2, 32))
    frac_bits = width - 1 if full else draw(st.integers(0, width - 1))
    s = draw(st.booleans()) if signed is None else signed
    cfg = Mitchell(width=width, frac_bits=frac_bits, signed=s)
    lo, hi = cfg.operand_range
    a = draw(st.integers(lo, hi))
    b = draw(st.integers(lo, hi).filter(lambda v: v != 0) if nonzero_b else st.integers(lo, hi))
    return cfg, a, b


@settings(max_examples=400, deadline=None)
@given(config_and_operands())
def test_mul_is_commutative(t):
    cfg, a, b = t
    assert cfg.mul(a, b) == cfg.mul(b, a)


@settings(max_examples=400, deadline=None)
@given(config_and_operands(signed=False, full=True))
def test_full_precision_product_bounds(t):
    cfg, a, b = t
    p = cfg.mul(a, b)
    assert Fraction(8, 9) * a * b <= p <= a * b


@settings(max_examples=400, deadline=None)
@given(config_and_operands(signed=False))
def test_truncation_only_lowers_the_product(t):
    cfg, a, b = t
    full = Mitchell(width=cfg.width)
    assert cfg.mul(a, b) <= full.mul(a, b) <= a * b


@settings(max_examples=400, deadline=None)
@given(config_and_operands(signed=False, full=True, nonzero_b=True))
def test_quotient_bounds_before_the_floor(t):
    cfg, a, b = t
    q = cfg.div(a, b)
    scale = 1 << cfg.quotient_frac_bits
    exact = Fraction(a, b)
    # q = floor(Q * scale) with a/b <= Q <= 9/8 a/b, so:
    assert q <= Fraction(9, 8) * exact * scale
    assert q + 1 > exact * scale


@settings(max_examples=300, deadline=None)
@given(config_and_operands(signed=True))
def test_signed_is_odd_in_each_operand(t):
    cfg, a, b = t
    lo, _ = cfg.operand_range
    if a != lo:
        assert cfg.mul(-a, b) == -cfg.mul(a, b)
    if b != lo and b != 0:
        assert cfg.div(a, -b) == -cfg.div(a, b)
