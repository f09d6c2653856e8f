"""INZeD's exact form: Mitchell's divider minus a constant, by pieces of dividends (:mod:`pymodel.exact.logdiv`).

The constant ``c`` (``c/2`` after a borrow) only moves the intercept of the affine mantissa of each piece,
so the pieces are Mitchell's divider's.  Exact where the pieces fit the budget of
:mod:`pymodel.exact.affine` and the integer sums fit 64 bits; swept or sampled otherwise.
"""

import numpy as np
from numba import njit, prange

from ..designs.inzed import CORRECTIONS, div_magnitude
from .affine import PIECE_BUDGET, affine_div_metrics, div_row
from .logdiv import fits_int64, logdiv_break, logdiv_pieces

__all__ = ["exact_metrics", "available"]


@njit(inline="always")
def _break(b, a, P):
    f, qf, cb = P[0], P[1], P[2]
    g = max(f, cb)
    return logdiv_break(b, a, f, g, qf, CORRECTIONS[cb] << (g - cb))


@njit(parallel=True)     # not cached: numba cannot cache a loop that passes functions on
def _rows(P, maxmag, top_single, sat, qf, prefer_small_a, acc, idx):
    for r in prange(maxmag):
        div_row(div_magnitude, _break, P, r + 1, maxmag, top_single, sat, qf, prefer_small_a, acc[r], idx[r])


def available(cfg):
    f, qf = cfg.frac_bits, cfg.quotient_frac_bits
    return fits_int64(cfg.width, qf) and \
        logdiv_pieces(cfg.width, cfg.signed, f, max(f, cfg.c_bits), qf) <= PIECE_BUDGET


def exact_metrics(cfg, op, progress=None):
    """INZeD's exact form (``op`` "div")."""
    return affine_div_metrics(cfg, _rows, progress)
