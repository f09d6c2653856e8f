"""Compiled GEMM kernels behind :func:`pymodel.nn.approx_matmul` (numba, SIMD).

The fast Mitchell kernel rests on one fact: the float32 bit pattern of an integer
``0 < v < 2**24`` *is* its Mitchell logarithm, the exponent field holding ``k`` (plus
the bias 127) and the mantissa field the fraction ``v / 2**k - 1``.  So each operand
is encoded once as an int32 pattern (fraction truncated to ``frac_bits``, the bias
taken off one side, the sign in bit 31), and each product is

    int32 add  ->  reinterpret as float32  ->  truncating float -> int32 conversion

which is ``2**(ka+kb) * (1 + fa + fb)`` (or ``2**(ka+kb+1) * (fa + fb)`` after the
carry), floored: exactly Mitchell's antilog, with its sign.  A zero operand gets a
pattern far below every product (the sum is a float in ``(0, 1)``, truncated to 0).

Loops index 1-D row views with unsigned ``k`` so that numba emits no negative-index
wrap-around; otherwise LLVM builds every vector from scalar inserts (a gather) and
the kernel runs 5x slower.  int32 arithmetic goes through the small intrinsics below,
because numba widens ``int32 + int32`` to int64 (and int64 lanes are half as many).
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Zero codes (see the module docstring).  An A-side code of a nonzero magnitude is
# ``bits(|a|) - BIAS`` in [0, 15 << 23], a B-side code ``bits(|b|)`` in [127 << 23, 142 << 23];
# both zero codes keep every sum of two codes a non-negative pattern of a float below 1.
BIAS = 127 << 23
ZERO_A = -(50 << 23)
ZERO_B = 100 << 23
SIGN = -(1 << 31)           # bit 31 as an int32


@intrinsic
def add32(typingctx, x, y):
    """int32 + int32 -> int32, wrapping (numba alone would widen to int64)."""
    sig = types.int32(types.int32, types.int32)

    def codegen(context, builder, signature, args):
        return builder.add(args[0], args[1])
    return sig, codegen


@intrinsic
def as_f32(typingctx, x):
    """Reinterpret an int32 as a float32 (same bits)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


@intrinsic
def f32_bits(typingctx, x):
    """Reinterpret a float32 as an int32 (same bits)."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return sig, codegen


@intrinsic
def mitchell_product(typingctx, x, y):
    """``int(float32 bits(x + y))``: one Mitchell product from an A code and a B code."""
    sig = types.int32(types.int32, types.int32)

    def codegen(context, builder, signature, args):
        s = builder.add(args[0], args[1])
        return builder.fptosi(builder.bitcast(s, ir.FloatType()), ir.IntType(32))
    return sig, codegen


@intrinsic
def trunc32(typingctx, x):
    """int64 -> int32, keeping the low 32 bits."""
    sig = types.int32(types.int64)

    def codegen(context, builder, signature, args):
        return builder.trunc(args[0], ir.IntType(32))
    return sig, codegen


# --- encoding ------------------------------------------------------------------------

@njit(inline="always")
def _code(v, mask, bias, zero):
    """int32 code of one operand: sign in bit 31, float32 pattern of |v| with its
    mantissa truncated by ``mask``, minus ``bias``; ``zero`` for 0."""
    x = np.int64(v)
    mag = -x if x < 0 else x
    bits = np.int64(f32_bits(np.float32(trunc32(mag)))) & mask      # |v| <= 2**15: int32 -> float32 is exact
    c = bits - bias + (np.int64(1 << 31) if x < 0 else np.int64(0))
    return trunc32(np.int64(zero) if x == 0 else c)


@njit(parallel=True, cache=True)
def encode_rows(v, frac_bits, side_a, rows_pad, k_pad):
    """Codes of the rows of ``v`` (R, K): (rows_pad, k_pad) int32, padding = zero codes."""
    r, kk = v.shape
    mask = np.int64(0xFFFFFFFF) ^ ((np.int64(1) << (23 - frac_bits)) - 1)
    bias = np.int64(BIAS) if side_a else np.int64(0)
    zero = np.int64(ZERO_A) if side_a else np.int64(ZERO_B)
    out = np.empty((rows_pad, k_pad), np.int32)
    for i in prange(rows_pad):
        row = out[i]
        if i < r:
            src = v[i]
            for k in range(kk):
                row[k] = _code(src[k], mask, bias, zero)
            for k in range(kk, k_pad):
                row[k] = trunc32(zero)
        else:
            for k in range(k_pad):
                row[k] = trunc32(zero)
    return out


@njit(parallel=True, cache=True)
def encode_cols(v, frac_bits, side_a, rows_pad, k_pad):
    """Codes of the columns of ``v`` (K, N), transposed: (rows_pad, k_pad) int32."""
    kk, n = v.shape
    mask = np.int64(0xFFFFFFFF) ^ ((np.int64(1) << (23 - frac_bits)) - 1)
    bias = np.int64(BIAS) if side_a else np.int64(0)
    zero = np.int64(ZERO_A) if side_a else np.int64(ZERO_B)
    out = np.empty((rows_pad, k_pad), np.int32)
    for j in prange(rows_pad):
        row = out[j]
        if j < n:
            for k in range(kk):
                row[k] = _code(v[k, j], mask, bias, zero)
            for k in range(kk, k_pad):
                row[k] = trunc32(zero)
        else:
            for k in range(k_pad):
                row[k] = trunc32(zero)
    return out


# --- the fast Mitchell kernels --------------------------------------------------------
# Register block: MR rows of A x NR rows of B^T, eight accumulators (vectors over k
# after vectorization), which fits AVX2's sixteen ymm registers with the six loads.
MR, NR = 4, 2


@njit(parallel=True, cache=True)
def mitchell_gemm_i32(ea, eb, out, kc):
    """``out[i, j] = sum_k product(ea[i, k], eb[j, k])``, int32 sums over chunks of at most
    ``kc`` products (the caller picks ``kc`` so that a chunk cannot overflow), int64 total.

    ``ea`` (Mp, K) and ``eb`` (Np, K) are codes, Mp and Np multiples of MR and NR; ``out``
    is (M, N) with M <= Mp, N <= Np."""
    mp, kk = ea.shape
    np_ = eb.shape[0]
    m, n = out.shape
    for ib in prange(mp // MR):
        i0 = ib * MR
        ra0, ra1, ra2, ra3 = ea[i0], ea[i0 + 1], ea[i0 + 2], ea[i0 + 3]
        for j0 in range(0, np_, NR):
            rb0, rb1 = eb[j0], eb[j0 + 1]
            t00 = t01 = t10 = t11 = t20 = t21 = t30 = t31 = np.int64(0)
            for k0 in range(0, kk, kc):
                k1 = min(kk, k0 + kc)
                c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = np.int32(0)
                for k in range(np.uint64(k0), np.uint64(k1)):
                    a0, a1, a2, a3 = ra0[k], ra1[k], ra2[k], ra3[k]
                    b0, b1 = rb0[k], rb1[k]
                    c00 = add32(c00, mitchell_product(a0, b0))
                    c01 = add32(c01, mitchell_product(a0, b1))
                    c10 = add32(c10, mitchell_product(a1, b0))
                    c11 = add32(c11, mitchell_product(a1, b1))
                    c20 = add32(c20, mitchell_product(a2, b0))
                    c21 = add32(c21, mitchell_product(a2, b1))
                    c30 = add32(c30, mitchell_product(a3, b0))
                    c31 = add32(c31, mitchell_product(a3, b1))
                t00 += c00
                t01 += c01
                t10 += c10
                t11 += c11
                t20 += c20
                t21 += c21
                t30 += c30
                t31 += c31
            _store(out, m, n, i0, j0, t00, t01, t10, t11, t20, t21, t30, t31)


@njit(inline="always")
def _store(out, m, n, i0, j0, t00, t01, t10, t11, t20, t21, t30, t31):
    if j0 + 1 < n and i0 + 3 < m:
        out[i0, j0], out[i0, j0 + 1] = t00, t01
        out[i0 + 1, j0], out[i0 + 1, j0 + 1] = t10, t11
        out[i0 + 2, j0], out[i0 + 2, j0 + 1] = t20, t21
        out[i0 + 3, j0], out[i0 + 3, j0 + 1] = t30, t31
        return
    vals = ((t00, t01), (t10, t11), (t20, t21), (t30, t31))
    for r in range(MR):
        for c in range(NR):
            if i0 + r < m and j0 + c < n:
                out[i0 + r, j0 + c] = vals[r][c]


@njit(inline="always")
def _pin(c, f):
    """The exact sum from its low 32 bits ``c`` (a wrapped int32 sum) and ``f``, a float32
    sum of the same terms within 2**31 of it: the high bits are the nearest multiple of 2**32."""
    lo = np.int64(c)
    return lo + (np.int64(np.rint((np.float64(f) - np.float64(lo)) * (1.0 / 4294967296.0))) << 32)


# A float32 sum of n terms below 2**31 is within about n**2 * 2**7 of the real sum (plus n
# for the truncation), so chunks of 2048 keep it well inside the 2**31 that pinning needs.
DUAL_CHUNK = 2048


@njit(parallel=True, cache=True, fastmath=True)
def mitchell_gemm_dual(ea, eb, out, kc):
    """As :func:`mitchell_gemm_i32` for products up to 2**31 (16-bit operands), where an
    int32 sum overflows after two terms: each accumulator is a wrapping int32 sum plus a
    float32 sum of the untruncated products that pins its high bits (``kc <= DUAL_CHUNK``).
    fastmath only lets LLVM reorder that float sum, whose error the chunk size bounds."""
    mp, kk = ea.shape
    np_ = eb.shape[0]
    m, n = out.shape
    for ib in prange(mp // MR):
        i0 = ib * MR
        ra0, ra1, ra2, ra3 = ea[i0], ea[i0 + 1], ea[i0 + 2], ea[i0 + 3]
        for j0 in range(0, np_, NR):
            rb0, rb1 = eb[j0], eb[j0 + 1]
            t00 = t01 = t10 = t11 = t20 = t21 = t30 = t31 = np.int64(0)
            for k0 in range(0, kk, kc):
                k1 = min(kk, k0 + kc)
                c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = np.int32(0)
                f00 = f01 = f10 = f11 = f20 = f21 = f30 = f31 = np.float32(0)
                for k in range(np.uint64(k0), np.uint64(k1)):
                    a0, a1, a2, a3 = ra0[k], ra1[k], ra2[k], ra3[k]
                    b0, b1 = rb0[k], rb1[k]
                    p = as_f32(add32(a0, b0))
                    c00 = add32(c00, np.int32(p))
                    f00 += p
                    p = as_f32(add32(a0, b1))
                    c01 = add32(c01, np.int32(p))
                    f01 += p
                    p = as_f32(add32(a1, b0))
                    c10 = add32(c10, np.int32(p))
                    f10 += p
                    p = as_f32(add32(a1, b1))
                    c11 = add32(c11, np.int32(p))
                    f11 += p
                    p = as_f32(add32(a2, b0))
                    c20 = add32(c20, np.int32(p))
                    f20 += p
                    p = as_f32(add32(a2, b1))
                    c21 = add32(c21, np.int32(p))
                    f21 += p
                    p = as_f32(add32(a3, b0))
                    c30 = add32(c30, np.int32(p))
                    f30 += p
                    p = as_f32(add32(a3, b1))
                    c31 = add32(c31, np.int32(p))
                    f31 += p
                t00 += _pin(c00, f00)
                t01 += _pin(c01, f01)
                t10 += _pin(c10, f10)
                t11 += _pin(c11, f11)
                t20 += _pin(c20, f20)
                t21 += _pin(c21, f21)
                t30 += _pin(c30, f30)
                t31 += _pin(c31, f31)
            _store(out, m, n, i0, j0, t00, t01, t10, t11, t20, t21, t30, t31)


# --- the general kernel: any design's magnitude function --------------------------------

@intrinsic
def f64_bits(typingctx, x):
    """Reinterpret a float64 as an int64 (same bits)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return sig, codegen


@njit(inline="always")
def mitchell_magnitude(ma, mb, P):
    """Mitchell's product magnitude for ``0 <= ma, mb < 2**32`` with ``P = (frac_bits,)``, branch-free
    (the leading one from the float64 exponent, both antilog shifts clamped), for the general kernel."""
    f = P[0]
    xa = max(ma, np.int64(1))
    xb = max(mb, np.int64(1))
    ka = (f64_bits(np.float64(xa)) >> 52) - 1023
    kb = (f64_bits(np.float64(xb)) >> 52) - 1023
    la = (ka << f) + (((xa - (np.int64(1) << ka)) << f) >> ka)
    lb = (kb << f) + (((xb - (np.int64(1) << kb)) << f) >> kb)
    s = la + lb
    e = (s >> f) - f
    m = (np.int64(1) << f) | (s & ((np.int64(1) << f) - 1))
    p = (m << max(e, np.int64(0))) >> max(-e, np.int64(0))
    return np.int64(0) if (ma == 0) | (mb == 0) else p


@njit(parallel=True, cache=True)
def general_gemm(a, bt, out, fn, params):
    """``out[i, j] = sum_k sign * fn(|a[i, k]|, |bt[j, k]|, params)`` in int64 (the caller has
    checked that the sum fits).  ``a`` (M, K), ``bt`` (N, K): int32 or int64 operands, widened
    to int64 per product; 2 x 2 register block, vectorized over k when ``fn`` is branch-free."""
    m, kk = a.shape
    n = bt.shape[0]
    for ib in prange((m + 1) // 2):
        i0 = 2 * ib
        i1 = min(i0 + 1, m - 1)          # an odd last row is computed twice, stored once
        ra0, ra1 = a[i0], a[i1]
        for j0 in range(0, n, 2):
            j1 = min(j0 + 1, n - 1)
            rb0, rb1 = bt[j0], bt[j1]
            t00 = t01 = t10 = t11 = np.int64(0)
            for k in range(np.uint64(0), np.uint64(kk)):
                x0, x1 = np.int64(ra0[k]), np.int64(ra1[k])
                y0, y1 = np.int64(rb0[k]), np.int64(rb1[k])
                m0, m1, n0, n1 = abs(x0), abs(x1), abs(y0), abs(y1)
                p = fn(m0, n0, params)
                t00 += -p if (x0 ^ y0) < 0 else p
                p = fn(m0, n1, params)
                t01 += -p if (x0 ^ y1) < 0 else p
                p = fn(m1, n0, params)
                t10 += -p if (x1 ^ y0) < 0 else p
                p = fn(m1, n1, params)
                t11 += -p if (x1 ^ y1) < 0 else p
            out[i0, j0] = t00
            out[i1, j0] = t10
            out[i0, j1] = t01
            out[i1, j1] = t11
