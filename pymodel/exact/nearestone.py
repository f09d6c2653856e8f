"""Exact error statistics of the nearest-one multiplier (:class:`pymodel.designs.nearestone.NearestOne`).

The structure: with ``a = 2**n1 + q1`` and ``b = 2**n2 + q2`` around the nearest powers of two
(signed residues ``q``), the product ``2**(n1+n2) + q1 2**n2 + q2 2**n1`` equals
``(2**n1 + q1)(2**n2 + q2) - q1 q2 = a*b - q(a) q(b)``.  The relative error ``-(q(a)/a)(q(b)/b)`` splits
into one signed factor per operand, so :func:`pymodel.exact.separable.separable_metrics` is exact (it
takes the signs into account: the largest product of factors is at one end squared, the smallest at
opposite ends).  ``|q| <= 2**30`` at 32 bits (rounding down ``q < 2**(k-1)``; up ``|q| <= 2**(k-1)``),
and the product never reaches ``product_max`` (:meth:`NearestOne.gemm_form` shows why), so nothing saturates.

Without visiting the operands: block ``k >= 1`` (``2**k <= v < 2**(k+1)``) is two groups, ``v < 3 * 2**(k-1)``
rounding down (``q = v - 2**k >= 0``) and the rest rounding up (``q = v - 2**(k+1) < 0``), each with
``q = v - C`` for a constant ``C`` (and ``v = 1``: ``q = 0``), which
:func:`pymodel.exact.separable._group_summary` sums in closed form: ``2 * width`` groups.
"""

from ..designs.nearestone import residue
from .separable import separable_metrics

__all__ = ["exact_metrics"]


def _groups(bits):
    out = [(1, 1, 1)]
    for k in range(1, bits):
        h = 1 << (k - 1)
        out += [(2 * h, h, 2 * h), (3 * h, h, 4 * h)]
    return out, (0, 0, 0)


def exact_metrics(cfg, op, progress=None):
    """Every key of the sweep of ``cfg``'s multiplier, exactly, in ``O(width)``."""
    return separable_metrics(cfg, op, residue, (), _groups, progress)
