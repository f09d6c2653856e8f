"""Verilog generation from a ``pymodel.Mitchell`` config."""

import re

from amaranth.back import verilog
from amaranth.hdl import Shape

from .mitchell import check_module_name, create
from .tools import ToolMissing

__all__ = ["generate", "header", "ports_of", "lint", "LINT_WAIVERS", "VERILOG_KEYWORDS"]


def ports_of(component):
    """``[{"name", "direction", "width", "signed"}]`` of a component's ports in the order of the generated
    module: clock and reset (when clocked), then inputs, then outputs (each in signature order)."""
    ports = []
    if component.stages:
        ports += [{"name": "clk", "direction": "in", "width": 1, "signed": False},
                  {"name": "rst", "direction": "in", "width": 1, "signed": False}]
    members = []
    for name, member in component.signature.members.items():
        shape = Shape.cast(member.shape)
        members.append({"name": name, "direction": "in" if member.flow.name == "In" else "out",
                        "width": shape.width, "signed": shape.signed})
    return ports + [p for p in members if p["direction"] == "in"] + [p for p in members if p["direction"] == "out"]


def generate(config, op, *, stages=0, name=None, _fault=None):
    """``(verilog_text, component, module_name)`` for ``op`` of ``config``.

    The text starts with a header comment (design, every parameter, latency, handshake, port formats);
    the top module lists its ports clock, reset, inputs, outputs, and declares signed ports ``signed``.
    """
    if name is not None:
        check_module_name(name)      # before building: a component must not be left unelaborated
        if name in VERILOG_KEYWORDS:
            raise ValueError(f"name {name!r} is a Verilog keyword; choose another module name")
    comp = create(config, op, stages=stages, _fault=_fault)
    name = name or comp.default_name
    text = verilog.convert(comp, name=name, emit_src=False)
    ports = ports_of(comp)
    text = _top_ports(text, name, ports)
    return header(config, op, comp, name, ports) + text, comp, name


def _top_ports(text, name, ports):
    """The top module's port list in the order clock, reset, inputs, outputs (yosys writes them in hash order),
    and ``signed`` on its signed ports' declarations.  Only the declarations change: inside the module yosys
    reads a port through bit selects, concatenations and ``$signed()``, and the benches check every design
    bit for bit."""
    m = re.search(rf"^module {re.escape(name)}\(([^)]*)\);$", text, re.M)
    if m is None:
        raise RuntimeError(f"module {name} not found in the generated Verilog")
    have = [x.strip() for x in m.group(1).split(",")]
    order = [p["name"] for p in ports]
    if sorted(have) != sorted(order):
        raise RuntimeError(f"unexpected ports of {name}: {have}")
    text = text[:m.start(1)] + ", ".join(order) + text[m.end(1):]
    end = text.index("endmodule", m.start())
    body = text[m.start():end]
    for p in ports:
        if p["signed"]:
            body = re.sub(rf"^(  (?:input|output|wire|reg)) (\[\d+:0\] {p['name']};)$", r"\1 signed \2", body, flags=re.M)
    return text[:m.start()] + body + text[end:]


def _port_doc(p, config, op):
    """One line on what a port carries."""
    d = config.as_dict()
    n, w = p["name"], p["width"]
    fmt = f"signed [{w - 1}:0]" if p["signed"] else (f"[{w - 1}:0]" if w > 1 else "")
    what = {
        "clk": "clock, rising edge",
        "rst": "synchronous reset, active high: empties the pipeline",
        "i_valid": "input handshake: a, b are taken when i_valid && i_ready",
        "i_ready": "input handshake: low while the output is held (o_valid && !o_ready)",
        "o_valid": "output handshake: the result is valid",
        "o_ready": "output handshake: the result is taken when o_valid && o_ready; it holds otherwise",
        "dbz": "division by zero (b == 0); q is then saturated (all ones in the magnitude, the sign of a)",
    }.get(n)
    if what is None and p["direction"] == "in":
        what = ("operand, " + ("two's complement" if p["signed"] else "unsigned")
                if op != "fmul" else f"operand, {d.get('fmt', '')} bit pattern")
    if what is None and n == "q":
        q = d.get("quotient_frac_bits")
        what = (f"quotient, fixed point with {q} fraction bits: a / b ~ q / 2^{q}"
                + ("; two's complement, rounded toward zero" if p["signed"] else "; unsigned, floored"))
    if what is None and n == "p":
        what = (f"product {d.get('fmt', '')} bit pattern" if op == "fmul" else
                "product a * b, " + ("two's complement" if p["signed"] else "unsigned") + ", exact width")
    return f"//   {p['direction']:<3} {fmt:<15} {n:<8} {what or ''}".rstrip()


def header(config, op, comp, name, ports):
    """The header comment of a generated file: from the config and the component, for any design."""
    params = ", ".join(f"{k}={v}" for k, v in config.as_dict().items())
    lat = comp.latency
    timing = ("combinational: no clock, no handshake, latency 0" if not lat else
              f"latency {lat} clock cycle(s), one result per cycle; valid/ready stream handshake on both sides "
              "(payloads hold while valid and not ready); a stalled output stalls the whole pipeline")
    lines = [f"// {name}: generated by mitchell (hdl.verilog.generate); do not edit",
             f"// design: {type(config).__name__} ({config.describe()}), op {op}",
             f"// parameters: {params}, stages={getattr(comp, 'stages', 0)}",
             f"// timing: {timing}",
             "// ports (clock, reset, inputs, outputs):"]
    lines += [_port_doc(p, config, op) for p in ports]
    return "\n".join(lines) + "\n"


# Verilog-2005 (IEEE 1364) keywords plus the SystemVerilog ones tools also reserve: not usable as a module name.
VERILOG_KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default defparam
design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive endspecify endtable
endtask event for force forever fork function generate genvar highz0 highz1 if ifnone incdir include initial inout
input instance integer join large liblist library localparam macromodule medium module nand negedge nmos nor
noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup
pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1
scalared showcancelled signed small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0
tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
alias always_comb always_ff always_latch assert assume before bind bins binsof bit break byte chandle class clocking
const constraint context continue cover covergroup coverpoint cross dist do endclass endclocking endgroup
endinterface endpackage endprogram endproperty endsequence enum expect export extends extern final first_match
foreach forkjoin iff ignore_bins illegal_bins import inside int interface intersect join_any join_none local logic
longint matches modport new null package packed priority program property protected pure rand randc randcase
randsequence ref return sequence shortint shortreal solve static string struct super tagged this throughout
timeprecision timeunit type typedef union unique var virtual void wait_order wildcard with within
""".split())


# Verilator -Wall warnings that yosys's write_verilog output raises by construction:
# DECLFILENAME: the whole hierarchy goes into one file; WIDTH: it relies on Verilog's
# implicit zero-extension; UNUSEDSIGNAL: carry bits of its temporaries are left unread;
# LITENDIAN: with frac_bits=0 an internal zero-width port is written as [-1:0].
# The cocotb benches check the semantics bit for bit.
LINT_WAIVERS = ("DECLFILENAME", "WIDTH", "UNUSEDSIGNAL", "LITENDIAN")


def lint(path):
    """``(ok, output)`` of ``verilator --lint-only -Wall`` with :data:`LINT_WAIVERS`."""
    import shutil
    import subprocess
    if shutil.which("verilator") is None:
        raise ToolMissing("verilator not found: install the Debian package 'verilator' (or run 'make setup')")
    cmd = ["verilator", "--lint-only", "-Wall", *[f"-Wno-{w}" for w in LINT_WAIVERS], str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and not out, out
