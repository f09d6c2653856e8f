"""Scalar reference of Mitchell's multiplier and divider on Python ints.

This module *is* the specification (as FloPoCo's ``emulate()``): every other
implementation (the numba kernels, the Amaranth HDL, the Verilog under cocotb)
is checked bit for bit against it.  It is written for clarity, not speed.

Number representation (Mitchell 1962)::

    N = 2**k * (1 + x),   0 <= x < 1,   k = position of the leading one

``x`` is the bits below the leading one, normalised to ``width - 1`` fraction
bits and then truncated to ``frac_bits`` bits; it is carried as the integer
numerator ``x * 2**frac_bits``.
"""

__all__ = [
    "leading_one", "log_convert", "fraction_add", "fraction_sub", "antilog",
    "floor_pow2", "mul_unsigned", "div_unsigned", "mul", "div", "div_saturated",
]


def leading_one(v):
    """Leading-one detector: the position ``k`` of the most significant set bit of ``v > 0``."""
    if v <= 0:
        raise ValueError(f"leading_one needs v > 0, got {v}")
    return v.bit_length() - 1


def log_convert(v, width, frac_bits):
    """Log converter: ``v > 0`` to ``(k, x)`` with ``log2(v) ~ k + x / 2**frac_bits``.

    The normalising shift puts the bits below the leading one into a
    ``width - 1`` bit fraction; truncation then keeps the top ``frac_bits``.
    """
    k = leading_one(v)
    r = v - (1 << k)
    x_full = r << (width - 1 - k)
    return k, x_full >> (width - 1 - frac_bits)


def fraction_add(x1, x2, frac_bits):
    """Fraction adder of the multiplier: ``(carry, x1 + x2 mod 1)``."""
    s = x1 + x2
    return s >> frac_bits, s & ((1 << frac_bits) - 1)


def fraction_sub(x1, x2, frac_bits):
    """Fraction subtractor of the divider: ``(borrow, x1 - x2 mod 1)``."""
    d = x1 - x2
    return int(d < 0), d & ((1 << frac_bits) - 1)


def floor_pow2(m, e):
    """``floor(m * 2**e)`` for integers ``m >= 0`` and any integer ``e``."""
    return m << e if e >= 0 else m >> -e


def antilog(e, f, frac_bits):
    """Antilog (a shifter): ``floor(2**e * (1 + f / 2**frac_bits))`` for any integer ``e``."""
    return floor_pow2((1 << frac_bits) | f, e - frac_bits)


def mul_unsigned(a, b, width, frac_bits):
    """Mitchell product of ``0 <= a, b < 2**width``, floored to an integer."""
    if a == 0 or b == 0:
        return 0
    k1, x1 = log_convert(a, width, frac_bits)
    k2, x2 = log_convert(b, width, frac_bits)
    one = 1 << frac_bits
    if x1 + x2 < one:       # 2^(k1+k2) (1 + x1 + x2)
        return floor_pow2(one + x1 + x2, k1 + k2 - frac_bits)
    return floor_pow2(x1 + x2, k1 + k2 + 1 - frac_bits)   # 2^(k1+k2+1) (x1 + x2)


def div_unsigned(a, b, width, frac_bits, quotient_frac_bits):
    """Mitchell quotient of ``a / b`` as ``floor(Q * 2**quotient_frac_bits)``; ``b == 0`` raises."""
    if b == 0:
        raise ZeroDivisionError("Mitchell division by zero (pass on_zero='saturate' to Mitchell.div "
                                "for the hardware's dbz behaviour)")
    if a == 0:
        return 0
    k1, x1 = log_convert(a, width, frac_bits)
    k2, x2 = log_convert(b, width, frac_bits)
    one = 1 << frac_bits
    scale = quotient_frac_bits - frac_bits
    if x1 >= x2:            # 2^(k1-k2) (1 + x1 - x2)
        return floor_pow2(one + x1 - x2, k1 - k2 + scale)
    return floor_pow2(2 * one + x1 - x2, k1 - k2 - 1 + scale)   # 2^(k1-k2-1) (2 + x1 - x2)


def _sign_magnitude(a, b, signed):
    if not signed:
        return False, a, b
    return (a < 0) != (b < 0), abs(a), abs(b)


def mul(a, b, width, frac_bits, signed):
    """Product; signed operands go through the unsigned core as magnitudes, then exact negation."""
    neg, ma, mb = _sign_magnitude(a, b, signed)
    m = mul_unsigned(ma, mb, width, frac_bits)
    return -m if neg else m


def div(a, b, width, frac_bits, quotient_frac_bits, signed):
    """Quotient; the magnitude is floored, so a signed quotient rounds toward zero."""
    neg, ma, mb = _sign_magnitude(a, b, signed)
    m = div_unsigned(ma, mb, width, frac_bits, quotient_frac_bits)
    return -m if neg else m


def div_saturated(a, width, quotient_frac_bits, signed):
    """The quotient for ``b == 0`` in saturate mode (the hardware's ``dbz`` output).

    All ones in the magnitude bits, with the dividend's sign: ``2**(width+Q) - 1``
    unsigned or for ``a >= 0``, and ``-2**(width+Q)`` for signed ``a < 0``.
    """
    top = 1 << (width + quotient_frac_bits)
    return -top if (signed and a < 0) else top - 1
