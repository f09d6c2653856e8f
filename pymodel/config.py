"""The one parameter object: ``Mitchell`` feeds the model, the HDL, the benches and the CLI."""

import numbers
from dataclasses import dataclass

import numpy as np

from . import fast, reference

__all__ = ["Mitchell", "MAX_WIDTH", "OperandChecks"]

MAX_WIDTH = 32
ON_ZERO = ("raise", "saturate")


def _check_int(name, value, lo, hi, why=""):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in {lo}..{hi}{why}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}{why}, got {value}")
    return int(value)


def _dtype_for(bits, signed):
    """Smallest numpy integer dtype holding ``bits`` bits; None if over 64."""
    for n in (8, 16, 32, 64):
        if bits <= n:
            return np.dtype(f"{'i' if signed else 'u'}{n // 8}")
    return None


class OperandChecks:
    """Operand range and checks of a ``width``-bit, optionally ``signed`` multiplier."""

    @property
    def operand_range(self):
        """Inclusive ``(lo, hi)`` of an operand."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    def _check_scalar(self, name, v):
        lo, hi = self.operand_range
        if not lo <= v <= hi:
            kind = "signed" if self.signed else "unsigned"
            raise ValueError(f"operand {name}={v} is out of range for {kind} width {self.width}: {lo}..{hi}")

    def _check_array(self, name, v):
        v = np.asarray(v)
        if v.dtype.kind not in "iu":
            raise TypeError(f"operand {name} must be a Python int or an integer numpy array, got dtype {v.dtype}")
        lo, hi = self.operand_range
        if v.size:
            vmin, vmax = int(v.min()), int(v.max())
            if vmin < lo or vmax > hi:
                bad = vmin if vmin < lo else vmax
                kind = "signed" if self.signed else "unsigned"
                raise ValueError(f"operand {name} holds {bad}, out of range for {kind} width {self.width}: {lo}..{hi}")
        return v.astype(np.int64)


@dataclass(frozen=True, kw_only=True)
class Mitchell(OperandChecks):
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

    width: int
    frac_bits: int = None
    signed: bool = False
    quotient_frac_bits: int = None

    def __post_init__(self):
        w = _check_int("width", self.width, 2, MAX_WIDTH)
        f = w - 1 if self.frac_bits is None else self.frac_bits
        f = _check_int("frac_bits", f, 0, w - 1, " (width - 1 keeps every bit)")
        if not isinstance(self.signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, got {self.signed!r}")
        q = w if self.quotient_frac_bits is None else self.quotient_frac_bits
        q = _check_int("quotient_frac_bits", q, 0, min(2 * w, 64 - w),
                       " (at most 2*width, and width + quotient_frac_bits <= 64)")
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "frac_bits", f)
        object.__setattr__(self, "signed", bool(self.signed))
        object.__setattr__(self, "quotient_frac_bits", q)

    # -- derived widths -------------------------------------------------------
    @property
    def product_width(self):
        return 2 * self.width

    @property
    def quotient_width(self):
        return self.width + self.quotient_frac_bits + int(self.signed)

    @property
    def truncated(self):
        return self.frac_bits < self.width - 1

    def describe(self):
        s = f"{'s' if self.signed else 'u'}{self.width}"
        if self.truncated:
            s += f" frac_bits={self.frac_bits}"
        return s

    def as_dict(self):
        return {"width": self.width, "frac_bits": self.frac_bits, "signed": self.signed,
                "quotient_frac_bits": self.quotient_frac_bits}

    # -- operands ---------------------------------------------------------------
    def _operands(self, a, b):
        """``("scalar", a, b)`` for two Python ints, else int64 arrays broadcast flat."""
        scalar = all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b))
        if scalar:
            self._check_scalar("a", a)
            self._check_scalar("b", b)
            return True, a, b, None
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or isinstance(v, float):
                raise TypeError(f"operand {name} must be an int or an integer numpy array, got {type(v).__name__}")
        a = self._check_array("a", a)
        b = self._check_array("b", b)
        try:
            a, b = np.broadcast_arrays(a, b)
        except ValueError:
            raise ValueError(f"operands a {a.shape} and b {b.shape} do not broadcast") from None
        shape = a.shape
        return False, np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel(), shape

    @staticmethod
    def _result(bits_u64, shape, dtype, signed):
        v = bits_u64.view(np.int64) if signed else bits_u64
        r = v.astype(dtype).reshape(shape)
        return r[()] if r.ndim == 0 else r

    def _out_dtype(self, bits, what):
        dt = _dtype_for(bits, self.signed)
        if dt is None:
            raise ValueError(f"the {what} needs {bits} bits, more than a 64-bit numpy integer holds; "
                             "use Python ints, or fewer quotient_frac_bits")
        return dt

    # -- the operators --------------------------------------------------------
    def mul(self, a, b):
        """Mitchell product.  Python ints in, Python int out; integer arrays broadcast,
        and the result has the smallest integer dtype holding ``2*width`` bits."""
        scalar, a, b, shape = self._operands(a, b)
        if scalar:
            return reference.mul(a, b, self.width, self.frac_bits, self.signed)
        dtype = self._out_dtype(self.product_width, "product")
        out = np.empty(a.size, np.uint64)
        fast.mul_kernel(a, b, out, self.frac_bits, self.signed)
        return self._result(out, shape, dtype, self.signed)

    def div(self, a, b, *, on_zero="raise"):
        """Mitchell quotient ``floor(Q * 2**quotient_frac_bits)`` (the magnitude is floored).

        ``on_zero="raise"`` (default) raises ``ZeroDivisionError`` for any ``b == 0``.
        ``on_zero="saturate"`` returns ``(q, dbz)`` instead: see the class docstring.
        """
        if on_zero not in ON_ZERO:
            raise ValueError(f"on_zero must be one of {ON_ZERO}, got {on_zero!r}")
        scalar, a, b, shape = self._operands(a, b)
        w, f, qf, s = self.width, self.frac_bits, self.quotient_frac_bits, self.signed
        if scalar:
            if b == 0 and on_zero == "saturate":
                return reference.div_saturated(a, w, qf, s), True
            q = reference.div(a, b, w, f, qf, s)
            return (q, False) if on_zero == "saturate" else q
        dtype = self._out_dtype(self.quotient_width, "quotient")
        if on_zero == "raise" and a.size and not b.all():
            i = int(np.flatnonzero(b == 0)[0])
            raise ZeroDivisionError(f"Mitchell division by zero at flat index {i} "
                                    "(pass on_zero='saturate' for the hardware's dbz behaviour)")
        out = np.empty(a.size, np.uint64)
        dbz = np.zeros(a.size, np.bool_)
        sat = np.uint64((1 << (w + qf)) - 1)
        fast.div_kernel(a, b, out, dbz, f, qf, s, sat)
        q = self._result(out, shape, dtype, s)
        if on_zero == "saturate":
            d = dbz.reshape(shape)
            return q, (d[()] if d.ndim == 0 else d)
        return q
