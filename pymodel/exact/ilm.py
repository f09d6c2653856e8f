"""Exact error statistics of ILM (:class:`pymodel.designs.ilm.ILM`): one pass over the operands.

The structure: a basic block on inputs ``x = 2**k1 + r1``, ``y = 2**k2 + r2`` adds
``2**(k1+k2) + r1 2**k2 + r2 2**k1 = x*y - r1*r2`` and hands ``(r1, r2)`` to the next block; once either
is 0 the remaining blocks add 0.  Summed over ``corrections + 1`` blocks the product telescopes to
``a*b - R(a) R(b)``, where ``R(v)`` is ``v`` less its top ``corrections + 1`` set bits (all of them if it
has fewer; :func:`pymodel.designs.ilm.residue`).  The error ``-R(a) R(b) <= 0`` and the relative error
``-(R(a)/a)(R(b)/b)`` split into one factor per operand, so :func:`pymodel.exact.separable.separable_metrics`
is exact.  ``R(v) < 2**k <= v`` keeps the product at most ``a*b``, below ``product_max``: nothing saturates.

Without visiting the operands: with ``c = corrections + 1``, a magnitude with at least ``c`` set bits
has a top part ``H`` (its top ``c`` set bits, the lowest at position ``p``) and ``R = v - H`` runs over
``0 .. 2**p - 1``: the ``C(bits, c)`` patterns ``H`` give the groups ``H <= v < H + 2**p`` with
``R = v - H`` that :func:`pymodel.exact.separable._group_summary` sums in closed form.  The magnitudes with
fewer than ``c`` set bits (``1 <= popcount < c``) have ``R = 0``: ``sum_{j<c} C(bits, j)`` of them, the first
``1``, the last the top ``c - 1`` bits set.  Where the patterns exceed ``MAX_GROUPS`` (mid-range
``corrections`` at wide widths) every magnitude is visited instead.
"""
import math
from itertools import combinations

from ..designs.ilm import residue
from .separable import separable_metrics

__all__ = ["exact_metrics"]

MAX_GROUPS = 1 << 17


def _groups(c):
    def groups(bits):
        if math.comb(bits, c) > MAX_GROUPS:
            return None
        out = []
        for pos in combinations(range(bits), c):
            H = sum(1 << q for q in pos)
            out.append((H, 1 << min(pos), H))
        z = min(c - 1, bits)
        count = sum(math.comb(bits, j) for j in range(1, z + 1))
        return out, (count, 1, ((1 << z) - 1) << (bits - z))
    return groups


def exact_metrics(cfg, op, progress=None):
    """Every key of the sweep of ``cfg``'s multiplier, exactly: ``C(width, corrections + 1)`` groups or
    ``O(2**width)``."""
    c = cfg.corrections + 1
    return separable_metrics(cfg, op, residue, (c,), _groups(c), progress)
