"""cocotb 2.x bench for the generated Verilog of any design (and Float Mitchell).

It reads its parameters from ``MITCHELL_BENCH`` (JSON, written by
:func:`sim.runner.run_bench`): the design's name and config, the operator,
the vectors, and the component's ``latency``, which it reads, never assumes.

A driver applies operand pairs, a monitor collects results, and a scoreboard
compares every result with the design's golden model (``pymodel``).  Pipelined designs are driven
with random input gaps and random output backpressure, checked for latency and
for one result per cycle, and reset in the middle of a stream.
"""

import json
import os
import time
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from pymodel import FloatMitchell
from pymodel.registry import make_design
from pymodel.vectors import vectors

MAX_REPORTED = 10


class Scoreboard:
    """Expected results from the golden model; records every mismatch."""

    def __init__(self, cfg, op, seed, log):
        self.cfg, self.op, self.seed, self.log = cfg, op, seed, log
        self.outputs = ("q", "dbz") if op == "div" else ("p",)
        self.checked = 0
        self.mismatches = []
        self.n_mismatches = 0

    def expected(self, a, b):
        """One tuple of output values per pair, from the golden model."""
        if self.op == "fmul":
            return [(int(p),) for p in self.cfg.mul_bits(a, b).tolist()]
        if self.op == "mul":
            return [(int(p),) for p in self.cfg.mul(a, b).tolist()]
        q, dbz = self.cfg.div(a, b, on_zero="saturate")
        return [(int(x), int(d)) for x, d in zip(q.tolist(), dbz.tolist())]

    def check(self, a, b, got, want):
        self.checked += 1
        if got != want:
            self.n_mismatches += 1
            if len(self.mismatches) < MAX_REPORTED:
                rec = {"a": a, "b": b, "got": list(got), "want": list(want)}
                self.mismatches.append(rec)
                self.log.error("MISMATCH seed=%s a=%d b=%d: dut %s=%s, model %s", self.seed, a, b,
                               "/".join(self.outputs), got, want)


class Driver:
    """Puts operand pairs on ``a``/``b`` (a stream's ``i_valid`` is driven by ``run_stream``)."""

    def __init__(self, dut):
        # Handles are looked up once: a lookup per vector costs more than the simulation.
        self.a, self.b = dut.a, dut.b

    def put(self, a, b):
        self.a.value = a
        self.b.value = b


class Monitor:
    """Reads the outputs, signed or unsigned as the config says."""

    def __init__(self, dut, outputs, signed):
        self.handles = [getattr(dut, o) for o in outputs]
        self.signed = [signed and o != "dbz" for o in outputs]

    def sample(self):
        return tuple(h.value.to_signed() if s else int(h.value) for h, s in zip(self.handles, self.signed))


async def run_combinational(dut, sb, a, b, want):
    driver, monitor = Driver(dut), Monitor(dut, sb.outputs, getattr(sb.cfg, "signed", False))
    step = Timer(1, "ns")
    for x, y, w in zip(a.tolist(), b.tolist(), want):
        driver.put(x, y)
        await step
        sb.check(x, y, monitor.sample(), w)


class _Level:
    """A handshake input written only when its value changes (a write costs more than a cycle)."""

    def __init__(self, handle):
        self.handle, self.v = handle, None

    def set(self, v):
        if v != self.v:
            self.handle.value = self.v = v


async def run_stream(dut, sb, a, b, want, rng, *, gaps, backpressure, reset_at):
    """Stream the pairs through a pipelined unit; returns measured timing facts.

    Inputs change just after a falling edge; ``ReadOnly`` then shows the settled
    handshake that the next rising edge acts on.  A stuck design ends the loop
    after a bounded number of cycles, with its missing beats reported.
    """
    driver, monitor = Driver(dut), Monitor(dut, sb.outputs, getattr(sb.cfg, "signed", False))
    o_valid, i_ready = dut.o_valid, dut.i_ready
    rst, o_ready, i_valid = _Level(dut.rst), _Level(dut.o_ready), _Level(dut.i_valid)
    rst.v = 0                    # the caller released reset; writes happen only after a falling edge
    fall, settled = FallingEdge(dut.clk), ReadOnly()
    n = len(want)
    max_cycles = 50 * n + 1000
    # Random input gaps and output backpressure, drawn up front (cycle-indexed, wrapping).
    period = 4 * n + 1024
    gap = (rng.random(period) < 0.15) if gaps else np.zeros(period, bool)
    ready_draw = (rng.random(period) < 0.75) if backpressure else np.ones(period, bool)
    al, bl = a.tolist(), b.tolist()
    pending = deque()            # (index, cycle accepted) in flight
    i, cycle, shown = 0, 0, -1
    latencies, out_cycles = [], []
    reset_left = 0
    lost = 0
    while (i < n or pending) and cycle < max_cycles:
        await fall
        cycle += 1
        if reset_at is not None and i >= reset_at and pending:
            rst.set(1)
            reset_left, reset_at = 2, None
        if reset_left:
            reset_left -= 1
            if reset_left == 0:
                rst.set(0)
                lost += len(pending)
                pending.clear()        # a reset discards what was in flight
            i_valid.set(0)
            o_ready.set(0)
            continue
        offer = i < n and not gap[cycle % period]
        if offer and shown != i:       # new operands only when a new beat is offered
            driver.put(al[i], bl[i])
            shown = i
        i_valid.set(int(offer))
        ready = bool(ready_draw[cycle % period])
        o_ready.set(int(ready))
        await settled
        if ready and o_valid.value:
            if not pending:
                sb.check(-1, -1, monitor.sample(), ("<no beat in flight>",))
            else:
                j, c0 = pending.popleft()
                sb.check(al[j], bl[j], monitor.sample(), want[j])
                latencies.append(cycle - c0)
                out_cycles.append(cycle)
        if offer and i_ready.value:
            pending.append((i, cycle))
            i += 1
    for j, _ in pending:
        sb.check(al[j], bl[j], ("<never came out>",), want[j])
    for j in range(i, n):
        sb.check(al[j], bl[j], ("<never accepted>",), want[j])
    return {"cycles": cycle, "latencies": latencies, "out_cycles": out_cycles, "lost_to_reset": lost}


@cocotb.test()
async def mitchell_bench(dut):
    p = json.loads(os.environ["MITCHELL_BENCH"])
    cfg = FloatMitchell(**p["config"]) if p["op"] == "fmul" else make_design(p["design"], **p["config"])
    op, latency, seed = p["op"], p["latency"], p["seed"]
    sb = Scoreboard(cfg, op, seed, dut._log)
    dut._log.info("seed=%s config=%s op=%s stages=%s latency=%s", seed, cfg, op, p["stages"], latency)
    parts = [vectors(cfg, k, n=p["n_random"], seed=seed) for k in p["kinds"]]
    a = np.concatenate([x for x, _ in parts])
    b = np.concatenate([y for _, y in parts])
    rng = np.random.default_rng(seed)
    want = sb.expected(a, b)        # before timing: the first call loads the compiled model
    summary = {"vectors": int(a.size), "seed": seed, "latency_attribute": latency}
    t0 = time.perf_counter()
    if p["stages"] == 0:
        await run_combinational(dut, sb, a, b, want)
    else:
        Clock(dut.clk, 10, unit="ns", impl="gpi").start()   # C++ clock: no Python per edge
        dut.rst.value = 1
        dut.i_valid.value = 0
        dut.o_ready.value = 0
        for _ in range(2):
            await FallingEdge(dut.clk)
        dut.rst.value = 0
        # Phase 1: no gaps, no backpressure: latency and one result per cycle.
        k = min(256, a.size)
        r = await run_stream(dut, sb, a[:k], b[:k], want[:k], rng, gaps=False, backpressure=False, reset_at=None)
        summary["latency_measured"] = sorted(set(r["latencies"]))
        oc = r["out_cycles"]
        summary["back_to_back"] = bool(oc) and oc[-1] - oc[0] == len(oc) - 1
        # Phase 2: everything, with random gaps and backpressure, and a reset mid-stream.
        mid = a.size // 2 if p["reset"] else None
        r2 = await run_stream(dut, sb, a, b, want, rng, gaps=p["gaps"], backpressure=p["backpressure"],
                              reset_at=mid)
        summary["lost_to_reset"] = r2["lost_to_reset"]
        summary["cycles"] = r["cycles"] + r2["cycles"]
        summary["rechecked"] = k       # phase 1 runs the first k vectors once more
    dt = time.perf_counter() - t0
    # each vector counted once (phase 1's re-run is reported as "rechecked"; its time stays in dt)
    checked = sb.checked - summary.get("rechecked", 0)
    summary.update({"checked": checked, "mismatches": sb.n_mismatches, "first_mismatches": sb.mismatches,
                    "seconds": round(dt, 3), "vectors_per_s": round(checked / dt) if dt else None})
    with open(p["summary_path"], "w") as f:
        json.dump(summary, f)
    assert sb.n_mismatches == 0, (f"{sb.n_mismatches} mismatches (seed {seed}); first: "
                                  f"{sb.mismatches[:3]}")
    if p["stages"]:
        assert summary["latency_measured"] == [latency], \
            f"latency {summary['latency_measured']} != component latency {latency} (seed {seed})"
        assert summary["back_to_back"], f"results were not one per cycle without backpressure (seed {seed})"
