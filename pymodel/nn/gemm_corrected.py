"""The corrected log-add GEMM kernel (MBM, REALM: :class:`pymodel.gemm_forms.LogAdd` with a correction).

The product is ``floor(V + c[ia][ib] * 2**(ka+kb))``: ``V`` the float32 of the sum of the two
operands' codes (as in :mod:`pymodel.nn.gemm_kernels`), the correction a float32 too, whose
pattern is again a sum: the A side's exponent field (``ka``, its sign) plus a B-side pattern
of ``c[s][ib] * 2**kb`` for each A segment ``s``.  Both floats are exact (at most 17
significant bits) and so is their sum (below ``2**(ka+kb+2)``, its lowest bit at least
``2**(ka+kb-16)``), so one float add and one truncating conversion give the floored product
with its sign.  A zero factor is stored as a float far below one unit of ``V``, which adding
leaves unchanged (round to nearest); zero operands keep every float below 1.

The factor depends on both operands' segments, so the loop runs over ``j`` (vectors of B
columns) with the A element broadcast: the A segment then picks one contiguous B-side row
``corr[s, k, :]``, a plain vector load.
"""

import numpy as np
from numba import njit, prange

from .gemm_kernels import ZERO_B, _clamp_int, _pin, add32, as_f32, clamp_value, f32_bits, logadd_value, trunc32

__all__ = ["encode_a", "encode_b", "corrected_gemm", "factor_patterns", "LANES"]

EXP_SIGN = -(1 << 23)             # sign and exponent fields of an int32 pattern (0xFF800000)
# A zero factor: 2**-67, far below a unit of V for a nonzero A operand; with ZERO_A (exponent
# field 206, sign set) the exponent field wraps past 255 to a tiny positive float, as every
# nonzero factor's does (2**-126 would not wrap, and become a huge negative float).
TINY = 60 << 23
LANES = 16                        # B columns are padded to a multiple of this


def factor_patterns(form):
    """float32 patterns of the factors ``c / 2**correction_bits`` (TINY for 0), int32 (S, S)."""
    c = np.array(form.correction, np.float64) / (1 << form.correction_bits)
    pat = np.asarray(c, np.float32).view(np.int32).copy()
    pat[c == 0] = TINY
    return pat


@njit(parallel=True, cache=True)
def encode_a(codes, v, segment_bits, xa, sa):
    """A side: ``xa`` the sign and exponent fields of each code, ``sa`` each operand's segment (the
    top ``segment_bits`` of its untruncated fraction).  ``codes``, ``v`` (M, K); outputs (M, K) int32."""
    m, kk = codes.shape
    for i in prange(m):
        for k in range(kk):
            x = np.int64(v[i, k])
            bits = np.int64(f32_bits(np.float32(abs(x))))
            xa[i, k] = codes[i, k] & np.int32(EXP_SIGN)
            sa[i, k] = np.int32((bits >> (23 - segment_bits)) & ((1 << segment_bits) - 1)) if x != 0 else 0


@njit(parallel=True, cache=True)
def encode_b(v, pats, segment_bits, corr):
    """B side (K, N) operands to ``corr`` (S, K, Np): ``pats[s, ib] * 2**kb`` with the sign of b, or
    ZERO_B for b = 0 (padding columns too)."""
    s_n, kk, np_ = corr.shape
    n = v.shape[1]
    for k in prange(kk):
        for j in range(np_):
            x = np.int64(v[k, j]) if j < n else np.int64(0)
            if x == 0:
                for s in range(s_n):
                    corr[s, k, j] = ZERO_B
                continue
            bits = np.int64(f32_bits(np.float32(abs(x))))
            kb = (bits >> 23) - 127
            ib = (bits >> (23 - segment_bits)) & ((1 << segment_bits) - 1)
            sign = np.int64(-(1 << 31)) if x < 0 else np.int64(0)
            for s in range(s_n):
                corr[s, k, j] = trunc32((np.int64(pats[s, ib]) + (kb << 23)) | sign)


@njit(inline="always")
def _value(a, b, x, r, post):
    """The clamped float32 product: V plus the correction."""
    return clamp_value(logadd_value(a, b, post) + as_f32(add32(x, r)), post)


# Rows of A per task and k per block: a block of ``corr`` (S x KB x Np int32, 256 KiB for REALM8 at
# N = 128) stays in L2 while every row of the task passes over it.
ROWS, KB = 16, 64
# Unsigned indices: numba adds no negative-index wrap-around to them (see gemm_kernels).
U1, U2, U3, U4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)


@njit(inline="always")
def _pass(c, f, q, i, k, nk, ca, xa, sa, cbt, corr, np_, dual, post):
    """``nk`` (1 or 4) consecutive k from ``k`` for row ``i`` into sums row ``q``: four products
    per load and store of a sum (their order does not matter: int32 sums wrap exactly, and the
    float sum only has to stay near the integer one).  Elements are indexed in place: a row view
    made here would cost two atomic reference-count updates per k, more than the products."""
    if nk == 4:
        k0, k1, k2, k3 = k, k + U1, k + U2, k + U3
        a0, a1, a2, a3 = ca[i, k0], ca[i, k1], ca[i, k2], ca[i, k3]
        x0, x1, x2, x3 = xa[i, k0], xa[i, k1], xa[i, k2], xa[i, k3]
        s0, s1, s2, s3 = np.uint64(sa[i, k0]), np.uint64(sa[i, k1]), np.uint64(sa[i, k2]), np.uint64(sa[i, k3])
        for j in range(np.uint64(0), np.uint64(np_)):
            p0 = _value(a0, cbt[k0, j], x0, corr[s0, k0, j], post)
            p1 = _value(a1, cbt[k1, j], x1, corr[s1, k1, j], post)
            p2 = _value(a2, cbt[k2, j], x2, corr[s2, k2, j], post)
            p3 = _value(a3, cbt[k3, j], x3, corr[s3, k3, j], post)
            c[q, j] = add32(add32(add32(c[q, j], _clamp_int(p0, post)), add32(_clamp_int(p1, post),
                                                                             _clamp_int(p2, post))),
                            _clamp_int(p3, post))
            if dual:
                f[q, j] += (p0 + p1) + (p2 + p3)
    else:
        a0, x0, s0 = ca[i, k], xa[i, k], np.uint64(sa[i, k])
        for j in range(np.uint64(0), np.uint64(np_)):
            p0 = _value(a0, cbt[k, j], x0, corr[s0, k, j], post)
            c[q, j] = add32(c[q, j], _clamp_int(p0, post))
            if dual:
                f[q, j] += p0


@njit(parallel=True, cache=True)
def corrected_gemm(ca, xa, sa, cbt, corr, out, kc, dual, post):
    """``out[i, j] = sum_k floor(V + correction)`` (module docstring), exact in int64.

    ``ca``, ``xa``, ``sa`` (M, K) from the A side; ``cbt`` (K, Np) B codes (not transposed),
    ``corr`` (S, K, Np); ``out`` (M, N), N <= Np.  int32 sums over at most ``kc`` products
    (``KB`` per block); with ``dual`` (16-bit products) each int32 sum wraps and a float32 sum
    pins it (as :func:`pymodel.nn.gemm_kernels.logadd_gemm_dual`).  Each task takes ``ROWS``
    rows over one k block after another, four k per pass."""
    m, kk = ca.shape
    np_ = cbt.shape[1]
    n = out.shape[1]
    kb = min(KB, kc)
    for task in prange((m + ROWS - 1) // ROWS):
        r0 = task * ROWS
        rows = min(ROWS, m - r0)
        c = np.zeros((ROWS, np_), np.int32)
        f = np.zeros((ROWS, np_), np.float32)
        t = np.zeros((ROWS, np_), np.int64)
        for k0 in range(0, kk, kb):
            k1 = np.uint64(min(kk, k0 + kb))
            for q in range(np.uint64(rows)):
                i = np.uint64(r0) + q
                k = np.uint64(k0)
                while k + U4 <= k1:
                    _pass(c, f, q, i, k, 4, ca, xa, sa, cbt, corr, np_, dual, post)
                    k += U4
                while k < k1:
                    _pass(c, f, q, i, k, 1, ca, xa, sa, cbt, corr, np_, dual, post)
                    k += U1
            for q in range(rows):
                for j in range(np_):
                    t[q, j] += _pin(c[q, j], f[q, j]) if dual else np.int64(c[q, j])
                    c[q, j] = 0
                    f[q, j] = 0
        for q in range(rows):
            for j in range(n):
                out[r0 + q, j] = t[q, j]
