"""Verilog generation from a ``pymodel.Mitchell`` config."""

from amaranth.back import verilog
from amaranth.hdl import Shape

from .mitchell import check_module_name, create

__all__ = ["generate", "ports_of", "lint", "LINT_WAIVERS"]


def ports_of(component):
    """``[{"name", "direction", "width", "signed"}]`` of a component's ports (plus clk/rst when clocked)."""
    ports = []
    if component.stages:
        ports += [{"name": "clk", "direction": "in", "width": 1, "signed": False},
                  {"name": "rst", "direction": "in", "width": 1, "signed": False}]
    for name, member in component.signature.members.items():
        shape = Shape.cast(member.shape)
        ports.append({"name": name, "direction": "in" if member.flow.name == "In" else "out",
                      "width": shape.width, "signed": shape.signed})
    return ports


def generate(config, op, *, stages=0, name=None, _fault=None):
    """``(verilog_text, component, module_name)`` for ``op`` of ``config``."""
    if name is not None:
        check_module_name(name)      # before building: a component must not be left unelaborated
    comp = create(config, op, stages=stages, _fault=_fault)
    name = name or comp.default_name
    text = verilog.convert(comp, name=name, emit_src=False)
    return text, comp, name


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
        raise FileNotFoundError("verilator not found: install the Debian package 'verilator' (or run 'make setup')")
    cmd = ["verilator", "--lint-only", "-Wall", *[f"-Wno-{w}" for w in LINT_WAIVERS], str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and not out, out
