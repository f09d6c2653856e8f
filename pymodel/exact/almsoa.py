"""Exact error statistics of ALM-SOA (:class:`pymodel.designs.almsoa.ALMSOA`).

The structure: the logs are ``L = k * 2**F + x`` with every fraction bit (``F = width - 1``), but the
set-one adder reads them only from bit ``m - 1`` up (the upper adder takes ``L >> m``, its carry-in bit
``m - 1`` of both; the low ``m`` sum bits are forced to 1).  ``L >> (m - 1)`` is ``k`` and the top
``F - m + 1 = width - m`` bits of ``r`` (``v = 2**k + r``), so the product is constant on every box of runs
that keep ``K = width - m`` bits (:func:`pymodel.exact.runs.runs`) and :func:`pymodel.exact.runs.run_metrics`
is exact.  ``m = 0`` is Mitchell's multiplier with ``frac_bits = width - 1`` (the fidelity tests check it),
whose own exact form (:mod:`pymodel.exact.mitchell`) covers every width in seconds.
"""

from .runs import BOX_BUDGET, cost, run_metrics

__all__ = ["exact_metrics", "available"]


def available(cfg):
    """Whether the exact form runs in seconds: ``m = 0`` (Mitchell's form), else when the boxes fit
    :data:`pymodel.exact.runs.BOX_BUDGET` (small ``m`` keeps nearly every bit, so it does not at 16 bits)."""
    return cfg.m == 0 or cost(cfg.width, cfg.signed, cfg.width - cfg.m) <= BOX_BUDGET


def exact_metrics(cfg, op, progress=None):
    """Every key of the sweep of ``cfg``'s multiplier, exactly."""
    if cfg.m == 0:
        from .mitchw import as_mitchell
        return as_mitchell(cfg, op, cfg.width - 1, progress)
    return run_metrics(cfg, op, cfg.width - cfg.m, progress)
