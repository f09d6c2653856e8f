"""Compiled GEMM kernel for the operand-decomposition (OD) design (numba, int32/float32 SIMD).

OD's product magnitude is two Mitchell products of operands formed from *both* factors,

    |a*b| ~ M(p, q) + M(u, v),   x = |a|, y = |b|, q = x & y, p = x | y, u = x & ~y, v = y & ~x,

so, unlike Mitchell's kernel in :mod:`pymodel.nn.gemm_kernels`, the operands of the Mitchell
products cannot be encoded once per operand: each product forms and encodes them in registers.
The encoding is the one of ``gemm_kernels``: the float32 bit pattern of ``0 < v < 2**24`` is its
Mitchell logarithm (exponent field ``k + 127``, mantissa ``v / 2**k - 1``), the fraction cut to
``frac_bits`` by a mask; the int32 sum of two patterns adds the logarithms (a mantissa carry moves
into the exponent: Mitchell's antilog case split), reinterpreted as a float it is
``2**(kp+kq) * (1 + fp + fq)`` or ``2**(kp+kq+1) * (fp + fq)``, and the truncating float -> int
conversion floors it: Mitchell's product.

Per product, from per-operand planes (:func:`encode_a`, :func:`encode_b`):

* one int32 AND and one int -> float conversion give ``q``; the others follow exactly in float
  (integers below 2**17 times powers of two): ``u = x - q``, ``v = y - q``, ``p = u + y``;
* the operands are scaled, the first of each Mitchell pair by 2**-C1, the second by 2**-C2 with
  ``C1 + C2 = 127``: the sum of two patterns then carries the exponent bias itself, and a zero
  operand (pattern +-0) leaves the other's pattern alone, that of a float below 1 (every scaled
  value is below 2**16 * 2**-63), which truncates to 0: no bias subtraction, no select;
* the second operand of each pair carries the sign of ``a*b`` (one XOR of the two sign planes
  gives the signed scale ``sc``), which flips bit 31 of the sum, so both Mitchell products come
  out signed: ``M(p, q) = int(as_f32(bits(p * 2**-C1) + bits(sc * q)))``.

That is AND, int->float, XOR, MUL, 3 FMA, 2 int ADD, 2 float->int and one ADD (plus four ANDs
with the mask when ``frac_bits`` cuts a fraction), then the accumulation, all in 32-bit lanes, written as one
llvmlite intrinsic because numba widens int32 arithmetic to int64 (half the lanes, and AVX2 has
no int64 <-> float conversion).  Loops run over 1-D row views with an unsigned ``k`` (see
``gemm_kernels``: otherwise LLVM gathers), over a 4 x 2 (int32 sums) or 4 x 1 register block.

Exact sums.  OD never overestimates, so ``|P| <= |a*b| <= 2**30``.

* ``od_gemm_i32``: int32 sums over chunks of ``kc`` products with ``kc * max|P| < 2**31``
  (8-bit operands: ``|P| <= 2**14``, chunks of 2**17 - 1), int64 between chunks.
* ``od_gemm_hilo``: any ``|P| <= 2**30``.  Each accumulator is a wrapping int32 sum ``c`` of
  the products and an int32 sum ``H`` of their high halves ``P >> 16``; over a chunk of
  ``n < 2**16`` products the sum is ``H * 2**16 + L`` with ``0 <= L < n * 2**16 < 2**32`` the sum
  of the low halves, so ``L = (c - H * 2**16) mod 2**32``: exact, no rounding error to bound.
  (A float32 sum pinning the int32 sum, as ``gemm_kernels.mitchell_gemm_dual``, costs as many
  operations and measured 3 % slower as AVX2 code.)
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .gemm_kernels import add32, f32_bits, ir_op


__all__ = ["bitwise_split_gemm", "encode_a", "encode_b", "encoded_gemm", "od_gemm_i32", "od_gemm_hilo",
           "od_product", "fraction_mask", "HILO_CHUNK"]

_I32 = ir.IntType(32)


# Scales (powers of two) of the float operands: the codes of the first operand of each Mitchell
# product carry 2**-C1, those of the second 2**-C2, so that a sum of two codes has the bias
# C1 + C2 = 127 built in, and a zero operand (code +-0) leaves the other code alone, the pattern
# of a float below 1 (every scaled value < 2**16 * 2**-63): no bias subtraction and no max needed.
C1, C2 = 63, 64                        # any split with both >= 17 keeps the scaled values normal
SIGN = -(1 << 31)                      # bit 31 as an int32
ONE_C2 = 127 - C2 << 23               # bits of the float32 2**-C2

# Planes of the encodings (docstrings of encode_a / encode_b).
A_PLANES, B_PLANES = 3, 3


def _od_patterns(builder, args, mask):
    """IR of the two signed Mitchell products of one OD product, as int32 float32 patterns (not yet
    truncated), from the planes of an A code and a B code (int32 values)."""
    x, fx1, sa, y, fy, sbc = args
    f32 = ir.FloatType()

    def asf(v):
        return builder.bitcast(v, f32)

    def code(v):
        c = builder.bitcast(v, _I32)
        return c if mask is None else builder.and_(c, mask)

    fq = builder.sitofp(builder.and_(x, y), f32)             # q = x & y
    sc = asf(builder.xor(sbc, sa))                             # sign(a*b) * 2**-C2
    fq2 = builder.fmul(fq, sc)                                 # sign * q * 2**-C2
    fv2 = builder.fma(asf(fy), sc, builder.fneg(fq2))         # sign * (y - q) * 2**-C2
    fu1 = builder.fma(fq, ir.Constant(f32, -2.0 ** -C1), asf(fx1))   # u = x - q, times 2**-C1
    # p = u + y, times 2**-C1: an FMA on the unscaled |b| plane saves a plane of |b| * 2**-C1
    fp1 = builder.fma(asf(fy), ir.Constant(f32, 2.0 ** -C1), fu1)
    # All exact (integers below 2**17 times powers of two).  The sign of the second code flips
    # bit 31 of the sum: each Mitchell product comes out signed.
    return builder.add(code(fp1), code(fq2)), builder.add(code(fu1), code(fv2))


def _od_ir(builder, args, mask):
    """IR of one signed OD product (int32): both Mitchell products truncated, added."""
    f32 = ir.FloatType()
    s1, s2 = _od_patterns(builder, args, mask)
    return builder.add(builder.fptosi(builder.bitcast(s1, f32), _I32), builder.fptosi(builder.bitcast(s2, f32), _I32))


@intrinsic
def od_product(typingctx, x, fx1, sa, y, fy, sbc, mask):
    """Signed OD product (int32) from the planes of an A code and a B code, the float32 mantissas of
    the four Mitchell operands cut by ``mask`` (int32); ``mask`` None keeps every fraction bit (valid
    when ``frac_bits`` is at least the leading-one position of ``|a| | |b|``).  The kernels are
    compiled once per type of ``mask`` (and cached: a function argument would not be)."""
    if not (isinstance(mask, types.NoneType) or mask == types.int32):
        raise TypeError(f"mask must be None or int32, got {mask}")
    sig = types.int32(*(types.int32,) * 6, mask)

    def codegen(context, builder, signature, args):
        return _od_ir(builder, args[:6], None if isinstance(signature.args[6], types.NoneType) else args[6])
    return sig, codegen


_sra16 = ir_op(types.int32(types.int32), lambda b, x: b.ashr(x, ir.Constant(_I32, 16)),
               "int32 >> 16 (arithmetic), in int32.")


@njit(parallel=True, cache=True)
def encode_a(a):
    """Codes of the rows of ``a`` (M, K) int32, ``|v| <= 2**15``: (M, 3, K) int32 planes
    ``|a|``, ``bits(|a| * 2**-C1)``, ``a & 2**31`` (the sign bit)."""
    m, kk = a.shape
    out = np.empty((m, A_PLANES, kk), np.int32)
    c1 = np.float32(2.0 ** -C1)
    for i in prange(m):
        src = a[i]
        px, pf, ps = out[i, 0], out[i, 1], out[i, 2]
        for k in range(np.uint64(0), np.uint64(kk)):
            v = src[k]
            x = _abs32(v)
            px[k] = x
            pf[k] = f32_bits(np.float32(x) * c1)
            ps[k] = _and32(v, np.int32(SIGN))
    return out


@njit(parallel=True, cache=True)
def encode_b(bt):
    """Codes of the rows of ``bt`` (N, K) int32, ``|v| <= 2**15``: (N, 3, K) int32 planes ``|b|``,
    ``bits(float(|b|))``, ``bits(2**-C2) | (b & 2**31)``."""
    n, kk = bt.shape
    out = np.empty((n, B_PLANES, kk), np.int32)
    for j in prange(n):
        src = bt[j]
        py, pf, ps = out[j, 0], out[j, 1], out[j, 2]
        for k in range(np.uint64(0), np.uint64(kk)):
            v = src[k]
            y = _abs32(v)
            py[k] = y
            pf[k] = f32_bits(np.float32(y))
            ps[k] = _or32(_and32(v, np.int32(SIGN)), np.int32(ONE_C2))
    return out


_abs32 = ir_op(types.int32(types.int32),
               lambda b, x: b.select(b.icmp_signed("<", x, ir.Constant(_I32, 0)), b.neg(x), x), "|int32| in int32.")


_and32 = ir_op(types.int32(types.int32, types.int32), lambda b, x, y: b.and_(x, y), "int32 & int32 in int32.")
_or32 = ir_op(types.int32(types.int32, types.int32), lambda b, x, y: b.or_(x, y), "int32 | int32 in int32.")


def fraction_mask(frac_bits):
    """int32 mask keeping sign, exponent and the top ``frac_bits`` mantissa bits of a float32 pattern."""
    return np.int32(np.int64(-1 << (23 - frac_bits)))


# Register block: MR rows of ``a`` x NR rows of ``bt``; a row past the end repeats the last row
# (computed, not stored), so no operand is padded.
MR, NR = 4, 2
# Chunk of the hi/lo kernel: n < 2**16 keeps the sum of the low halves below 2**32 (module docstring).
HILO_CHUNK = 1 << 15


@njit(parallel=True, cache=True)
def od_gemm_i32(ea, eb, out, kc, mask):
    """``out[i, j] = sum_k od_product(ea[i, :, k], eb[j, :, k], mask)``: int32 sums over chunks of at most
    ``kc`` products (the caller makes ``kc * max|product| < 2**31``), int64 total.

    ``ea`` (M, 3, K) from :func:`encode_a`, ``eb`` (N, 3, K) from :func:`encode_b`, ``out`` (M, N)
    int64, ``mask`` as :func:`od_product`.  4 x 2 register block."""
    m, _, kk = ea.shape
    n = eb.shape[0]
    for ib in prange((m + MR - 1) // MR):
        i0 = ib * MR
        i1, i2, i3 = min(i0 + 1, m - 1), min(i0 + 2, m - 1), min(i0 + 3, m - 1)
        x0, f0, s0 = ea[i0, 0], ea[i0, 1], ea[i0, 2]
        x1, f1, s1 = ea[i1, 0], ea[i1, 1], ea[i1, 2]
        x2, f2, s2 = ea[i2, 0], ea[i2, 1], ea[i2, 2]
        x3, f3, s3 = ea[i3, 0], ea[i3, 1], ea[i3, 2]
        for j0 in range(0, n, NR):
            j1 = min(j0 + 1, n - 1)
            y0, g0, t0 = eb[j0, 0], eb[j0, 1], eb[j0, 2]
            y1, g1, t1 = eb[j1, 0], eb[j1, 1], eb[j1, 2]
            r00 = r01 = r10 = r11 = r20 = r21 = r30 = r31 = np.int64(0)
            for k0 in range(0, kk, kc):
                k1 = min(kk, k0 + kc)
                c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = np.int32(0)
                for k in range(np.uint64(k0), np.uint64(k1)):
                    b0 = (y0[k], g0[k], t0[k])
                    b1 = (y1[k], g1[k], t1[k])
                    a = (x0[k], f0[k], s0[k])
                    c00 = add32(c00, od_product(*a, *b0, mask))
                    c01 = add32(c01, od_product(*a, *b1, mask))
                    a = (x1[k], f1[k], s1[k])
                    c10 = add32(c10, od_product(*a, *b0, mask))
                    c11 = add32(c11, od_product(*a, *b1, mask))
                    a = (x2[k], f2[k], s2[k])
                    c20 = add32(c20, od_product(*a, *b0, mask))
                    c21 = add32(c21, od_product(*a, *b1, mask))
                    a = (x3[k], f3[k], s3[k])
                    c30 = add32(c30, od_product(*a, *b0, mask))
                    c31 = add32(c31, od_product(*a, *b1, mask))
                r00 += c00
                r01 += c01
                r10 += c10
                r11 += c11
                r20 += c20
                r21 += c21
                r30 += c30
                r31 += c31
            vals = ((r00, r01), (r10, r11), (r20, r21), (r30, r31))
            for r in range(MR):
                for c in range(NR):
                    if i0 + r < m and j0 + c < n:
                        out[i0 + r, j0 + c] = vals[r][c]


@njit(inline="always")
def _join(c, h):
    """Exact chunk sum from the wrapping int32 sum ``c`` and the sum ``h`` of the high halves."""
    hi = np.int64(h) << 16
    return hi + ((np.int64(c) - hi) & np.int64(0xFFFFFFFF))


@njit(parallel=True, cache=True)
def od_gemm_hilo(ea, eb, out, kc, mask):
    """As :func:`od_gemm_i32` for products up to 2**30 (16-bit operands), ``kc <= HILO_CHUNK``:
    per output a wrapping int32 sum of the products and an int32 sum of their high halves
    ``P >> 16``, joined exactly per chunk (module docstring).

    A 4 x 1 register block (eight accumulators): as AVX2 code it ran 7 % faster than 4 x 2,
    whose sixteen accumulators spill (about even as AVX-512 code; measured here)."""
    m, _, kk = ea.shape
    n = eb.shape[0]
    for ib in prange((m + MR - 1) // MR):
        i0 = ib * MR
        i1, i2, i3 = min(i0 + 1, m - 1), min(i0 + 2, m - 1), min(i0 + 3, m - 1)
        x0, f0, s0 = ea[i0, 0], ea[i0, 1], ea[i0, 2]
        x1, f1, s1 = ea[i1, 0], ea[i1, 1], ea[i1, 2]
        x2, f2, s2 = ea[i2, 0], ea[i2, 1], ea[i2, 2]
        x3, f3, s3 = ea[i3, 0], ea[i3, 1], ea[i3, 2]
        for j in range(n):
            y, g, t = eb[j, 0], eb[j, 1], eb[j, 2]
            r0 = r1 = r2 = r3 = np.int64(0)
            for k0 in range(0, kk, kc):
                k1 = min(kk, k0 + kc)
                c0 = c1 = c2 = c3 = np.int32(0)
                h0 = h1 = h2 = h3 = np.int32(0)
                for k in range(np.uint64(k0), np.uint64(k1)):
                    b = (y[k], g[k], t[k])
                    p = od_product(x0[k], f0[k], s0[k], *b, mask)
                    c0, h0 = add32(c0, p), add32(h0, _sra16(p))
                    p = od_product(x1[k], f1[k], s1[k], *b, mask)
                    c1, h1 = add32(c1, p), add32(h1, _sra16(p))
                    p = od_product(x2[k], f2[k], s2[k], *b, mask)
                    c2, h2 = add32(c2, p), add32(h2, _sra16(p))
                    p = od_product(x3[k], f3[k], s3[k], *b, mask)
                    c3, h3 = add32(c3, p), add32(h3, _sra16(p))
                r0 += _join(c0, h0)
                r1 += _join(c1, h1)
                r2 += _join(c2, h2)
                r3 += _join(c3, h3)
            for r, v in enumerate((r0, r1, r2, r3)):
                if i0 + r < m:
                    out[i0 + r, j] = v


@njit(cache=True)
def _max_abs(v):
    r = np.int64(0)
    for x in v.ravel():
        r = max(r, abs(np.int64(x)))
    return r


def check_operands(a, bt, out, frac_bits):
    """Check the arguments of :func:`bitwise_split_gemm`; return ``max|a|``, ``max|bt|``."""
    if a.dtype != np.int32 or bt.dtype != np.int32 or out.dtype != np.int64:
        raise TypeError("bitwise_split_gemm: a and bt must be int32, out int64")
    if a.ndim != 2 or bt.ndim != 2 or a.shape[1] != bt.shape[1] or out.shape != (a.shape[0], bt.shape[0]):
        raise ValueError(f"bitwise_split_gemm: shapes {a.shape} @ {bt.shape}.T -> {out.shape} do not match")
    if not (a.flags.c_contiguous and bt.flags.c_contiguous):
        raise ValueError("bitwise_split_gemm: a and bt must be C-contiguous")
    if not 0 <= frac_bits <= 15:
        raise ValueError(f"bitwise_split_gemm: frac_bits must be 0..15, got {frac_bits}")
    amax = int(_max_abs(a)) if a.size else 0
    bmax = int(_max_abs(bt)) if bt.size else 0
    if max(amax, bmax) > 1 << 15:
        raise ValueError("bitwise_split_gemm: operands must satisfy |v| <= 2**15")
    return amax, bmax


def encoded_gemm(ea, eb, out, frac_bits, amax, bmax):
    """The kernel on codes from :func:`encode_a` / :func:`encode_b` (``amax``, ``bmax``: bounds on the
    operand magnitudes, which pick the mask-free product and the accumulation)."""
    top = (amax | bmax).bit_length() - 1          # leading one of the largest |a| | |b|
    full = frac_bits >= top
    mask = None if full else fraction_mask(frac_bits)
    kk = ea.shape[2]
    kc = (2 ** 31 - 1) // max(amax * bmax, 1)
    if kc >= 256:
        od_gemm_i32(ea, eb, out, max(1, min(kc, kk)), mask)
    else:
        od_gemm_hilo(ea, eb, out, max(1, min(HILO_CHUNK, kk)), mask)
    return out


def bitwise_split_gemm(a, bt, out, frac_bits):
    """``out[i, j] = sum_k OD.mul(a[i, k], bt[j, k])`` exactly, OD with ``frac_bits``.

    Parameters
    ----------
    a : ndarray, int32, (M, K), C-contiguous
        Operand values, ``|v| <= 2**15`` (signed widths 2..16 or unsigned 2..15).
    bt : ndarray, int32, (N, K), C-contiguous
        The second factor transposed, same range.
    out : ndarray, int64, (M, N)
        Receives the sums (every element written).
    frac_bits : int
        OD's log-fraction bits, 0..15.

    Returns ``out``.  Encodes both operands (:func:`encode_a`, :func:`encode_b`: 3 int32
    planes per value) and runs :func:`encoded_gemm`; nothing is padded (the register block
    repeats the last row at the edges).  Sums are exact: int32 chunks when ``(2**31 - 1) //
    (max|a| * max|bt|)`` is at least 256 (8-bit operands), the hi/lo kernel otherwise (16-bit).  At ``frac_bits`` no
    smaller than the leading-one position of the largest ``|a| | |b|`` the mantissa mask is
    skipped (it would keep every bit).
    """
    amax, bmax = check_operands(a, bt, out, frac_bits)
    m, kk = a.shape
    if m == 0 or bt.shape[0] == 0:
        return out
    if kk == 0:
        out[...] = 0
        return out
    return encoded_gemm(encode_a(a), encode_b(bt), out, frac_bits, amax, bmax)
