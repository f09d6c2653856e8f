"""Error figures (matplotlib, headless): heatmap, surface, fraction plane, histogram, compare.

Each ``plot_*`` draws data from :mod:`pymodel.analysis` into a new 1200x800 px
figure, saves it (format from the suffix: .png, .svg, .pdf) and returns the
summary numbers shown in it.
"""

import warnings
from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from . import analysis
from .designs.base import Design

__all__ = ["plot", "KINDS", "FIGSIZE", "DPI", "plain_log_axis"]

KINDS = ("heatmap", "surface", "fraction", "histogram", "compare")
FIGSIZE, DPI = (12, 8), 100
SUFFIXES = (".png", ".svg", ".pdf")


def _figure():
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.set_layout_engine("constrained")
    return fig


def plain_log_axis(axis):
    """Plain tick labels on a log ``axis`` ("200", not "2×10²"), called once the data is drawn.

    Over two decades or more: every power of ten; over one to two: 2, 3 and 5 times them too;
    under one decade (180..380) evenly spaced round numbers, since a log axis would label few or none.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator
    lo, hi = sorted(axis.axes.get_xlim() if axis.axis_name == "x" else axis.axes.get_ylim())
    span = np.log10(hi / lo) if lo > 0 else np.inf
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    if span < 1:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(plain)
        axis.set_minor_locator(NullLocator())
        axis.set_minor_formatter(NullFormatter())
        return

    def minor(v, _):
        lead = v / 10 ** np.floor(np.log10(v) + 1e-9) if v > 0 else 0
        return f"{v:g}" if span < 2 and min(abs(lead - d) for d in (2, 3, 5)) < 1e-6 else ""

    axis.set_major_locator(LogLocator(base=10))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10)))
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(FuncFormatter(minor))


def _short_title(cfg, op):
    """``MBM multiplier``, ``DR-ALM multiplier``, ``Mitchell divider``: the design's short name and the operator,
    without repeating the operator that the design's title already ends in ("... multiplier multiplier")."""
    name = {"mul": "multiplier", "div": "divider"}[op]
    if cfg.NAME == "mitchell":
        return f"Mitchell {name}"
    t = cfg.TITLE
    if ":" in t:                       # "DR-ALM: dynamic-range approximate log multiplier"
        t = t.split(":")[0]
    elif t.endswith(")") and " (" in t and not t[t.rindex(" (") + 2:].startswith("after"):
        t = t[t.rindex(" (") + 2:-1]             # "Minimally biased logarithmic multiplier (MBM)"
    else:
        t = t.split(" (")[0]
    for word in ("multiplier", "divider"):
        if t.endswith(" " + word):
            t = t[:-len(word) - 1]
    return f"{t} {name}"


def _title(cfg, op, extra=""):
    name = {"mul": "multiplier", "div": "divider"}[op]
    params = ", ".join(f"{p.name}={getattr(cfg, p.name)}" for p in cfg.PARAMS
                       if op == "div" or p.name != "quotient_frac_bits")
    s = (f"{_short_title(cfg, op)}, "
         f"{'signed' if cfg.signed else 'unsigned'} {cfg.width}-bit" + (f", {params}" if params else ""))
    return s + (f"\n{extra}" if extra else "")


def _norm(re):
    lim = float(np.nanmax(np.abs(re))) * 100 or 1.0
    return Normalize(-lim, lim)     # diverging, centred at 0


def _save(fig, path):
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"output file must end in one of {SUFFIXES}, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return str(path)


def plot_heatmap(cfg, op, path, *, a_range=None, b_range=None, log2=False, max_points=analysis.MAX_GRID):
    g = analysis.error_grid(cfg, op, a_range=a_range, b_range=b_range, max_points=max_points, log2=log2)
    a, b, re = g["a"], g["b"], g["re"]
    fig = _figure()
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(a, b, 100 * re.T, cmap="RdBu_r", norm=_norm(re), shading="nearest", rasterized=True)
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("relative error (%)", fontsize=13)
    if log2:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
    note = (f"decimated to {len(g['a'])} x {len(g['b'])}" if g["decimated"]
            else f"every pair, {len(g['a'])} x {len(g['b'])}")
    if log2:
        note += ", log2 axes, positive operands"
    ax.set_title(_title(cfg, op, f"relative error over the operand grid ({note})"), fontsize=14)
    ax.set_xlabel("operand a", fontsize=13)
    ax.set_ylabel("operand b", fontsize=13)
    ax.tick_params(labelsize=11)
    ax.plot(*g["argmin"], marker="o", mfc="none", mec="k", ms=12)
    ax.annotate(f"min {100 * g['min']:.3f} % at {g['argmin']}", g["argmin"], xytext=(10, 10),
                textcoords="offset points", fontsize=12)
    return {"path": _save(fig, path), "decimated": g["decimated"], "grid": [len(g["a"]), len(g["b"])],
            "min_re": g["min"], "max_re": g["max"], "argmin": list(g["argmin"]), "argmax": list(g["argmax"])}


SURFACE_MAX = 256     # a 3-D surface of 1024 x 1024 quads takes minutes to render; 256 keeps every 8-bit pair
SURFACE_CELLS = 64    # drawn cells per axis: every pair of a 256-wide grid as one 256 x 256 mesh is a field of spikes


def _block_mean(a, b, re, cells):
    """Mean of ``re`` (NaN left out) over blocks of ``k x k`` grid values, ``k = ceil(n / cells)``,
    with the mean operands of each block: ``(a, b, re, k)``."""
    k = max(1, -(-max(len(a), len(b)) // cells))
    na, nb = -(-len(a) // k), -(-len(b) // k)
    pad = np.full((na * k, nb * k), np.nan)
    pad[:len(a), :len(b)] = re
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # an all-NaN block (0 x 0) stays NaN
        m = np.nanmean(pad.reshape(na, k, nb, k), axis=(1, 3))
    mean_axis = lambda v, n: np.array([v[i * k:(i + 1) * k].mean() for i in range(n)])   # noqa: E731
    return mean_axis(a, na), mean_axis(b, nb), m, k


def plot_surface(cfg, op, path, *, a_range=None, b_range=None, max_points=SURFACE_MAX, cells=SURFACE_CELLS):
    g = analysis.error_grid(cfg, op, a_range=a_range, b_range=b_range, max_points=max_points)
    a, b, z, k = _block_mean(g["a"].astype(float), g["b"].astype(float), g["re"], cells)
    A, B = np.meshgrid(a, b, indexing="ij")
    fig = _figure()
    ax = fig.add_subplot(projection="3d")
    norm = _norm(z)
    surf = ax.plot_surface(A, B, 100 * z, cmap="RdBu_r", norm=norm, linewidth=0.2, edgecolor=(0, 0, 0, 0.15),
                           antialiased=True, rcount=len(a), ccount=len(b))
    cb = fig.colorbar(surf, ax=ax, shrink=0.7, pad=0.08)
    unit = "grid points" if g["decimated"] else "pairs"
    cb.set_label("relative error (%)" + (f", mean of {k} x {k} {unit}" if k > 1 else ""), fontsize=12)
    ax.view_init(elev=35, azim=-125)
    ax.set_xlabel("operand a", fontsize=12, labelpad=10)
    ax.set_ylabel("operand b", fontsize=12, labelpad=10)
    ax.set_zlabel("relative error (%)", fontsize=12, labelpad=10)
    note = (f"decimated to {len(g['a'])} x {len(g['b'])}" if g["decimated"]
            else f"every pair, {len(g['a'])} x {len(g['b'])}")
    if k > 1:
        note += f"; drawn as the mean over blocks of {k} x {k} {unit}"
    note += f")\nextremes over the grid's {unit}: {100 * g['min']:+.3f} % .. {100 * g['max']:+.3f} %"
    ax.set_title(_title(cfg, op, f"relative error surface ({note}"), fontsize=13)
    return {"path": _save(fig, path), "decimated": g["decimated"], "grid": [len(g["a"]), len(g["b"])],
            "block": k, "cells": [len(a), len(b)], "min_re": g["min"], "max_re": g["max"]}


def plot_fraction(cfg, op, path, *, points=256):
    f = analysis.fraction_grid(cfg, op, points=points)
    x = f["x1"]
    fig = _figure()
    ax = fig.add_subplot()
    step = x[1] - x[0] if len(x) > 1 else 1.0
    # aspect "auto": a square plane in the 3:2 figure would leave a quarter of its width blank
    mesh = ax.imshow(100 * f["re"].T, origin="lower", extent=(0, x[-1] + step, 0, x[-1] + step),
                     cmap="RdBu_r", norm=_norm(f["re"]), aspect="auto", interpolation="nearest")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("relative error (%)", fontsize=13)
    # the design's own case boundaries (cfg.fraction_boundaries), each in its own line style
    styles = (dict(color="k", ls="--", lw=1.8), dict(color="0.25", ls=":", lw=1.5), dict(color="k", ls="-.", lw=1.2))
    for k, b in enumerate(f["boundaries"]):
        ax.plot(b.x1, b.x2, label=b.label, **styles[k % len(styles)])
    if not f["boundaries"]:
        ax.plot([], [], " ", label="no case boundary to draw")
    # both extremes; clip_on=False: a worst case can sit on an edge (the divider's at x1 = 0)
    for key, mark in (("min", "v"), ("max", "^")):
        at = f[f"arg{key}"]
        ax.plot(*at, marker=mark, mfc="none", mec="k", ms=14, mew=2.2, ls="none", clip_on=False, zorder=5,
                label=f"{key} {100 * f[key]:+.3f} % at ({at[0]:.4g}, {at[1]:.4g})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right", fontsize=11, framealpha=0.9)
    ax.set_xlabel("log fraction x1 of a  (a = 2^k1 (1 + x1))", fontsize=13)
    ax.set_ylabel("log fraction x2 of b  (b = 2^k2 (1 + x2))", fontsize=13)
    ax.set_title(_title(cfg, op, f"relative error over the fraction plane, {len(x)} x {len(x)} points"), fontsize=14)
    return {"path": _save(fig, path), "points": len(x), "min_re": f["min"], "max_re": f["max"],
            "argmin": list(f["argmin"]), "argmax": list(f["argmax"]), "boundary": f["boundary"]}


def plot_histogram(cfg, op, path, *, cdf=False, samples=None, seed=0):
    if op == "fmul":
        from .metrics import float_relative_errors
        fd = float_relative_errors(cfg, samples=samples, seed=seed)
        re = fd["re"]
        d = {"re": re, "exhaustive": fd["exhaustive"], "seed": seed, "mean": float(re.mean()),
             "mred": float(np.abs(re).mean()), "min": float(re.min()), "max": float(re.max())}
        how = ("every mantissa pair" if d["exhaustive"] else f"{re.size} sampled mantissa pairs") + \
              f", random exponents, seed {seed}"
        title = f"Float Mitchell multiplier, {cfg.fmt} (bits(x) + bits(y) - bits(1.0))\n" \
                f"distribution of the relative error ({'CDF, ' if cdf else ''}{how})"
    else:
        d = analysis.error_distribution(cfg, op, samples=samples, seed=seed)
        how = "every pair" if d["exhaustive"] else f"{d['re'].size} random pairs, seed {d['seed']}"
        title = _title(cfg, op, f"distribution of the relative error ({'CDF, ' if cdf else ''}{how})")
    re = 100 * d["re"]
    fig = _figure()
    ax = fig.add_subplot()
    if cdf:
        xs = np.sort(re)
        ax.plot(xs, np.arange(1, xs.size + 1) / xs.size, lw=2)
        ax.set_ylabel("fraction of pairs with error <= x", fontsize=13)
    else:
        ax.hist(re, bins=200, color="tab:blue", alpha=0.8)
        ax.set_ylabel("pairs", fontsize=13)
    for v, name, style in ((100 * d["mean"], "mean (bias)", "k-"), (100 * d["min"], "min", "r--")):
        ax.axvline(v, color=style[0], ls=style[1:], lw=2, label=f"{name}: {v:+.3f} %")
    # MRED is a magnitude (mean |error|), not a position on this axis: a legend entry, without a sign
    ax.plot([], [], " ", label=f"MRED (mean |error|): {100 * d['mred']:.3f} %")
    ax.legend(fontsize=12)
    ax.set_xlabel("relative error (%)", fontsize=13)
    ax.set_title(title, fontsize=14)
    return {"path": _save(fig, path), "pairs": int(d["re"].size), "exhaustive": d["exhaustive"], "seed": d["seed"],
            "bias": d["mean"], "mred": d["mred"], "min_re": d["min"], "max_re": d["max"]}


def plot_compare(widths, path, *, ops=("mul", "div"), signed=False, samples=1 << 20, seed=0, progress=None):
    rows = analysis.truncation_sweep(widths, ops, signed=signed, samples=samples, seed=seed, progress=progress)
    fig = _figure()
    axes = fig.subplots(1, len(ops), squeeze=False)[0]
    for ax, op in zip(axes, ops):
        for w in widths:
            r = [m for m in rows if m["op"] == op and m["width"] == w]
            f = [m["frac_bits"] for m in r]
            line, = ax.plot(f, [100 * m["mred"] for m in r], "o-", lw=2, label=f"{w}-bit MRED")
            ax.plot(f, [100 * m["min_re"] for m in r], "v--", color=line.get_color(), alpha=0.7, label=f"{w}-bit min")
            ax.plot(f, [100 * m["max_re"] for m in r], "^:", color=line.get_color(), alpha=0.7, label=f"{w}-bit max")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xlabel("log-fraction bits kept (frac_bits)", fontsize=13)
        ax.set_ylabel("relative error (%)", fontsize=13)
        ax.set_title(f"{'multiplier' if op == 'mul' else 'divider'}", fontsize=13)
        ax.legend(fontsize=9, ncol=2)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Mitchell error against log-fraction truncation, {'signed' if signed else 'unsigned'}, "
                 f"widths {', '.join(map(str, widths))}\n(mul: all pairs, exact; div: all pairs up to 12 bits, "
                 f"else {samples} random, seed {seed}; MRED, min, max)", fontsize=14)
    table = [{k: m[k] for k in ("op", "width", "frac_bits", "mred", "min_re", "max_re", "bias", "exhaustive")}
             for m in rows]
    return {"path": _save(fig, path), "rows": table}


def plot_design_compare(designs, widths, path, *, op="mul", param=None, signed=False, samples=1 << 20, seed=0,
                        progress=None):
    """MRED, bias and min/max relative error of several designs against a parameter.

    One row of panels per swept parameter (``param``, or each design's ``frac_bits`` / first
    integer parameter), so that different parameters never share an x axis; one line per design
    and width.  A design without a parameter is one configuration: a horizontal reference line in
    every row (labelled in the legend), or, when no design has a parameter, one labelled point per
    design on a categorical axis.
    """
    rows = analysis.parameter_sweep(designs, widths, param, op=op, signed=signed, samples=samples, seed=seed,
                                    progress=progress)
    params = list(dict.fromkeys(m["param"] for m in rows if m["param"] is not None))
    fixed = [n for n in designs if all(m["param"] is None for m in rows if m["design"] == n)]
    nrows = max(len(params), 1)
    fig = Figure(figsize=(FIGSIZE[0], max(FIGSIZE[1], 3.2 * nrows + 1.6)), dpi=DPI)
    fig.set_layout_engine("constrained")
    grid = fig.subplots(nrows, 3, squeeze=False)
    panels = (("mred", "MRED (%)"), ("bias", "bias: mean rel. error (%)"), (None, "min ▽ / max △ rel. error (%)"))
    colors = {}

    def color(name, w):
        return colors.setdefault((name, w), f"C{len(colors) % 10}")

    for r, pname in enumerate(params or [None]):
        for ax, (key, label) in zip(grid[r], panels):
            if pname is None:           # no design has a parameter: one point per design and width
                names = [f"{m['design']}\n{m['width']}-bit" for m in rows]
                for i, m in enumerate(rows):
                    c = color(m["design"], m["width"])
                    ys = [m[key]] if key else [m["min_re"], m["max_re"]]
                    for y, mk in zip(ys, ["o"] if key else ["v", "^"]):
                        ax.plot([i], [100 * y], mk, ms=10, color=c)
                        ax.annotate(f"{100 * y:+.3f} %" if key != "mred" else f"{100 * y:.3f} %", (i, 100 * y),
                                    xytext=(8, 0), textcoords="offset points", va="center", fontsize=9)
                ax.set_xticks(range(len(rows)), names, fontsize=10)
                ax.set_xlim(-0.6, len(rows) - 0.4)
                ax.set_xlabel("design (no parameter: one configuration each)", fontsize=11)
            else:
                users = [n for n in designs if any(m["design"] == n and m["param"] == pname for m in rows)]
                for name in users:
                    for w in widths:
                        pts = [m for m in rows if m["design"] == name and m["width"] == w]
                        x = [m["value"] for m in pts]
                        c, lab = color(name, w), f"{name} {w}-bit"
                        if key:
                            ax.plot(x, [100 * m[key] for m in pts], "o-", lw=2, color=c, label=lab)
                        else:
                            ax.plot(x, [100 * m["min_re"] for m in pts], "v--", lw=1.5, color=c, label=lab)
                            ax.plot(x, [100 * m["max_re"] for m in pts], "^:", lw=1.5, color=c)
                for name in fixed:      # one configuration: a reference across the parameter's range
                    for w in widths:
                        m = next(m for m in rows if m["design"] == name and m["width"] == w)
                        c, lab = color(name, w), f"{name} {w}-bit (no parameter)"
                        for y, ls in ([(m[key], "-.")] if key else [(m["min_re"], "-."), (m["max_re"], "-.")]):
                            ax.axhline(100 * y, color=c, ls=ls, lw=1.5, label=lab)
                            lab = None
                ax.set_xlabel(f"{pname} ({', '.join(users)})", fontsize=11)
                ax.xaxis.get_major_locator().set_params(integer=True)
            ax.axhline(0, color="gray", lw=0.8)
            ax.set_ylabel(label, fontsize=11)
            ax.grid(alpha=0.3)
        if pname is not None:
            grid[r][0].legend(fontsize=8)
    what = "against their parameter" if params else "side by side (no parameter)"
    fig.suptitle(f"{'Multipliers' if op == 'mul' else 'Dividers'} {what}, "
                 f"{'signed' if signed else 'unsigned'}: {', '.join(designs)}\n(every pair up to 16 bits "
                 f"(Mitchell's multiplier: at every width), else {samples} random pairs, seed {seed}"
                 + ("; one row per parameter" if len(params) > 1 else "") + ")", fontsize=13)
    table = [{k: m[k] for k in ("design", "param", "value", "op", "width", "mred", "bias", "min_re", "max_re",
                                "ep", "exhaustive")} for m in rows]
    return {"path": _save(fig, path), "rows": table}


def plot(kind, path, *, op="mul", cfg=None, widths=None, **kw):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "compare":
        if kw.get("designs") not in (None, ["mitchell"]) or kw.get("param") is not None:
            return plot_design_compare(kw.pop("designs"), widths or [cfg.width], path, op=op, **kw)
        kw.pop("designs", None)
        kw.pop("param", None)
        return plot_compare(widths or [cfg.width], path, **kw)
    if op == "fmul":
        if kind != "histogram":
            raise ValueError(f"--op fmul supports --kind histogram (its fraction plane is the integer one's), got {kind!r}")
    elif not isinstance(cfg, Design) and not (kind in ("heatmap", "surface")
                                              and callable(getattr(cfg, "product_table", None))):
        raise TypeError(f"cfg must be a design config (pymodel.registry), got {type(cfg).__name__} "
                        "(a TableMultiplier: heatmap and surface only)")
    fn = {"heatmap": plot_heatmap, "surface": plot_surface, "fraction": plot_fraction,
          "histogram": plot_histogram}[kind]
    return fn(cfg, op, path, **kw)


def plot_nn_frac_sweep(results, path):
    """Accuracy against ``frac_bits`` from one or more ``run_study(..., frac_sweep=...)`` results."""
    fig = _figure()
    ax = fig.add_subplot()
    for r in results:
        rows = r["frac_sweep"]
        f = [x["frac_bits"] for x in rows]
        line, = ax.plot(f, [100 * x["int8_mitchell"] for x in rows], "o-", lw=2,
                        label=f"{r['model']}: int{r['width']} Mitchell")
        ax.plot(f, [100 * x["int8_mitchell_finetuned"] for x in rows], "s--", lw=2, color=line.get_color(),
                label=f"{r['model']}: int{r['width']} Mitchell, fine-tuned")
        ax.axhline(100 * r["accuracy"]["int8_exact"], color=line.get_color(), ls=":", lw=1.5,
                   label=f"{r['model']}: int{r['width']} exact")
    ax.set_xlabel("log-fraction bits kept (frac_bits)", fontsize=13)
    ax.set_ylabel("test accuracy (%)", fontsize=13)
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=11, loc="lower left")
    r0 = results[0]
    n = r0["test_samples"]
    lo, hi = _frac_sweep_ylim(results)
    ax.set_ylim(lo, hi)
    # the right axis counts test images, so the data set's resolution is visible
    right = ax.secondary_yaxis("right", functions=(lambda y: y * n / 100, lambda k: k * 100 / n))
    right.set_ylabel(f"correct test images (of {n})", fontsize=13)
    ax.set_title(f"{r0['dataset']}: accuracy against Mitchell log-fraction truncation "
                 f"({n} test images: one image = {100 / n:.2f} pp; seed {r0['seed']})", fontsize=14)
    return _save(fig, path)


FRAC_SWEEP_MIN_SPAN = 5.0    # percentage points: a one-image step must not fill the axis


def _frac_sweep_ylim(results):
    """Accuracy axis (%) spanning every value shown and at least :data:`FRAC_SWEEP_MIN_SPAN` points."""
    vals = [100 * r["accuracy"]["int8_exact"] for r in results]
    vals += [100 * x[k] for r in results for x in r["frac_sweep"] for k in ("int8_mitchell", "int8_mitchell_finetuned")]
    lo, hi = min(vals), max(vals)
    pad = max((FRAC_SWEEP_MIN_SPAN - (hi - lo)) / 2, 0.5)
    lo, hi = lo - pad, hi + pad
    if hi > 100:
        lo, hi = lo - (hi - 100), 100.0
    return max(lo, 0.0), hi


def plot_pareto(rows, path, *, op="mul", title_note=""):
    """MRED against generic gate count: Mitchell designs per width and truncation, exact designs at MRED 0."""
    fig = _figure()
    ax = fig.add_subplot()
    widths = sorted({r["width"] for r in rows})
    for w in widths:
        mit = sorted((r for r in rows if r["width"] == w and r["design"] == "mitchell"), key=lambda r: r["cells"])
        line, = ax.plot([r["cells"] for r in mit], [100 * r["mred"] for r in mit], "o-", lw=2, ms=7,
                        label=f"Mitchell {w}-bit")
        for r in mit:
            ax.annotate(f"f{r['frac_bits']}", (r["cells"], 100 * r["mred"]), xytext=(4, 4),
                        textcoords="offset points", fontsize=9, color=line.get_color())
        for r in rows:
            if r["width"] == w and r["design"] == "exact":
                ax.plot([r["cells"]], [0], "*", ms=16, color=line.get_color(), label=f"exact {w}-bit")
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("generic gates (yosys synth + abc -g, cells)", fontsize=13)
    ax.set_ylabel("MRED (%)", fontsize=13)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=10, ncol=2)
    name = "multiplier" if op == "mul" else "divider"
    ax.set_title(f"Mitchell {name}: error against gate count (fN = frac_bits kept){title_note}", fontsize=14)
    return _save(fig, path)


def plot_training_curves(results, path):
    """Test accuracy per epoch: float32 training against multiplication-free training."""
    fig = _figure()
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    from matplotlib.ticker import MaxNLocator
    # distinct styles and markers, drawn widest first, so identical curves stay visible on top of each other
    styles = [dict(ls="-", lw=4, alpha=0.45), dict(ls="--", lw=2.2, marker="o", ms=5),
              dict(ls=":", lw=2.2, marker="s", ms=4, mfc="none")]
    for ax, r in zip(axes, results):
        for i, (name, curve) in enumerate(r["curves"].items()):
            ax.plot(range(1, len(curve) + 1), [100 * v for v in curve], **styles[i % len(styles)],
                    label=f"{name.replace('_', ' ')} (final {100 * curve[-1]:.2f} %)", zorder=2 + i)
        ax.set_xlabel("epoch", fontsize=13)
        ax.set_ylabel("test accuracy (%)", fontsize=13)
        ax.set_title(f"{r['dataset']} {r['model']}", fontsize=13)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(max(0, min(100 * min(c) for c in r["curves"].values()) - 2), 100)   # every epoch, the first too
        ax.grid(alpha=0.3)
        ax.legend(fontsize=11, loc="lower right")
    r0 = results[0]
    fig.suptitle(f"Training where every multiplication is a Float Mitchell product\n({r0['optimizer']}, "
                 f"lr {r0['lr']}, seed {r0['seed']}, {r0['test_samples']} test images)", fontsize=14)
    return _save(fig, path)


def plot_design_pareto(rows, path, *, op="mul"):
    """MRED against generic cells and against iCE40 LUT4s, every design (one marker each) and width,
    the exact operator at MRED 0; rows as written by ``mitchell compare``."""
    fig = _figure()
    axes = fig.subplots(1, 2, squeeze=False)[0]
    widths = sorted({r["width"] for r in rows})
    markers = "osD^v<>phX*P"
    designs = list(dict.fromkeys(r["design"] for r in rows))
    colors = {w: f"C{i}" for i, w in enumerate(widths)}
    for ax, key, label in ((axes[0], "cells", "generic gates (yosys synth + abc -g, cells)"),
                           (axes[1], "ice40_luts", "iCE40 LUT4 (synth_ice40)")):
        for r in rows:
            if r.get(key) is None:
                continue
            m = markers[designs.index(r["design"]) % len(markers)]
            ax.plot([r[key]], [100 * r["mred"]], m, ms=9, color=colors[r["width"]])
            ax.annotate(r["design"], (r[key], 100 * r["mred"]), xytext=(4, 3), textcoords="offset points",
                        fontsize=8, color=colors[r["width"]])
        for w in widths:
            ex = [r for r in rows if r["width"] == w and r.get(f"exact_{key}") is not None]
            if ex:
                ax.plot([ex[0][f"exact_{key}"]], [0], "*", ms=18, color=colors[w], label=f"exact {w}-bit")
            ax.plot([], [], "o", color=colors[w], label=f"log designs {w}-bit")
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
        ax.set_xlabel(label, fontsize=12)
        ax.set_ylabel("MRED (%)", fontsize=12)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    from .registry import designs_with
    kind = "multiplier" if op == "mul" else "divider"
    who = (f"Every {kind} design" if set(designs) >= set(designs_with(op))
           else f"{kind.capitalize()}s {', '.join(designs)}")
    sign = "signed" if any(r.get("signed") for r in rows) else "unsigned"
    fig.suptitle(f"{who} (default parameters, {sign}): exhaustive MRED against cost", fontsize=14)
    return _save(fig, path)


def plot_energy_pareto(rows, path, *, op="mul"):
    """MRED against relative energy per operation (``mitchell compare --power``): one panel per operand
    stream (uniform; the digits CNN's operands when present), every design and width, exact at (100 %, 0)."""
    streams = [(s, label) for s, label in (("uniform", "uniform random operands"),
                                           ("cnn", "digits CNN operands (signed, weight-stationary)"))
               if any(r.get(f"energy_{s}") is not None for r in rows)]
    fig = _figure()
    axes = fig.subplots(1, len(streams), squeeze=False)[0]
    widths = sorted({r["width"] for r in rows})
    markers = "osD^v<>phX*P"
    designs = list(dict.fromkeys(r["design"] for r in rows))
    colors = {w: f"C{i}" for i, w in enumerate(widths)}
    for ax, (s, label) in zip(axes, streams):
        for r in rows:
            e = r.get(f"energy_{s}")
            if e is None:
                continue
            m = markers[designs.index(r["design"]) % len(markers)]
            ax.plot([100 * e], [100 * r["mred"]], m, ms=9, color=colors[r["width"]])
            ax.annotate(r["design"], (100 * e, 100 * r["mred"]), xytext=(4, 3), textcoords="offset points",
                        fontsize=8, color=colors[r["width"]])
        for w in widths:
            ax.plot([100], [0], "*", ms=18 - 4 * widths.index(w), color=colors[w], label=f"exact {w}-bit")
            ax.plot([], [], "o", color=colors[w], label=f"log designs {w}-bit")
        ax.set_title(label, fontsize=11)
        ax.set_xlim(left=0)
        ax.set_xlabel("energy per operation (% of exact: switched capacitance)", fontsize=11)
        ax.set_ylabel("MRED (%)", fontsize=12)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    kind = "multiplier" if op == "mul" else "divider"
    fig.suptitle(f"Every {kind} design (default parameters): MRED against energy per operation "
                 "(zero-delay, generic gates)", fontsize=13)
    return _save(fig, path)
