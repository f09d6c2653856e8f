"""ALM-SOA: no per-m figures of the paper were found, so these tests pin what the definition must
satisfy: m = 0 is Mitchell, the set-one adder's bit rule, and the MRED per m measured here."""

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.designs.almsoa import set_one_add
from pymodel.registry import make_design

from conftest import relative_errors


@pytest.mark.parametrize("width", [2, 5, 8, 10])
def test_m0_is_mitchell(width):
    v = np.arange(-(1 << (width - 1)), 1 << (width - 1), dtype=np.int64)
    a, b = np.meshgrid(v, v)
    got = make_design("alm-soa", width=width, signed=True, m=0).mul(a, b)
    assert (got == Mitchell(width=width, signed=True).mul(a, b)).all()


def test_m0_is_mitchell_at_32_bits():
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 1 << 32, size=(2, 50_000), dtype=np.int64)
    assert (make_design("alm-soa", width=32, m=0).mul(a, b) == Mitchell(width=32).mul(a, b)).all()


def test_set_one_adder_bits():
    """Low m sum bits are 1, the carry into bit m is the AND of bit m-1 of both fractions (not their sum's carry)."""
    F = 7
    # bit 2 of both set: carry into bit 3 even though the low bits are 0 otherwise
    assert set_one_add(0b0000100, 0b0000100, F, 3) == (0, 0b0001111)
    # low bits whose exact sum carries (011 + 011) but bit 2 not set in both: no carry, low bits forced to 1
    assert set_one_add(0b0000011, 0b0000111, F, 3) == (0, 0b0000111)
    # the carry ripples out of the upper exact part into k
    assert set_one_add(0b1111100, 0b0000100, F, 3) == (1, 0b0000111)
    assert set_one_add(0b1010101, 0b0110011, F, 0) == divmod(0b1010101 + 0b0110011, 1 << F)
    # m = F: every fraction bit is 1, the carry is the AND of the top bits
    assert set_one_add(0b1000000, 0b1000000, F, F) == (1, 0b1111111)


# Exhaustive 8-bit MRED per m (%), measured here; the minimum is the default m = width - 5 = 3.
MRED_8BIT = {0: 3.7878, 1: 3.5316, 2: 3.2530, 3: 3.0854, 4: 3.4620, 5: 5.5752, 6: 11.2499, 7: 23.4614}


def test_mred_per_m_at_8_bits():
    got = {m: 100 * np.abs(relative_errors(make_design("alm-soa", width=8, m=m))).mean() for m in MRED_8BIT}
    for m, want in MRED_8BIT.items():
        assert abs(got[m] - want) < 0.0001, (m, got[m])
    default = make_design("alm-soa", width=8).m
    assert default == 3 == min(got, key=got.get)


def test_default_at_16_bits():
    """m = 11 at 16 bits (the W11 of RatkoFri/MulApprox ``ALM_SOA_W11.v``); every 16-bit pair: MRED 3.3453 %,
    bias -2.797 %, range -12.923..+6.247 %; here 1M seeded random pairs."""
    cfg = make_design("alm-soa", width=16)
    assert cfg.m == 11
    re = 100 * relative_errors(cfg, samples=1_000_000, seed=2)
    assert abs(np.abs(re).mean() - 3.3453) < 0.02
    assert -12.93 < re.min() and re.max() < 6.25
    mitchell = 100 * np.abs(relative_errors(Mitchell(width=16), samples=1_000_000, seed=2)).mean()
    assert np.abs(re).mean() < mitchell - 0.4
