"""Every design's GEMM form (pymodel.gemm_forms) through approx_matmul, against the golden model.

A form is a claim about the design (how its product maps onto a SIMD kernel); these tests
check the claim on every 8-bit operand pair, on sampled 16-bit pairs with the edge values,
on sums long enough to need the exact-sum machinery, and show that a wrong claim is caught.
The golden model is the design's ``mul``; sums of products are Python ints.
"""

import dataclasses

import numpy as np
import pytest
from test_designs import param_cases
from test_matmul import edge_values, golden, same

from pymodel.gemm_forms import BitwiseSplit, LogAdd, Residues
from pymodel.nn import EncodedWeights, approx_matmul, gemm_path
from pymodel.registry import design_class, designs_with, make_design

NAMES = designs_with("mul")
PATHS = {LogAdd: "log-add", Residues: "residues", BitwiseSplit: "bitwise-split"}


def expected_path(d):
    form = d.gemm_form()
    if isinstance(form, LogAdd) and form.correction is not None:
        return "log-add-corrected"
    return PATHS[type(form)]


def every_pair_ok(d):
    lo, hi = d.operand_range
    v = np.arange(lo, hi + 1, dtype=np.int64)
    got = approx_matmul(v[:, None], v[None, :], d)       # one product per output
    return (got == d.mul(v[:, None], v[None, :])).all()


CASES8 = [(n, s, p) for n in NAMES for s in (True, False) for p in param_cases(n, 8, most=4)]


@pytest.mark.parametrize("name, signed, params", CASES8,
                         ids=[f"{n}-{'s' if s else 'u'}8-" + "-".join(f"{k}{int(v)}" for k, v in p.items())
                              for n, s, p in CASES8])
def test_every_8bit_pair(name, signed, params):
    d = make_design(name, width=8, signed=signed, **params)
    assert gemm_path(d) == expected_path(d)
    assert every_pair_ok(d)


@pytest.mark.parametrize("name", NAMES)
def test_every_pair_narrow(name):
    """Every width from the design's smallest to 5 bits, parameters at their ends and middle."""
    for width in range(design_class(name).MIN_WIDTH, 6):
        for signed in (True, False):
            for params in param_cases(name, width, most=4):
                assert every_pair_ok(make_design(name, width=width, signed=signed, **params)), (width, signed, params)


WIDE = [(n, w, s, p) for n in NAMES for w, s in ((16, True), (15, False)) for p in param_cases(n, w, most=2)]


@pytest.mark.parametrize("name, width, signed, params", WIDE,
                         ids=[f"{n}-{'s' if s else 'u'}{w}-" + "-".join(f"{k}{int(v)}" for k, v in p.items())
                              for n, w, s, p in WIDE])
def test_sampled_wide_pairs_and_sums(name, width, signed, params, rng):
    """200 x 200 single products of edge and random values, then sums in odd shapes (K = 1 too)."""
    d = make_design(name, width=width, signed=signed, **params)
    assert gemm_path(d) == expected_path(d)
    v = edge_values(d, rng)
    a, b = v[:, None], rng.permutation(v)[None, :]
    got = approx_matmul(a, b, d)
    assert (got == d.mul(np.broadcast_to(a, got.shape), np.broadcast_to(b, got.shape))).all()
    lo, hi = d.operand_range
    for m, k, n in ((5, 1, 3), (7, 45, 17), (3, 300, 2)):
        x = rng.integers(lo, hi, (m, k), endpoint=True)
        y = rng.integers(lo, hi, (k, n), endpoint=True)
        x[0, 0], y[0, 0] = lo, hi
        assert same(approx_matmul(x, y, d), golden(x, y, d))


@pytest.mark.parametrize("name", NAMES)
def test_long_sums_stay_exact(name):
    """K = 5000 products of the largest magnitudes: int32 sums must be split or pinned."""
    for width, signed in ((16, True), (15, False), (8, True)):
        d = make_design(name, width=width, signed=signed)
        lo, hi = d.operand_range
        top = lo if signed else hi
        a = np.full((3, 5000), top, np.int64)
        b = np.full((5000, 2), top, np.int64)
        b[::2, 1] = hi                                   # mixed signs in the second column
        want = golden(a, b, d)
        assert same(approx_matmul(a, b, d), want), (width, signed)


@pytest.mark.parametrize("name", NAMES)
def test_encoded_weights_reused(name, rng):
    d = make_design(name, width=8, signed=True)
    a = rng.integers(-128, 128, (9, 31)).astype(np.int8)
    b = rng.integers(-128, 128, (31, 7)).astype(np.int8)
    enc = EncodedWeights(b, d)
    assert enc.path == gemm_path(d)
    first = approx_matmul(a, enc)
    assert same(first, golden(a, b, d))
    assert (approx_matmul(a[::-1], enc) == first[::-1]).all()


def wrong(d, **changes):
    """``d`` with a GEMM form that differs from its own by ``changes`` (the golden model unchanged)."""
    form = dataclasses.replace(d.gemm_form(), **changes)
    cls = type(f"Wrong{type(d).__name__}", (type(d),), {"gemm_form": lambda self: form})
    return cls(**d.as_dict())


def test_a_wrong_form_is_caught():
    """Each form's checks above fail when the form misstates the design by a little."""
    realm = make_design("realm", width=8)
    table = [list(r) for r in realm.gemm_form().correction]
    table[3][5] += 1                                      # one REALM factor off by one unit
    soa = make_design("alm-soa", width=8, m=3)
    ilm = make_design("ilm", width=8, corrections=1)
    for bad in (wrong(realm, correction=tuple(map(tuple, table))),
                wrong(make_design("mbm", width=8), correction=((1,),)),
                wrong(soa, or_sum=0),
                wrong(make_design("dr-alm", width=8, signed=True), add_a=0),
                wrong(ilm, params=(1,)),
                wrong(make_design("od", width=8), frac_bits=5),
                wrong(make_design("mitch-w", width=8), or_code=0)):
        assert not every_pair_ok(bad), type(bad).__name__
    for good in (realm, soa, ilm):
        assert every_pair_ok(good)


class NoForm:
    """A design seen without its GEMM form: the general path (table up to 8 bits, per product above)."""

    def __init__(self, d):
        self.d = d
        self.width, self.signed, self.operand_range, self.product_max = d.width, d.signed, d.operand_range, d.product_max
        self.mul_magnitude = type(d).mul_magnitude

    def kernel_params(self):
        return self.d.kernel_params()

    def mul(self, a, b):
        return self.d.mul(a, b)


@pytest.mark.parametrize("width", [8, 10])
def test_general_path_saturates_like_the_model(width):
    """MBM overestimates: unsigned products near the top saturate at product_max, on every path."""
    d = make_design("mbm", width=width)
    v = np.arange(2 ** width - 40, 2 ** width, dtype=np.int64)
    want = d.mul(v[:, None], v[None, :])
    assert want.max() == d.product_max                  # saturation happens here
    for m in (d, NoForm(d)):
        assert (approx_matmul(v[:, None], v[None, :], m) == want).all(), gemm_path(m)
    assert gemm_path(NoForm(d)) == "general"


def test_forms_past_their_widths(rng):
    """Log-add forms stop at 16 bits signed (the general kernel runs); residues run at any width."""
    assert gemm_path(make_design("mbm", width=17, signed=True)) == "general"
    assert gemm_path(make_design("mitch-w", width=16)) == "general"
    with pytest.raises(TypeError, match="multiplier must be"):     # a log-add form past 16 bits is refused
        gemm_path(Doubled(17, True))                                 # (and the toy has no general kernel)
    for name, width in (("ilm", 24), ("nearest-one", 20)):
        d = make_design(name, width=width, signed=True)
        assert gemm_path(d) == "residues"
        v = edge_values(d, rng, 60)
        got = approx_matmul(v[:, None], v[None, :], d)
        assert (got == d.mul(v[:, None], v[None, :])).all()


class Doubled:
    """A toy log-add design that overestimates enough to saturate: Mitchell with one added to the
    log sum (twice its product).  Its golden model is integer log arithmetic (log converters, an
    adder, a floor antilog), not the float patterns of its GEMM form."""

    def __init__(self, width, signed):
        self.width, self.signed = width, signed
        lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        self.operand_range = (lo, hi)
        self.product_max = (1 << (2 * width - int(signed))) - 1

    def gemm_form(self):
        return LogAdd(keep_bits=self.width - 1, add_a=1 << 23)          # one unit of the exponent field

    def magnitude(self, a, b):
        if a == 0 or b == 0:
            return 0
        F = self.width - 1
        ka, kb = a.bit_length() - 1, b.bit_length() - 1
        L = (ka << F) + ((a - (1 << ka)) << F >> ka) + (kb << F) + ((b - (1 << kb)) << F >> kb) + (1 << F)
        k, f = L >> F, L & ((1 << F) - 1)
        return min(((1 << F) + f) << k >> F, self.product_max)

    def mul(self, a, b):
        a, b = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(b, np.int64))
        m = np.array([self.magnitude(abs(int(x)), abs(int(y))) for x, y in zip(a.ravel(), b.ravel())], np.int64)
        return np.where((a.ravel() < 0) != (b.ravel() < 0), -m, m).reshape(a.shape)


@pytest.mark.parametrize("signed", [True, False])
def test_log_add_saturates_like_the_model(signed):
    """The log-add kernels' clamp (no registry design reaches product_max there): every pair of the
    toy design at 7 bits, saturated products included, and long sums of them at 15/16 bits."""
    d = Doubled(7, signed)
    lo, hi = d.operand_range
    v = np.arange(lo, hi + 1, dtype=np.int64)
    want = d.mul(v[:, None], v[None, :])
    assert abs(want).max() == d.product_max
    assert gemm_path(d) == "log-add"
    assert (approx_matmul(v[:, None], v[None, :], d) == want).all()
    w = Doubled(16 if signed else 15, signed)
    lo, hi = w.operand_range
    a = np.array([[lo if signed else hi, hi, 1, 0] * 1000], np.int64)
    b = np.array([[lo if signed else hi], [hi], [hi], [5]] * 1000, np.int64)
    assert same(approx_matmul(a, b, w), golden(a, b, w))
