"""approx_matmul's compiled paths (issue 16), bit-exact against the golden model.

The golden model is ``multiplier.mul`` (pymodel), products summed in Python ints; the
Float Mitchell matmul against ``FloatMitchell('fp32').mul`` summed in float32 in k order.
"""

import numpy as np
import pytest
from numba import njit

from pymodel import FloatMitchell, Mitchell
from pymodel.nn import EncodedWeights, ExactMultiplier, approx_matmul, gemm_kernels, gemm_path
from pymodel.nn import mfree


def golden(a, b, mult):
    """sum_k mult.mul(a[i, k], b[k, j]) in Python ints (object array)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        # one vectorized golden call per row: products (K, N), summed as Python ints
        p = np.asarray(mult.mul(np.repeat(a[i][:, None], b.shape[1], 1), b)).astype(object)
        out[i] = p.sum(axis=0) if a.shape[1] else 0
    return out


def every_pair(mult):
    lo, hi = mult.operand_range
    v = np.arange(lo, hi + 1, dtype=np.int64)
    return v[:, None], v[None, :]          # (n, 1) @ (1, n): C[i, j] = one product of every pair


def same(got, want):
    return got.dtype == np.int64 and got.shape == want.shape and (got.astype(object) == want).all()


# --- a tiny local design for the general path -------------------------------------------

@njit(inline="always")
def _trunc_magnitude(ma, mb, P):
    """Exact product with the low P[0] bits cleared, plus P[1] (a toy approximate design)."""
    p = ma * mb
    return ((p >> P[0]) << P[0]) + (P[1] if p != 0 else 0)


class TruncDesign:
    """Config object with the interface of a design (mul_magnitude, kernel_params, width, ...)."""

    def __init__(self, width, signed, drop, bump=0, magnitude=_trunc_magnitude):
        self.width, self.signed, self.drop, self.bump = width, signed, drop, bump
        self.mul_magnitude = magnitude
        self.params = (np.int64(drop), np.int64(bump))

    def kernel_params(self):
        return self.params

    @property
    def operand_range(self):
        return (-(1 << (self.width - 1)), (1 << (self.width - 1)) - 1) if self.signed else (0, (1 << self.width) - 1)

    def mul(self, a, b):
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        p = np.abs(a) * np.abs(b)
        m = ((p >> self.drop) << self.drop) + np.where(p != 0, self.bump, 0)
        return np.where((a < 0) != (b < 0), -m, m)


class MitchellAsDesign:
    """Mitchell through the general path (for comparison with the fast path)."""

    def __init__(self, mult):
        self.m = mult
        self.width, self.signed, self.operand_range = mult.width, mult.signed, mult.operand_range
        self.mul_magnitude = gemm_kernels.mitchell_magnitude

    def kernel_params(self):
        return (np.int64(self.m.frac_bits),)

    def mul(self, a, b):
        return self.m.mul(a, b)


# --- every 8-bit pair --------------------------------------------------------------------

@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("frac_bits", range(8))
def test_every_8bit_pair_every_frac_bits(signed, frac_bits):
    mult = Mitchell(width=8, frac_bits=frac_bits, signed=signed)
    assert gemm_path(mult) == "log-add"
    a, b = every_pair(mult)
    got = approx_matmul(a, b, mult)
    assert (got == mult.mul(np.broadcast_to(a, got.shape), np.broadcast_to(b, got.shape))).all()
    # and summed: each output the sum over a shuffled column of every operand
    rng = np.random.default_rng(frac_bits)
    a2 = np.stack([rng.permutation(a[:, 0]) for _ in range(3)])            # (3, 256)
    b2 = np.stack([rng.permutation(a[:, 0]) for _ in range(4)], axis=1)    # (256, 4)
    assert same(approx_matmul(a2, b2, mult), golden(a2, b2, mult))


def edge_values(mult, rng, n=200):
    lo, hi = mult.operand_range
    special = [0, 1, 2, 3, hi, hi - 1, lo, lo + 1] + ([-1, -2, -3] if mult.signed else [])
    return np.concatenate([special, rng.integers(lo, hi, n - len(special), endpoint=True)]).astype(np.int64)


@pytest.mark.parametrize("kw", [dict(width=16, signed=True), dict(width=16, signed=True, frac_bits=5),
                                dict(width=15), dict(width=15, frac_bits=0), dict(width=12, signed=True),
                                dict(width=16), dict(width=20, signed=True, frac_bits=9), dict(width=3, signed=True)])
def test_sampled_wide_pairs_with_edges(kw, rng):
    """200 x 200 pairs of edge values (0, +-1, max, -2**(w-1)) and random ones, one product each."""
    mult = Mitchell(**kw)
    v = edge_values(mult, rng)
    a, b = v[:, None], rng.permutation(v)[None, :]
    got = approx_matmul(a, b, mult)
    assert (got == mult.mul(np.broadcast_to(a, got.shape), np.broadcast_to(b, got.shape))).all()
    assert gemm_path(mult) == ("log-add" if mult.width <= (16 if mult.signed else 15) else "general")


@pytest.mark.parametrize("kw, k", [(dict(width=16, signed=True), 5000),     # dual sums, over two 2048-chunks
                                   (dict(width=12, signed=True), 1500),     # int32 sums split every 511
                                   (dict(width=15), 3000)])
def test_long_k_needs_splitting(kw, k, rng):
    """Products near the largest, mostly of one sign, so that an unsplit int32 sum would overflow."""
    mult = Mitchell(**kw)
    lo, hi = mult.operand_range
    big = lo if mult.signed else hi
    a = np.full((3, k), big, np.int64)
    b = np.full((k, 4), big, np.int64)
    a[1] = rng.integers(lo, hi, k, endpoint=True)
    b[:, 2] = rng.integers(lo, hi, k, endpoint=True)
    b[::7, 3] = hi                                     # a mix of signs in the last column
    want = golden(a, b, mult)
    assert abs(int(want[0, 0])) > 2 ** 31                # the sums do leave int32
    assert same(approx_matmul(a, b, mult), want)


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 7, 3), (9, 33, 5), (4, 1, 6), (3, 40, 2), (13, 17, 11)])
@pytest.mark.parametrize("kw", [dict(width=8, signed=True), dict(width=6, frac_bits=2), dict(width=16, signed=True),
                                dict(width=24, signed=True)])
def test_odd_shapes(shape, kw, rng):
    mult = Mitchell(**kw)
    lo, hi = mult.operand_range
    m, k, n = shape
    a = rng.integers(lo, hi, (m, k), endpoint=True)
    b = rng.integers(lo, hi, (k, n), endpoint=True)
    a[0, 0] = 0
    assert same(approx_matmul(a, b, mult), golden(a, b, mult))


def test_integer_dtypes_and_layouts(rng):
    mult = Mitchell(width=8, signed=True)
    a = rng.integers(-128, 128, (6, 21))
    b = rng.integers(-128, 128, (21, 5))
    want = golden(a, b, mult)
    for dt in (np.int8, np.int16, np.int32, np.int64):
        assert same(approx_matmul(a.astype(dt), b.astype(dt), mult), want)
    assert same(approx_matmul(np.asfortranarray(a), b[:, ::-1][:, ::-1], mult), want)
    u = Mitchell(width=8)
    ua, ub = np.abs(a).astype(np.uint8), np.abs(b).astype(np.uint16)
    assert same(approx_matmul(ua, ub, u), golden(ua, ub, u))
    with pytest.raises(ValueError, match="operand a holds 255"):       # uint8 does not prove a signed range
        approx_matmul(np.full((1, 1), 255, np.uint8), np.ones((1, 1), np.int8), mult)
    assert approx_matmul(np.zeros((0, 4), np.int8), np.zeros((4, 3), np.int8), mult).shape == (0, 3)
    assert (approx_matmul(np.zeros((2, 0), np.int8), np.zeros((0, 3), np.int8), mult) == 0).all()


def test_encoded_weights_reused(rng):
    mult = Mitchell(width=8, signed=True, frac_bits=4)
    b = rng.integers(-128, 128, (30, 7)).astype(np.int8)
    enc = EncodedWeights(b, mult)
    for m in (1, 4, 9):
        a = rng.integers(-128, 128, (m, 30)).astype(np.int8)
        assert (approx_matmul(a, enc) == approx_matmul(a, b, mult)).all()
        assert (approx_matmul(a, enc, mult) == approx_matmul(a, b, mult)).all()
    with pytest.raises(ValueError, match="encoded for"):
        approx_matmul(a, enc, Mitchell(width=8, signed=True))
    with pytest.raises(TypeError, match="needs a multiplier"):
        approx_matmul(a, b)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        approx_matmul(a[:, :5], enc)
    for other in (ExactMultiplier(width=8, signed=True), TruncDesign(8, True, 3), TruncDesign(12, True, 3)):
        e = EncodedWeights(b, other)
        assert (approx_matmul(a, e) == approx_matmul(a, b, other)).all()


# --- the exact baseline -------------------------------------------------------------------

def test_exact_multiplier_every_8bit_pair_and_each_blas_regime(rng):
    ex = ExactMultiplier(width=8, signed=True)
    a, b = every_pair(ex)
    assert (approx_matmul(a, b, ex) == a * b).all()
    for width, k in ((8, 300), (16, 700), (32, 1)):          # float32, float64 and int64 sums
        e = ExactMultiplier(width=width, signed=True)
        lo, hi = e.operand_range
        x = rng.integers(lo, hi, (4, k), endpoint=True)
        y = rng.integers(lo, hi, (k, 3), endpoint=True)
        x[0], y[:, 0] = lo, lo
        assert same(approx_matmul(x, y, e), golden(x, y, e))
    assert (approx_matmul(x, y, e) != approx_matmul(x, y, Mitchell(width=32, signed=True))).any()


# --- the general path ---------------------------------------------------------------------

@pytest.mark.parametrize("width, signed", [(8, True), (8, False), (5, True), (12, True), (16, False), (20, True)])
def test_general_path_local_design(width, signed, rng):
    """A design defined here (table kernel up to 8 bits, per-product kernel above) vs its own mul."""
    d = TruncDesign(width, signed, drop=3, bump=1)
    assert gemm_path(d) == "general"
    v = edge_values(d, rng, 64)
    a, b = v[:, None], rng.permutation(v)[None, :]
    assert (approx_matmul(a, b, d) == d.mul(a, b)).all()
    lo, hi = d.operand_range
    x = rng.integers(lo, hi, (5, 19), endpoint=True)
    y = rng.integers(lo, hi, (19, 3), endpoint=True)
    assert same(approx_matmul(x, y, d), golden(x, y, d))


@pytest.mark.parametrize("kw", [dict(width=8, signed=True), dict(width=8, frac_bits=3), dict(width=11, signed=True),
                                dict(width=16, signed=True, frac_bits=6)])
def test_mitchell_through_the_general_path_equals_the_fast_path(kw, rng):
    mult = Mitchell(**kw)
    g = MitchellAsDesign(mult)
    lo, hi = mult.operand_range
    a = rng.integers(lo, hi, (7, 45), endpoint=True)
    b = rng.integers(lo, hi, (45, 6), endpoint=True)
    a[0, :3], b[:3, 0] = lo, hi
    assert (approx_matmul(a, b, g) == approx_matmul(a, b, mult)).all()
    v = edge_values(mult, rng, 100)
    assert (approx_matmul(v[:, None], v[None, :], g) == mult.mul(v[:, None], v[None, :])).all()


def test_the_comparison_catches_a_wrong_design(rng):
    """The checks above can fail: a design off by one on a single operand pair, and Mitchell with
    two fraction bits less (one less changes no signed 8-bit product: |v| <= 128 has at most 6
    fraction bits), both differ from the golden model."""
    @njit(inline="always")
    def off_by_one(ma, mb, P):
        return _trunc_magnitude(ma, mb, P) + (1 if (ma == 77) & (mb == 5) else 0)

    good = TruncDesign(8, True, 2)
    bad = TruncDesign(8, True, 2, magnitude=off_by_one)
    a, b = every_pair(good)
    diff = approx_matmul(a, b, bad) - good.mul(a, b)
    assert np.count_nonzero(diff) == 4 and diff[77 + 128, 5 + 128] == 1           # (+-77) x (+-5)
    mult = Mitchell(width=8, signed=True)
    wrong = Mitchell(width=8, signed=True, frac_bits=5)
    assert (approx_matmul(a, b, Mitchell(width=8, signed=True, frac_bits=6)) == mult.mul(a, b)).all()
    assert not (approx_matmul(a, b, wrong) == mult.mul(a, b)).all()


def test_bad_input():
    m = Mitchell(width=8, signed=True)
    with pytest.raises(TypeError, match="operand a must be"):
        approx_matmul(np.ones((2, 2)), np.ones((2, 2), np.int8), m)
    with pytest.raises(ValueError, match="operand b holds 200"):
        approx_matmul(np.ones((2, 2), np.int64), np.full((2, 2), 200), m)
    with pytest.raises(TypeError, match="multiplier must be"):
        approx_matmul(np.ones((2, 2), np.int8), np.ones((2, 2), np.int8), object())
    with pytest.raises(ValueError, match="can exceed int64"):
        approx_matmul(np.ones((1, 8), np.int64), np.ones((8, 1), np.int64), Mitchell(width=32))


# --- Float Mitchell (multiplication-free training) ---------------------------------------------

def fm_golden(a, b):
    """float32 sums in k order of FloatMitchell('fp32') products."""
    f = FloatMitchell("fp32")
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for k in range(a.shape[1]):
        acc = (acc + f.mul(np.repeat(a[:, k:k + 1], b.shape[1], 1), np.repeat(b[k:k + 1], a.shape[0], 0))
               ).astype(np.float32)
    return acc


def _scaled(rng, shape, lo, hi):
    """Random signs and mantissas with exponents in [lo, hi] (unbiased)."""
    return (rng.choice([-1.0, 1.0], shape) * (1 + rng.random(shape)) * 2.0 ** rng.integers(lo, hi + 1, shape)
            ).astype(np.float32)


@pytest.mark.parametrize("case", ["typical", "zeros", "zeros_a", "zeros_b", "low_edge", "high_edge", "below", "above",
                                  "specials"])
def test_fm_matmul_fast_and_special_paths(case, rng):
    a = _scaled(rng, (7, 41), -6, 3)
    b = _scaled(rng, (41, 9), -6, 3)
    fast = True
    if case == "zeros":                       # ReLU-like zeros, signed zeros and (DAZ) subnormals
        a[a < 0] = 0
        b[rng.random(b.shape) < 0.3] = -0.0
        a[1, 2], b[3, 4] = 1e-40, -1e-41
    elif case == "zeros_a":                   # zeros in A only (its masked tiles), in every block of rows
        a[rng.random(a.shape) < 0.3] = 0
        a[6, 0] = -0.0
    elif case == "zeros_b":                   # zeros in B only
        b[rng.random(b.shape) < 0.3] = 0
        b[0, 8] = 1e-41
    elif case in ("low_edge", "below"):      # smallest exponents: biased sums of 128 (fast) / 127 (not)
        a[:, :] = _scaled(rng, a.shape, -63, -40)
        b[:, :] = _scaled(rng, b.shape, -63, -40)
        a[0, 0], b[0, 0] = np.float32(2.0 ** -63), np.float32(2.0 ** (-63 if case == "low_edge" else -64))
        fast = case == "low_edge"
    elif case in ("high_edge", "above"):     # largest exponents: sums of 380 (fast) / 381 (not)
        a[:, :] = _scaled(rng, a.shape, 40, 63)
        b[:, :] = _scaled(rng, b.shape, 40, 63) * np.float32(2.0 ** -60)
        a[0, 0], b[0, 0] = np.float32(-1.9 * 2.0 ** 63), np.float32(1.9 * 2.0 ** (63 if case == "high_edge" else 64))
        fast = case == "high_edge"
    elif case == "specials":
        a[0, 0], b[1, 1], a[2, 5], b[5, 3] = np.inf, np.nan, 0.0, -np.inf
        fast = False
    out = np.empty((7, 9), np.float32)
    assert mfree._matmul_dispatch(mfree._bits(a), mfree._bits(b), out) == fast
    want = fm_golden(a, b)
    assert np.array_equal(out, want, equal_nan=True)
    assert np.array_equal(mfree.fm_matmul(a, b), want, equal_nan=True)
    # bf16: operands rounded to bf16 first, then the same products
    ab, bb = mfree.round_to_bf16(a), mfree.round_to_bf16(b)
    assert np.array_equal(mfree.fm_matmul(a, b, "bf16"), fm_golden(ab, bb), equal_nan=True)


def test_fm_matmul_odd_shapes_and_a_wrong_kernel_is_caught(rng):
    for m, k, n in ((1, 1, 1), (3, 4, 5), (5, 9, 2), (2, 130, 33)):
        a, b = _scaled(rng, (m, k), -5, 5), _scaled(rng, (k, n), -5, 5)
        assert np.array_equal(mfree.fm_matmul(a, b), fm_golden(a, b))
    # the same products summed in reverse k order differ from the k-order sums: the order is checked
    a, b = _scaled(rng, (8, 300), -8, 8), _scaled(rng, (300, 8), -8, 8)
    assert not np.array_equal(fm_golden(a[:, ::-1], b[::-1]), mfree.fm_matmul(a, b))


@pytest.mark.parametrize("name, width", [("mbm", 8), ("mitch-w", 12), ("realm", 18)])
def test_registry_designs_through_the_general_path(name, width, rng):
    """Real designs (pymodel.designs) seen without their GEMM form: the table kernel at 8 bits, the
    per-product kernel wider (as every design past its form's widths)."""
    from test_gemm_forms import NoForm

    from pymodel.registry import make_design
    d = NoForm(make_design(name, width=width, signed=True))
    assert gemm_path(d) == "general"
    lo, hi = d.operand_range
    a = rng.integers(lo, hi, (6, 23), endpoint=True)
    b = rng.integers(lo, hi, (23, 5), endpoint=True)
    a[0, :2], b[:2, 0], a[1, 1] = lo, hi, 0
    assert same(approx_matmul(a, b, d), golden(a, b, d))
    assert (approx_matmul(a, EncodedWeights(b, d)) == approx_matmul(a, b, d)).all()
