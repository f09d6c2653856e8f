"""The OD GEMM kernel (pymodel.nn.gemm_bitwise) against the OD golden model, bit for bit."""

import numpy as np
import pytest

from pymodel.nn import gemm_bitwise as gb
from pymodel.registry import make_design

SEED = 16


def golden(a, bt, width, signed, frac_bits):
    """sum_k OD.mul(a[i, k], bt[j, k]): the design's products, summed exactly in int64."""
    d = make_design("od", width=width, signed=signed, frac_bits=frac_bits)
    p = d.mul(a[:, None, :].astype(np.int64), bt[None, :, :].astype(np.int64)).astype(np.int64)
    return p.sum(axis=-1)


def kernel(a, bt, frac_bits):
    a = np.ascontiguousarray(a, np.int32)
    bt = np.ascontiguousarray(bt, np.int32)
    out = np.full((a.shape[0], bt.shape[0]), -7, np.int64)       # every element must be written
    return gb.bitwise_split_gemm(a, bt, out, frac_bits)


def every_pair(width, signed):
    lo, hi = (-(1 << (width - 1)), 1 << (width - 1)) if signed else (0, 1 << width)
    v = np.arange(lo, hi, dtype=np.int32)[:, None]
    return v, v                     # out[i, j] = OD.mul(v[i], v[j]): one product per element


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("frac_bits", [0, 3, 7])
def test_every_8bit_pair(signed, frac_bits):
    a, bt = every_pair(8, signed)
    np.testing.assert_array_equal(kernel(a, bt, frac_bits), golden(a, bt, 8, signed, frac_bits))


def special(width, signed):
    if signed:
        top = 1 << (width - 1)
        v = [0, 1, -1, 2, -2, 3, -3, -top, top - 1, -(top - 1), top // 2, -(top // 2), top // 2 + 1, 0x5555, -0x2AAA]
    else:
        top = 1 << width
        v = [0, 1, 2, 3, top - 1, top - 2, top // 2, top // 2 - 1, 0x5555, 0x2AAA]
    return np.array(v, np.int32)


@pytest.mark.parametrize(("width", "signed", "fracs"), [(16, True, (0, 3, 8, 15)), (15, False, (0, 3, 14))])
def test_wide_operands(width, signed, fracs):
    """Every pair of special values (0, +-1, -2**15, the maxima, alternating bits) and random
    matrices with sums far past int32, at several frac_bits."""
    rng = np.random.default_rng(SEED)
    s = special(width, signed)[:, None]
    lo, hi = (-(1 << (width - 1)), 1 << (width - 1)) if signed else (0, 1 << width)
    a = rng.integers(lo, hi, (9, 61)).astype(np.int32)
    bt = rng.integers(lo, hi, (7, 61)).astype(np.int32)
    a[0, :] = lo if signed else hi - 1
    bt[1, ::2] = 0
    for f in fracs:
        np.testing.assert_array_equal(kernel(s, s, f), golden(s, s, width, signed, f))
        np.testing.assert_array_equal(kernel(a, bt, f), golden(a, bt, width, signed, f))


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 3, 1), (7, 9, 13), (6, 5, 33), (1, 11, 70), (13, 1, 17)])
@pytest.mark.parametrize("width", [8, 16])
def test_odd_shapes(shape, width):
    """M, N not multiples of the 4 x 2 block, K = 1, K not a multiple of the SIMD width."""
    m, n, k = shape
    rng = np.random.default_rng(SEED + m * 100 + n * 10 + k)
    lo = -(1 << (width - 1))
    a = rng.integers(lo, -lo, (m, k)).astype(np.int32)
    bt = rng.integers(lo, -lo, (n, k)).astype(np.int32)
    np.testing.assert_array_equal(kernel(a, bt, width - 1), golden(a, bt, width, True, width - 1))


def test_long_sums_exact():
    """Sums far beyond int32: K = 5000 products of -2**15 * -2**15 (each 2**30: the hi/lo kernel),
    K past one hi/lo chunk, and 12-bit operands where the int32 kernel needs several chunks."""
    d = make_design("od", width=16, signed=True, frac_bits=15)
    a = np.full((3, 5000), -2 ** 15, np.int32)
    bt = np.full((2, 5000), -2 ** 15, np.int32)
    bt[1, 1::2] = 2 ** 15 - 1
    want = [[5000 * d.mul(-2 ** 15, -2 ** 15),
             2500 * d.mul(-2 ** 15, -2 ** 15) + 2500 * d.mul(-2 ** 15, 2 ** 15 - 1)]] * 3
    np.testing.assert_array_equal(kernel(a, bt, 15), np.array(want, np.int64))
    assert want[0][0] == 5000 * 2 ** 30                       # the golden side: an exact product
    rng = np.random.default_rng(SEED)
    k = gb.HILO_CHUNK + 4321
    a = rng.integers(-2 ** 15, 2 ** 15, (2, k)).astype(np.int32)
    a[0] = -2 ** 15
    bt = rng.integers(-2 ** 15, 2 ** 15, (1, k)).astype(np.int32)
    bt[0, : k // 2] = -2 ** 15
    np.testing.assert_array_equal(kernel(a, bt, 15), golden(a, bt, 16, True, 15))
    a = rng.integers(-2 ** 11, 2 ** 11, (5, 2000)).astype(np.int32)
    bt = rng.integers(-2 ** 11, 2 ** 11, (3, 2000)).astype(np.int32)
    a[:, :] = np.where(a >= 0, 2 ** 11 - 1, -2 ** 11)              # products near 2**22: chunks of 511
    np.testing.assert_array_equal(kernel(a, bt, 11), golden(a, bt, 12, True, 11))


def test_kernels_agree_on_8bit():
    """The hi/lo kernel and the int32 kernel on the same 8-bit codes (normally only one runs)."""
    a, bt = every_pair(8, True)
    ea, eb = gb.encode_a(a), gb.encode_b(bt)
    o1 = np.empty((256, 256), np.int64)
    o2 = np.empty((256, 256), np.int64)
    gb.od_gemm_i32(ea, eb, o1, 1, gb.fraction_mask(4))
    gb.od_gemm_hilo(ea, eb, o2, 1, gb.fraction_mask(4))
    np.testing.assert_array_equal(o1, golden(a, bt, 8, True, 4))
    np.testing.assert_array_equal(o2, o1)


def test_wrong_variants_are_caught():
    """The checks above fail on a kernel with frac_bits off by one, and on one that skips the
    fraction mask where it matters."""
    a, bt = every_pair(8, True)
    want = golden(a, bt, 8, True, 4)
    assert not np.array_equal(kernel(a, bt, 3), want)
    assert not np.array_equal(kernel(a, bt, 5), want)
    ea, eb = gb.encode_a(a), gb.encode_b(bt)
    out = np.empty((256, 256), np.int64)
    gb.od_gemm_i32(ea, eb, out, 1 << 16, None)          # no mask: frac_bits 7
    assert not np.array_equal(out, want)
    np.testing.assert_array_equal(out, golden(a, bt, 8, True, 7))


@pytest.mark.parametrize(("args", "match"), [
    ((np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int32), np.zeros((2, 2), np.int64), 3), "int32"),
    ((np.zeros((2, 3), np.int32), np.zeros((2, 4), np.int32), np.zeros((2, 2), np.int64), 3), "shapes"),
    ((np.zeros((2, 3), np.int32), np.zeros((2, 3), np.int32), np.zeros((2, 2), np.int64), 16), "frac_bits"),
    ((np.full((2, 3), 2 ** 15 + 1, np.int32), np.zeros((2, 3), np.int32), np.zeros((2, 2), np.int64), 3), "2\\*\\*15"),
    ((np.zeros((3, 2), np.int32).T, np.zeros((2, 3), np.int32), np.zeros((2, 2), np.int64), 3), "contiguous"),
])
def test_bad_arguments(args, match):
    with pytest.raises((TypeError, ValueError), match=match):
        gb.bitwise_split_gemm(*args)


def test_empty():
    out = np.full((2, 3), 5, np.int64)
    gb.bitwise_split_gemm(np.zeros((2, 0), np.int32), np.zeros((3, 0), np.int32), out, 3)
    assert not out.any()
