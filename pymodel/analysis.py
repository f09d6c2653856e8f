"""Data behind the error figures: grids, fraction planes, distributions and sweeps.

Every array here comes from the golden model (the design's ``mul``/``div``);
the plots in :mod:`pymodel.plots` only draw it, and the tests check it.
Relative error is ``(approx - exact) / exact``, NaN where the exact result is 0
(and, for ``div``, where ``b == 0``).
"""

import numpy as np

from .config import Mitchell
from .designs.base import Design
from .metrics import error_metrics, pick_method

__all__ = ["relative_error", "error_grid", "fraction_grid", "error_distribution", "truncation_sweep",
           "parameter_sweep", "sweep_values", "parse_range", "MAX_GRID"]

MAX_GRID = 1024


def _check(cfg, op):
    if not isinstance(cfg, Design) and not callable(getattr(cfg, "product_table", None)):
        raise TypeError(f"cfg must be a design config (pymodel.registry) or a TableMultiplier, got {type(cfg).__name__}")
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    if op not in cfg.OPS:
        raise ValueError(f"design {cfg.NAME!r} has no {op!r} (it has {', '.join(cfg.OPS)})")


def relative_error(cfg, op, a, b):
    """Relative error of the model on broadcast integer arrays ``a``, ``b``."""
    _check(cfg, op)
    a, b = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(b, np.int64))
    if op == "mul":
        approx = cfg.mul(a, b).astype(np.float64)
        exact = a.astype(np.float64) * b
    else:
        q, dbz = cfg.div(a, b, on_zero="saturate")
        approx = q.astype(np.float64) / 2.0 ** cfg.quotient_frac_bits
        with np.errstate(divide="ignore", invalid="ignore"):
            exact = np.where(dbz, np.nan, a / np.where(b == 0, 1, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        re = (approx - exact) / exact
    re[~np.isfinite(re)] = np.nan
    return re


def parse_range(text, cfg, name):
    """``"LO:HI"`` (inclusive) to ``(lo, hi)``, checked against the operand range."""
    lo_ok, hi_ok = cfg.operand_range
    if text is None:
        return lo_ok, hi_ok
    try:
        lo, hi = (int(x) for x in str(text).split(":"))
    except ValueError:
        raise ValueError(f"{name} must be LO:HI with integers, got {text!r}") from None
    if not lo_ok <= lo <= hi <= hi_ok:
        raise ValueError(f"{name} must satisfy {lo_ok} <= LO <= HI <= {hi_ok}, got {text!r}")
    return lo, hi


def _axis(lo, hi, max_points, log2=False):
    """The axis values: all of ``lo..hi``, or ``max_points`` of them spread evenly
    (geometrically over the positive values when ``log2``, so small operands keep
    their share of a log axis)."""
    if log2:
        lo = max(lo, 1)
    n = hi - lo + 1
    if n <= max_points:
        return np.arange(lo, hi + 1, dtype=np.int64), False
    if log2:
        # geometric spacing with every small integer kept, topped up to max_points
        for m in range(max_points, 8 * max_points):
            v = np.unique(np.geomspace(lo, hi, m).round().astype(np.int64))
            if v.size >= max_points:
                return v, True
        return v, True
    return np.unique(np.linspace(lo, hi, max_points).round().astype(np.int64)), True


def error_grid(cfg, op, *, a_range=None, b_range=None, max_points=MAX_GRID, log2=False):
    """Relative error over the operand grid ``a x b``.

    Each axis is the full inclusive range when it has at most ``max_points``
    values, otherwise ``max_points`` evenly spaced values (``decimated`` says so);
    with ``log2`` only positive operands, spaced geometrically.
    Returns ``{"a", "b", "re" (shape len(a) x len(b)), "decimated", "min", "max",
    "argmin" (a, b), "argmax" (a, b)}``.
    """
    _check(cfg, op)
    alo, ahi = a_range or cfg.operand_range
    blo, bhi = b_range or cfg.operand_range
    a, da = _axis(alo, ahi, max_points, log2)
    b, db = _axis(blo, bhi, max_points, log2)
    re = relative_error(cfg, op, a[:, None], b[None, :])
    out = {"a": a, "b": b, "re": re, "decimated": bool(da or db)}
    if np.isfinite(re).any():
        i = np.unravel_index(np.nanargmin(re), re.shape)
        j = np.unravel_index(np.nanargmax(re), re.shape)
        out.update({"min": float(re[i]), "max": float(re[j]), "argmin": (int(a[i[0]]), int(b[i[1]])),
                    "argmax": (int(a[j[0]]), int(b[j[1]]))})
    return out


def fraction_grid(cfg, op, *, points=256):
    """Relative error over the log-fraction plane ``(x1, x2)`` in ``[0, 1)^2``.

    Both operands have their leading one at bit ``width - 1`` and the fraction
    bits below it, so the error depends only on ``(x1, x2)`` (the relative error
    of Mitchell's method is scale-free).  The grid has ``min(points, 2**frac_bits)``
    values per axis.  Returns ``{"x1", "x2", "re", "min", "max", "argmin", "argmax",
    "boundaries", "boundary"}``: ``boundaries`` are the design's own case boundaries
    (``cfg.fraction_boundaries(op)``, e.g. Mitchell's carry ``x1 + x2 >= 1`` or borrow
    ``x1 < x2``) and ``boundary`` their labels joined by "; " ("none" without any).
    """
    _check(cfg, op)
    w = cfg.width
    top = w - 1 - int(cfg.signed)       # signed: keep the operand positive
    fb = min(getattr(cfg, "frac_bits", top), top)
    n = min(points, 1 << fb)
    steps = (np.arange(n) * (1 << fb)) // n           # fraction numerators over 2^fb
    vals = (1 << top) | (steps << (top - fb))
    x = steps / float(1 << fb)
    re = relative_error(cfg, op, vals[:, None], vals[None, :])
    i = np.unravel_index(np.nanargmin(re), re.shape)
    j = np.unravel_index(np.nanargmax(re), re.shape)
    bounds = cfg.fraction_boundaries(op)
    return {"x1": x, "x2": x, "re": re, "min": float(re[i]), "max": float(re[j]),
            "argmin": (float(x[i[0]]), float(x[i[1]])), "argmax": (float(x[j[0]]), float(x[j[1]])),
            "boundaries": bounds, "boundary": "; ".join(b.label for b in bounds) or "none"}


def error_distribution(cfg, op, *, samples=None, seed=0, exhaustive_max_width=10):
    """Relative errors of every pair (``width <= exhaustive_max_width`` and no ``samples``)
    or of ``samples`` seeded random pairs (default 2**20).  Returns ``{"re" (1-D, finite
    values only), "exhaustive", "seed", "mean", "mred", "min", "max"}``."""
    _check(cfg, op)
    from .vectors import exhaustive
    if samples is None and cfg.width <= exhaustive_max_width:
        a, b = exhaustive(cfg)
        ex, seed = True, None
    else:
        a, b = _uniform(cfg, samples or (1 << 20), seed)
        ex = False
    re = relative_error(cfg, op, a, b)
    re = re[np.isfinite(re)]
    return {"re": re, "exhaustive": ex, "seed": seed, "mean": float(re.mean()), "mred": float(np.abs(re).mean()),
            "min": float(re.min()), "max": float(re.max())}


def _uniform(cfg, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = cfg.operand_range
    return (rng.integers(lo, hi, n, endpoint=True, dtype=np.int64),
            rng.integers(lo, hi, n, endpoint=True, dtype=np.int64))


def truncation_sweep(widths, ops=("mul", "div"), *, signed=False, frac_bits=None, samples=1 << 20, seed=0,
                     progress=None):
    """Error metrics against ``frac_bits`` for each width and operator.

    ``frac_bits`` (a list) defaults to every value 0..width-1.  Exact over every pair
    where Mitchell's exact form covers the configuration (the multiplier at every width,
    the divider where its pieces fit the budget), else exhaustive up to 12 bits and
    ``samples`` seeded pairs wider.  ``progress``
    is a callable called once per configuration.  Returns a list of metric dicts.
    """
    rows = []
    for w in widths:
        for op in ops:
            for f in (frac_bits if frac_bits is not None else range(w)):
                if f > w - 1:
                    continue
                cfg = Mitchell(width=w, frac_bits=f, signed=signed)
                exact = cfg.exact_form(op) is not None
                m = error_metrics(cfg, op, samples=None if exact or w <= 12 else samples, seed=seed)
                rows.append(m)
                if progress is not None:
                    progress()
    return rows


def sweep_values(name, param, width):
    """The values of ``param`` swept for design ``name`` at ``width``: its whole range, or about a
    dozen values spread over it, plus the default."""
    from .registry import design_class
    cls = design_class(name)
    prm = {p.name: p for p in cls.PARAMS}.get(param)
    if prm is None or prm.type is bool:
        have = ", ".join(p.name for p in cls.PARAMS if p.type is int) or "none"
        raise ValueError(f"design {name!r} has no integer parameter {param!r} to sweep (its parameters: {have})")
    lo, hi = prm.bounds(width)
    vals = set(range(lo, hi + 1)) if hi - lo <= 12 else set(np.linspace(lo, hi, 12).round().astype(int).tolist())
    return sorted(vals | {prm.resolve(None, width)})


def parameter_sweep(designs, widths, param=None, *, op="mul", signed=False, samples=1 << 20, seed=0,
                    progress=None):
    """Error metrics of each design in ``designs`` against one of its parameters, at each width.

    ``param`` defaults to ``frac_bits`` where the design has it, else its first integer
    parameter; a design with none gives one row (its only configuration).  Metrics are exact
    (where the design offers an exact form) or exhaustive up to 16 bits, else ``samples`` seeded pairs.
    Returns rows ``{"design", "param", "value", **metrics}``.
    """
    from .registry import design_class, make_design
    rows = []
    for name in designs:
        cls = design_class(name)
        ints = [p.name for p in cls.PARAMS if p.type is int and p.name != "quotient_frac_bits"]
        pname = param if param is not None else ("frac_bits" if "frac_bits" in ints else (ints[0] if ints else None))
        for w in widths:
            vals = sweep_values(name, pname, w) if pname else [None]
            for v in vals:
                cfg = make_design(name, width=w, signed=signed, **({pname: v} if pname else {}))
                m = error_metrics(cfg, op, samples=samples if pick_method(cfg, op) == "sample" else None,
                                  seed=seed)
                rows.append({"design": name, "param": pname, "value": v, **m})
                if progress is not None:
                    progress()
    return rows
