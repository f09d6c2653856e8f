"""One self-contained HTML page of a sweep (:mod:`sim.explore`): tables, figures (base64 PNG), commands.

No script, no stylesheet or font from the network: the page is one file that any browser shows offline.
"""

import base64
import datetime
import html
import json
import tempfile
from pathlib import Path

from .explore import reproduce_commands, sweep_toml

__all__ = ["write_report", "MAX_DESIGN_FIGURES"]

MAX_DESIGN_FIGURES = 8        # fraction-plane + histogram pairs; a big sweep keeps the page readable
CSS = """
body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #bbb;padding:3px 7px;text-align:right}
th{background:#eee}td.l,th.l{text-align:left}
tr.pareto td{background:#e8f4e8}tr.failed td{background:#fbe3e3}.na{color:#777}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
.pair img{width:49%;margin-right:0.5%}
pre,code{background:#f6f6f6;font-size:12px}pre{padding:0.6em;overflow-x:auto}
.ok{color:#161}.bad{color:#a11;font-weight:bold}
"""


def _e(v):
    return html.escape(str(v))


def _img(path, alt):
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _pct(v, signed=False):
    return "—" if v is None else (f"{100 * v:+.3f} %" if signed else f"{100 * v:.3f} %")


def _ep(ep):
    """EP to 3 places, or ``1 - x`` when that would print 1.000 (EP of wide multipliers is within 1e-8 of 1)."""
    if ep is None:
        return "—"
    return f"1 − {1 - ep:.3g}" if ep < 1 and round(ep, 3) >= 1 else f"{ep:.3f}"


def _num(v, fmt="{}"):
    return "—" if v is None else fmt.format(v)


def _table(head, rows, classes=None):
    out = ["<table><tr>" + "".join(f'<th class="l">{_e(h)}</th>' if i == 0 else f"<th>{_e(h)}</th>"
                                   for i, h in enumerate(head)) + "</tr>"]
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f'<td class="l">{c}</td>' if j == 0 else f"<td>{c}</td>"
                                          for j, c in enumerate(r)) + "</tr>")
    return "\n".join(out + ["</table>"])


def _row_class(r):
    """Red for a row with a failed task (never green: such a row is not a Pareto candidate), else green
    for the Pareto set."""
    return "failed" if not r.get("ok", True) else ("pareto" if r.get("pareto") else "")


def _verify_status(r):
    """The verification cell: proven (green), not available (grey, with the reason), else red."""
    if r.get("verify_status") == "n/a":
        return f'<span class="na" title="{_e((r.get("not_available") or {}).get("verify", ""))}">not available</span>'
    v = r.get("verify") or ("failed" if r.get("verify_status") == "error" else "—")
    return f'<span class="{"ok" if v == "proven" else "bad"}">{_e(v)}</span>'


def _design_figures(rows, fig_dir, seed):
    """Fraction plane and histogram of each distinct design (design, parameters, signedness) at its
    smallest width in the sweep, up to :data:`MAX_DESIGN_FIGURES`."""
    from pymodel.plots import plot_fraction, plot_histogram
    from pymodel.registry import make_design
    seen = {}
    for r in sorted(rows, key=lambda r: r["width"]):
        k = (r["design"], json.dumps(r["params"], sort_keys=True), r["signed"], r["op"])
        seen.setdefault(k, r)
    picked = list(seen.values())
    out = []
    for i, r in enumerate(picked[:MAX_DESIGN_FIGURES]):
        cfg = make_design(r["design"], width=r["width"], signed=r["signed"], **r["params"])
        fp, hp = Path(fig_dir) / f"fraction_{i}.png", Path(fig_dir) / f"histogram_{i}.png"
        try:
            plot_fraction(cfg, r["op"], fp)
            h = plot_histogram(cfg, r["op"], hp, samples=None if r["width"] <= 10 else 1 << 18, seed=seed)
        except Exception as e:          # noqa: BLE001 -- one figure that fails does not lose the page
            out.append((r, None, None, f"{type(e).__name__}: {e}"))
            continue
        out.append((r, fp, hp, h))
    return out, len(picked) - len(out)


def load_text(load):
    """``[1.523, 1.31, 1.2]`` (``os.getloadavg()``) as "1.52, 1.31, 1.20 (1, 5, 15 min)"; "?" if unknown."""
    try:
        return ", ".join(f"{float(v):.2f}" for v in load) + " (1, 5, 15 min)"
    except (TypeError, ValueError):
        return "?"


def write_report(obj, path, *, pareto_png=None, title=None, report_command=None):
    """Write the page for sweep results ``obj`` (``results.json`` of ``mitchell explore``) to ``path``."""
    sw, rows = obj["sweep"], obj["rows"]
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title or 'Sweep report')}"
             f"</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>{_e(title or 'Design-space sweep')}</h1>")
    parts.append(f"<p>{len(rows)} configuration(s), {obj.get('tasks', '?')} tasks on {_e(obj.get('engine', '?'))}, "
                 f"{obj.get('wall_seconds', '?')} s wall (load average {_e(load_text(obj.get('load_average')))}); "
                 f"cache: {_e(obj.get('cache', {}).get('hits', '?'))} hits, "
                 f"{_e(obj.get('cache', {}).get('computed', '?'))} computed; "
                 f"report written {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}.</p>")
    parts.append("<h2>Configuration</h2><p>The sweep (as <code>mitchell explore --sweep FILE</code> reads it):</p>"
                 f"<pre>{_e(sweep_toml(sw))}</pre>")
    parts.append("<p>Tools: " + ", ".join(f"{_e(k)} <code>{_e(v)}</code>" for k, v in obj.get("tools", {}).items())
                 + "</p>")
    parts.append("<h2>Commands</h2><pre>" + _e(obj.get("command") or "mitchell explore --sweep DIR/sweep.toml -o DIR")
                 + ("\n" + _e(report_command) if report_command else "") + "</pre>")

    cls = [_row_class(r) for r in rows]
    parts.append("<h2>Errors</h2><p>Relative error of every configuration (exact: every pair, without visiting "
                 "them; sweep: every pair visited; sample: seeded random pairs). Green rows: the Pareto set; red: a "
                 "task failed (such a configuration is not a Pareto candidate); <span class=\"na\">n/a</span>: a task "
                 "that cannot run for the design (not a failure).</p>")
    parts.append(_table(["configuration", "method", "pairs", "MRED", "bias", "min RE", "max RE", "EP", "WCE"],
                        [[_e(r["label"]), _e(r.get("method", "—")), _num(r.get("pairs")), _pct(r.get("mred")),
                          _pct(r.get("bias"), True), _pct(r.get("min_re"), True), _pct(r.get("max_re"), True),
                          _ep(r.get("ep")), _num(r.get("wce"), "{:g}")] for r in rows], cls))

    parts.append("<h2>Cost against the exact operator</h2><p>Yosys generic gates (abc " + _e(sw["abc"]) +
                 "), depth (gates on the longest path), iCE40 LUT4s, and nextpnr-ice40's Fmax (HX8K) for the design "
                 "registered at its inputs and outputs; the exact operator of the same widths beside each.</p>")

    def pair(r, k, fmt="{}"):
        v, e, q = r.get(k), r.get(f"exact_{k}"), r.get(f"ratio_{k}")
        return "—" if v is None else f"{fmt.format(v)} / {_num(e, fmt)}" + ("" if q is None else f" ({100 * q:.0f} %)")
    parts.append(_table(["configuration", "stages", "cells / exact", "depth / exact", "iCE40 LUT4 / exact",
                         "Fmax MHz / exact", "notes"],
                        [[_e(r["label"]), r["stages"], pair(r, "cells"), pair(r, "depth"), pair(r, "ice40_luts"),
                          pair(r, "fmax_mhz", "{:.1f}") if sw["fmax"] else "not run (--no-fmax)",
                          _e(r.get("cost_notes") or "")] for r in rows], cls))

    if sw.get("power"):
        parts.append("<h2>Energy per operation</h2><p>Switched capacitance per operation of the generic-gate "
                     "netlist, simulated zero-delay on seeded uniform operands (seed " + _e(str(sw["seed"])) +
                     "), toggles weighted by a logical-effort capacitance proxy, against the exact operator "
                     "synthesised and simulated the same way (<code>mitchell cost --power</code>; README: Energy "
                     "per operation). EDP: energy × depth, both relative to exact.</p>")

        def energy(r, k):
            return "—" if r.get(k) is None else f"{100 * r[k]:.0f} %"
        parts.append(_table(["configuration", "switched capacitance / op (exact)", "energy", "energy × delay"],
                            [[_e(r["label"]),
                              "n/a (pipelined)" if r.get("switched_cap_uniform") is None else
                              f"{r['switched_cap_uniform']:.0f} ({r['exact_switched_cap_uniform']:.0f})",
                              energy(r, "energy_uniform"), energy(r, "edp_uniform")] for r in rows], cls))

    nn_cols = sorted({k for r in rows for k in r if k.startswith("nn_") and k.endswith("_int8")})
    if nn_cols:
        parts.append("<h2>NN accuracy</h2><p>Digits, int8 post-training quantization, the design's 8-bit signed "
                     "multiplier in every product (no fine-tuning).</p>")
        head = ["configuration"]
        for k in nn_cols:
            m = k[3:-5]
            head += [f"{m} float32", f"{m} int8 exact", f"{m} int8 design"]
        parts.append(_table(head, [[_e(r["label"])] + sum(([_pct(r.get(k.replace("_int8", "_float32"))),
                                                             _pct(r.get(k.replace("_int8", "_int8_exact"))),
                                                             _pct(r.get(k))] for k in nn_cols), [])
                                   for r in rows], cls))

    parts.append("<h2>Pareto set</h2><p>Non-dominated configurations, all objectives minimised: "
                 + _e(", ".join(obj.get("objectives", []))) + ". Filled markers: the Pareto set; the line: each "
                 "panel's own two-objective front.</p>")
    if pareto_png and Path(pareto_png).exists():
        parts.append(_img(pareto_png, "Pareto figure"))
    par = [r for r in rows if r.get("pareto")]
    parts.append(_table(["configuration", "MRED", "|bias|", "cells", "iCE40 LUT4", "Fmax MHz"],
                        [[_e(r["label"]), _pct(r.get("mred")), _pct(None if r.get("bias") is None else abs(r["bias"])),
                          _num(r.get("cells")), _num(r.get("ice40_luts")), _num(r.get("fmax_mhz"), "{:.1f}")]
                         for r in par]) if par else "<p>No configuration has every objective (see the failures).</p>")

    parts.append("<h2>Verification</h2>")
    if sw.get("verify"):
        parts.append("<p>Yosys equivalence proof of the generated unit against the hardware spec "
                     "(<code>mitchell verify --prove</code>).</p>")
        parts.append(_table(["configuration", "stages", "status", "seconds", "counterexample"],
                            [[_e(r["label"]), r["stages"],
                              _verify_status(r), _num(r.get("verify_seconds")),
                              _e(r.get("verify_counterexample") or "")] for r in rows], cls))
    else:
        parts.append("<p>Not run in this sweep (<code>--verify</code> runs a yosys equivalence proof per "
                     "configuration).</p>")

    na = obj.get("not_available") or []
    if na:
        parts.append("<h2>Tasks not available</h2><p>Tasks that cannot run for the design (not failures; the "
                     "configuration stays a Pareto candidate).</p>" + _table(
                         ["task", "configuration", "reason"],
                         [[_e(t["kind"]), _e(f"{t['config']['design']} w{t['config']['width']} st{t['config']['stages']} "
                                             f"{json.dumps(t['config']['params'])}"), _e(t["reason"])] for t in na]))
    failed = obj.get("failed") or []
    parts.append("<h2>Failed tasks</h2>" + ("<p>None.</p>" if not failed else _table(
        ["task", "configuration", "error"],
        [[_e(t["kind"]), _e(f"{t['config']['design']} w{t['config']['width']} st{t['config']['stages']} "
                            f"{json.dumps(t['config']['params'])}"), f"<pre>{_e(t['error'])}</pre>"] for t in failed])))

    with tempfile.TemporaryDirectory() as d:
        figs, left = _design_figures(rows, d, sw.get("seed", 0))
        parts.append("<h2>Error figures</h2><p>Relative error over the fraction plane and its distribution, per "
                     "design at its smallest width in the sweep" + (f" ({left} more designs left out)" if left > 0
                                                                   else "") + ".</p>")
        for r, fp, hp, h in figs:
            parts.append(f"<h3>{_e(r['label'])}</h3>")
            if fp is None:
                parts.append(f'<p class="bad">figure failed: {_e(h)}</p>')
                continue
            opts = f"--design {r['design']} --width {r['width']}" + (" --signed" if r["signed"] else "") + "".join(
                f" --{k.replace('_', '-')} {str(v).lower() if isinstance(v, bool) else v}" for k, v in r["params"].items())
            hist_opts = "" if h["exhaustive"] else f" --samples {h['pairs']} --seed {h['seed']}"
            parts.append(f"<pre>mitchell plot --kind fraction {_e(opts)} -o fraction.png\n"
                         f"mitchell plot --kind histogram {_e(opts)}{_e(hist_opts)} -o histogram.png</pre>")
            parts.append('<div class="pair">' + _img(fp, f"fraction plane of {r['label']}")
                         + _img(hp, f"histogram of {r['label']}") + "</div>")

    parts.append("<h2>Commands per configuration</h2><p>Each number above comes from one of these.</p>")
    for r in rows:
        cmds = reproduce_commands(r, sw)
        parts.append(f"<details><summary>{_e(r['label'])}</summary><pre>"
                     + _e("\n".join(f"# {k}\n{v}" for k, v in cmds.items())) + "</pre></details>")
    parts.append("</body></html>\n")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(parts))
    return str(path)
