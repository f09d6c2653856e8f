"""Mitchell's multiplier on IEEE bit patterns: ``bits(|x|) + bits(|y|) - bits(1.0)``, sign = xor.

For positive normal numbers the exponent field is Mitchell's ``k`` (biased) and the
mantissa field is ``x``; adding the patterns as integers adds the logs, and a mantissa
carry bumps the exponent: this *is* Mitchell's product (Mogami 2020).

Semantics (shared by the model, the HDL and the bench):

- subnormal inputs count as zero (DAZ);
- a result below the smallest normal flushes to a zero with the product's sign;
- a result beyond the largest finite number is the infinity with the product's sign;
- a NaN input gives the canonical quiet NaN (positive, top mantissa bit set);
- inf x 0 is that NaN; inf x finite is a signed inf; zero x finite is a signed zero.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["FloatMitchell", "FORMATS"]

FORMATS = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}


@dataclass(frozen=True)
class FloatMitchell:
    """Float Mitchell multiplier for ``fmt`` in ``fp32``, ``fp16``, ``bf16``.

    ``mul_bits`` works on raw bit patterns (Python ints or uint32/uint16 arrays);
    ``mul`` on numpy floats: float32, float16, or bf16 held in float32 values that
    must be exactly bf16-representable.
    """

    fmt: str = "fp32"

    def __post_init__(self):
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {tuple(FORMATS)}, got {self.fmt!r}")

    # -- format constants -----------------------------------------------------
    @property
    def exp_bits(self):
        return FORMATS[self.fmt][0]

    @property
    def mant_bits(self):
        return FORMATS[self.fmt][1]

    @property
    def width(self):
        return 1 + self.exp_bits + self.mant_bits

    @property
    def bias(self):
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def one(self):
        """Bit pattern of 1.0."""
        return self.bias << self.mant_bits

    @property
    def exp_max(self):
        return (1 << self.exp_bits) - 1

    @property
    def inf(self):
        return self.exp_max << self.mant_bits

    @property
    def qnan(self):
        return self.inf | (1 << (self.mant_bits - 1))

    @property
    def bits_dtype(self):
        return np.dtype(np.uint32 if self.width == 32 else np.uint16)

    def describe(self):
        return self.fmt

    def as_dict(self):
        return {"fmt": self.fmt}

    # -- the specification on Python ints ---------------------------------------
    def _mul_bits_scalar(self, x, y):
        w, mb = self.width, self.mant_bits
        sign = ((x ^ y) >> (w - 1)) & 1
        s = sign << (w - 1)
        absmask = (1 << (w - 1)) - 1
        ax, ay = x & absmask, y & absmask
        ex, ey = ax >> mb, ay >> mb
        x_nan, y_nan = ax > self.inf, ay > self.inf
        x_inf, y_inf = ax == self.inf, ay == self.inf
        x_zero, y_zero = ex == 0, ey == 0          # DAZ: subnormals are zeros
        if x_nan or y_nan or (x_inf and y_zero) or (x_zero and y_inf):
            return self.qnan
        if x_inf or y_inf:
            return s | self.inf
        if x_zero or y_zero:
            return s
        mag = ax + ay - self.one                   # the whole of Mitchell's method
        if mag < (1 << mb):                        # exponent field <= 0: below the smallest normal
            return s
        if mag >= self.inf:                        # exponent field all ones or beyond
            return s | self.inf
        return s | mag

    def _check_bits(self, name, v):
        lim = (1 << self.width) - 1
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 0 <= int(v) <= lim:
                raise ValueError(f"operand {name}={v} is not a {self.width}-bit pattern (0..{lim})")
            return int(v)
        a = np.asarray(v)
        if a.dtype.kind not in "iu":
            raise TypeError(f"operand {name} must hold {self.fmt} bit patterns as integers, got dtype {a.dtype}")
        if a.size and (int(a.min()) < 0 or int(a.max()) > lim):
            raise ValueError(f"operand {name} holds values outside 0..{lim} ({self.fmt} bit patterns)")
        return a.astype(np.int64)

    def mul_bits(self, x, y):
        """Product bit patterns.  Python ints give a Python int; arrays broadcast and give ``bits_dtype``."""
        xi, yi = self._check_bits("x", x), self._check_bits("y", y)
        if isinstance(xi, int) and isinstance(yi, int):
            return self._mul_bits_scalar(xi, yi)
        xi, yi = np.broadcast_arrays(np.asarray(xi, np.int64), np.asarray(yi, np.int64))
        return self._mul_bits_array(xi, yi).astype(self.bits_dtype)

    def _mul_bits_array(self, x, y):
        w, mb = self.width, self.mant_bits
        absmask = (1 << (w - 1)) - 1
        s = ((x ^ y) >> (w - 1) & 1) << (w - 1)
        ax, ay = x & absmask, y & absmask
        x_nan, y_nan = ax > self.inf, ay > self.inf
        x_inf, y_inf = ax == self.inf, ay == self.inf
        x_zero, y_zero = (ax >> mb) == 0, (ay >> mb) == 0
        mag = ax + ay - self.one
        out = np.where(mag < (1 << mb), s, np.where(mag >= self.inf, s | self.inf, s | mag))
        out = np.where(x_zero | y_zero, s, out)
        out = np.where(x_inf | y_inf, s | self.inf, out)
        nan = x_nan | y_nan | (x_inf & y_zero) | (x_zero & y_inf)
        return np.where(nan, self.qnan, out)

    # -- float arrays ---------------------------------------------------------
    def to_bits(self, x, name="x"):
        """Float values to bit patterns of this format (checked, never rounded)."""
        a = np.asarray(x)
        if self.fmt == "fp32":
            if a.dtype != np.float32:
                raise TypeError(f"{name} must be float32 for fp32, got {a.dtype}")
            return a.view(np.uint32)
        if self.fmt == "fp16":
            if a.dtype != np.float16:
                raise TypeError(f"{name} must be float16 for fp16, got {a.dtype}")
            return a.view(np.uint16)
        if a.dtype != np.float32:
            raise TypeError(f"{name} must be float32 holding bf16 values, got {a.dtype}")
        u = np.ascontiguousarray(a).view(np.uint32).reshape(a.shape)   # ascontiguousarray makes 0-d 1-d
        if (u & 0xFFFF).any():
            raise ValueError(f"{name} holds values that are not bf16-representable (low 16 bits set); "
                             "round them to bf16 first")
        return (u >> 16).astype(np.uint16)

    def from_bits(self, b):
        b = np.asarray(b)
        if self.fmt == "fp32":
            return b.astype(np.uint32).view(np.float32)
        if self.fmt == "fp16":
            return b.astype(np.uint16).view(np.float16)
        return (b.astype(np.uint32) << 16).view(np.float32)

    def mul(self, x, y):
        """Float Mitchell product of float arrays (see the class docstring for the dtypes)."""
        out = self.from_bits(self.mul_bits(self.to_bits(x, "x"), self.to_bits(y, "y")))
        return out[()] if out.ndim == 0 else out
