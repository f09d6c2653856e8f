"""Energy per operation: switched capacitance of the generic-gate netlist on an operand stream, against exact.

No standard-cell library is installable here, so there are no watts.  What is measured instead:

1. The design and the exact operator of the same widths are synthesised the way ``mitchell cost`` counts
   cells (:func:`hdl.cost.generic_script`: ``synth -flatten; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX -fast``),
   and the netlist is read from yosys's JSON.
2. The netlist is simulated on an operand stream, 64 operations per machine word (bit ``i % 64`` of word
   ``i // 64`` is operation ``i``), every gate output and input bit as one packed array.
   *Zero-delay*: each net settles once per operation; a toggle is a net whose settled value differs from
   the previous operation's.  *Unit-delay* (``unit_delay=True``): every gate takes one time step, and the
   transition from one operation to the next is stepped until the netlist settles (at most its depth), so
   the glitches of unequal paths are counted too.
3. Each toggle is weighted by the capacitance of its net (:data:`SELF_CAP`, :data:`PIN_CAP`): the driving
   gate's own (parasitic) capacitance plus the input capacitance of every gate pin it drives, plus
   :data:`PORT_CAP` per output port bit.  The unit is an inverter's input capacitance; the values are the
   logical-effort figures of static CMOS gates (Sutherland, Sproull and Harris, *Logical Effort*, 1999:
   NAND2 input 4/3, NOR2 5/3, XOR2 4, MUX2 2; parasitic NAND2/NOR2 2, XOR2/MUX2 4; AND/OR as
   NAND/NOR plus an inverter).  Dynamic energy is proportional to the switched capacitance (``C V^2 / 2``
   per toggle), so the ratio of the design's to the exact operator's is its relative energy per operation.

What this misses: wires (no placement), leakage, clocking and registers, and, with zero delay, glitches
(the unit-delay count bounds their share from above: real gates filter short pulses).  The figures are
ratios against an exact operator synthesised and measured the same way, on the same stream.
"""

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hdl.cost import exact_name, exact_verilog, generic_script, tool_versions
from hdl.tools import ToolError, log_reason
from hdl.verilog import generate

from .exhaustive import check_yosys

__all__ = ["Netlist", "read_netlist", "synth_netlist", "toggles", "power", "make_stream", "pack", "STREAMS",
           "SELF_CAP", "PIN_CAP", "PORT_CAP", "MODEL"]

# capacitance proxy, in inverter input capacitances (module docstring)
SELF_CAP = {"$_NOT_": 1.0, "$_BUF_": 2.0, "$_NAND_": 2.0, "$_NOR_": 2.0, "$_AND_": 4.0, "$_OR_": 4.0,
            "$_XOR_": 4.0, "$_XNOR_": 4.0, "$_MUX_": 4.0}
PIN_CAP = {"$_NOT_": 1.0, "$_BUF_": 1.0, "$_NAND_": 4 / 3, "$_AND_": 4 / 3, "$_NOR_": 5 / 3, "$_OR_": 5 / 3,
           "$_XOR_": 4.0, "$_XNOR_": 4.0, "$_MUX_": 2.0}
PORT_CAP = 1.0
MODEL = ("switched capacitance per operation of the generic-gate netlist (synth; abc -g AND,NAND,OR,NOR,XOR,XNOR,"
         "MUX -fast): per toggle of a net, its driver's parasitic plus the input capacitance of every pin it drives "
         "(logical-effort units: an inverter's input = 1), plus 1 per output port bit; relative to the exact "
         "operator synthesised and simulated the same way on the same stream")
STREAMS = ("uniform", "nn-cnn", "nn-mlp", "onnx:FILE")
CHUNK = 1 << 16             # operations simulated at once

_FN = {
    "$_NOT_": lambda x: ~x[0], "$_BUF_": lambda x: x[0],
    "$_AND_": lambda x: x[0] & x[1], "$_NAND_": lambda x: ~(x[0] & x[1]),
    "$_OR_": lambda x: x[0] | x[1], "$_NOR_": lambda x: ~(x[0] | x[1]),
    "$_XOR_": lambda x: x[0] ^ x[1], "$_XNOR_": lambda x: ~(x[0] ^ x[1]),
    "$_MUX_": lambda x: (x[0] & ~x[2]) | (x[1] & x[2]),        # Y = S ? B : A
}
_PINS = {"$_NOT_": "A", "$_BUF_": "A", "$_MUX_": "ABS"}


class Netlist:
    """A combinational generic-gate netlist: nets numbered 0 (constant 0), 1 (constant 1), the input bits,
    then one per gate output; gates in topological order.

    Attributes
    ----------
    inputs, outputs : dict ``port -> [net]`` (LSB first)
    types : list of str, the gate types (yosys ``$_AND_`` ...)
    outs : int array, the net each gate drives
    ins : list of tuples, the nets of each gate's pins (``A``, ``B``, ``S``)
    level : int array, each gate's depth (1 + the deepest gate driving it)
    load : float array, per net, the capacitance a toggle of it switches
    """

    def __init__(self, inputs, outputs, gates):
        self.inputs, self.outputs = inputs, outputs
        nets = 2 + sum(len(v) for v in inputs.values()) + len(gates)
        self.n_nets = nets
        level = np.zeros(nets, np.int64)
        order, pending = [], list(range(len(gates)))
        driver = {g[1]: i for i, g in enumerate(gates)}
        # topological order (Kahn) so that each gate reads settled inputs in one pass
        indeg = [sum(1 for x in g[2] if x in driver) for g in gates]
        users = {}
        for i, g in enumerate(gates):
            for x in g[2]:
                if x in driver:
                    users.setdefault(x, []).append(i)
        ready = [i for i in pending if indeg[i] == 0]
        while ready:
            i = ready.pop()
            order.append(i)
            t, out, ins = gates[i]
            level[out] = 1 + max(level[x] for x in ins)
            for u in users.get(out, ()):
                indeg[u] -= 1
                if indeg[u] == 0:
                    ready.append(u)
        if len(order) != len(gates):
            raise ValueError("the netlist has a combinational loop")
        order.sort(key=lambda i: level[gates[i][1]])
        self.types = [gates[i][0] for i in order]
        self.outs = np.array([gates[i][1] for i in order], np.int64)
        self.ins = [gates[i][2] for i in order]
        self.level = level[self.outs]
        load = np.zeros(nets)
        for t, o, ins in zip(self.types, self.outs, self.ins):
            load[o] += SELF_CAP[t]
            for pin, x in zip(_PINS.get(t, "AB"), ins):
                load[x] += PIN_CAP[t]
        for bits in outputs.values():
            for x in bits:
                load[x] += PORT_CAP
        load[:2] = 0.0                              # constants never toggle
        self.load = load
        # gates grouped by (level, type): one numpy operation per group
        groups = {}
        for i, (t, lv) in enumerate(zip(self.types, self.level)):
            groups.setdefault((int(lv), t), []).append(i)
        self._groups = [(t, self.outs[idx], [np.array([self.ins[i][p] for i in idx])
                                             for p in range(len(_PINS.get(t, "AB")))])
                        for (_, t), idx in sorted(groups.items())]

    @property
    def cells(self):
        return len(self.types)

    @property
    def depth(self):
        return int(self.level.max()) if len(self.level) else 0

    def evaluate(self, words_in):
        """Settled value of every net: ``(n_nets, W)`` uint64, from ``words_in`` = ``{port: (bits, W)}``."""
        w = next(iter(words_in.values())).shape[1]
        v = np.zeros((self.n_nets, w), np.uint64)
        v[1] = ~np.uint64(0)
        for port, bits in self.inputs.items():
            v[bits] = words_in[port][:len(bits)]
        for t, outs, ins in self._groups:
            v[outs] = _FN[t]([v[x] for x in ins])
        return v

    def step(self, v):
        """One unit-delay step: every gate output from the previous step's values (inputs held)."""
        nxt = v.copy()
        for t, outs, ins in self._groups:
            nxt[outs] = _FN[t]([v[x] for x in ins])
        return nxt


def read_netlist(path_or_obj, top):
    """A :class:`Netlist` from yosys's ``write_json`` of a flattened generic-gate module ``top``."""
    obj = path_or_obj if isinstance(path_or_obj, dict) else json.loads(Path(path_or_obj).read_text())
    mod = obj["modules"][top]
    ids = {"0": 0, "1": 1}
    nxt = 2
    inputs, outputs = {}, {}
    for name, p in mod["ports"].items():
        if p["direction"] == "input":
            inputs[name] = []
            for b in p["bits"]:
                ids[b] = nxt
                inputs[name].append(nxt)
                nxt += 1
    gates, raw = [], []
    for c in mod["cells"].values():
        t = c["type"]
        if t == "$scopeinfo":           # hierarchy notes of newer yosys: no logic
            continue
        if t not in _FN:
            raise ValueError(f"cell type {t} is not a generic gate (the flow maps to {', '.join(_FN)})")
        ids[c["connections"]["Y"][0]] = nxt
        raw.append((t, nxt, [c["connections"][p][0] for p in _PINS.get(t, "AB")]))
        nxt += 1

    def net(b):
        if b in ("x", "z"):
            return 0
        if b not in ids:
            raise ValueError(f"net {b} of {top} has no driver")
        return ids[b]

    for t, out, pins in raw:
        gates.append((t, out, tuple(net(b) for b in pins)))
    for name, p in mod["ports"].items():
        if p["direction"] == "output":
            outputs[name] = [net(b) for b in p["bits"]]
    net_ = Netlist(inputs, outputs, gates)
    net_.bit_ids = ids            # yosys bit -> net (for checks against other simulators)
    return net_


def synth_netlist(verilog_text, top, *, abc="fast", cache_dir=None):
    """Synthesise ``top`` with :func:`hdl.cost.generic_script` and return its :class:`Netlist` (the JSON is
    cached in ``cache_dir`` by a hash of the text, the flow and the yosys version)."""
    check_yosys()
    script = generic_script(top, abc)
    key = hashlib.sha256(json.dumps([verilog_text, top, script, tool_versions(False)]).encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"netlist_{top}_{key}.json" if cache_dir else None
    if path is not None and path.exists():
        return read_netlist(path, top)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "design.v").write_text(verilog_text)
        r = subprocess.run(["yosys", "-q", "-p", f"read_verilog design.v; {script}; write_json net.json"], cwd=d,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ToolError(f"yosys generic synthesis of {top} failed", log_reason(r.stderr, r.stdout))
        obj = json.loads((d / "net.json").read_text())
    keep = {"modules": {top: {k: obj["modules"][top][k] for k in ("ports", "cells")}}}
    for c in keep["modules"][top]["cells"].values():
        for k in ("attributes", "parameters", "port_directions", "hide_name"):
            c.pop(k, None)
    if path is not None:
        os.makedirs(path.parent, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(keep))
        os.replace(tmp, path)
    return read_netlist(keep, top)


def pack(values, bits):
    """Two's-complement bit planes of an int array, 64 values per uint64 word: ``(bits, ceil(n/64))``.
    Missing lanes of the last word repeat the last value, so they add no toggles."""
    v = np.asarray(values, np.int64)
    n = len(v)
    pad = (-n) % 64
    if pad:
        v = np.concatenate([v, np.full(pad, v[-1])])
    planes = ((v[None, :] >> np.arange(bits)[:, None]) & 1).astype(np.uint8)
    return np.packbits(planes, axis=1, bitorder="little").view(np.uint64).reshape(bits, -1)


def _prev(v):
    """Each lane's previous operation (lane 0 keeps its own value: no toggle before the stream)."""
    carry = np.empty_like(v)
    carry[..., 1:] = v[..., :-1] >> np.uint64(63)
    carry[..., 0] = v[..., 0] & np.uint64(1)
    return (v << np.uint64(1)) | carry


def toggles(netlist, a, b, *, unit_delay=False):
    """Per-net toggle counts of ``netlist`` (ports ``a`` and ``b``) over the stream ``a[i], b[i]``.

    Returns ``(counts, transitions)``: ``counts`` (n_nets,) int64, summed over the ``len(a) - 1``
    transitions.  Zero-delay counts settled changes; ``unit_delay`` counts every change of the steps from
    one settled state to the next (input toggles are the same in both)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("a and b must be 1-D arrays of the same length, at least 2")
    if len(a) > CHUNK:
        # chunks that share their boundary operation, so every transition is counted once; memory stays
        # at n_nets x CHUNK / 64 words
        counts = np.zeros(netlist.n_nets, np.int64)
        for s in range(0, len(a) - 1, CHUNK - 1):
            counts += toggles(netlist, a[s:s + CHUNK], b[s:s + CHUNK], unit_delay=unit_delay)[0]
        return counts, len(a) - 1
    words = {"a": pack(a, len(netlist.inputs["a"])), "b": pack(b, len(netlist.inputs["b"]))}
    v = netlist.evaluate(words)
    if not unit_delay:
        return np.bitwise_count(v ^ _prev(v)).sum(axis=1).astype(np.int64), len(a) - 1
    old = _prev(v)
    ins = [x for bits in netlist.inputs.values() for x in bits]
    counts = np.zeros(netlist.n_nets, np.int64)
    counts[ins] = np.bitwise_count(v[ins] ^ old[ins]).sum(axis=1)
    old[ins] = v[ins]
    for _ in range(netlist.depth):
        new = netlist.step(old)
        counts += np.bitwise_count(new ^ old).sum(axis=1).astype(np.int64)
        old = new
    if not np.array_equal(old, v):        # an acyclic netlist settles within its depth
        raise AssertionError("unit-delay simulation did not settle to the zero-delay values")
    return counts, len(a) - 1


def activity(netlist, a, b, *, unit_delay=False):
    """``{"switched_cap", "toggles", "cells", "depth"}`` per operation of ``netlist`` on the stream."""
    counts, n = toggles(netlist, a, b, unit_delay=unit_delay)
    return {"switched_cap": float(counts @ netlist.load) / n, "toggles": float(counts.sum()) / n,
            "cells": netlist.cells, "depth": netlist.depth}


def _nn_calls(spec, width, *, seed, images, data, nn_cache, epochs):
    from pymodel.nn.operands import record_onnx, record_study
    if spec in ("nn-cnn", "nn-mlp"):
        # the study's network as `mitchell nn` trains it (seed 0): the stream's seed only samples it
        return record_study(spec[3:], width=width, images=images, epochs=epochs, seed=0, cache_dir=nn_cache)
    return record_onnx(spec[5:], data, width=width, images=images, seed=seed)


def check_stream(spec, op="mul", data=None):
    """Refuse a bad ``--stream`` (and ``--data``) before any work."""
    if spec not in ("uniform", "nn-cnn", "nn-mlp") and not (isinstance(spec, str) and spec.startswith("onnx:")):
        raise ValueError(f"--stream must be one of {', '.join(STREAMS)}, got {spec!r}")
    if spec != "uniform" and op != "mul":
        raise ValueError(f"--stream {spec}: the NN streams are products; --op {op} takes --stream uniform")
    if spec.startswith("onnx:"):
        f = spec[5:]
        if not f or not os.path.isfile(f):
            raise ValueError(f"--stream {spec}: no such ONNX file {f!r}")
        if data is None:
            raise ValueError(f"--stream {spec} needs --data (the images it runs on, as for `mitchell nn --onnx`)")
    elif data is not None:
        raise ValueError(f"--data is for --stream onnx:FILE, not --stream {spec}")


def make_stream(spec, cfg, op="mul", *, n=1 << 14, seed=0, data=None, images=None, nn_cache=None, epochs=40,
                calls=None):
    """The operand stream ``(a, b, info)`` for ``cfg``: ``n`` pairs.

    ``"uniform"``: independent uniform operands over the design's range (seeded).  ``"nn-cnn"``,
    ``"nn-mlp"``: the digits study's network (``mitchell nn``), ``"onnx:FILE"``: an ONNX model on ``data``;
    both quantised at ``cfg.width`` bits (signed, symmetric) and run with the exact multiplier, their
    products ordered as one multiplier of a weight-stationary array sees them
    (:func:`pymodel.nn.operands.weight_stationary`).  A signed design gets the signed operands; an unsigned
    one their magnitudes (the sign handled beside it, as in a sign-magnitude MAC), whose top bit is then
    never set.  ``calls``: already recorded ``approx_matmul`` operands (skips running the network)."""
    check_stream(spec, op, data)
    rng = np.random.default_rng(seed)
    lo, hi = cfg.operand_range
    if spec == "uniform":
        a, b = rng.integers(lo, hi + 1, n), rng.integers(lo, hi + 1, n)
        return a, b, {"stream": "uniform", "seed": seed, "pairs": n,
                      "description": f"independent uniform operands in {lo}..{hi}"}
    from pymodel.nn.operands import DATAFLOW, weight_stationary
    if images is None:
        images = 32 if spec.startswith("nn-") else 8
    if calls is None:
        calls = _nn_calls(spec, cfg.width, seed=seed, images=images, data=data, nn_cache=nn_cache, epochs=epochs)
    a, b, info = weight_stationary(calls, n, seed, max_run=256)
    if not cfg.signed:
        a, b = np.abs(a), np.abs(b)
    return a, b, {"stream": spec, "seed": seed, "pairs": n, "images": images, "dataflow": DATAFLOW,
                  "operands": "signed" if cfg.signed else "magnitudes (|a|, |b|) of the signed operands",
                  "quantisation": f"int{cfg.width}, symmetric; activations per tensor, weights per output channel",
                  **info}


def power(cfg, op="mul", *, stream="uniform", n=1 << 14, seed=0, data=None, images=None, unit_delay=False,
          abc="fast", cache_dir=None, nn_cache=None, calls=None, progress=None):
    """Relative energy per operation of ``cfg``'s ``op`` against the exact operator of the same widths.

    Parameters
    ----------
    cfg : a design config (:mod:`pymodel.registry`), combinational
    op : ``"mul"`` or ``"div"``
    stream, n, seed, data, images, calls : the operand stream (:func:`make_stream`)
    unit_delay : bool
        Also simulate with one time step per gate and report the glitch toggles.
    cache_dir : synthesised netlists (default ``cost/`` of the user cache; ``""``: none)
    progress : callable, called once after each of the two netlists is synthesised and simulated

    Returns
    -------
    dict
        ``design``, ``width``, ``op``, ``stream`` (with its description), ``approx`` and ``exact``
        (``switched_cap``, ``toggles`` per operation, ``cells``, ``depth``; with ``unit_delay`` also
        ``switched_cap_unit_delay``, ``toggles_unit_delay``), ``ratio`` (``energy``: switched capacitance,
        ``toggles``, ``depth``, ``edp``: energy x depth; ``energy_unit_delay``, ``edp_unit_delay``),
        ``model`` (what is counted), ``baseline``.
    """
    from hdl.cost import _default_cache, exact_baseline
    from pymodel.designs.base import Design
    if not isinstance(cfg, Design):
        raise TypeError(f"cfg must be a design config (pymodel.registry), got {type(cfg).__name__}")
    if op not in cfg.OPS or op not in ("mul", "div"):
        raise ValueError(f"design {cfg.NAME!r} has no {op!r} (it has {', '.join(cfg.OPS)})")
    check_stream(stream, op, data)
    cache_dir = _default_cache(cache_dir)
    a, b, info = make_stream(stream, cfg, op, n=n, seed=seed, data=data, images=images, nn_cache=nn_cache,
                             calls=calls)
    text, _, name = generate(cfg, op)
    ename = exact_name(cfg, op)
    res = {}
    for key, (vt, top) in (("approx", (text, name)), ("exact", (exact_verilog(cfg, op, ename), ename))):
        net = synth_netlist(vt, top, abc=abc, cache_dir=cache_dir)
        r = activity(net, a, b)
        if unit_delay:
            u = activity(net, a, b, unit_delay=True)
            r["switched_cap_unit_delay"], r["toggles_unit_delay"] = u["switched_cap"], u["toggles"]
        res[key] = r
        if progress is not None:
            progress()
    ap, ex = res["approx"], res["exact"]
    ratio = {"energy": ap["switched_cap"] / ex["switched_cap"] if ex["switched_cap"] else None,
             "toggles": ap["toggles"] / ex["toggles"] if ex["toggles"] else None,
             "depth": ap["depth"] / ex["depth"]}
    ratio["edp"] = None if ratio["energy"] is None else ratio["energy"] * ratio["depth"]
    if unit_delay:
        e = ap["switched_cap_unit_delay"] / ex["switched_cap_unit_delay"] if ex["switched_cap_unit_delay"] else None
        ratio["energy_unit_delay"] = e
        ratio["edp_unit_delay"] = None if e is None else e * ratio["depth"]
    return {"design": cfg.NAME, "width": cfg.width, "config": cfg.as_dict(), "op": op, "module": name,
            "stream": info, "seed": seed, "pairs": int(len(a)), "abc": abc, "unit_delay": bool(unit_delay),
            "approx": ap, "exact": ex, "ratio": ratio, "model": MODEL,
            "baseline": exact_baseline(cfg, op, 0)}
