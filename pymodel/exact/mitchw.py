"""Exact error statistics of Mitch-w (:class:`pymodel.designs.mitchw.MitchW`).

The structure: the log of an operand ``v = 2**k + r`` is ``log_fixed(v, kept, unbias)``, which reads ``k``
and the top ``kept = w - 1 - unbias`` bits of ``r`` (:func:`pymodel.exact.runs.runs` with ``K = kept``),
and the product is a function of the two logs.  So the product is constant on every box of runs and
:func:`pymodel.exact.runs.run_metrics` is exact.  ``unbias=False`` is Mitchell's multiplier with
``frac_bits = w - 1`` (the fidelity tests check it), whose own exact form
(:mod:`pymodel.exact.mitchell`) covers every width in seconds; the forced one of ``unbias=True`` lets the
product exceed ``a*b``, which the run boxes handle (the hyperbola ``a*b = M`` may cross a box).
"""

from .runs import BOX_BUDGET, cost, run_metrics

__all__ = ["exact_metrics", "available", "as_mitchell"]


def _kept(cfg):
    return cfg.w - 1 - int(cfg.unbias)


def available(cfg):
    """Whether the exact form runs in seconds: always for ``unbias=False`` (Mitchell's form), else when
    the boxes fit :data:`BOX_BUDGET`."""
    return not cfg.unbias or cost(cfg.width, cfg.signed, _kept(cfg)) <= BOX_BUDGET


def as_mitchell(cfg, op, frac_bits, progress=None):
    """The exact form of Mitchell's multiplier with ``frac_bits`` (:mod:`pymodel.exact.mitchell`), for a
    configuration of another design that equals it, under that configuration's header."""
    from ..config import Mitchell
    from ..metric_defs import exact_result
    from .mitchell import exact_metrics as mitchell_metrics
    r = mitchell_metrics(Mitchell(width=cfg.width, frac_bits=frac_bits, signed=cfg.signed), op, progress)
    keys = ("pairs", "min_re", "max_re", "bias", "mred", "mae", "wce", "nmed", "ep", "mse",
            "min_re_operands", "max_re_operands", "wce_operands")
    return exact_result(cfg, op, **{k: r[k] for k in keys})


def exact_metrics(cfg, op, progress=None):
    """Every key of the sweep of ``cfg``'s multiplier, exactly."""
    if not cfg.unbias:
        return as_mitchell(cfg, op, cfg.w - 1, progress)
    return run_metrics(cfg, op, _kept(cfg), progress)
