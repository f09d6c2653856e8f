"""Hardware cost of the generated Verilog against exact operators, with Yosys and nextpnr-ice40.

Metrics per design:

- ``cells``: generic gates after ``synth -flatten; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX -fast``;
- ``depth``: ``ltp -noff`` on that netlist (gates on the longest path);

``abc="fast"`` (the default) runs ABC's delay-preserving script.  ``abc="full"`` runs its
default script, whose area recovery turns log-depth adders back into ripple chains in
every design (the exact 16-bit multiplier goes from depth 34 to 59), so its depth says
more about ABC's heuristics than about the architecture.  Both are reported in the README.
- ``ice40_luts``: ``SB_LUT4`` cells after ``synth_ice40`` (no DSPs);
- ``fmax_mhz``: nextpnr-ice40's estimate (HX8K) for the design registered at its inputs and outputs.

Results are cached by a hash of the design text and the tool versions.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pymodel import Mitchell

from .tools import ToolError, ToolMissing, log_reason
from .verilog import generate, ports_of

__all__ = ["cost", "generic_script", "exact_verilog", "exact_pipelined_mul", "exact_pipelined_div",
           "exact_baseline", "registered_wrapper", "synth_metrics", "tool_versions", "check_tools"]

GENERIC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,MUX"
DEVICE = ("--hx8k", "--package", "ct256")


def check_tools(fmax=True):
    need = ["yosys"] + (["nextpnr-ice40"] if fmax else [])
    for tool in need:
        if shutil.which(tool) is None:
            raise ToolMissing(f"{tool} not found: install the Debian package '{tool}' (or run 'make setup')")


def tool_versions(fmax=True):
    v = {"yosys": subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()}
    if fmax:
        r = subprocess.run(["nextpnr-ice40", "--version"], capture_output=True, text=True)
        v["nextpnr-ice40"] = (r.stdout + r.stderr).strip().splitlines()[0]
    return v


def _decl(p):
    rng = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
    return f"{'signed ' if p['signed'] else ''}{rng}{p['name']}"


def exact_name(cfg, op):
    """Module name of the exact baseline for ``op`` of ``cfg``."""
    return f"exact_{op}_{'s' if cfg.signed else 'u'}{cfg.width}" + (f"_q{cfg.quotient_frac_bits}" if op == "div" else "")


def exact_baseline(cfg, op, stages):
    """What the design is compared with, in words (printed by ``mitchell cost``)."""
    kind = f"{'signed' if cfg.signed else 'unsigned'} {cfg.width}-bit"
    if op == "mul":
        if stages:
            return (f"exact {kind} multiplier a*b pipelined with the same {stages} stage{'s' if stages > 1 else ''} "
                    f"and handshake (b in {min(stages + 1, cfg.width)} digit groups, one per stage)")
        return f"exact {kind} multiplier a*b, combinational"
    if stages:
        rows = cfg.width + cfg.quotient_frac_bits
        return (f"exact {kind} divider (a << {cfg.quotient_frac_bits}) / b pipelined with the same {stages} "
                f"stage{'s' if stages > 1 else ''} and handshake (restoring, {rows} quotient rows in "
                f"{min(stages + 1, rows)} groups, one per stage)")
    return f"exact {kind} divider (a << {cfg.quotient_frac_bits}) / b, combinational"


def exact_verilog(cfg, op, name):
    """An exact multiplier (``a*b``) or divider (``floor``/toward-zero ``a * 2**Q / b``, with
    ``dbz`` and the same saturated quotient as Mitchell's) of ``cfg``'s widths and signedness."""
    w, s = cfg.width, cfg.signed
    sg = "signed " if s else ""
    if op == "mul":
        return (f"module {name}(input {sg}[{w - 1}:0] a, input {sg}[{w - 1}:0] b, "
                f"output {sg}[{2 * w - 1}:0] p);\n  assign p = a * b;\nendmodule\n")
    qf, qw = cfg.quotient_frac_bits, cfg.quotient_width
    mag = w + qf
    sat_pos = f"{{{qw - mag}'b0, {{{mag}{{1'b1}}}}}}" if qw > mag else f"{{{mag}{{1'b1}}}}"
    sat = (f"(a < 0 ? {{1'b1, {mag}'b0}} : {sat_pos})" if s else sat_pos)
    # The quotient gets its own wire: in one expression with the (unsigned) concatenation
    # of the saturated value, Verilog would evaluate the division unsigned.
    return (f"module {name}(input {sg}[{w - 1}:0] a, input {sg}[{w - 1}:0] b, "
            f"output {sg}[{qw - 1}:0] q, output dbz);\n"
            f"  wire {sg}[{qw - 1}:0] num = a;\n"
            f"  wire {sg}[{qw - 1}:0] den = b;\n"
            f"  wire {sg}[{qw - 1}:0] quo = (num <<< {qf}) / den;\n"
            f"  wire [{qw - 1}:0] sat = {sat};\n"
            f"  assign dbz = (b == 0);\n"
            f"  assign q = dbz ? sat : quo;\n"
            f"endmodule\n")


def exact_pipelined_mul(cfg, name, stages):
    """An exact multiplier cut into ``stages + 1`` stages, with the generated units' handshake: the like-for-like
    baseline of a pipelined design.

    ``b`` is split into ``min(stages + 1, width)`` digit groups (low to high, sizes within one bit); stage ``k``
    adds ``a * group_k`` (shifted to its place) to the partial sum of the stages before it, so each stage is a
    ``width x width/(stages+1)`` multiply and one add.  Stages beyond ``width`` become output registers.  The
    registers move on one enable, ``~o_valid | o_ready`` (``i_ready``), and a valid bit travels with the data,
    as in :class:`hdl.staged.Staged`; ``rst`` clears the valid bits.  Latency: ``stages`` cycles.
    """
    w, s = cfg.width, cfg.signed
    if not 1 <= stages:
        raise ValueError(f"stages must be >= 1 for a pipelined baseline, got {stages}")
    n = min(stages + 1, w)
    sizes = [w // n + (1 if i < w % n else 0) for i in range(n)]
    los = [sum(sizes[:i]) for i in range(n)]
    sg = "signed " if s else ""
    pw = 2 * w
    lines = [f"module {name}(input clk, input rst, input {sg}[{w - 1}:0] a, input {sg}[{w - 1}:0] b, "
             f"input i_valid, input o_ready, output {sg}[{pw - 1}:0] p, output i_ready, output o_valid);",
             "  wire adv = ~o_valid | o_ready;",
             "  assign i_ready = adv;"]

    def term(av, bv, k):
        lo, hi = los[k], los[k] + sizes[k]
        grp = f"{bv}[{hi - 1}:{lo}]"
        if not s:
            return f"({av} * {grp}) << {lo}"        # evaluated at the 2w bits of the sum (Verilog's sizing)
        # two's complement: the top group carries the sign, the lower groups are unsigned digits
        digit = f"$signed({grp})" if k == n - 1 else f"$signed({{1'b0, {grp}}})"
        return f"($signed({av}) * {digit}) <<< {lo}"

    av, bv, vv, acc = "a", "b", "i_valid", None
    n_reg = 0

    def reg(names_widths, valid):
        nonlocal n_reg
        n_reg += 1
        out = []
        for nm, decl, src in names_widths:
            lines.append(f"  reg {decl} s{n_reg}_{nm};")
            out.append((f"s{n_reg}_{nm}", src))
        lines.append(f"  reg s{n_reg}_valid;")
        body = " ".join(f"{r} <= {src};" for r, src in out)
        lines.append(f"  always @(posedge clk) if (rst) s{n_reg}_valid <= 1'b0; "
                     f"else if (adv) begin s{n_reg}_valid <= {valid}; {body} end")
        return [r for r, _ in out], f"s{n_reg}_valid"

    for k in range(n):
        lines.append(f"  wire {sg}[{pw - 1}:0] sum{k} = " + (f"{acc} + " if acc else "") + f"({term(av, bv, k)});")
        acc = f"sum{k}"
        if k < n - 1:
            (acc, av, bv), vv = reg([("acc", f"{sg}[{pw - 1}:0]", acc), ("a", f"{sg}[{w - 1}:0]", av),
                                     ("b", f"{sg}[{w - 1}:0]", bv)], vv)
    for _ in range(stages - (n - 1)):
        (acc,), vv = reg([("acc", f"{sg}[{pw - 1}:0]", acc)], vv)
    lines += [f"  assign p = {acc};", f"  assign o_valid = {vv};", "endmodule", ""]
    return "\n".join(lines)


def exact_pipelined_div(cfg, name, stages):
    """An exact divider (the semantics of :func:`exact_verilog`'s: ``(a << Q) / b`` toward zero, ``dbz`` and the
    saturated quotient) as a restoring divider cut into ``stages + 1`` stages, with the generated units'
    handshake: the like-for-like baseline of a pipelined divider.

    The ``width + Q`` quotient bits are computed one per row (shift in a numerator bit, subtract the divisor
    where it fits) on the operands' magnitudes; the rows are split into ``min(stages + 1, width + Q)`` groups of
    sizes within one row, a register stage after each group but the last; further stages are output registers.
    The sign and the saturation are applied after the last row.  Enable and valid bits as in
    :func:`exact_pipelined_mul`.  Latency: ``stages`` cycles.
    """
    w, s, qf, qw = cfg.width, cfg.signed, cfg.quotient_frac_bits, cfg.quotient_width
    if not 1 <= stages:
        raise ValueError(f"stages must be >= 1 for a pipelined baseline, got {stages}")
    m = w + qf                                   # quotient magnitude bits
    n = min(stages + 1, m)
    sizes = [m // n + (1 if i < m % n else 0) for i in range(n)]
    sg = "signed " if s else ""
    lines = [f"module {name}(input clk, input rst, input {sg}[{w - 1}:0] a, input {sg}[{w - 1}:0] b, "
             f"input i_valid, input o_ready, output {sg}[{qw - 1}:0] q, output dbz, output i_ready, output o_valid);",
             "  wire adv = ~o_valid | o_ready;",
             "  assign i_ready = adv;"]
    if s:
        lines += [f"  wire [{w - 1}:0] am0 = a[{w - 1}] ? -a : a;", f"  wire [{w - 1}:0] bm0 = b[{w - 1}] ? -b : b;",
                  f"  wire neg0 = a[{w - 1}] ^ b[{w - 1}];", f"  wire an0 = a[{w - 1}];"]
    else:
        lines += [f"  wire [{w - 1}:0] am0 = a;", f"  wire [{w - 1}:0] bm0 = b;", "  wire neg0 = 1'b0;",
                  "  wire an0 = 1'b0;"]
    lines += ["  wire z0 = (b == 0);", f"  wire [{w - 1}:0] r_init = {w}'d0;", f"  wire [{m - 1}:0] q_init = {m}'d0;"]
    env = {"am": "am0", "bm": "bm0", "neg": "neg0", "an": "an0", "z": "z0", "r": "r_init", "q": "q_init"}
    decl = {"am": f"[{w - 1}:0]", "bm": f"[{w - 1}:0]", "neg": "", "an": "", "z": "", "r": f"[{w - 1}:0]",
            "q": f"[{m - 1}:0]"}
    valid, n_reg, row = "i_valid", 0, m - 1

    def reg(keys):
        nonlocal n_reg, valid
        n_reg += 1
        body = []
        for k in keys:
            lines.append(f"  reg {decl[k]} s{n_reg}_{k};".replace("reg  ", "reg "))
            body.append(f"s{n_reg}_{k} <= {env[k]};")
            env[k] = f"s{n_reg}_{k}"
        lines.append(f"  reg s{n_reg}_valid;")
        lines.append(f"  always @(posedge clk) if (rst) s{n_reg}_valid <= 1'b0; "
                     f"else if (adv) begin s{n_reg}_valid <= {valid}; {' '.join(body)} end")
        valid = f"s{n_reg}_valid"

    for g in range(n):
        for _ in range(sizes[g]):
            i = row
            nbit = f"{env['am']}[{i - qf}]" if i >= qf else "1'b0"      # numerator |a| << Q, bit i
            lines += [f"  wire [{w}:0] t{i} = {{{env['r']}, {nbit}}};",
                      f"  wire [{w}:0] d{i} = t{i} - {{1'b0, {env['bm']}}};",
                      f"  wire ge{i} = t{i} >= {{1'b0, {env['bm']}}};",
                      f"  wire [{w - 1}:0] r{i} = ge{i} ? d{i}[{w - 1}:0] : t{i}[{w - 1}:0];",
                      f"  wire [{m - 1}:0] qq{i} = {env['q']} | ({{{m - 1}'d0, ge{i}}} << {i});"]
            env["r"], env["q"] = f"r{i}", f"qq{i}"
            row -= 1
        if g < n - 1:
            reg(["am", "bm", "neg", "an", "z", "r", "q"])
    sat = (f"({env['an']} ? {{1'b1, {m}'d0}} : {{1'b0, {{{m}{{1'b1}}}}}})" if s else f"{{{m}{{1'b1}}}}")
    quo = (f"({env['neg']} ? -$signed({{1'b0, {env['q']}}}) : $signed({{1'b0, {env['q']}}}))" if s else env["q"])
    lines += [f"  wire {sg}[{qw - 1}:0] res = {env['z']} ? {sat} : {quo};", f"  wire resz = {env['z']};"]
    env.update(res="res", resz="resz")
    decl.update(res=f"{sg}[{qw - 1}:0]", resz="")
    for _ in range(stages - (n - 1)):
        reg(["res", "resz"])
    lines += [f"  assign q = {env['res']};", f"  assign dbz = {env['resz']};", f"  assign o_valid = {valid};",
              "endmodule", ""]
    return "\n".join(lines)


def registered_wrapper(core, ports, name):
    """``name`` wraps module ``core``: every data input and output through a register on ``clk``.
    Handshake inputs are tied to 'always valid / always ready'."""
    lines = [f"module {name}(input clk,"]
    data = [p for p in ports if p["name"] not in ("clk", "rst", "i_valid", "i_ready", "o_valid", "o_ready")]
    lines.append(",\n".join(f"  {'input' if p['direction'] == 'in' else 'output reg'} {_decl(p)}" for p in data))
    lines.append(");")
    conns = []
    for p in data:
        lines.append(f"  reg {_decl({**p, 'name': p['name'] + '_r'})};" if p["direction"] == "in"
                     else f"  wire {_decl({**p, 'name': p['name'] + '_w'})};")
        conns.append(f".{p['name']}({p['name']}_r)" if p["direction"] == "in" else f".{p['name']}({p['name']}_w)")
    names = {p["name"] for p in ports}
    if "clk" in names:
        conns += [".clk(clk)", ".rst(1'b0)", ".i_valid(1'b1)", ".o_ready(1'b1)"]
    lines.append(f"  {core} core({', '.join(conns)});")
    lines.append("  always @(posedge clk) begin")
    for p in data:
        lines.append(f"    {p['name']}_r <= {p['name']};" if p["direction"] == "in" else f"    {p['name']} <= {p['name']}_w;")
    lines.append("  end\nendmodule\n")
    return "\n".join(lines)


def _run(cmd, cwd, what):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        # the work folder is temporary: the reason is quoted, there is no log to point at
        raise ToolError(f"{what} failed ({cmd[0]})", log_reason(r.stderr, r.stdout))
    return r.stdout + r.stderr


ABC_FLOWS = ("fast", "full")


def generic_script(top, abc="fast"):
    """The yosys commands of the generic-gate netlist (``cells``, ``depth``; :mod:`sim.power` simulates it)."""
    if abc not in ABC_FLOWS:
        raise ValueError(f"abc must be one of {ABC_FLOWS}, got {abc!r}")
    return f"synth -flatten -top {top}; abc -g {GENERIC_GATES}{' -fast' if abc == 'fast' else ''}; opt_clean"


def synth_metrics(verilog_text, top, *, wrapper=None, fmax=True, abc="fast", cache_dir=None):
    """Cells, depth, iCE40 LUTs (and Fmax, via ``wrapper`` = (text, top) of the registered design)."""
    if abc not in ABC_FLOWS:
        raise ValueError(f"abc must be one of {ABC_FLOWS}, got {abc!r}")
    versions = tool_versions(fmax)
    key = hashlib.sha256(json.dumps([verilog_text, top, wrapper, fmax, abc, versions]).encode()).hexdigest()[:24]
    if cache_dir:
        path = os.path.join(cache_dir, f"{top}_{key}.json")
        if os.path.exists(path):
            with open(path) as f:
                return {**json.load(f), "cached": True}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "design.v").write_text(verilog_text)
        _run(["yosys", "-q", "-p", f"read_verilog design.v; {generic_script(top, abc)}; "
              "tee -o stat.txt stat; tee -o ltp.txt ltp -noff"], d, f"yosys generic synthesis of {top}")
        stat = (d / "stat.txt").read_text()
        ltp = (d / "ltp.txt").read_text()
        cells = int(re.search(r"Number of cells:\s+(\d+)", stat).group(1))
        depth = int(re.search(r"Longest topological path in \S+ \(length=(\d+)\)", ltp).group(1))
        _run(["yosys", "-q", "-p", f"read_verilog design.v; synth_ice40 -top {top}; tee -o ice.txt stat"],
             d, f"yosys synth_ice40 of {top}")
        m = re.search(r"SB_LUT4\s+(\d+)", (d / "ice.txt").read_text())
        res = {"cells": cells, "depth": depth, "ice40_luts": int(m.group(1)) if m else 0, "fmax_mhz": None}
        if fmax:
            wtext, wtop = wrapper
            (d / "wrapped.v").write_text(verilog_text + "\n" + wtext)
            _run(["yosys", "-q", "-p", f"read_verilog wrapped.v; synth_ice40 -top {wtop} -json wrapped.json"],
                 d, f"yosys synth_ice40 of {wtop}")
            r = subprocess.run(["nextpnr-ice40", *DEVICE, "--json", "wrapped.json", "--freq", "1", "--seed", "1",
                                "--timing-allow-fail"], cwd=d, capture_output=True, text=True)
            log = r.stdout + r.stderr
            if r.returncode != 0 and re.search(r"Failed to expand region|Unable to place|not enough", log):
                res["fmax_note"] = f"does not fit the iCE40 {DEVICE[0][2:].upper()}"
            elif r.returncode != 0:
                raise ToolError(f"nextpnr-ice40 of {wtop} failed", log_reason(log))
            else:
                freqs = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", log)
                res["fmax_mhz"] = float(freqs[-1]) if freqs else None
    res["tools"] = versions
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        with open(path, "w") as f:
            json.dump(res, f)
    return {**res, "cached": False}


def _default_cache(cache_dir):
    """``cost/`` of the user cache (:mod:`pymodel.cache`) for ``None``; ``""`` caches nothing."""
    if cache_dir is None:
        from pymodel.cache import cache_path
        return str(cache_path("cost"))
    return cache_dir


def cost(cfg, op, *, stages=0, fmax=True, abc="fast", cache_dir=None, progress=None):
    """Design ``cfg``'s ``op`` against the exact operator of the same widths, in one run.

    Returns ``{"design", "width", "config", "op", "stages", "approx": {cells, depth, ice40_luts,
    fmax_mhz}, "exact": {...}, "ratio": {...}, "baseline", ...}``, the same keys for every design:
    ``"approx"`` holds the design's figures (its name is ``"design"``), ``"baseline"`` says what the
    exact operator is.  With ``stages`` the exact operator is pipelined the same way
    (:func:`exact_pipelined_mul`, :func:`exact_pipelined_div`).  Both are registered at their inputs and outputs for Fmax.
    Results are cached in ``cache_dir`` (default ``cost/`` of the user cache; ``""``: none).
    """
    cache_dir = _default_cache(cache_dir)
    from pymodel.designs.base import Design
    if not isinstance(cfg, Design):
        raise TypeError(f"cfg must be a design config (pymodel.registry), got {type(cfg).__name__}")
    if op not in cfg.OPS:
        raise ValueError(f"design {cfg.NAME!r} has no {op!r} (it has {', '.join(cfg.OPS)})")
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    check_tools(fmax)
    text, comp, name = generate(cfg, op, stages=stages)
    ports = ports_of(comp)
    mitchell = synth_metrics(text, name, wrapper=(registered_wrapper(name, ports, name + "_reg"), name + "_reg"),
                             fmax=fmax, abc=abc, cache_dir=cache_dir)
    if progress is not None:
        progress()         # one call per design synthesized (Mitchell, then exact)
    ename = exact_name(cfg, op)
    if stages:
        # like with like: the exact operator pipelined with the same stages and handshake
        ename += f"_p{stages}"
        etext = (exact_pipelined_mul if op == "mul" else exact_pipelined_div)(cfg, ename, stages)
        eports = ports
    else:
        etext = exact_verilog(cfg, op, ename)
        eports = [p for p in ports if p["name"] in ("a", "b", "p", "q", "dbz")]
    exact = synth_metrics(etext, ename, wrapper=(registered_wrapper(ename, eports, ename + "_reg"), ename + "_reg"),
                          fmax=fmax, abc=abc, cache_dir=cache_dir)
    if progress is not None:
        progress()
    keys = ("cells", "depth", "ice40_luts", "fmax_mhz")
    ratio = {k: (mitchell[k] / exact[k] if mitchell[k] is not None and exact[k] else None) for k in keys}
    notes = {d: r["fmax_note"] for d, r in (("approx", mitchell), ("exact", exact)) if r.get("fmax_note")}
    return {"design": cfg.NAME, "width": cfg.width, "config": cfg.as_dict(), "op": op, "stages": stages, "module": name, "abc": abc,
            "baseline": exact_baseline(cfg, op, stages),
            "notes": notes, "approx": {k: mitchell[k] for k in keys}, "exact": {k: exact[k] for k in keys},
            "ratio": ratio,
            "cached": mitchell["cached"] and exact["cached"], "tools": mitchell["tools"]}


def pareto_frac_bits(width):
    """The truncation points swept for the Pareto plot at ``width``."""
    return sorted({width - 1, (3 * width) // 4, width // 2, width // 4, 3, 1} - {0})


def pareto(widths, op="mul", *, signed=False, abc="fast", samples=1 << 20, seed=0, cache_dir=None,
           progress=None):
    """MRED against generic cells for ``widths`` x ``pareto_frac_bits``, plus each width's exact cells.

    The multiplier's MRED is exact over every pair at every width (``method="exact"``); the divider's is
    exhaustive up to 12 bits and ``samples`` seeded pairs above.  ``cache_dir`` as for :func:`cost`."""
    from pymodel.metrics import error_metrics
    cache_dir = _default_cache(cache_dir)
    check_tools(fmax=False)
    rows = []
    for w in widths:
        base = Mitchell(width=w, signed=signed)
        ename = exact_name(base, op)
        ex = synth_metrics(exact_verilog(base, op, ename), ename, fmax=False, abc=abc, cache_dir=cache_dir)
        rows.append({"width": w, "design": "exact", "frac_bits": None, "cells": ex["cells"], "depth": ex["depth"],
                     "mred": 0.0})
        for f in pareto_frac_bits(w):
            cfg = Mitchell(width=w, frac_bits=f, signed=signed)
            text, _, name = generate(cfg, op)
            r = synth_metrics(text, name, fmax=False, abc=abc, cache_dir=cache_dir)
            m = (error_metrics(cfg, op, method="exact") if op == "mul"
                 else error_metrics(cfg, op, samples=None if w <= 12 else samples, seed=seed))
            rows.append({"width": w, "design": "mitchell", "frac_bits": f, "cells": r["cells"], "depth": r["depth"],
                         "mred": m["mred"], "exhaustive": m["exhaustive"]})
            if progress is not None:
                progress()
    return rows
