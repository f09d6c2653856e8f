"""Nearest-one (ImpLM) against its sources: the nearest-one rule of the open RTL (ILM_AE.v, NOD), and the
published 8-bit figures (second-hand: ILM-0 MRED 2.75 %, max error magnitude 3844), which this definition
does not reach exactly (2.862 %, 4096): the differences are pinned here."""

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.designs.nearestone import nearest_one
from pymodel.registry import make_design


def stats(cfg, a, b):
    exact = a.astype(np.float64) * b
    p = cfg.mul(a, b).astype(np.float64)
    e = (p - exact) / exact
    return {"mred": np.abs(e).mean() * 100, "bias": e.mean() * 100, "min": e.min() * 100, "max": e.max() * 100,
            "wce": np.abs(p - exact).max()}


def pairs(lo, hi):
    v = np.arange(lo, hi + 1, dtype=np.int64)
    v = v[v != 0]
    a, b = np.meshgrid(v, v)
    return a.ravel(), b.ravel()


def nod_rtl(v, width):
    """The nearest-one position from the per-bit cells of RatkoFri/MulApprox ILM_AE.v (NOD_unit_basic:
    ``o[i] = d[i] & ~d[i-1] | d[i-1] & d[i-2] & ~d[i]``, and ``o[width] = d[width-1] & d[width-2]``),
    taking the highest set output."""
    d = {i: (v >> i) & 1 for i in range(width)}
    bit = lambda i: d.get(i, 0)   # noqa: E731  (bits below 0 are 0)
    o = [(bit(i) & (1 - bit(i - 1))) | (bit(i - 1) & bit(i - 2) & (1 - bit(i))) for i in range(width)]
    o.append(bit(width - 1) & bit(width - 2))
    return max(i for i, x in enumerate(o) if x)


def test_nearest_one_rule_is_the_rtl_rule():
    for width in (4, 8, 10):
        for v in range(1, 1 << width):
            n, q = nearest_one(v)
            assert n == nod_rtl(v, width), v
            assert v == (1 << n) + q
    assert [nearest_one(v)[0] for v in (3, 6, 12, 5, 7, 255)] == [2, 3, 4, 2, 3, 8]   # x = 0.5 rounds up


def test_eight_bit_unsigned_exhaustive():
    """Measured 2.862 % against the published 2.75 % (+0.11 percentage points); bias about zero;
    the worst errors are -1/9 (3 x 3) and about +11 %; the largest error magnitude is 64^2 (192 x 192,
    published 3844 = 62^2)."""
    a, b = pairs(1, 255)
    r = stats(make_design("nearest-one", width=8), a, b)
    assert r["mred"] == pytest.approx(2.862, abs=0.001)
    assert r["mred"] - 2.75 == pytest.approx(0.11, abs=0.01)
    assert abs(r["bias"]) < 0.02
    assert r["min"] == pytest.approx(-100 / 9)
    assert r["max"] == pytest.approx(10.995, abs=0.001)
    assert r["wce"] == 4096 == abs(make_design("nearest-one", width=8).mul(192, 192) - 192 * 192)
    mitchell = stats(Mitchell(width=8), a, b)
    assert mitchell["mred"] > 3.7 and mitchell["bias"] < -3.7       # Mitchell only underestimates


def test_signed_and_wide():
    """Signed 8-bit (magnitudes up to 128, where rounding never passes 2^8): 2.816 %; 16-bit: 2.89 %."""
    a, b = pairs(-128, 127)
    r = stats(make_design("nearest-one", width=8, signed=True), a, b)
    assert r["mred"] == pytest.approx(2.816, abs=0.001)
    a, b = np.random.default_rng(1).integers(1, 1 << 16, size=(2, 1 << 20), dtype=np.int64)
    r = stats(make_design("nearest-one", width=16), a, b)
    assert r["mred"] == pytest.approx(2.89, abs=0.01)
    assert abs(r["bias"]) < 0.05
    assert -11.12 < r["min"] and r["max"] < 11.12


def test_top_operands_round_to_two_to_the_width():
    """Operands from 3 * 2^(width-2) round up to 2^width, outside the operand width; the product still fits."""
    for w in (4, 16, 32):
        cfg = make_design("nearest-one", width=w)
        top = (1 << w) - 1
        assert nearest_one(top) == (w, -1)
        assert cfg.mul(top, top) == top * top - 1
        assert cfg.mul(np.array([top]), np.array([top]))[0] == top * top - 1
        t = 3 << (w - 2)
        assert cfg.mul(t, t) == (1 << 2 * w) - 2 * (1 << (2 * w - 2))
