"""One source of test vectors for every level: model, Amaranth simulator, Verilog under cocotb.

Each generator returns ``(a, b)`` int64 arrays for a design config (any in ``pymodel.registry``).
"""

import numpy as np

from .designs.base import Design

__all__ = ["corner_values", "directed", "exhaustive", "random_pairs", "vectors", "float_specials", "float_vectors",
           "KINDS"]

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
    from .floatmitchell import FloatMitchell
    if isinstance(cfg, FloatMitchell):
        return float_vectors(cfg, kind, n=n, seed=seed)
    if not isinstance(cfg, Design):
        raise TypeError(f"cfg must be a design config or a FloatMitchell, got {type(cfg).__name__}")
    if kind == "exhaustive":
        return exhaustive(cfg)
    if kind == "directed":
        return directed(cfg)
    if kind == "random":
        return random_pairs(cfg, n, seed)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def float_specials(f):
    """Bit patterns of every special class: signed zeros, subnormals (min and max), the smallest and
    largest normals, 1, 1.5 (x = 0.5), 3, infinities, quiet and signalling NaNs."""
    mb, w = f.mant_bits, f.width
    pos = [0, 1, (1 << mb) - 1, 1 << mb, f.inf - 1, f.one, f.one | (1 << (mb - 1)), f.one + (1 << mb) + (1 << (mb - 1)),
           f.inf, f.qnan, f.inf | 1, (f.bias + 1) << mb, ((f.exp_max - 1) << mb), (2 << mb)]
    return np.array(sorted({v | s for v in pos for s in (0, 1 << (w - 1))}), dtype=np.int64)


def float_vectors(f, kind, *, n=50_000, seed=0):
    """``(a, b)`` bit-pattern arrays for a ``FloatMitchell``.

    ``directed``: every pair of special patterns, and for ``bf16`` every exponent pair
    with random mantissas and signs.  ``random``: ``n`` pairs, half uniform bit patterns
    (all classes) and half normal numbers whose product stays near the normal range.
    """
    rng = np.random.default_rng(seed)
    w, mb = f.width, f.mant_bits
    if kind == "directed":
        sp = float_specials(f)
        a, b = (x.ravel() for x in np.meshgrid(sp, sp, indexing="ij"))
        if f.fmt == "bf16":
            e = np.arange(1 << f.exp_bits, dtype=np.int64)
            ea, eb = (x.ravel() for x in np.meshgrid(e, e, indexing="ij"))
            ra = (ea << mb) | rng.integers(0, 1 << mb, ea.size) | (rng.integers(0, 2, ea.size) << (w - 1))
            rb = (eb << mb) | rng.integers(0, 1 << mb, eb.size) | (rng.integers(0, 2, eb.size) << (w - 1))
            a, b = np.concatenate([a, ra]), np.concatenate([b, rb])
        return a, b
    if kind == "random":
        h = n // 2
        ua = rng.integers(0, 1 << w, h, dtype=np.int64)
        ub = rng.integers(0, 1 << w, h, dtype=np.int64)
        ne = n - h
        ex = rng.integers(f.bias // 2, f.bias + f.bias // 2, (2, ne))
        na = (ex[0] << mb) | rng.integers(0, 1 << mb, ne) | (rng.integers(0, 2, ne) << (w - 1))
        nb = (ex[1] << mb) | rng.integers(0, 1 << mb, ne) | (rng.integers(0, 2, ne) << (w - 1))
        return np.concatenate([ua, na]), np.concatenate([ub, nb])
    raise ValueError(f"kind must be 'directed' or 'random' for float vectors, got {kind!r}")
