"""Mutation testing of the cocotb bench, MCY-style: does the bench catch every real change of the netlist?

1. The generated Verilog goes through ``prep -flatten`` (as MCY does: mutating
   before flattening lands most mutants on duplicated wires) and yosys
   ``mutate -list N`` picks ``N`` mutations (inverted bits, constant bits,
   swapped connections) with a seed.
2. Each mutant is classified by a prover against the unmutated netlist:
   combinational units by ``miter -equiv`` + ABC ``iprove`` + ``sat -prove``;
   pipelined units by a sequential miter from reset (``sat -seq``) that compares
   ``o_valid`` and ``i_ready`` in every cycle and the data only while ``o_valid``
   is high (bounded: equal for ``3 * stages + 6`` cycles).  Mutants of a
   flip-flop's clock port are not given to the prover (yosys ``sat`` treats
   every flip-flop as clocked each step, so it cannot see them): they count as
   non-equivalent, which can only lower the score.
3. The project's cocotb bench (:func:`sim.runner.run_bench`) runs on every
   non-equivalent mutant.  It kills the mutant when it reports a mismatch, a
   wrong latency, no back-to-back results, or does not finish.

The score is killed / non-equivalent; survivors are listed with their mutation.
"""

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hdl.tools import MAP_MEMORIES, ToolError, log_reason
from hdl.verilog import generate, ports_of
from pymodel.cache import cache_path

from .golden import data_outputs
from .prove import _check_yosys, _decl

__all__ = ["run_mutation", "DEFAULT_BUILD_ROOT"]

DEFAULT_BUILD_ROOT = Path("build") / "mutate"     # under the user cache (pymodel.cache) unless build_root is given


def _yosys(script, d, log, timeout=None):
    (d / (log + ".ys")).write_text("\n".join(script) + "\n")
    r = subprocess.run(["yosys", "-q", "-l", log + ".log", "-s", log + ".ys"], cwd=d, capture_output=True, text=True,
                       timeout=timeout)
    out = (d / (log + ".log")).read_text() if (d / (log + ".log")).exists() else ""
    return r.returncode, out, r.stderr


def _mutants(text, module, n, seed, d):
    """``[(mutate command, mutant Verilog)]``: ``n`` mutations of the flattened netlist."""
    (d / "design.v").write_text(text)
    rc, out, err = _yosys(["read_verilog design.v", "setattr -mod -unset top", f"prep -flatten -top {module}",
                           MAP_MEMORIES, "opt_clean", "write_rtlil prepped.il", f"write_verilog -noattr orig.v",
                           f"mutate -list {n} -seed {seed} -o mutations.ys"], d, "list")
    if rc:
        raise ToolError("yosys mutate -list failed", log_reason(err, out), d / "list.log")
    cmds = [ln.strip() for ln in (d / "mutations.ys").read_text().splitlines() if ln.startswith("mutate ")]
    script = ["read_rtlil prepped.il", "design -save orig"]
    for i, c in enumerate(cmds):
        script += ["design -load orig", c, f"write_verilog -noattr mutant_{i}.v"]
    rc, out, err = _yosys(script, d, "apply")
    if rc:
        raise ToolError("yosys could not apply the mutations", log_reason(err, out), d / "apply.log")
    return [(c, (d / f"mutant_{i}.v").read_text()) for i, c in enumerate(cmds)]


def _seq_miter(module, ports, outs):
    """A wrapper comparing ``gold`` and ``gate`` (both ``module``, renamed) from reset."""
    by = {p["name"]: p for p in ports}
    ins = [p for p in ports if p["direction"] == "in" and p["name"] != "clk"]
    L = ["module seq_miter(input clk, " + ", ".join(f"input {_decl(p)}in_{p['name']}" for p in ins)
         + ", output trigger);"]
    for side in ("gold", "gate"):
        conns = [".clk(clk)"] + [f".{p['name']}(in_{p['name']})" for p in ins]
        for p in ports:
            if p["direction"] == "out":
                L.append(f"  wire {_decl(p)}{side}_{p['name']};")
                conns.append(f".{p['name']}({side}_{p['name']})")
        L.append(f"  {side} {side}_unit ({', '.join(conns)});")
    data = " || ".join(f"(gold_{o} != gate_{o})" for o in outs)
    L.append(f"  assign trigger = (gold_o_valid != gate_o_valid) || (gold_i_ready != gate_i_ready) "
             f"|| (gold_o_valid && ({data}));")
    L.append("endmodule")
    return "\n".join(L) + "\n"


def _equivalent(i, mutant, module, ports, outs, stages, d, timeout):
    """True if the prover shows the mutant equal to the original, False if it finds a difference."""
    md = d / f"m{i}"
    md.mkdir(exist_ok=True)
    (md / "gate.v").write_text(mutant)
    head = ["read_verilog ../orig.v", "rename " + module + " gold", "read_verilog gate.v", f"rename {module} gate"]
    if not stages:
        (md / "iprove.abc").write_text("strash; iprove\n")
        script = head + ["proc", MAP_MEMORIES, "miter -equiv -flatten -make_outputs gold gate miter",
                         "hierarchy -top miter", "opt -fast", "techmap", "opt -fast", "abc -script iprove.abc",
                         "opt_clean", "sat -prove trigger 0"]
    else:
        depth = 3 * stages + 6
        (md / "miter.v").write_text(_seq_miter(module, ports, outs))
        script = head + ["read_verilog miter.v", "hierarchy -top seq_miter", "proc", MAP_MEMORIES, "flatten",
                         "opt -fast", f"sat -seq {depth} -set-init-zero -set-at 1 in_rst 1 -prove trigger 0"]
    try:
        rc, out, err = _yosys(script, md, "equiv", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if "SUCCESS!" in out:
        return True
    if "FAIL!" in out:
        return False
    raise ToolError(f"the prover did not finish on mutant {i}", log_reason(err, out), md / "equiv.log")


def _killed(s, stages, latency):
    if s["mismatches"] or s["checked"] < s["vectors"] * (0.99 if stages else 1):
        return True
    if stages and (s.get("latency_measured") != [latency] or not s.get("back_to_back")):
        return True
    return False


def run_mutation(cfg, op, *, stages=0, n=20, seed=1, kinds=("directed", "random"), n_random=20_000, jobs=1,
                 prove_timeout=300,
                 build_root=None, progress=None, verilog=None, _fault=None):
    """Mutate the generated netlist ``n`` times and run the bench on every non-equivalent mutant.

    Parameters
    ----------
    cfg, op, stages
        The unit, as for :func:`hdl.verilog.generate`.
    n : int
        Mutations asked of yosys ``mutate -list`` (it may return fewer on a tiny netlist).
    seed : int
        Seed of the mutation choice and of the bench's random vectors.
    kinds, n_random
        The bench's vector kinds and random vectors (as in :func:`sim.runner.run_bench`).
    jobs : int
        Mutants classified and simulated at once.
    progress : callable, optional
        Called once per mutant finished.
    verilog : (str, component, str), optional
        Mutate this ``(text, component, module)`` (a user's file, :mod:`sim.user_verilog`) instead of
        ``generate(cfg, op, stages=...)``.

    Returns
    -------
    dict
        ``mutants``, ``equivalent``, ``non_equivalent``, ``killed``, ``score`` (killed /
        non-equivalent, None when there is none), ``survivors`` (mutation commands),
        ``per_mutant`` and ``seconds``.
    """
    from .runner import BuildFailed, run_bench
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (mutants), got {n!r}")
    _check_yosys()
    t0 = time.perf_counter()
    text, comp, module = verilog or generate(cfg, op, stages=stages, _fault=_fault)
    stages = comp.stages
    root = Path(build_root).resolve() if build_root else cache_path(DEFAULT_BUILD_ROOT)
    d = root / f"{module}_n{n}_s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    mutants = _mutants(text, module, n, seed, d)
    ports = ports_of(comp)
    outs = list(data_outputs(op))

    def one(item):
        i, (cmd, mtext) = item
        rec = {"index": i, "mutation": cmd}
        if re.search(r"-port \\?CLK\b", cmd):
            rec["equivalent"] = None           # clock-port mutant: not for sat; non-equivalent by assumption
        else:
            rec["equivalent"] = _equivalent(i, mtext, module, ports, outs, stages, d, prove_timeout)
        if rec["equivalent"] is not True:
            try:
                s = run_bench(cfg, op, stages=stages, kinds=kinds, n_random=n_random,
                              seed=seed, build_root=d / f"m{i}" / "bench", verilog=(mtext, comp, module))
                rec.update(killed=_killed(s, stages, comp.latency), mismatches=s["mismatches"],
                           first_mismatch=(s["first_mismatches"] or [None])[0])
            except BuildFailed:                 # yosys wrote the mutant: Icarus failing on it is a tool failure,
                raise                           # not a kill (it would raise the score without a word)
            except RuntimeError as e:           # the bench did not finish: the mutant broke it
                rec.update(killed=True, mismatches=None, first_mismatch=None, bench_error=str(e)[:200])
        if progress:
            progress(1)
        return rec

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        per = list(ex.map(one, enumerate(mutants)))
    non_eq = [r for r in per if r["equivalent"] is not True]
    killed = [r for r in non_eq if r["killed"]]
    survivors = [r["mutation"] for r in non_eq if not r["killed"]]
    return {"module": module, "op": op, "stages": stages, "config": cfg.as_dict(), "seed": seed,
            "kinds": list(kinds), "n_random": n_random, "mutants": len(per), "equivalent": len(per) - len(non_eq),
            "non_equivalent": len(non_eq), "killed": len(killed),
            "score": round(len(killed) / len(non_eq), 4) if non_eq else None,
            "survivors": survivors, "per_mutant": per, "seconds": round(time.perf_counter() - t0, 2)}
