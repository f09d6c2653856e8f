"""REALM's exact form: Mitchell's pieces plus a per-segment constant from its ``M x M`` table.

REALM adds the LUT entry ``s_ij`` of the segments of the two untruncated fractions (their top
``segment_bits`` bits) where MBM adds one constant, and sets the last kept fraction bit with set-one.  For a
fixed ``a`` the segment of ``b`` changes every ``2**(k2 - segment_bits)`` operands of block ``k2`` (every
operand below), so a block's carry sides split further at segment boundaries; set-one at ``k2 = frac_bits``
makes runs of two codes.  Otherwise the pieces are MBM's (:mod:`pymodel.exact.logadd`), the sums those of
:mod:`pymodel.exact.affine`.  Exact where the pieces fit the budget (every default configuration to 16
bits, full precision to 20), sampled with a confidence interval otherwise.
"""

import numpy as np
from numba import njit, prange

from ..designs.realm import mul_magnitude
from .affine import PIECE_BUDGET, affine_mul_metrics, row
from .logadd import logadd_break, logadd_pieces

__all__ = ["exact_metrics", "available"]


@njit(inline="always")
def _break(a, b, P):
    f, sb, q, w = P[0], P[1], P[2], P[4]
    one = np.int64((P[3] != 0) & (f > 0) & (f < w - 1))
    return logadd_break(a, b, f, max(f, q + 1), sb, one)


@njit(parallel=True)     # not cached: numba cannot cache a loop that passes functions on
def _rows(P, maxmag, top_single, sat, prefer_small_b, acc, idx):
    for r in prange(maxmag):
        row(mul_magnitude, _break, P, r + 1, maxmag, top_single, sat, prefer_small_b, acc[r], idx[r])


def available(cfg):
    """Whether the pieces fit :data:`pymodel.exact.affine.PIECE_BUDGET` (about 30 s)."""
    f = cfg.frac_bits
    return logadd_pieces(cfg.width, cfg.signed, f, max(f, cfg.factor_bits + 1), cfg.segment_bits,
                         int(cfg.sets_one)) <= PIECE_BUDGET


def exact_metrics(cfg, op, progress=None):
    """REALM's exact form (``op`` "mul")."""
    return affine_mul_metrics(cfg, _rows, progress)
