"""Any combinational multiplier's Verilog as a black box: every product, its cost, a product table.

``BlackBox(path, ports=("A", "B", "P"), signed=...)`` reads the file as :mod:`sim.user_verilog`
does (conditional compilation resolved once with the stated defines, the top module found or
named), checks the named ports (two inputs of one width, 2..16 bits; one output of up to 64
bits; no other inputs, no clock), and wraps the module as ``a``, ``b``, ``p`` for the machinery
the generated units use:

- :meth:`chunks`: every operand pair through the compiled AIG harness of
  :mod:`sim.exhaustive` (yosys's and-inverter graph, 256 pairs per evaluation), in chunks;
- :meth:`metrics`: :func:`pymodel.table_mult.product_error_metrics` of those chunks;
- :meth:`multiplier`: a :class:`pymodel.table_mult.TableMultiplier` (up to 12 bits) for the NN studies;
- :meth:`cost`: :func:`hdl.cost.synth_metrics` of the file and of the exact multiplier of the same widths.
"""

import subprocess
from pathlib import Path

import numpy as np

from hdl.tools import ToolError
from pymodel.cache import cache_path
from pymodel.table_mult import MAX_WIDTH, TABLE_MAX_WIDTH, TableMultiplier, product_error_metrics

from .exhaustive import build_harness
from .golden import operand_patterns_to_values
from .user_verilog import read_ports, resolve_conditionals

__all__ = ["BlackBox", "parse_ports", "DEFAULT_BUILD_ROOT"]

DEFAULT_BUILD_ROOT = Path("build") / "blackbox"


def parse_ports(text):
    """``"A,B,P"`` to ``("A", "B", "P")``: the operand and product port names."""
    names = tuple(x.strip() for x in str(text).split(","))
    if len(names) != 3 or not all(names) or len(set(names)) != 3:
        raise ValueError(f"--ports takes three distinct port names A,B,P (operands, product), got {text!r}")
    return names


class BlackBox:
    """A combinational multiplier in a Verilog file, measured without a model.

    Parameters
    ----------
    path : str or Path
        The Verilog file.
    ports : (str, str, str)
        The operand and product ports.
    signed : bool
        Two's-complement operands and product.
    top : str, optional
        The module (default: the one no other module instantiates).
    defines : iterable of str
        Macros for the conditional compilation (resolved once, for every tool).
    build_root : path, optional
        Where the harness is built (default ``build/blackbox`` of the user cache).
    """

    def __init__(self, path, ports=("a", "b", "p"), *, signed=False, top=None, defines=(), build_root=None):
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"--verilog {path}: no such file")
        self.path, self.signed, self.defines = p, bool(signed), list(defines)
        self.text, self.conditionals = resolve_conditionals(p.read_text(), defines, origin=f"--verilog {path}")
        self.root = Path(build_root) if build_root else cache_path(DEFAULT_BUILD_ROOT)
        self.top, got = read_ports(self.text, top, self.root / "ports" / p.stem)
        by = {q["name"]: q for q in got}
        self.ports = pa, pb, pp = tuple(ports)
        what = f"--verilog {path} (module {self.top})"
        missing = [n for n in ports if n not in by]
        if missing:
            raise ValueError(f"{what} has no port {', '.join(missing)} (--ports {','.join(ports)}); its ports: "
                             + ", ".join(f"{q['name']} ({q['direction']}, {q['width']} bits)" for q in got))
        for n, d in ((pa, "in"), (pb, "in"), (pp, "out")):
            if by[n]["direction"] != d:
                raise ValueError(f"{what}: port {n} is an {by[n]['direction']}put; --ports names inputs A,B and "
                                 "output P")
        extra_in = [q["name"] for q in got if q["direction"] == "in" and q["name"] not in (pa, pb)]
        if extra_in:
            raise ValueError(f"{what}: inputs {', '.join(extra_in)} besides {pa}, {pb}: a black box must be a "
                             "combinational multiplier of two operands (no clock, no control inputs)")
        if by[pa]["width"] != by[pb]["width"]:
            raise ValueError(f"{what}: operands {pa} ({by[pa]['width']} bits) and {pb} ({by[pb]['width']} bits) "
                             "differ in width")
        self.width, self.product_bits = by[pa]["width"], by[pp]["width"]
        if not 2 <= self.width <= MAX_WIDTH:
            raise ValueError(f"{what}: operands of {self.width} bits; every pair is visited for 2..{MAX_WIDTH} "
                             f"bits (2^{2 * MAX_WIDTH} pairs)")
        if self.product_bits > 64:
            raise ValueError(f"{what}: product {pp} has {self.product_bits} bits; up to 64 are read")
        self.name = f"verilog:{self.top}"
        self.wrap = f"blackbox_{self.top}"

    def config(self):
        """What was measured: file, module, ports, widths and the defines."""
        return {"width": self.width, "signed": self.signed, "file": str(self.path), "module": self.top,
                "ports": ",".join(self.ports), "product_bits": self.product_bits, "defines": self.defines}

    def describe(self):
        conds = ", ".join(f"line {c['line']} {c['directive']} {'taken' if c['taken'] else 'skipped'}"
                          for c in self.conditionals)
        return (f"{self.path} module {self.top} ({'signed' if self.signed else 'unsigned'} {self.width}-bit "
                f"operands {self.ports[0]}, {self.ports[1]}; product {self.ports[2]}, {self.product_bits} bits); "
                f"defines {', '.join(self.defines) or '(none)'}" + (f"; {conds}" if conds else ""))

    def _wrapped(self):
        """The file plus a module ``a, b -> p`` around its top (the harness's port names)."""
        w, pw = self.width, self.product_bits
        pa, pb, pp = self.ports
        return (self.text + f"\nmodule {self.wrap}(input [{w - 1}:0] a, input [{w - 1}:0] b, "
                f"output [{pw - 1}:0] p);\n  {self.top} u (.{pa}(a), .{pb}(b), .{pp}(p));\nendmodule\n")

    def chunks(self, chunk_pairs=1 << 22):
        """Yield ``(a, b, products)`` for every operand pair: ``a`` (na,) and ``b`` (2**width,) operand values,
        ``products`` (na, 2**width) int64 (two's complement when signed)."""
        w = self.width
        n = 1 << w
        outs = [("p", self.product_bits, self.signed, 8)]
        exe, _ = build_harness(self._wrapped(), self.wrap, w, outs, 0, 0, engine="aig", build_root=self.root)
        chunk_a = max(1, min(n, chunk_pairs >> w))
        b_vals = operand_patterns_to_values(np.arange(n), w, self.signed)
        proc = subprocess.Popen([str(exe), "0", str(n), str(chunk_a)], stdout=subprocess.PIPE, bufsize=0)
        try:
            for a0 in range(0, n, chunk_a):
                na = min(chunk_a, n - a0)
                buf = bytearray(na * n * 8)
                view, got = memoryview(buf), 0
                while got < len(buf):
                    k = proc.stdout.readinto(view[got:])
                    if not k:
                        raise ToolError(f"the harness of {self.top} stopped after {a0 * n + got // 8} of "
                                        f"{n * n} products")
                    got += k
                a_vals = operand_patterns_to_values(np.arange(a0, a0 + na), w, self.signed)
                yield a_vals, b_vals, np.frombuffer(buf, np.int64).reshape(na, n)
        finally:
            proc.stdout.close()
            rc = proc.wait()
        if rc != 0:
            raise ToolError(f"the harness of {self.top} exited with {rc}")

    def metrics(self, progress=None):
        """Exhaustive error metrics (:func:`pymodel.table_mult.product_error_metrics`)."""
        return product_error_metrics(self.name, self.config(), self.chunks(), total=1 << (2 * self.width),
                                     progress=progress)

    def table(self):
        """Every product, ``table[pa, pb]`` by operand bit patterns (int64), up to 12 bits."""
        if self.width > TABLE_MAX_WIDTH:
            raise ValueError(f"--verilog: a product table is held up to {TABLE_MAX_WIDTH}-bit operands "
                             f"(2^{2 * TABLE_MAX_WIDTH} entries); this circuit has {self.width}")
        return np.concatenate([p for _, _, p in self.chunks()])

    def multiplier(self):
        """A :class:`pymodel.table_mult.TableMultiplier` of the circuit (the NN studies' multiplier)."""
        return TableMultiplier(self.name, self.width, self.signed, self.table(), config=self.config())

    def cost(self, *, fmax=True, abc="fast", cache_dir=None):
        """``{"design", "approx", "exact", "ratio", "baseline", ...}`` as :func:`hdl.cost.cost`: the file and
        the exact multiplier of the same widths through the same yosys (and nextpnr) flow."""
        from hdl.cost import check_tools, registered_wrapper, synth_metrics
        from pymodel.nn.matmul import ExactMultiplier
        check_tools(fmax)
        cache_dir = str(cache_path("cost")) if cache_dir is None else cache_dir
        w, pw = self.width, self.product_bits
        ports = [{"name": "a", "direction": "in", "width": w, "signed": self.signed},
                 {"name": "b", "direction": "in", "width": w, "signed": self.signed},
                 {"name": "p", "direction": "out", "width": pw, "signed": self.signed}]
        text = self._wrapped()
        mine = synth_metrics(text, self.wrap, wrapper=(registered_wrapper(self.wrap, ports, self.wrap + "_reg"),
                                                       self.wrap + "_reg"), fmax=fmax, abc=abc, cache_dir=cache_dir)
        from hdl.cost import exact_name, exact_verilog
        ex_cfg = ExactMultiplier(width=w, signed=self.signed)
        ename = exact_name(ex_cfg, "mul")
        eports = [dict(q, width=2 * w) if q["name"] == "p" else q for q in ports]
        exact = synth_metrics(exact_verilog(ex_cfg, "mul", ename), ename,
                              wrapper=(registered_wrapper(ename, eports, ename + "_reg"), ename + "_reg"),
                              fmax=fmax, abc=abc, cache_dir=cache_dir)
        keys = ("cells", "depth", "ice40_luts", "fmax_mhz")
        ratio = {k: (mine[k] / exact[k] if mine[k] is not None and exact[k] else None) for k in keys}
        notes = {d: r["fmax_note"] for d, r in (("approx", mine), ("exact", exact)) if r.get("fmax_note")}
        return {"design": self.name, "width": w, "config": self.config(), "op": "mul", "stages": 0,
                "module": self.top, "abc": abc,
                "baseline": f"exact {'signed' if self.signed else 'unsigned'} {w}-bit multiplier a*b, combinational",
                "notes": notes, "approx": {k: mine[k] for k in keys}, "exact": {k: exact[k] for k in keys},
                "ratio": ratio, "cached": mine["cached"] and exact["cached"], "tools": mine["tools"]}
