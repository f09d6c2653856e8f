"""Amaranth 0.5 hardware of every design of the log family, built from the model's config object.

``create(config, op, stages=S)`` gives any registry design's multiplier (or divider) as a
``wiring.Component``, combinational or pipelined with a valid/ready stream; each design's core is in
``hdl/designs/`` (Mitchell's in ``hdl/mitchell.py`` with the shared blocks of ``hdl/blocks.py``), its
specification for the proofs in ``hdl/specs/``.
"""

from .blocks import Antilog, FractionAdder, LeadingOneDetector, LogConverter
from .mitchell import MAX_STAGES, FloatMitchellMultiplier, MitchellDivider, MitchellMultiplier, create

__all__ = ["LeadingOneDetector", "LogConverter", "FractionAdder", "Antilog",
           "MitchellMultiplier", "MitchellDivider", "FloatMitchellMultiplier", "create", "MAX_STAGES"]
