"""Bit-accurate golden models of the log family: Mitchell's multiplier and divider (``Mitchell``), the other
designs by name from ``pymodel.registry``, their error metrics (``pymodel.metrics``) and the NN layers
(``pymodel.nn``).

``pymodel`` imports neither amaranth nor cocotb: it can be used on its own.
"""

from . import reference
from .config import MAX_WIDTH, Mitchell
from .floatmitchell import FORMATS, FloatMitchell

__all__ = ["Mitchell", "FloatMitchell", "FORMATS", "MAX_WIDTH", "reference"]
