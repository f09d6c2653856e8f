"""The one parameter object: ``Mitchell`` feeds the model, the HDL, the benches and the CLI."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import fast, reference
from .gemm_forms import LogAdd, below_2_31
from .designs.base import MAX_WIDTH, Design, OperandChecks, Param
from .designs.base import check_int as _check_int  # noqa: F401  (kept for importers)

__all__ = ["Mitchell", "MAX_WIDTH", "OperandChecks"]


@dataclass(frozen=True, kw_only=True)
class Mitchell(Design):
    """Mitchell's logarithmic multiplier and divider (Mitchell 1962), bit-accurate.

    Parameters
    ----------
    width : int
        Operand width in bits, 2..32.
    frac_bits : int, optional
        Log-fraction bits kept after the log converter, 0..width-1.  The
        default ``width - 1`` keeps every bit (no truncation).
    signed : bool
        Two's-complement operands.  Magnitudes go through the unsigned
        ``width``-bit datapath and the sign is applied by exact negation, so
        signed quotients round toward zero.
    quotient_frac_bits : int, optional
        Fraction bits of the divider's fixed-point output, default ``width``;
        0..min(2*width, 64-width) so that the quotient magnitude fits 64 bits.

    Output widths
    -------------
    Product: ``2*width`` bits.  Quotient: ``width + quotient_frac_bits`` bits,
    one more when signed (``-2**(width-1) / -1`` is positive ``2**(width-1)``).

    Division by zero
    ----------------
    Scalars raise ``ZeroDivisionError``.  Arrays raise it too, unless
    ``on_zero="saturate"``: then ``div`` returns ``(q, dbz)`` where ``dbz`` flags
    ``b == 0`` and ``q`` is all ones in the magnitude bits with the dividend's
    sign (``2**(width+Q) - 1``, or ``-2**(width+Q)`` for a signed negative
    dividend), exactly what the hardware drives with its ``dbz`` output.
    """

    frac_bits: int = None
    quotient_frac_bits: int = None

    NAME: ClassVar[str] = "mitchell"
    TITLE: ClassVar[str] = "Mitchell's logarithmic multiplier and divider"
    REFERENCE: ClassVar[str] = ("J. N. Mitchell, Computer multiplication and division using binary logarithms, "
                                "IRE Trans. EC-11(4), 1962")
    OPS: ClassVar[tuple] = ("mul", "div")
    PARAMS: ClassVar[tuple] = (
        Param("frac_bits", int, 0, "width-1", "width-1", "log-fraction bits kept after the log converter "
              "(truncation floors)", "f", " (width - 1 keeps every bit)"),
        Param("quotient_frac_bits", int, 0, "min(2*width, 64-width)", "width",
              "divider output fraction bits: q = floor(Q * 2^quotient_frac_bits)", "q",
              " (at most 2*width, and width + quotient_frac_bits <= 64)"),
    )
    HARDWARE: ClassVar[dict] = {"mul": "hdl.mitchell:MitchellMultiplier", "div": "hdl.mitchell:MitchellDivider"}
    SPEC: ClassVar[dict] = {"mul": "hdl.specs.mitchell:MitchellMulSpec", "div": "hdl.specs.mitchell:MitchellDivSpec"}

    mul_magnitude = fast.mul_magnitude_p
    div_magnitude = fast.div_magnitude_p

    def kernel_params(self):
        return (np.int64(self.frac_bits), np.int64(self.quotient_frac_bits))

    def mul_unsigned(self, a, b):
        return reference.mul_unsigned(a, b, self.width, self.frac_bits)

    @below_2_31
    def gemm_form(self):
        return LogAdd(keep_bits=self.frac_bits)

    def exact_form(self, op):
        """:mod:`pymodel.exact.mitchell`: the multiplier at every width, the divider where its pieces fit."""
        from .exact import mitchell
        if op == "mul" or (op == "div" and mitchell.div_available(self)):
            return mitchell.exact_metrics
        return None

    def div_unsigned(self, a, b):
        return reference.div_unsigned(a, b, self.width, self.frac_bits, self.quotient_frac_bits)

    # -- derived widths -------------------------------------------------------
    @property
    def truncated(self):
        return self.frac_bits < self.width - 1

    # The compiled kernels of pymodel.fast (cached), not the design-generic ones.
    def _mul_array(self, a, b, out):
        fast.mul_kernel(a, b, out, self.frac_bits, self.signed)

    def _div_array(self, a, b, out, dbz):
        sat = np.uint64((1 << (self.width + self.quotient_frac_bits)) - 1)
        fast.div_kernel(a, b, out, dbz, self.frac_bits, self.quotient_frac_bits, self.signed, sat)
