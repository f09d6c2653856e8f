"""Mitch-w against its sources: the authors' Verilog (TC version) and VHDL (unbiased version) as
simulated, and the published bias at 32 bits."""

import hashlib

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.registry import make_design

from conftest import relative_errors


def test_tc_version_is_mitchell_with_w_minus_1_fraction_bits():
    """unbias=False keeps the leading one and w - 1 truncated bits: Mitchell's multiplier at frac_bits = w - 1."""
    v = np.arange(256, dtype=np.int64)
    a, b = np.meshgrid(v, v)
    for w in range(3, 9):
        got = make_design("mitch-w", width=8, w=w, unbias=False).mul(a, b)
        assert (got == Mitchell(width=8, frac_bits=w - 1).mul(a, b)).all(), w
    rng = np.random.default_rng(7)
    a, b = rng.integers(-(1 << 31), 1 << 31, size=(2, 20_000), dtype=np.int64)
    got = make_design("mitch-w", width=32, signed=True, w=6, unbias=False).mul(a, b)
    assert (got == Mitchell(width=32, signed=True, frac_bits=5).mul(a, b)).all()


def test_tc_version_matches_the_authors_verilog_exhaustively():
    """All 65536 products at N=8, K=5 (w=6) of albertodbg/log-arithmetic ``verilog/logMultK-w/logMultK_rev.v``,
    simulated with Icarus (a-major order), have this SHA-256 as little-endian uint32s."""
    v = np.arange(256, dtype=np.int64)
    b, a = np.meshgrid(v, v)
    p = make_design("mitch-w", width=8, w=6, unbias=False).mul(a.ravel(), b.ravel())
    digest = hashlib.sha256(p.astype("<u4").tobytes()).hexdigest()
    assert int(p.astype(np.int64).sum()) == 1011085843
    assert digest == "aa30bdd6c66821f27fae7a8026e222131fb8a5b58382741a046ac61598784890"


# Products of the authors' VHDL (``vhdl/logMult-w/logMultK.vhd``, N=16, K=6) under GHDL, from the
# vectors whose product is at least 2**16 (the VHDL's low-product path returns 0; see the model docstring).
VHDL_N16_K6 = [
    (65535, 65535, 4160749568), (300, 400, 114688), (256, 256, 69632), (12345, 54321, 637534208),
    (1000, 100, 102400), (17611, 8271, 150994944), (33432, 15455, 520093696), (64937, 58915, 3758096384),
    (61898, 49756, 3087007744), (27519, 12302, 318767104), (63944, 3715, 243269632), (51093, 56723, 2684354560),
    (65076, 62098, 4026531840), (29139, 33917, 973078528), (54304, 22676, 1140850688), (54202, 15086, 805306368),
    (36857, 32710, 1140850688), (49487, 50120, 2281701376), (24882, 57510, 1409286144), (26846, 37230, 973078528),
    (52570, 22567, 1073741824), (63504, 30754, 2013265920), (7356, 63058, 452984832), (57975, 58923, 3355443200),
]


def test_unbiased_version_matches_the_authors_vhdl():
    cfg = make_design("mitch-w", width=16, w=6, unbias=True)
    for a, b, p in VHDL_N16_K6:
        assert cfg.mul(a, b) == p, (a, b)


def test_unbiased_forces_the_last_kept_bit():
    """A power of two becomes 1.000..01 (w - 1 fraction bits): 2^i * 2^j -> 2^(i+j) (1 + 2 * 2^-(w-1))."""
    for w in (3, 5, 8):
        cfg = make_design("mitch-w", width=16, w=w)
        for i, j in ((0, 0), (3, 9), (15, 15)):
            assert cfg.mul(1 << i, 1 << j) == ((1 << (w - 1)) + 2) << (i + j) >> (w - 1)


# Exhaustive 8-bit MRED and most negative error of the TC (Verilog) version, from the research notes'
# model that was checked against the Icarus simulation of the authors' Verilog.
TC_8BIT = {4: (10.345, -23.53), 5: (6.619, -17.26), 6: (4.828, -13.83), 7: (4.049, -12.03)}


@pytest.mark.parametrize("w", sorted(TC_8BIT))
def test_tc_version_8_bit_table(w):
    re = 100 * relative_errors(make_design("mitch-w", width=8, w=w, unbias=False))
    mred, worst = TC_8BIT[w]
    assert abs(np.abs(re).mean() - mred) < 0.0006
    assert abs(re.min() - worst) < 0.006
    assert re.max() == 0                          # plain truncation never overestimates


def test_unbiasing_moves_the_bias_towards_zero():
    for w in (4, 5, 6, 7, 8):
        tc = relative_errors(make_design("mitch-w", width=8, w=w, unbias=False))
        ub = relative_errors(make_design("mitch-w", width=8, w=w, unbias=True))
        assert abs(ub.mean()) < abs(tc.mean()), w
        assert np.abs(ub).mean() < np.abs(tc).mean(), w
        assert ub.max() > 0                          # the forced 1 can overestimate


def test_published_bias_at_32_bits():
    """Kim et al. (TC 2019 / TETC 2021, second-hand): Mitch-w6 on random 32-bit pairs has a bias of about -5.9 %.
    That is the TC (plain truncation) version; the unbiased one is near -3.84 %."""
    tc = 100 * relative_errors(make_design("mitch-w", width=32, w=6, unbias=False), samples=400_000, seed=1)
    assert -5.95 < tc.mean() < -5.85
    assert tc.max() <= 0
    ub = 100 * relative_errors(make_design("mitch-w", width=32, w=6, unbias=True), samples=400_000, seed=1)
    assert -3.95 < ub.mean() < -3.75
