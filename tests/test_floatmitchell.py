"""Float Mitchell: the spec (scalar, Python ints), the array path, the integer model, semantics."""

import numpy as np
import pytest

from pymodel import FloatMitchell, Mitchell
from pymodel.analysis import error_grid
from pymodel.metrics import float_error_metrics
from pymodel.vectors import float_specials, float_vectors

FMTS = ["fp32", "fp16", "bf16"]


@pytest.mark.parametrize("fmt", FMTS)
def test_array_path_matches_the_scalar_spec(fmt):
    f = FloatMitchell(fmt)
    a1, b1 = float_vectors(f, "directed", seed=5)
    a2, b2 = float_vectors(f, "random", n=200_000, seed=6)
    a, b = np.concatenate([a1, a2]), np.concatenate([b1, b2])
    got = f.mul_bits(a, b)
    want = np.array([f.mul_bits(int(x), int(y)) for x, y in zip(a.tolist(), b.tolist())])
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"first: a={a[bad[0]]:#x} b={b[bad[0]]:#x} array={got[bad[0]]:#x} spec={want[bad[0]]:#x}"


@pytest.mark.parametrize("fmt", FMTS)
def test_normal_products_are_integer_mitchell_on_the_significands(fmt, rng):
    f = FloatMitchell(fmt)
    mb = f.mant_bits
    integer = Mitchell(width=mb + 1)
    for _ in range(3000):
        ea, eb = (int(x) for x in rng.integers(f.bias - f.bias // 2, f.bias + f.bias // 2, 2))   # product stays normal
        ma, mbb = (int(x) for x in rng.integers(0, 1 << mb, 2))
        a, b = (ea << mb) | ma, (eb << mb) | mbb
        p = f.mul_bits(a, b)
        sig = integer.mul((1 << mb) | ma, (1 << mb) | mbb)      # 2^(2mb) (1+x1+x2) or 2^(2mb+1) (x1+x2)
        # value of p = sig * 2^(ea + eb - 2 bias - 2 mb)
        e_p, m_p = p >> mb, p & ((1 << mb) - 1)
        lhs = ((1 << mb) | m_p) << (e_p + 2 * f.bias + 2 * mb)
        rhs = sig << (ea + eb + mb + f.bias)
        assert lhs == rhs, (fmt, hex(a), hex(b))


def test_float_semantics_fp32():
    f = FloatMitchell("fp32")
    x = np.array([1.5, 3.0, -2.0, np.inf, np.inf, 0.0, np.nan, 1e-40, 3e38, 1e-30, -0.0], np.float32)
    y = np.array([1.5, 3.0, 0.75, 0.0, -2.0, -5.0, 1.0, 1.0, 10.0, 1e-30, 4.0], np.float32)
    p = f.mul(x, y)
    assert p[0] == 2.0 and p[1] == 8.0 and p[2] == -1.5        # -1/9 at x = 0.5; exact when x2 = 0.5, x1 = 0
    assert np.isnan(p[3])                                       # inf x 0
    assert p[4] == -np.inf                                      # inf x finite: signed inf
    assert p[5] == 0 and np.signbit(p[5])                       # zero x finite: signed zero
    assert np.isnan(p[6])                                       # NaN in
    assert p[7] == 0                                            # subnormal input counts as zero
    assert p[8] == np.inf                                       # overflow
    assert p[9] == 0                                            # underflow flushes
    assert p[10] == 0 and np.signbit(p[10])
    assert f.mul_bits(0x7FC00001, 0x3F800000) == f.qnan == 0x7FC00000


def test_formats_and_input_checks():
    b = FloatMitchell("bf16")
    assert b.mul(np.float32(1.5), np.float32(1.5)) == 2.0
    with pytest.raises(ValueError, match="not bf16-representable"):
        b.mul(np.float32(1.1), np.float32(1.0))
    with pytest.raises(TypeError, match="must be float16 for fp16"):
        FloatMitchell("fp16").mul(np.float32(1), np.float32(1))
    h = FloatMitchell("fp16")
    assert h.mul(np.float16(3), np.float16(3)) == np.float16(8)
    with pytest.raises(ValueError, match="fmt must be one of"):
        FloatMitchell("fp8")
    with pytest.raises(ValueError, match="not a 16-bit pattern"):
        h.mul_bits(1 << 16, 0)
    with pytest.raises(TypeError, match="bit patterns as integers"):
        h.mul_bits(np.array([1.0]), np.array([1]))


def test_specials_cover_every_class():
    f = FloatMitchell("fp16")
    sp = float_specials(f)
    mag = sp & 0x7FFF
    assert {0, 1, f.inf, f.qnan} <= set(mag.tolist())
    assert (sp >> 15).min() == 0 and (sp >> 15).max() == 1


@pytest.mark.parametrize("fmt", ["bf16", "fp16"])
def test_float_error_figures_match_the_integer_model(fmt):
    f = FloatMitchell(fmt)
    m = float_error_metrics(f)
    assert m["exhaustive"] and m["min_re_exact"] == "-1/9" and m["max_re"] == 0.0
    # the same mantissa pairs as integer Mitchell over operands with their leading one at bit mb
    mb = f.mant_bits
    g = error_grid(Mitchell(width=mb + 1), "mul", a_range=(1 << mb, (2 << mb) - 1), b_range=(1 << mb, (2 << mb) - 1))
    assert m["mred"] == pytest.approx(float(np.abs(g["re"]).mean()), rel=1e-12)
