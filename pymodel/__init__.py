"""Bit-accurate golden model of Mitchell's logarithmic multiplier and divider.

``pymodel`` imports neither amaranth nor cocotb: it can be used on its own.
"""

from . import reference
from .config import MAX_WIDTH, Mitchell
from .floatmitchell import FORMATS, FloatMitchell

__all__ = ["Mitchell", "FloatMitchell", "FORMATS", "MAX_WIDTH", "reference"]
