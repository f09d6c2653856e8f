"""Equivalence proofs with yosys: the generated design against the hardware spec (:mod:`hdl.spec`).

Combinational units: ``miter -equiv`` of spec (gold) and design (gate), then
either the miter as an AIG to ABC's ``strash; iprove`` (fraig-based: merges the
equivalent internal nodes, so the miter output collapses to constant 0; seconds
even at 32 bits, most of the time being yosys' own mapping), or ``sat -prove``
alone (enough at 16 bits, not at 32).  A difference is found by ``sat``, whose
model is printed as operands.

Pipelined units (``stages = S``): a wrapper ties ``rst`` low, leaves ``i_valid``,
``o_ready`` and the operands free in every cycle, delays the operands and ``i_valid``
by ``S`` registers, and proves, from an *arbitrary* initial state, that in cycle
``S+1`` of every window whose first ``S`` cycles never hold the output
(``o_valid & ~o_ready``) ``o_valid`` equals the ``i_valid`` of cycle 1 and, when
valid, the result equals the spec of cycle 1's operands.  Because the initial state
is free, this covers every window of every run, not only the first after reset.
Method ``abc``: the wrapper goes to AIGER, ABC unrolls ``S+1`` frames (``frames``
without ``-i`` leaves the first frame's state free), keeps the last frame's trigger
(``cone``) and runs ``iprove``; method ``sat``: ``sat -seq S+1``.  A difference is
found and named by ``sat -seq``.  With ``stream=True`` (``mitchell verify --prove``)
two more proofs complete the claim for any backpressure and reset
(:mod:`sim.protocol`): a held output freezes every flip-flop (so a run with stalls is
a run without them, repeated), and the handshake properties (nothing taken while
held, occupancy, timing, progress, reset).

Traps avoided here (both make a broken design "pass"): Amaranth marks every
module ``(* top *)``, so a ``flatten`` before ``miter`` can delete the second
design: the attribute is unset first, and the flow checks that both designs
survived; and no ``-ignore_gold_x`` (with an AIGER export it gave a constant-0
miter).  ``tests/test_verify.py`` runs every flow against a wrong design.
"""

import re
import shutil
import subprocess
import time
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from hdl.spec import spec_for
from hdl.tools import MAP_MEMORIES, ToolError, ToolMissing, log_reason
from hdl.verilog import generate, ports_of
from pymodel.cache import cache_path

from .golden import data_outputs

__all__ = ["prove", "METHODS", "DEFAULT_BUILD_ROOT"]

METHODS = ("auto", "abc", "sat")
DEFAULT_BUILD_ROOT = Path("build") / "prove"     # under the user cache (pymodel.cache) unless build_root is given


def _check_yosys():
    if shutil.which("yosys") is None:
        raise ToolMissing("yosys not found: install the Debian package 'yosys' (or run 'make setup')")


def _decl(p):
    return f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""


def _pipeline_wrapper(gate, gold, ports, stages, outs):
    """Verilog of a wrapper whose ``trigger`` is high when the pipelined ``gate`` disagrees with ``gold``.

    ``i_valid`` and ``o_ready`` are free in every cycle; a window of ``S + 1`` cycles counts when no cycle
    of its first ``S`` holds the output back (``o_valid & ~o_ready``: the pipeline then stands still, which
    :func:`sim.protocol.check_freeze` proves).  In its last cycle ``o_valid`` must equal the ``i_valid`` of
    its first, and while valid the outputs must equal the spec of that cycle's operands."""
    by = {p["name"]: p for p in ports}
    lines = [f"module pipe_miter(input clk, input {_decl(by['a'])}in_a, input {_decl(by['b'])}in_b, input in_v, "
             "input in_r, output trigger);"]
    conns = [".clk(clk)", ".rst(1'b0)", ".a(in_a)", ".b(in_b)", ".i_valid(in_v)", ".o_ready(in_r)", ".i_ready()",
             ".o_valid(gate_o_valid)"]
    lines.append("  wire gate_o_valid;")
    lines.append("  wire stall = gate_o_valid & ~in_r;")
    for o in outs:
        lines.append(f"  wire {_decl(by[o])}gate_{o}, gold_{o};")
        conns.append(f".{o}(gate_{o})")
    for s, src, decl in (("a", "in_a", _decl(by["a"])), ("b", "in_b", _decl(by["b"])), ("v", "in_v", ""),
                         ("s", "stall", "")):
        for i in range(stages):
            lines.append(f"  reg {decl}d{s}_{i};")
        lines.append(f"  always @(posedge clk) begin d{s}_0 <= {src};"
                     + "".join(f" d{s}_{i} <= d{s}_{i - 1};" for i in range(1, stages)) + " end")
    lines.append(f"  {gate} gate ({', '.join(conns)});")
    gold_conns = [f".a(da_{stages - 1})", f".b(db_{stages - 1})"] + [f".{o}(gold_{o})" for o in outs]
    lines.append(f"  {gold} gold ({', '.join(gold_conns)});")
    differ = " || ".join(f"(gate_{o} != gold_{o})" for o in outs)
    stalled = " || ".join(f"ds_{i}" for i in range(stages))
    lines.append(f"  assign trigger = !({stalled}) && ((gate_o_valid != dv_{stages - 1})"
                 f" || (gate_o_valid && ({differ})));")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


_ROW = re.compile(r"^\s*(\d+)?\s*\\(\S+)\s+(-?\d+|-+|x+)\s+\S+\s+([01x]+)\s*$")


def _parse_model(log):
    """``{(step, signal): bits}`` from a ``sat`` model table (step None when combinational)."""
    vals = {}
    for line in log.splitlines():
        m = _ROW.match(line)
        if m:
            step = int(m.group(1)) if m.group(1) else None
            vals[(step, m.group(2))] = m.group(4)
    return vals


def _as_int(bits, signed):
    if "x" in bits:
        return None
    v = int(bits, 2)
    if signed and bits[0] == "1":
        v -= 1 << len(bits)
    return v


def prove(cfg, op, *, stages=0, verilog=None, spec=None, method="auto", timeout=600, build_root=None,
          stream=False, _fault=None):
    """Prove the generated unit equal to the spec for every input; return a summary dict.

    With ``stream=True`` a pipelined unit's proof is the whole claim: the data proof (windows in
    which the output is not held), :func:`sim.protocol.check_freeze` (a held output freezes every
    flip-flop) and :func:`sim.protocol.check_protocol` with ``data=False`` (the handshake); the
    result is ``"proven"`` only when all three are, and ``stream`` in the summary holds the last two.

    Parameters
    ----------
    cfg : pymodel config
        The design's config.
    op : str
        ``"mul"`` or ``"div"``.
    stages : int
        Pipeline registers of the generated unit.
    verilog : (str, component, str), optional
        Prove this ``(text, component, module)`` instead of ``generate(cfg, op, stages=...)``.
    spec : amaranth component, optional
        The specification (default :func:`hdl.spec.spec_for`).
    method : str
        ``"abc"`` (ABC ``iprove``, then ``sat``), ``"sat"`` (``sat`` alone) or ``"auto"`` (abc).
    timeout : float
        Seconds before yosys is stopped (the result is then ``"timeout"``).

    Returns
    -------
    dict
        ``result`` (``"proven"``, ``"counterexample"`` or ``"timeout"``), ``counterexample``
        (``a``, ``b``, the design's and the spec's outputs), ``seconds``, ``method``, ``module``,
        ``log`` (the yosys log path); with ``stream``, ``stream`` (``freeze``, ``handshake``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_yosys()
    s = _prove_data(cfg, op, stages, verilog, spec, method, timeout, build_root, _fault)
    if not (stream and s["stages"]):
        return s
    from .protocol import check_freeze, check_protocol
    t0 = time.perf_counter()
    root = Path(build_root).resolve() / "stream" if build_root else None
    fr = check_freeze(cfg, op, stages=s["stages"], timeout=timeout, build_root=root, verilog=verilog, _fault=_fault)
    hs = check_protocol(cfg, op, stages=s["stages"], timeout=timeout, build_root=root, data=False, verilog=verilog,
                        _fault=_fault)
    s["stream"] = {"freeze": fr, "handshake": hs}
    s["data_result"] = s["result"]
    if s["result"] == "proven":
        bad = [p for p in (fr, hs) if p["result"] != "proven"]
        if bad:
            s["result"] = "counterexample" if any(p["result"] == "counterexample" for p in bad) else bad[0]["result"]
            s["proven"] = False
    s["seconds"] = round(s["seconds"] + time.perf_counter() - t0, 2)
    return s


def _prove_data(cfg, op, stages, verilog, spec, method, timeout, build_root, _fault):
    """The data proof of :func:`prove` (combinational miter, or the frames of a pipelined unit)."""
    t0 = time.perf_counter()
    text, comp, module = verilog or generate(cfg, op, stages=stages, _fault=_fault)
    stages = getattr(comp, "stages", stages)
    spec = spec or spec_for(cfg, op)
    gold = f"spec_{module}"
    gold_text = amaranth_verilog.convert(spec, name=gold, emit_src=False)
    outs = list(data_outputs(op))
    ports = ports_of(comp)
    root = Path(build_root).resolve() if build_root else cache_path(DEFAULT_BUILD_ROOT)
    d = root / (module + (f"_{_fault}" if _fault else ""))
    d.mkdir(parents=True, exist_ok=True)
    (d / "gate.v").write_text(text)
    (d / "gold.v").write_text(gold_text)
    # Amaranth marks every module (* top *): unset it, or flatten may delete one of the two designs.
    head = ["read_verilog gate.v", "read_verilog gold.v", "setattr -mod -unset top",
            "proc", MAP_MEMORIES, "flatten", "opt_clean",
            f"select -assert-any {gold}", f"select -assert-any {module}"]
    osig = {p["name"]: p["signed"] for p in ports}
    signed = bool(getattr(cfg, "signed", False))
    if stages == 0:
        method = "abc" if method == "auto" else method
        # only the trigger is an output: iprove treats every output as a miter to prove constant 0
        script = head + [f"miter -equiv -flatten {gold} {module} miter", "hierarchy -top miter", "opt -fast"]
        if method == "abc":
            # the miter as an AIG straight to ABC (not through yosys' abc pass, whose gate mapping round trip
            # left some 32-bit miters to a slow sat): iprove merges equivalent nodes until the trigger is 0
            _run(script + ["techmap", "opt -fast", "aigmap", "opt_clean", "write_aiger -zinit miter.aig"], d, "aiger",
                 timeout)
            res = _abc(d, "read_aiger miter.aig; strash; print_stats; iprove", timeout)
            if res != "counterexample":
                return _summary(cfg, op, module, stages, method, res, None, t0, d / "abc.log")
            # a difference: sat finds it on the miter and names the operands
        script += ["sat -prove trigger 0 -show-inputs"]
        res, out = _run(script, d, "prove", timeout)
        if res != "counterexample":
            return _summary(cfg, op, module, stages, method, res, None, t0, d / "prove.log")
        vals = _parse_model(out)
        a_bits, b_bits = vals.get((None, "in_a")), vals.get((None, "in_b"))
        cex = {"a": _as_int(a_bits, signed), "b": _as_int(b_bits, signed)}
        # the outputs on those operands: the miter again, with its outputs, evaluated
        script = head + [f"miter -equiv -flatten -make_outputs {gold} {module} miter", "hierarchy -top miter",
                         f"sat -set in_a {len(a_bits)}'b{a_bits} -set in_b {len(b_bits)}'b{b_bits} -show-outputs"]
        _run(script, d, "counterexample", timeout)
        vals = _parse_model((d / "counterexample.log").read_text())
        for o in outs:
            for side, key in (("gate", "design"), ("gold", "spec")):
                bits = vals.get((None, f"{side}_{o}"))
                cex[f"{key}_{o}"] = _as_int(bits, osig[o]) if bits else None
        return _summary(cfg, op, module, stages, method, "counterexample", cex, t0, d / "prove.log")

    (d / "wrapper.v").write_text(_pipeline_wrapper(module, gold, ports, stages, outs))
    seq = head + ["read_verilog wrapper.v", "hierarchy -top pipe_miter", "proc", MAP_MEMORIES, "flatten", "opt -fast"]
    method = "abc" if method == "auto" else method
    if method == "abc":
        # ABC unrolls S+1 frames with a free initial state (frames without -i), keeps the last frame's
        # trigger (cone) and proves it constant 0 (iprove): seconds where sat -seq takes hours at 32 bits
        res, _ = _run(seq + ["techmap", "opt -fast", "dffunmap", "techmap", "aigmap", "opt_clean",
                             "write_aiger -zinit wrapper.aig"], d, "aiger", timeout)
        abc = shutil.which("yosys-abc") or shutil.which("berkeley-abc")
        if abc is None:
            raise ToolMissing("yosys-abc not found: install the Debian package 'yosys' (or run 'make setup')")
        cmd = f"read_aiger wrapper.aig; strash; frames -F {stages + 1}; cone -O {stages}; print_stats; iprove"
        try:
            r = subprocess.run([abc, "-c", cmd], cwd=d, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return _summary(cfg, op, module, stages, "abc-frames", "timeout", None, t0, d / "abc.log")
        (d / "abc.log").write_text(cmd + "\n" + r.stdout + r.stderr)
        m = re.search(r"i/o =\s*(\d+)/\s*(\d+)\s+lat =\s*(\d+)", r.stdout)
        if "UNSATISFIABLE" in r.stdout and m and int(m.group(3)) == 0:
            return _summary(cfg, op, module, stages, "abc-frames", "proven", None, t0, d / "abc.log")
        if "SATISFIABLE" not in r.stdout:
            raise ToolError("ABC did not finish the proof", log_reason(r.stderr, r.stdout), d / "abc.log")
        # a difference: sat -seq finds it and names the operands (fast when there is one)
    res, out = _run(seq + [f"sat -seq {stages + 1} -prove-skip {stages} -prove trigger 0 -show-inputs"
                           + "".join(f" -show gate.{o} -show gold.{o}" for o in outs)], d, "prove", timeout)
    method = "abc-frames" if method == "abc" else "sat-seq"
    if res != "counterexample":
        return _summary(cfg, op, module, stages, method, res, None, t0, d / "prove.log")
    vals = _parse_model(out)
    cex = {"a": _as_int(vals.get((1, "in_a"), "x"), signed), "b": _as_int(vals.get((1, "in_b"), "x"), signed)}
    for o in outs:
        for side, key in (("gate", "design"), ("gold", "spec")):
            bits = vals.get((stages + 1, f"{side}.{o}"))
            cex[f"{key}_{o}"] = _as_int(bits, osig[o]) if bits else None
    return _summary(cfg, op, module, stages, method, "counterexample", cex, t0, d / "prove.log")


def _abc(d, cmd, timeout):
    """Run ``cmd`` in ABC (ending in ``iprove`` of a one-output miter): ``"proven"``, ``"counterexample"``
    (ABC found the miter satisfiable) or ``"timeout"``."""
    abc = shutil.which("yosys-abc") or shutil.which("berkeley-abc")
    if abc is None:
        raise ToolMissing("yosys-abc not found: install the Debian package 'yosys' (or run 'make setup')")
    try:
        r = subprocess.run([abc, "-c", cmd], cwd=d, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    (d / "abc.log").write_text(cmd + "\n" + r.stdout + r.stderr)
    m = re.search(r"i/o =\s*(\d+)/\s*(\d+)\s+lat =\s*(\d+)", r.stdout)
    if "UNSATISFIABLE" in r.stdout and m and int(m.group(2)) == 1 and int(m.group(3)) == 0:
        return "proven"
    if "SATISFIABLE" not in r.stdout:
        raise ToolError("ABC did not finish the proof", log_reason(r.stderr, r.stdout), d / "abc.log")
    return "counterexample"


def _run(script, d, name, timeout):
    """Run a yosys script; ``("proven" | "counterexample" | "timeout" | "done", log text)``."""
    (d / f"{name}.ys").write_text("\n".join(script) + "\n")
    log = d / f"{name}.log"
    try:
        r = subprocess.run(["yosys", "-q", "-l", str(log), "-s", f"{name}.ys"], cwd=d, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    out = log.read_text() if log.exists() else ""
    if "SAT proof finished - no model found: SUCCESS!" in out:
        return "proven", out
    if "SAT proof finished - model found: FAIL!" in out:
        return "counterexample", out
    if r.returncode != 0 or " -prove " in script[-1]:
        raise ToolError(f"yosys did not finish the {name} script (exit {r.returncode})", log_reason(r.stderr, out), log)
    return "done", out


def _summary(cfg, op, module, stages, method, result, cex, t0, log):
    return {"module": module, "op": op, "stages": stages, "config": cfg.as_dict(), "method": method,
            "result": result, "proven": result == "proven", "counterexample": cex,
            "seconds": round(time.perf_counter() - t0, 2), "log": str(log)}
