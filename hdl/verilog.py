"""Verilog generation from a ``pymodel.Mitchell`` config."""

from amaranth.back import verilog
from amaranth.hdl import Shape

from .mitchell import check_module_name, create

__all__ = ["generate", "ports_of"]


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
    comp = create(config, op, stages=stages, _fault=_fault)
    name = check_module_name(name) if name is not None else comp.default_name
    text = verilog.convert(comp, name=name, emit_src=False)
    return text, comp, name
