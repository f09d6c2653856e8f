"""Amaranth 0.5 hardware of Mitchell's multiplier and divider, from a ``pymodel.Mitchell``."""

from .blocks import Antilog, FractionAdder, LeadingOneDetector, LogConverter
from .mitchell import MAX_STAGES, FloatMitchellMultiplier, MitchellDivider, MitchellMultiplier, create

__all__ = ["LeadingOneDetector", "LogConverter", "FractionAdder", "Antilog",
           "MitchellMultiplier", "MitchellDivider", "FloatMitchellMultiplier", "create", "MAX_STAGES"]
