"""Exact error statistics of DR-ALM (:class:`pymodel.designs.dralm.DRALM`).

The structure: each operand's log is ``log_fixed(v, t - 2, 1)``, which reads the leading-one position ``k``
and the top ``t - 2`` bits below it (then the set-one bit, a constant), and the product is a function of
the two logs plus the compensation LSB.  So the product is constant on every box of runs that keep
``K = t - 2`` bits (:func:`pymodel.exact.runs.runs`), and :func:`pymodel.exact.runs.run_metrics` is exact
(the product can exceed ``a*b``: the hyperbola ``a*b = M`` may cross a box, which it handles).
"""

from .runs import BOX_BUDGET, cost, run_metrics

__all__ = ["exact_metrics", "available"]


def available(cfg):
    """Whether the boxes fit :data:`pymodel.exact.runs.BOX_BUDGET` (every default; large ``t`` at 16 bits
    and above does not)."""
    return cost(cfg.width, cfg.signed, cfg.t - 2) <= BOX_BUDGET


def exact_metrics(cfg, op, progress=None):
    """Every key of the sweep of ``cfg``'s multiplier, exactly."""
    return run_metrics(cfg, op, cfg.t - 2, progress)
