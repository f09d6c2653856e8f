"""A user's Verilog file (hand-edited RTL, a gate-level netlist) in place of the generated unit.

Every verification flow takes ``verilog=(text, component, module)``; :func:`load` makes that
triple from a file: the text every tool reads, the *generated* component of the chosen design
(its ports, stages and latency are the contract the file must meet) and the file's top module.

Conditional compilation.  Each tool predefines its own macros (yosys ``YOSYS`` and
``SYNTHESIS``, Icarus ``__ICARUS__``, Verilator ``VERILATOR``), so a file with
`` `ifndef YOSYS`` would be simulated with one body and proven with another.  :func:`resolve_conditionals`
therefore evaluates every `` `ifdef``/`` `ifndef``/`` `elsif``/`` `else`` once, with the stated
defines only (``defines``, default none, plus the file's own `` `define``/`` `undef``), and
every tool reads the resolved text, which has no conditionals left.  `` `include`` is refused
(the file must be self-contained).

Ports are checked against the contract: names, directions, widths and signedness.  A port
declared ``signed`` where the contract is unsigned is an error; a port declared unsigned where
the contract is signed is accepted with a note, because yosys ``write_verilog`` drops ``signed``
from a netlist's ports and the flows compare bits (read as two's complement).  A clocked file's
latency is measured (one beat through Icarus after reset) and must equal ``stages`` when given.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

from hdl.tools import ToolError, ToolMissing, log_reason
from hdl.verilog import generate, ports_of
from pymodel.cache import cache_path

__all__ = ["load", "resolve_conditionals", "read_ports", "check_ports", "measure_latency", "PortMismatch",
           "DEFAULT_BUILD_ROOT", "MAX_LATENCY"]

DEFAULT_BUILD_ROOT = Path("build") / "user_verilog"
MAX_LATENCY = 8          # the generator's stage range: the contract of a deeper pipeline cannot be built

_NAME = r"[A-Za-z_][A-Za-z0-9_$]*"
_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"'
                    r"|`(ifdef|ifndef|elsif|else|endif|define|undef|include|undefineall)\b", re.S)


class PortMismatch(ValueError):
    """The file's ports or latency differ from the design's contract (bad input: exit 2)."""


def _line(text, pos):
    return text.count("\n", 0, pos) + 1


def resolve_conditionals(text, defines=(), origin="the file"):
    """Evaluate the conditional-compilation directives of ``text`` once; return ``(text, decisions)``.

    Parameters
    ----------
    text : str
        Verilog source.
    defines : iterable of str
        Macro names defined before the file (``NAME`` or ``NAME=VALUE``; the value goes into the
        text as a `` `define`` so every tool expands it alike).
    origin : str
        How errors name the file.

    Returns
    -------
    (str, list of dict)
        The text with every `` `ifdef`` block resolved (kept branches only, directives removed,
        the line count unchanged), and one ``{"line", "directive", "macro", "taken"}`` per
        condition evaluated.
    """
    defined, head = set(), []
    for d in defines:
        name, _, value = str(d).partition("=")
        if not re.fullmatch(_NAME, name):
            raise ValueError(f"--define {d!r}: not a macro name (letters, digits, _ and $, not starting with a digit)")
        defined.add(name)
        head.append(f"`define {name} {value}".rstrip())
    out, decisions = [], []
    stack = []            # per open `ifdef: [parent_active, taken_a_branch, this_branch_active]
    pos = 0

    def active():
        return all(f[2] for f in stack)

    def keep(s):
        # inactive code goes, but its newlines stay: tools report the file's own line numbers
        out.append(s if active() else "\n" * s.count("\n"))

    for m in _TOKEN.finditer(text):
        keep(text[pos:m.start()])
        pos = m.end()
        kind = m.group(1)
        if kind is None:                     # a comment or a string: copied (or blanked) as it is
            keep(m.group(0))
            continue
        line = _line(text, m.start())
        if kind in ("ifdef", "ifndef", "elsif", "define", "undef"):
            nm = re.compile(r"[ \t]+(" + _NAME + ")").match(text, pos)
            if nm is None:
                raise ValueError(f"{origin} line {line}: `{kind} without a macro name")
            name, pos = nm.group(1), nm.end()
        if kind in ("ifdef", "ifndef"):
            cond = (name in defined) == (kind == "ifdef")
            take = active() and cond
            stack.append([active(), cond, cond])
            if stack[-1][0]:
                decisions.append({"line": line, "directive": f"`{kind} {name}", "macro": name, "taken": cond})
        elif kind == "elsif":
            if not stack:
                raise ValueError(f"{origin} line {line}: `elsif without `ifdef")
            f = stack[-1]
            cond = not f[1] and name in defined
            f[2], f[1] = cond, f[1] or cond
            if f[0]:
                decisions.append({"line": line, "directive": f"`elsif {name}", "macro": name, "taken": cond})
        elif kind == "else":
            if not stack:
                raise ValueError(f"{origin} line {line}: `else without `ifdef")
            f = stack[-1]
            f[2], f[1] = not f[1], True
        elif kind == "endif":
            if not stack:
                raise ValueError(f"{origin} line {line}: `endif without `ifdef")
            stack.pop()
        elif kind == "include":
            if active():
                raise ValueError(f"{origin} line {line}: `include is not supported: give one self-contained file "
                                 "(every tool must read the same text)")
        elif kind == "undefineall":
            if active():
                defined.clear()
                out.append("`undefineall")
        else:                                # define / undef: tracked, and kept for the tools' own expansion
            if kind == "define":
                body = re.compile(r"(?:[^\n\\]|\\.|\\\n)*", re.S).match(text, pos)
                pos = body.end()
                if active():
                    defined.add(name)
                    out.append(f"`define {name}{body.group(0)}")
                else:
                    out.append("\n" * body.group(0).count("\n"))
            elif active():
                defined.discard(name)
                out.append(f"`undef {name}")
    keep(text[pos:])
    if stack:
        raise ValueError(f"{origin}: {len(stack)} `ifdef/`ifndef block(s) not closed by `endif")
    # the stated defines first, one per line (a `define runs to the end of its line)
    return "".join(h + "\n" for h in head) + "".join(out), decisions


def _yosys_json(text, d, tag):
    if shutil.which("yosys") is None:
        raise ToolMissing("yosys not found: install the Debian package 'yosys' (or run 'make setup')")
    (d / f"{tag}.v").write_text(text)
    r = subprocess.run(["yosys", "-q", "-l", f"{tag}.log", "-p", f"read_verilog {tag}.v; proc; write_json {tag}.json"],
                       cwd=d, capture_output=True, text=True)
    if r.returncode != 0:
        raise ValueError("yosys cannot read the Verilog: " + (log_reason(r.stderr, path=d / f"{tag}.log") or "")
                         + f" (log: {d / f'{tag}.log'})")
    return json.loads((d / f"{tag}.json").read_text())["modules"]


def read_ports(text, top=None, build_dir=None):
    """``(top, ports)`` of the Verilog: the top module (``top``, or the one module no other instantiates)
    and its ports ``[{"name", "direction", "width", "signed"}]`` as yosys reads them."""
    d = Path(build_dir) if build_dir else cache_path(DEFAULT_BUILD_ROOT)
    d.mkdir(parents=True, exist_ok=True)
    mods = _yosys_json(text, d, "ports")
    mods = {k: v for k, v in mods.items() if not v.get("attributes", {}).get("blackbox")}
    if top is None:
        used = {c["type"] for m in mods.values() for c in m.get("cells", {}).values()}
        tops = sorted(set(mods) - used)
        if len(tops) != 1:
            raise ValueError(f"the file has {len(tops)} top-level modules ({', '.join(tops) or 'none'}): "
                             "name one with --top MODULE")
        top = tops[0]
    elif top not in mods:
        raise ValueError(f"--top {top}: no such module in the file (it has {', '.join(sorted(mods)) or 'none'})")
    ports = [{"name": n, "direction": {"input": "in", "output": "out"}.get(p["direction"], p["direction"]),
              "width": len(p["bits"]), "signed": bool(p.get("signed", 0))} for n, p in mods[top]["ports"].items()]
    return top, ports


def _fmt(p):
    return f"{p['name']} ({p['direction']}, {'signed ' if p['signed'] else ''}{p['width']} bit{'s' * (p['width'] != 1)})"


def check_ports(got, want, what):
    """Raise :class:`PortMismatch` naming every difference of ports ``got`` from the contract ``want``;
    return the notes on accepted differences (an unsigned declaration of a signed port)."""
    g, w = {p["name"]: p for p in got}, {p["name"]: p for p in want}
    diffs, notes = [], []
    for n, p in w.items():
        if n not in g:
            diffs.append(f"missing port {_fmt(p)}")
            continue
        q = g[n]
        if q["direction"] != p["direction"]:
            diffs.append(f"port {n} is an {q['direction']}put, the contract has an {p['direction']}put")
        if q["width"] != p["width"]:
            diffs.append(f"port {n} has {q['width']} bits, the contract {p['width']}")
        if q["signed"] and not p["signed"]:
            diffs.append(f"port {n} is declared signed, the contract's is unsigned (add or drop --signed?)")
        elif p["signed"] and not q["signed"]:
            notes.append(n)
    for n in g:
        if n not in w:
            diffs.append(f"extra port {_fmt(g[n])}")
    if diffs:
        raise PortMismatch(f"{what} does not match the contract: " + "; ".join(diffs)
                           + ". The contract's ports: " + ", ".join(_fmt(p) for p in want))
    if notes:
        notes = [f"ports {', '.join(notes)} are declared unsigned (as yosys write_verilog writes a netlist's ports); "
                 "their bits are checked as two's complement"]
    return notes


def measure_latency(text, top, ports, build_dir=None, max_cycles=4 * MAX_LATENCY):
    """Cycles from an accepted beat to ``o_valid`` (Icarus: reset 3 cycles, one beat ``a = b = 1``, ``o_ready``
    high); None when nothing comes out within ``max_cycles``."""
    for tool in ("iverilog", "vvp"):
        if shutil.which(tool) is None:
            raise ToolMissing(f"{tool} not found: install Icarus Verilog (Debian package 'iverilog')")
    d = Path(build_dir) if build_dir else cache_path(DEFAULT_BUILD_ROOT)
    d.mkdir(parents=True, exist_ok=True)
    (d / "unit.v").write_text(text)
    decl, conns = [], []
    for p in ports:
        rng = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        decl.append(f"  {'reg' if p['direction'] == 'in' else 'wire'} {rng}{p['name']};")
        conns.append(f".{p['name']}({p['name']})")
    tb = "\n".join([
        "`timescale 1ns/1ps", "module latency_tb;", *decl,
        f"  {top} dut ({', '.join(conns)});",
        "  integer c;",
        "  initial begin",
        "    clk = 0; rst = 1; i_valid = 0; o_ready = 1; a = 1; b = 1;",
        "    repeat (3) begin #1 clk = 1; #1 clk = 0; end",
        "    rst = 0; i_valid = 1; #1;",
        "    if (!i_ready) begin $display(\"LATENCY not-ready\"); $finish; end",
        "    clk = 1; #1 clk = 0; i_valid = 0;",
        f"    for (c = 1; c <= {max_cycles}; c = c + 1) begin",
        "      #1 if (o_valid) begin $display(\"LATENCY %0d\", c); $finish; end",
        "      clk = 1; #1 clk = 0;",
        "    end",
        "    $display(\"LATENCY none\"); $finish;",
        "  end", "endmodule", ""])
    (d / "latency_tb.v").write_text(tb)
    r = subprocess.run(["iverilog", "-g2005", "-o", "latency.vvp", "-s", "latency_tb", "unit.v", "latency_tb.v"],
                       cwd=d, capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolError("iverilog could not build the latency bench", log_reason(r.stderr, r.stdout))
    r = subprocess.run(["vvp", "-n", "latency.vvp"], cwd=d, capture_output=True, text=True, timeout=60)
    m = re.search(r"LATENCY (\S+)", r.stdout)
    if m is None:
        raise ToolError("the latency bench printed nothing", log_reason(r.stderr, r.stdout))
    return int(m.group(1)) if m.group(1).isdigit() else None


def load(path, cfg, op, *, top=None, stages=None, defines=(), build_root=None):
    """Read a user's Verilog file as the unit of ``op`` on ``cfg``; return ``(verilog, info)``.

    ``verilog`` is the ``(text, component, module)`` every flow takes (``component`` is the
    generated unit of ``stages``: the contract); ``info`` states how the file was read:
    ``file``, ``top``, ``defines``, ``conditionals`` (each directive and whether it was taken),
    ``stages``, ``latency`` (``"given"`` or ``"measured"``), ``ports`` and ``notes``.

    Raises ValueError (:class:`PortMismatch` for the contract) naming what differs, before any flow runs.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--verilog {path}: no such file")
    try:
        raw = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"--verilog {path}: cannot read it as text: {e}") from None
    text, decisions = resolve_conditionals(raw, defines, origin=f"--verilog {path}")
    root = Path(build_root) if build_root else cache_path(DEFAULT_BUILD_ROOT)
    d = root / re.sub(r"[^A-Za-z0-9_.-]", "_", p.stem)
    top, got = read_ports(text, top, d)
    what = f"--verilog {path} (module {top}) against {type(cfg).__name__} ({cfg.describe()}) {op}"
    clocked = any(q["name"] == "clk" for q in got)
    latency_how = "given"
    if clocked:
        ref = generate(cfg, op, stages=1)[1]           # the handshake ports are the same for every stage count
        check_ports(got, ports_of(ref), what)
        measured = measure_latency(text, top, got, d)
        if measured is None:
            raise PortMismatch(f"{what}: no o_valid within {4 * MAX_LATENCY} cycles of an accepted beat "
                               "(i_valid with i_ready after reset, o_ready high)")
        if stages is None:
            stages, latency_how = measured, "measured"
        elif stages != measured:
            raise PortMismatch(f"{what}: --stages {stages}, but the file's latency is {measured} cycle(s) "
                               "(measured: one beat after reset)")
        if not 1 <= stages <= MAX_LATENCY:
            raise PortMismatch(f"{what}: latency {stages} cycles; the contract covers 1..{MAX_LATENCY}")
    elif stages is None:
        stages, latency_how = 0, None
    _, comp, _ = generate(cfg, op, stages=stages)
    want = ports_of(comp)
    notes = check_ports(got, want, what)
    if clocked and latency_how == "given":
        latency_how = "given, and measured equal"
    info = {"file": str(p), "top": top, "defines": list(defines), "conditionals": decisions, "stages": stages,
            "latency": latency_how, "ports": got, "notes": notes}
    return (text, comp, top), info


def describe(info):
    """One line on how the file was read (for the text output)."""
    conds = info["conditionals"]
    how = (f"{len(conds)} conditional(s) resolved once for every tool with defines "
           f"{', '.join(info['defines']) or '(none)'}: "
           + ", ".join(f"line {c['line']} {c['directive']} {'taken' if c['taken'] else 'skipped'}" for c in conds)
           if conds else f"no conditional compilation; defines {', '.join(info['defines']) or '(none)'}")
    lat = f"latency {info['stages']} ({info['latency']})" if info["stages"] else "combinational"
    return f"file {info['file']}, module {info['top']}, {lat}; {how}" + "".join(f"; {n}" for n in info["notes"])
