"""MBM's exact form: Mitchell's pieces plus the constant ``c`` (``c/2`` on carry), by affine pieces.

MBM's product is ``floor(((1.s << carry) + c) * 2**(k1+k2))`` at ``g = max(frac_bits, c_bits + 1)`` guard
bits: for a fixed ``a`` it is affine in ``b`` on each side of the carry threshold of each block where ``b``'s
fraction is exact, constant on each run where it is truncated, and floored pair by pair where
``k1 + k2 < g`` (:mod:`pymodel.exact.logadd`).  Unlike Mitchell's the error takes both signs, so each piece
is split where it changes sign (:mod:`pymodel.exact.affine`).  Cost O(2**width * width) with every fraction
bit kept, more pieces with truncation (``2**frac_bits`` runs per truncated block): exact where the pieces fit
the budget (:func:`available`: every configuration to 16 bits, full precision to 20), sampled with a
confidence interval otherwise.
"""

import numpy as np
from numba import njit, prange

from ..designs.mbm import mul_magnitude
from .affine import PIECE_BUDGET, affine_mul_metrics, row
from .logadd import logadd_break, logadd_pieces

__all__ = ["exact_metrics", "available"]


@njit(inline="always")
def _break(a, b, P):
    f, cb = P[0], P[1]
    return logadd_break(a, b, f, max(f, cb + 1), np.int64(0), np.int64(0))


@njit(parallel=True)     # not cached: numba cannot cache a loop that passes functions on
def _rows(P, maxmag, top_single, sat, prefer_small_b, acc, idx):
    for r in prange(maxmag):
        row(mul_magnitude, _break, P, r + 1, maxmag, top_single, sat, prefer_small_b, acc[r], idx[r])


def available(cfg):
    """Whether the pieces fit :data:`pymodel.exact.affine.PIECE_BUDGET` (about 30 s)."""
    f = cfg.frac_bits
    return logadd_pieces(cfg.width, cfg.signed, f, max(f, cfg.c_bits + 1), 0, 0) <= PIECE_BUDGET


def exact_metrics(cfg, op, progress=None):
    """MBM's exact form (``op`` "mul")."""
    return affine_mul_metrics(cfg, _rows, progress)
