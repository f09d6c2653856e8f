"""One source of test vectors for every level: model, Amaranth simulator, Verilog under cocotb.

Each generator returns ``(a, b)`` int64 arrays for a ``Mitchell`` config.
"""

import numpy as np

from .config import Mitchell

__all__ = ["corner_values", "directed", "exhaustive", "random_pairs", "vectors", "KINDS"]

KINDS = ("exhaustive", "directed", "random")


def corner_values(cfg):
    """0, 1, max, signed min, powers of two, 2^k - 1, and 3*2^k (x = 0.5), with their negatives when signed."""
    lo, hi = cfg.operand_range
    w = cfg.width
    vals = {0, 1, 2, 3, hi, hi - 1}
    for k in range(w):
        vals.update({1 << k, (1 << k) - 1, 3 << k, (1 << (k + 1)) - 1})
    if cfg.signed:
        vals.update({lo, lo + 1})
        vals.update({-v for v in list(vals)})
    return np.array(sorted(v for v in vals if lo <= v <= hi), dtype=np.int64)


def directed(cfg):
    """Every pair of corner values (so b = 0, the x1 = x2 = 0.5 case, and the extremes all meet)."""
    v = corner_values(cfg)
    a, b = np.meshgrid(v, v, indexing="ij")
    return a.ravel(), b.ravel()


def exhaustive(cfg):
    lo, hi = cfg.operand_range
    v = np.arange(lo, hi + 1, dtype=np.int64)
    a, b = np.meshgrid(v, v, indexing="ij")
    return a.ravel(), b.ravel()


def random_pairs(cfg, n, seed):
    """``n`` seeded uniform pairs, plus one in eight drawn with equal log fractions (near the worst case)."""
    rng = np.random.default_rng(seed)
    lo, hi = cfg.operand_range
    a = rng.integers(lo, hi, n, endpoint=True, dtype=np.int64)
    b = rng.integers(lo, hi, n, endpoint=True, dtype=np.int64)
    sel = rng.random(n) < 0.125
    # b = a shifted: the same fraction bits, so x1 = x2 and x1 + x2 crosses 1 often
    sh = rng.integers(0, max(1, cfg.width - 2), n)
    b[sel] = np.clip(a[sel] >> sh[sel], lo, hi)
    return a, b


def vectors(cfg, kind, *, n=20_000, seed=0):
    if not isinstance(cfg, Mitchell):
        raise TypeError(f"cfg must be a pymodel.Mitchell, got {type(cfg).__name__}")
    if kind == "exhaustive":
        return exhaustive(cfg)
    if kind == "directed":
        return directed(cfg)
    if kind == "random":
        return random_pairs(cfg, n, seed)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
