"""How a design's product maps onto a fast GEMM kernel (:func:`pymodel.nn.approx_matmul`).

A design states one of these forms in ``gemm_form()``, next to its ``mul_magnitude``;
``approx_matmul`` then runs the SIMD kernel of that form instead of calling the
magnitude function per product.  A form is a claim about the design, and the claim is
checked: tests/test_matmul.py compares every design's fast path with its ``mul`` (the
golden model) on every 8-bit pair and on sampled 16-bit pairs, and shows a wrong form
caught.  A design without a form runs the general kernel.

``LogAdd`` and ``BitwiseSplit`` hold for products below ``2**31`` (signed widths up to 16,
unsigned up to 15), where the float32 patterns below are exact; a design returns None past
them (:func:`below_2_31`) and the general kernel runs.

:class:`LogAdd`
    The Mitchell family.  The float32 bit pattern of ``0 < v < 2**24`` is its Mitchell
    logarithm (exponent field ``k + 127``, mantissa field the fraction), so with ::

        code(v) = (bits(float32(v)) & keep mask) | or_code       (``keep_bits`` fraction bits)

    the float32 whose pattern is ``code(a) + code(b) - bits(1.0) + add_a`` (then ``| or_sum``)
    is ``2**(ka+kb) * (1 + xa + xb)``, or ``2**(ka+kb+1) * (xa + xb)`` past the carry:
    Mitchell's antilog of the sum of the two fixed-point logs, the carry handled by the
    exponent field.  The product magnitude is ``floor`` of that float plus
    ``correction[ia][ib] / 2**correction_bits * 2**(ka+kb)``, where ``ia``, ``ib`` are the
    top ``segment_bits`` bits of each operand's untruncated fraction (one constant when
    ``segment_bits`` is 0), saturated at ``product_max``.

:class:`Residues`
    ``|a| * |b| - r(|a|) * r(|b|)`` for a per-operand residue ``r`` (ILM: the operand less
    its top set bits; nearest-one: the operand less its nearest power of two).  With the
    signs, ``a * b - (sign(a) r(|a|)) (sign(b) r(|b|))``: two exact integer GEMMs (BLAS), at
    any width.
    The design guarantees its products never reach ``product_max`` (no saturation).

:class:`BitwiseSplit`
    ``M(|a| | |b|, |a| & |b|) + M(|a| & ~|b|, |b| & ~|a|)`` with ``M`` Mitchell's product at
    ``frac_bits`` (operand decomposition): each product forms its operand pairs in registers.
"""

from dataclasses import dataclass

import functools

__all__ = ["LogAdd", "Residues", "BitwiseSplit", "fraction_ulp", "FRACTION_BITS", "MAX_WIDTH", "below_2_31"]

FRACTION_BITS = 23          # float32 mantissa field
MAX_WIDTH = {True: 16, False: 15}      # signed / unsigned widths whose products stay below 2**31


def below_2_31(gemm_form):
    """Decorator of a design's ``gemm_form`` for the forms that need products below ``2**31``
    (:class:`LogAdd`, :class:`BitwiseSplit`): None past ``MAX_WIDTH``, where the general kernel runs."""
    @functools.wraps(gemm_form)
    def wrapper(self):
        return gemm_form(self) if self.width <= MAX_WIDTH[bool(self.signed)] else None
    return wrapper


def fraction_ulp(n):
    """The float32 pattern increment of ``2**-n`` in the fraction (``0 <= n <= 23``)."""
    if not 0 <= n <= FRACTION_BITS:
        raise ValueError(f"fraction bit {n} outside 0..{FRACTION_BITS}")
    return 1 << (FRACTION_BITS - n)


@dataclass(frozen=True)
class LogAdd:
    """Float32-pattern log addition, with an optional per-segment correction (module docstring).

    Attributes
    ----------
    keep_bits : int
        Fraction bits of ``|v|`` kept (truncated) in the code, 0..23.
    or_code : int
        Pattern bits OR'ed into each nonzero operand's code (a set one below the kept bits).
    add_a : int
        Pattern increment added to the log sum (a constant LSB of the adder).
    or_sum : int
        Pattern bits OR'ed into the sum (a set-one adder's low bits).
    segment_bits : int
        Bits of each untruncated fraction that index ``correction`` (0: one constant).
    correction : tuple of tuples of int, or None
        ``2**segment_bits`` rows of ``2**segment_bits`` non-negative ints.
    correction_bits : int
        Fraction bits of the correction entries.
    """

    keep_bits: int
    or_code: int = 0
    add_a: int = 0
    or_sum: int = 0
    segment_bits: int = 0
    correction: tuple = None
    correction_bits: int = 0

    def __post_init__(self):
        if not 0 <= self.keep_bits <= FRACTION_BITS:
            raise ValueError(f"keep_bits {self.keep_bits} outside 0..{FRACTION_BITS}")
        if self.correction is not None:
            n = 1 << self.segment_bits
            if len(self.correction) != n or any(len(r) != n for r in self.correction):
                raise ValueError(f"correction must be {n} x {n} for segment_bits={self.segment_bits}")
            if any(c < 0 or c >= 1 << (self.correction_bits + 2) for r in self.correction for c in r):
                raise ValueError("correction entries must lie in [0, 4) after scaling")

    @property
    def plain(self):
        """Mitchell's own form: no extra bits and no correction (the fastest kernel)."""
        return self.or_code == 0 and self.add_a == 0 and self.or_sum == 0 and self.correction is None


@dataclass(frozen=True)
class Residues:
    """``a * b - (sign(a) r(|a|)) (sign(b) r(|b|))`` (module docstring).

    Attributes
    ----------
    residue : numba function
        ``r(v, params)``: an int64 magnitude ``v >= 0`` to its int64 residue, ``|r(v)| <= v``
        (``@njit(inline="always")``, like ``mul_magnitude``).
    params : tuple of int
        The ``params`` passed to ``residue``.
    """

    residue: object
    params: tuple


@dataclass(frozen=True)
class BitwiseSplit:
    """Operand decomposition: two Mitchell products of bitwise-combined operands (module docstring)."""

    frac_bits: int
