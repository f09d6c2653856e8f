"""The scalar reference against Mitchell 1962's published facts, and input checking."""

from fractions import Fraction

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel import reference as R


def test_worst_case_product_is_minus_one_ninth():
    m = Mitchell(width=8)
    assert m.mul(3, 3) == 8                      # x1 = x2 = 0.5: 4 * (1 + 1) = 8 vs 9
    assert Fraction(m.mul(3, 3) - 9, 9) == Fraction(-1, 9)
    assert m.mul(6, 12) == 64                    # same fractions, scaled


def test_no_carry_and_carry_cases():
    m = Mitchell(width=8)
    # 5 = 4(1+1/4), 6 = 4(1+1/2): x1+x2 = 3/4 < 1 -> 16 * 1.75 = 28 (exact 30)
    assert m.mul(5, 6) == 28
    # 7 = 4(1+3/4), 6: x1+x2 = 5/4 -> 2^5 * 5/4 = 40 (exact 42)
    assert m.mul(7, 6) == 40
    # integer identity from the anchors: a*b - r1*r2 without a carry
    assert m.mul(5, 6) == 5 * 6 - 1 * 2


def test_powers_of_two_are_exact():
    m = Mitchell(width=16)
    for i in range(16):
        for j in range(16):
            assert m.mul(1 << i, 1 << j) == 1 << (i + j)
            assert m.div(1 << i, 1 << j) == (1 << (i + 16)) >> j


def test_quotient_worst_case_is_plus_one_eighth():
    m = Mitchell(width=8)
    q = m.div(2, 3)        # x1 = 0, x2 = 0.5: borrow, 2^(1-1-1) (2 - 0.5) = 0.75 vs 0.667
    assert Fraction(q, 1 << m.quotient_frac_bits) == Fraction(3, 4)
    assert Fraction(q, 256) / Fraction(2, 3) - 1 == Fraction(1, 8)


def test_truncation_floors_the_fraction():
    full, cut = Mitchell(width=8), Mitchell(width=8, frac_bits=1)
    # 7 = 4 * (1 + 0.75): one fraction bit keeps 0.5
    assert R.log_convert(7, 8, 1) == (2, 1)
    assert cut.mul(7, 7) == 32          # 2^(2+2+1) * (0.5 + 0.5)
    assert full.mul(7, 7) == 48         # 2^5 * 1.5
    assert Mitchell(width=8, frac_bits=0).mul(7, 7) == 16


def test_signed_is_sign_magnitude_around_the_unsigned_core():
    s = Mitchell(width=8, signed=True)
    assert s.mul(-3, 3) == -8 and s.mul(-3, -3) == 8 and s.mul(3, -3) == -8
    assert s.mul(-128, -128) == 1 << 14
    assert s.div(-2, 3) == -192          # rounds toward zero: magnitude floored
    assert s.div(-128, -1) == 128 << 8   # needs the extra quotient bit
    assert s.quotient_width == 8 + 8 + 1


def test_zero_operands():
    m = Mitchell(width=8)
    assert m.mul(0, 200) == 0 and m.mul(200, 0) == 0
    assert m.div(0, 7) == 0


def test_division_by_zero_scalar_raises_and_saturates():
    m = Mitchell(width=8)
    with pytest.raises(ZeroDivisionError):
        m.div(5, 0)
    assert m.div(5, 0, on_zero="saturate") == ((1 << 16) - 1, True)
    assert m.div(5, 1, on_zero="saturate") == (5 << 8, False)
    s = Mitchell(width=8, signed=True)
    assert s.div(-5, 0, on_zero="saturate") == (-(1 << 16), True)
    assert s.div(5, 0, on_zero="saturate") == ((1 << 16) - 1, True)


def test_division_by_zero_array():
    m = Mitchell(width=8)
    with pytest.raises(ZeroDivisionError, match="flat index 1"):
        m.div(np.array([1, 2]), np.array([1, 0]))
    q, dbz = m.div(np.array([1, 2]), np.array([1, 0]), on_zero="saturate")
    assert q.tolist() == [256, 65535] and dbz.tolist() == [False, True]
    with pytest.raises(ValueError, match="on_zero"):
        m.div(1, 1, on_zero="zero")


@pytest.mark.parametrize("kw, match", [
    ({"width": 1}, "width must be in 2..32"),
    ({"width": 33}, "width must be in 2..32"),
    ({"width": 8, "frac_bits": 8}, r"frac_bits must be in 0..7"),
    ({"width": 8, "frac_bits": -1}, r"frac_bits must be in 0..7"),
    ({"width": 32, "quotient_frac_bits": 33}, r"quotient_frac_bits must be in 0..32 \(at most 2\*width"),
])
def test_config_range_errors_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        Mitchell(**kw)


@pytest.mark.parametrize("kw, match", [
    ({"width": 8.0}, "width must be an int"),
    ({"width": True}, "width must be an int"),
    ({"width": 8, "signed": 1}, "signed must be a bool"),
    ({"width": 8, "frac_bits": "3"}, "frac_bits must be an int"),
])
def test_config_type_errors_name_the_field(kw, match):
    with pytest.raises(TypeError, match=match):
        Mitchell(**kw)


def test_config_is_frozen_and_keyword_only():
    m = Mitchell(width=8)
    with pytest.raises(Exception):
        m.width = 9
    with pytest.raises(TypeError):
        Mitchell(8)


def test_operand_range_errors():
    u, s = Mitchell(width=8), Mitchell(width=8, signed=True)
    with pytest.raises(ValueError, match=r"operand a=256 is out of range for unsigned width 8: 0..255"):
        u.mul(256, 1)
    with pytest.raises(ValueError, match=r"operand b=-1 is out of range"):
        u.mul(1, -1)
    with pytest.raises(ValueError, match=r"-128..127"):
        s.mul(-129, 1)
    with pytest.raises(ValueError, match=r"operand b holds 300"):
        u.mul(np.array([1, 2]), np.array([3, 300]))
    with pytest.raises(ValueError, match=r"operand a holds -1"):
        u.div(np.array([-1]), np.array([3]))
    with pytest.raises(TypeError, match="operand a must be"):
        u.mul(np.array([1.0]), np.array([1]))
    with pytest.raises(TypeError, match="operand b must be"):
        u.mul(np.array([1]), np.array(["x"], dtype=object))
    with pytest.raises(TypeError, match="operand a must be"):
        u.mul(2.0, 3)
    with pytest.raises(TypeError, match="operand b must be"):
        u.mul(np.array([1]), np.array([True]))
    with pytest.raises(ValueError, match="do not broadcast"):
        u.mul(np.ones(3, np.uint8), np.ones(4, np.uint8))


def test_uint64_values_beyond_int64_do_not_wrap():
    m = Mitchell(width=32)
    with pytest.raises(ValueError, match="out of range"):
        m.mul(np.array([2**64 - 1], np.uint64), np.array([1], np.uint64))


def test_array_output_dtypes_hold_every_result():
    assert Mitchell(width=8).mul(np.uint8(255), np.uint8(255)).dtype == np.uint16
    assert Mitchell(width=8, signed=True).mul(np.int8(-128), np.int8(-128)) == 16384
    assert Mitchell(width=32).mul(np.array([2**32 - 1]), np.array([2**32 - 1])).dtype == np.uint64
    m = Mitchell(width=32, signed=True)   # quotient needs 65 bits: arrays refuse, ints work
    with pytest.raises(ValueError, match="needs 65 bits"):
        m.div(np.array([1]), np.array([1]))
    assert m.div(-2**31, -1) == 2**63


def test_scalar_and_array_kinds():
    m = Mitchell(width=8)
    assert type(m.mul(3, 3)) is int
    r = m.mul(np.arange(4)[:, None], np.arange(3)[None, :])
    assert isinstance(r, np.ndarray) and r.shape == (4, 3)
    assert m.mul(np.arange(0), np.arange(0)).shape == (0,)
    assert m.mul(np.int64(3), 3) == 8
