"""The compiled datapath is bit-identical to the scalar reference (the specification)."""

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel import reference as R

from conftest import all_operands


def _exhaustive(cfg, op):
    v = all_operands(cfg)
    a, b = np.meshgrid(v, v, indexing="ij")
    a, b = a.ravel(), b.ravel()
    if op == "mul":
        fast = cfg.mul(a, b)
        ref = [R.mul(x, y, cfg.width, cfg.frac_bits, cfg.signed) for x, y in zip(a.tolist(), b.tolist())]
        return a, b, fast, ref
    fast, dbz = cfg.div(a, b, on_zero="saturate")
    ref = [R.div(x, y, cfg.width, cfg.frac_bits, cfg.quotient_frac_bits, cfg.signed) if y
           else R.div_saturated(x, cfg.width, cfg.quotient_frac_bits, cfg.signed)
           for x, y in zip(a.tolist(), b.tolist())]
    assert (dbz == (b == 0)).all()
    return a, b, fast, ref


def _assert_same(a, b, fast, ref, cfg, op):
    ref = np.array(ref, dtype=object)
    bad = np.flatnonzero(fast.astype(object) != ref)
    assert bad.size == 0, (f"{op} {cfg}: {bad.size} mismatches, first a={a[bad[0]]} b={b[bad[0]]} "
                           f"fast={fast[bad[0]]} reference={ref[bad[0]]}")


CONFIGS = [(w, f, s) for w in range(2, 11) for s in (False, True)
           for f in sorted({w - 1, (w - 1) // 2, 0})]


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("width, frac_bits, signed", CONFIGS,
                         ids=[f"{'s' if s else 'u'}{w}f{f}" for w, f, s in CONFIGS])
def test_exhaustive_small_widths(op, width, frac_bits, signed):
    cfg = Mitchell(width=width, frac_bits=frac_bits, signed=signed)
    _assert_same(*_exhaustive(cfg, op), cfg, op)


@pytest.mark.parametrize("qf", [0, 3, 14])
def test_exhaustive_quotient_formats(qf):
    cfg = Mitchell(width=7, quotient_frac_bits=qf, signed=True, frac_bits=4)
    _assert_same(*_exhaustive(cfg, "div"), cfg, "div")


@pytest.mark.slow
@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("width", [16, 24, 32])
@pytest.mark.parametrize("signed", [False, True])
def test_random_million_pairs(op, width, signed):
    seed = 1000 * width + 2 * (op == "div") + signed
    rng = np.random.default_rng(seed)
    # Half full precision, half truncated, with the random pairs split between them.
    for frac_bits in (width - 1, width // 3):
        cfg = Mitchell(width=width, frac_bits=frac_bits, signed=signed)
        lo, hi = cfg.operand_range
        n = 500_000
        a = rng.integers(lo, hi, n, endpoint=True)
        b = rng.integers(lo, hi, n, endpoint=True)
        b[b == 0] = 1
        # include the extremes
        a[:4] = [lo, hi, 0, 1]
        b[:4] = [hi, lo if lo else 1, 1, hi]
        if op == "mul":
            fast = cfg.mul(a, b)
            ref = [cfg.mul(x, y) for x, y in zip(a.tolist(), b.tolist())]
        else:
            if signed and width == 32:
                cfg = Mitchell(width=32, frac_bits=frac_bits, signed=True, quotient_frac_bits=31)
            fast = cfg.div(a, b)
            ref = [cfg.div(x, y) for x, y in zip(a.tolist(), b.tolist())]
        _assert_same(a, b, fast, ref, cfg, f"{op} seed={seed}")


def test_broadcasting_matches_elementwise():
    cfg = Mitchell(width=12, signed=True, frac_bits=6)
    a = np.arange(-2048, 2048, 97)[:, None]
    b = np.arange(-2048, 2048, 89)[None, :]
    grid = cfg.mul(a, b)
    for i in range(0, a.shape[0], 7):
        for j in range(0, b.shape[1], 5):
            assert grid[i, j] == cfg.mul(int(a[i, 0]), int(b[0, j]))


def test_equivalence_check_can_fail():
    """The comparison catches a one-LSB difference."""
    cfg = Mitchell(width=4)
    a, b, fast, ref = _exhaustive(cfg, "mul")
    ref[37] += 1
    with pytest.raises(AssertionError, match="1 mismatches"):
        _assert_same(a, b, fast, ref, cfg, "mul")
