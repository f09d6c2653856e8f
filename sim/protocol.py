"""Stream-protocol properties of a pipelined unit, proved by yosys temporal induction (``sat -tempinduct``).

A hand-written checker wraps the unit (``stages > 0``) and drives ``ok`` low on
any violation.  Inputs (``rst``, ``a``, ``b``, ``i_valid``, ``o_ready`` and
``pick``) are free in every cycle; the state starts from reset (all zero).

- **no beat lost, none duplicated, in order**: the checker picks one accepted
  beat (``pick``, free), counts the beats ahead of it, and when that many have
  left requires the next delivered result to be the picked beat's result (from
  a combinational twin of the unit, ``stages=0``, computed when it was accepted);
  the pick is arbitrary, so this holds for every beat;
- **occupancy and timing**: a shadow of the documented timing (``stages`` valid
  bits shifting on the global enable ``~o_valid | o_ready``) must match
  ``o_valid`` in every cycle, and ``accepted - delivered`` equals the shadow's
  count; nothing is delivered that was not accepted (a stale or duplicated beat);
- **progress**: while beats are in flight and the output is empty (so the pipeline
  moves), the oldest reaches the output within ``stages`` cycles;
- **stable payload**: after a cycle with ``o_valid & ~o_ready`` (and no reset),
  ``o_valid`` stays high and the result is unchanged;
- **``i_ready`` rule** (documented): ``i_ready == ~o_valid | o_ready``;
- **reset empties**: the cycle after ``rst``, ``o_valid`` is low and no beat is in flight.

The checker's state is bounded (counters, not unbounded counts).  Induction
closes under one fairness assumption: ``o_ready`` is never low for more than
``max_stall`` consecutive cycles (a property of the environment; while the
output is held the unit is frozen by its global enable, so a longer stall
only repeats states).  Without it, an unreachable start state (say a pipeline
register whose data disagrees with the picked beat) could sit stalled for any
number of cycles.  The result says whether induction closed (``proven``) and
at which depth, or gives the failing trace as cycles of operands and handshakes.
"""

import re
import shutil
import subprocess
import time
from pathlib import Path

from hdl.tools import MAP_MEMORIES, ToolError, ToolMissing, log_reason
from hdl.verilog import generate, ports_of
from pymodel.cache import cache_path

from .golden import data_outputs

__all__ = ["check_protocol", "check_freeze", "DEFAULT_BUILD_ROOT"]

DEFAULT_BUILD_ROOT = Path("build") / "protocol"     # under the user cache (pymodel.cache) unless build_root is given


def _decl(w):
    return f"[{w - 1}:0] " if w > 1 else ""


def _checker(unit, twin, ports, stages, outs, max_stall, data=True):
    """The checker module; ``data=False`` leaves out the results (no twin, no payload comparison)."""
    by = {p["name"]: p for p in ports}
    cw = max(2, (2 * stages + 2).bit_length(), (max_stall + 1).bit_length())
    wa = by["a"]["width"]
    L = [f"module proto_check(input clk, input rst, input {_decl(wa)}a, input {_decl(wa)}b, input i_valid,",
         "                   input o_ready, input pick, output ok);",
         "  wire i_ready, o_valid;"]
    conns = [".clk(clk)", ".rst(rst)", ".a(a)", ".b(b)", ".i_valid(i_valid)", ".o_ready(o_ready)",
             ".i_ready(i_ready)", ".o_valid(o_valid)"]
    tconns = [".a(a)", ".b(b)"]
    for o in outs if data else ():
        w = by[o]["width"]
        L += [f"  wire {_decl(w)}{o}, ref_{o};", f"  reg {_decl(w)}exp_{o} = 0, past_{o} = 0;"]
        conns.append(f".{o}({o})")
        tconns.append(f".{o}(ref_{o})")
    if not data:
        outs = ()
    L += [f"  {unit} unit ({', '.join(conns)});",
          f"  {twin} twin ({', '.join(tconns)});" if data else "",
          "  wire acc = i_valid & i_ready, del = o_valid & o_ready;",
          "  // the documented timing as a shadow: S valid bits that shift on the global enable",
          f"  reg [{stages - 1}:0] shadow = 0;",
          f"  wire shadow_adv = !shadow[{stages - 1}] || o_ready;",
          f"  wire [{cw - 1}:0] shadow_count = " + " + ".join(f"shadow[{i}]" for i in range(stages)) + ";",
          f"  reg [{cw - 1}:0] occ = 0, ahead = 0, starve = 0;",
          "  reg tracking = 0, past_stall = 0, past_rst = 0, unfair = 0;",
          f"  reg [{cw - 1}:0] lowrun = 0;",
          f"  wire unfair_now = unfair || (!o_ready && lowrun >= {max_stall});",
          "  always @(posedge clk) begin",
          "    past_stall <= o_valid & ~o_ready; past_rst <= rst; unfair <= unfair_now;",
          f"    lowrun <= o_ready ? 0 : (lowrun == {2 ** cw - 1} ? lowrun : lowrun + 1);",
          "    " + " ".join(f"past_{o} <= {o};" for o in outs),
          "    if (rst) begin occ <= 0; tracking <= 0; ahead <= 0; starve <= 0; shadow <= 0; end else begin",
          "      if (shadow_adv) shadow <= " + (f"{{shadow[{stages - 2}:0], i_valid}};" if stages > 1 else "i_valid;"),
          "      occ <= occ + acc - del;",
          f"      starve <= (occ != 0 && !o_valid) ? (starve == {2 ** cw - 1} ? starve : starve + 1) : 0;",
          "      if (tracking) begin",
          "        if (del) begin ahead <= ahead - 1; if (ahead == 0) tracking <= 0; end",
          "      end else if (acc && pick) begin",
          "        tracking <= 1; ahead <= occ - del;",
          "        " + " ".join(f"exp_{o} <= ref_{o};" for o in outs),
          "      end",
          "    end",
          "  end",
          "  wire same = " + (" && ".join(f"({o} == past_{o})" for o in outs) or "1") + ";",
          "  wire right = " + (" && ".join(f"({o} == exp_{o})" for o in outs) or "1") + ";",
          "  wire ok_order = !(tracking && del && ahead == 0 && !right) && (!tracking || ahead < occ);",
          "  wire ok_occ = occ == shadow_count && !(del && occ == 0);",
          f"  wire ok_timing = o_valid == shadow[{stages - 1}];",
          f"  wire ok_progress = starve <= {stages};",
          "  wire ok_stable = !(past_stall && !past_rst) || (o_valid && same);",
          "  wire ok_ready = i_ready == (!o_valid || o_ready);",
          "  wire ok_reset = !past_rst || (!o_valid && occ == 0);",
          "  assign ok = unfair_now || (ok_order && ok_occ && ok_timing && ok_progress && ok_stable && ok_ready",
          "                            && ok_reset);",
          "endmodule"]
    return "\n".join(L) + "\n"


_ROW = re.compile(r"^\s*(\d+)\s+\\(\S+)\s+(-?\d+|-+|x+)\s+\S+\s+([01x]+)\s*$")
PROPS = ("ok_order", "ok_occ", "ok_timing", "ok_progress", "ok_stable", "ok_ready", "ok_reset")


def check_protocol(cfg, op, *, stages, max_stall=2, max_steps=None, timeout=600, build_root=None, data=True,
                   verilog=None, _fault=None):
    """Prove the stream properties of ``op`` on ``cfg`` pipelined by ``stages``; return a summary dict.

    ``data=False`` proves the handshake properties only (occupancy and timing, progress, ``o_valid``
    held while stalled, the ``i_ready`` rule, reset): without the combinational twin and the payload
    comparisons the proof takes seconds at any width.  :func:`sim.prove.prove` with ``stream=True``
    combines it with :func:`check_freeze` and the data proof into the whole claim.

    Returns
    -------
    dict
        ``result``: ``"proven"`` (base case and induction), ``"counterexample"`` (with ``trace``: one
        dict per cycle of inputs, handshakes and which properties failed) or ``"timeout"``/``"unknown"``
        (no violation within ``max_steps`` but induction did not close); ``depth``; ``seconds``.

    ``verilog=(text, component, module)`` checks that unit (a user's file, :mod:`sim.user_verilog`)
    instead of ``generate(cfg, op, stages=stages)``; the twin is still the generated combinational unit.
    """
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be >= 1 for a protocol check (a combinational unit has no stream), "
                         f"got {stages!r}")
    if shutil.which("yosys") is None:
        raise ToolMissing("yosys not found: install the Debian package 'yosys' (or run 'make setup')")
    t0 = time.perf_counter()
    if isinstance(max_stall, bool) or not isinstance(max_stall, int) or max_stall < 1:
        raise ValueError(f"max_stall must be an int >= 1, got {max_stall!r}")
    max_steps = max_steps or (max_stall + 2) * (stages + 2) + 4
    text, comp, module = verilog or generate(cfg, op, stages=stages, _fault=_fault)
    ttext, _, tmod = generate(cfg, op, stages=0) if data else ("", None, None)
    outs = list(data_outputs(op))
    root = Path(build_root).resolve() if build_root else cache_path(DEFAULT_BUILD_ROOT)
    d = root / (module + (f"_{_fault}" if _fault else "") + ("" if data else "_handshake"))
    d.mkdir(parents=True, exist_ok=True)
    (d / "unit.v").write_text(text)
    (d / "twin.v").write_text(ttext)
    (d / "checker.v").write_text(_checker(module, tmod, ports_of(comp), stages, outs, max_stall, data))
    show = " ".join(f"-show {s}" for s in ("rst", "a", "b", "i_valid", "i_ready", "o_valid", "o_ready", "pick",
                                          *(outs if data else ()), *PROPS))
    script = ["read_verilog unit.v", "read_verilog twin.v", "read_verilog checker.v", "setattr -mod -unset top",
              "hierarchy -top proto_check", "proc", MAP_MEMORIES, "flatten", "opt -fast",
              f"sat -tempinduct -prove ok 1 -set-init-zero -maxsteps {max_steps} {show}"]
    (d / "protocol.ys").write_text("\n".join(script) + "\n")
    log = d / "protocol.log"
    summary = {"module": module, "op": op, "stages": stages, "config": cfg.as_dict(), "max_steps": max_steps,
               "max_stall": max_stall, "data": data,
               "properties": [p[3:] for p in PROPS], "log": str(log), "trace": None, "depth": None}
    try:
        r = subprocess.run(["yosys", "-q", "-l", str(log), "-s", "protocol.ys"], cwd=d, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        summary.update(result="timeout", proven=False, seconds=round(time.perf_counter() - t0, 2))
        return summary
    out = log.read_text() if log.exists() else ""
    m = re.search(r"Induction step proven: SUCCESS!", out)
    if m:
        steps = re.findall(r"Trying induction with length (\d+)", out)
        summary.update(result="proven", depth=int(steps[-1]) if steps else None)
    elif "failed. Counter-example" in out or "model found" in out and "FAIL" in out:
        summary.update(result="counterexample", trace=_trace(out, cfg, op))
    elif "Reached maximum number of time steps" in out:
        summary.update(result="unknown", depth=max_steps)
    else:
        raise ToolError(f"yosys did not finish the protocol proof (exit {r.returncode})",
                        log_reason(r.stderr, out), log)
    summary.update(proven=summary["result"] == "proven", seconds=round(time.perf_counter() - t0, 2))
    return summary


def _trace(log, cfg, op):
    signed = bool(getattr(cfg, "signed", False))
    rows = {}
    for line in log.splitlines():
        m = _ROW.match(line)
        if m:
            step, name, bits = int(m.group(1)), m.group(2), m.group(4)
            v = None if "x" in bits else int(bits, 2)
            if v is not None and signed and name in ("a", "b") and bits[0] == "1":
                v -= 1 << len(bits)
            rows.setdefault(step, {})[name] = v
    trace = []
    for step in sorted(rows):
        r = rows[step]
        failed = [p[3:] for p in PROPS if r.get(p) == 0]
        trace.append({"cycle": step, **{k: v for k, v in r.items() if not k.startswith("ok_")}, "failed": failed})
    return trace


def check_freeze(cfg, op, *, stages, timeout=600, build_root=None, verilog=None, _fault=None):
    """Prove that a held output freezes the unit: in any state, a cycle with ``o_valid & ~o_ready`` and no
    reset leaves every flip-flop unchanged (yosys ``expose -evert-dff`` turns each flip-flop into an input
    ``q`` and an output ``d``; ``sat`` proves ``d == q`` under that condition).

    With the data proof of :func:`sim.prove.prove` (windows without such a cycle) and the handshake
    properties (:func:`check_protocol` with ``data=False``: nothing is taken while the output is held,
    ``o_valid`` stays) this gives every result of every run, with any backpressure, bit for bit.

    Returns
    -------
    dict
        ``result`` (``"proven"``, ``"counterexample"`` or ``"timeout"``), ``flops`` (how many),
        ``changed`` (the flip-flops that change in the counterexample), ``seconds``, ``log``.
    """
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be >= 1 for a freeze check (a combinational unit has no stream), "
                         f"got {stages!r}")
    if shutil.which("yosys") is None:
        raise ToolMissing("yosys not found: install the Debian package 'yosys' (or run 'make setup')")
    import json
    t0 = time.perf_counter()
    text, _, module = verilog or generate(cfg, op, stages=stages, _fault=_fault)   # verilog: a user's file
    root = Path(build_root).resolve() if build_root else cache_path(DEFAULT_BUILD_ROOT)
    d = root / (module + (f"_{_fault}" if _fault else "") + "_freeze")
    d.mkdir(parents=True, exist_ok=True)
    (d / "unit.v").write_text(text)
    # purge first: one name per flip-flop, so that each becomes one q/d pair
    head = ["read_verilog unit.v", "setattr -mod -unset top", f"hierarchy -top {module}", "proc", MAP_MEMORIES,
            "flatten", "opt_clean -purge", "expose -evert-dff", "opt_clean"]
    log = d / "freeze.log"
    summary = {"module": module, "op": op, "stages": stages, "config": cfg.as_dict(), "log": str(log),
               "flops": None, "changed": None}
    try:
        (d / "ports.ys").write_text("\n".join(head + ["write_json ports.json"]) + "\n")
        r = subprocess.run(["yosys", "-q", "-l", str(d / "ports.log"), "-s", "ports.ys"], cwd=d,
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise ToolError("yosys could not expose the flip-flops", log_reason(r.stderr, r.stdout), d / "ports.log")
        ports = json.loads((d / "ports.json").read_text())["modules"][module]["ports"]
        flops = sorted(k[:-2] for k, v in ports.items() if k.endswith(".q") and v["direction"] == "input"
                       and f"{k[:-2]}.d" in ports)
        summary["flops"] = len(flops)
        if not flops:
            raise ToolError("no flip-flops found in a pipelined unit", "", d / "ports.log")
        prove = " ".join(f"-prove {f}.d {f}.q" for f in flops)
        show = " ".join(f"-show {f}.d -show {f}.q" for f in flops)
        (d / "freeze.ys").write_text("\n".join(head + [f"sat -set rst 0 -set o_ready 0 -set o_valid 1 {prove} "
                                                       f"{show}"]) + "\n")
        r = subprocess.run(["yosys", "-q", "-l", str(log), "-s", "freeze.ys"], cwd=d, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        summary.update(result="timeout", proven=False, seconds=round(time.perf_counter() - t0, 2))
        return summary
    out = log.read_text() if log.exists() else ""
    if "SAT proof finished - no model found: SUCCESS!" in out:
        summary["result"] = "proven"
    elif "SAT proof finished - model found: FAIL!" in out:
        vals = {}
        for line in out.splitlines():
            m = re.match(r"^\s*\\(\S+)\s+(-?\d+|-+|x+)\s+\S+\s+([01x]+)\s*$", line)
            if m:
                vals[m.group(1)] = m.group(3)
        summary["result"] = "counterexample"
        summary["changed"] = [f for f in flops if vals.get(f"{f}.d") != vals.get(f"{f}.q")]
    else:
        raise ToolError(f"yosys did not finish the freeze proof (exit {r.returncode})", log_reason(r.stderr, out), log)
    summary.update(proven=summary["result"] == "proven", seconds=round(time.perf_counter() - t0, 2))
    return summary
