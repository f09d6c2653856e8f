"""The hardware specification of a design: resolved from the model's ``SPEC``.

Every design's model declares, next to its ``HARDWARE``, ``SPEC = {"mul":
"hdl.specs.<file>:<Class>", ...}``: a combinational component built as ``Class(config)``
with ports ``a``, ``b`` and ``p`` (or ``q``, ``dbz``), written plainly from the model
(:mod:`hdl.specs`).  :mod:`sim.prove` proves the generated unit equal to it; the spec itself
is checked against ``pymodel`` by simulation (``tests/test_specs.py``).
"""

import importlib

from .specs.mitchell import MitchellSpec

__all__ = ["MitchellSpec", "spec_for", "check_spec", "spec_class"]


def check_spec(config, op):
    """Raise ValueError when there is no hardware specification of ``op`` on ``config`` (builds nothing)."""
    if op not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {op!r}")
    specs = getattr(type(config), "SPEC", None) or {}
    if op not in specs:
        name = getattr(config, "NAME", None) or type(config).__name__
        have = f" (it has one for {', '.join(specs)})" if specs else ""
        raise ValueError(f"no hardware specification of {op!r} for {name}{have}: "
                         "--prove and the proof-based checks need one (the model's SPEC)")


def spec_class(config, op):
    """The spec component class of ``op`` on ``config`` (from ``config.SPEC``)."""
    check_spec(config, op)
    module, cls = config.SPEC[op].split(":")
    return getattr(importlib.import_module(module), cls)


def spec_for(config, op):
    """The specification component of ``op`` on ``config`` (the design's model as hardware)."""
    return spec_class(config, op)(config)
