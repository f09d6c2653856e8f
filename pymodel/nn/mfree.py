"""Multiplication-free arithmetic for training: every product through ``FloatMitchell``.

``FloatMitchellOps(fmt)`` gives ``matmul`` (float32 accumulation; each scalar product is
``bits(|x|) + bits(|y|) - bits(1.0)`` with the model's special cases) and elementwise
``mul``.  For ``bf16`` the operands are first rounded to bf16 (nearest even); the fp32
kernel on bf16-representable patterns is exactly the bf16 Mitchell product, since both
formats share the exponent field (a test checks this against ``FloatMitchell("bf16")``).
``NUMPY_OPS`` is the ordinary float32 arithmetic, for the baseline.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ..floatmitchell import FloatMitchell
from . import gemm_kernels as gk

__all__ = ["FloatMitchellOps", "NUMPY_OPS", "fm_matmul", "round_to_bf16"]

_F = FloatMitchell("fp32")
SIGN, ABS, INF, ONE, MIN_NORMAL, QNAN = 0x80000000, 0x7FFFFFFF, _F.inf, _F.one, 1 << 23, _F.qnan


@njit(inline="always")
def _fm32(xb, yb):
    """fp32 Float Mitchell on bit patterns held in int64 (``FloatMitchell('fp32').mul_bits``).

    Branch-free (selects only), so the compiler can vectorize the loops that call it."""
    s = (xb ^ yb) & SIGN
    ax = xb & ABS
    ay = yb & ABS
    t = ax + ay
    r = t - ONE                                              # the whole of Mitchell's method
    r = 0 if t < ONE + MIN_NORMAL else r                     # below the smallest normal: signed zero
    r = INF if t >= ONE + INF else r                         # overflow: signed infinity
    small = (ax < MIN_NORMAL) | (ay < MIN_NORMAL)            # zeros and (DAZ) subnormals
    big = (ax >= INF) | (ay >= INF)
    r = 0 if small else r
    r = INF if big else r
    nan = (ax > INF) | (ay > INF) | (big & small)            # NaN in, or inf x 0
    return QNAN if nan else (s | r)


@njit(parallel=True, cache=True)
def _matmul_kernel(a, b, out):
    """out[i, j] = sum_k fm(a[i, k], b[k, j]) in float32; a, b are uint32 bit patterns.

    Every special case through ``_fm32``: the path for operands with infinities or NaNs,
    or exponents that can overflow or underflow (see ``fm_matmul``)."""
    m, kk = a.shape
    n = b.shape[1]
    for i in prange(m):
        prod = np.empty(n, np.uint32)
        pf = prod.view(np.float32)
        acc = np.zeros(n, np.float32)
        for k in range(kk):
            x = np.int64(a[i, k])
            for j in range(n):
                prod[j] = _fm32(x, np.int64(b[k, j]))
            for j in range(n):
                acc[j] += pf[j]
        out[i, :] = acc


# The fast path.  With no infinities or NaNs, and exponent ranges that cannot overflow or
# underflow (checked per call), Float Mitchell is just ``bits(|x|) + bits(|y|) - bits(1.0)``
# with the sign in bit 31, except for zero (and DAZ subnormal) operands.  So A is encoded as
# ``|x| - ONE`` plus its sign (mod 2**32) and B as its own bits, each product is one int32 add,
# and a zero operand is a code of its own: ZERO_A (unreachable by the others: it would need
# |x| = inf), ZERO_B = 0; where one occurs the product is masked to +0.
ZERO_A = 1 << 30
# Register block of the fast kernel: MR rows of A and KU consecutive k per pass over the sums.
# 4 x 4 measured best with AVX-512 and AVX2 alike (2 x 2, 2 x 4, 4 x 2, 2 x 8, 4 x 8, 8 x 4 tried).
MR, KU = 4, 4


# Encoding works on int32 lanes through the intrinsics below (numba would widen every step to
# int64, half the SIMD lanes): each is a few IR instructions, inlined, so the encoding loops
# vectorize into min/max/add reductions.
def _i32(x):
    return ir.Constant(ir.IntType(32), x)


def _is32(t):
    return isinstance(t, types.Integer) and t.bitwidth == 32


@intrinsic
def _pattern(typingctx, v, bf16):
    """The fp32 pattern ``v`` (a 32-bit integer) as int32, rounded to bf16 (nearest even, NaNs to
    the quiet NaN) if ``bf16``."""
    if not (_is32(v) and bf16 == types.boolean):
        return None
    sig = types.int32(v, bf16)

    def codegen(context, builder, signature, args):
        x, rnd = args
        lsb = builder.and_(builder.lshr(x, _i32(16)), _i32(1))
        r = builder.and_(builder.add(builder.add(x, _i32(0x7FFF)), lsb), _i32(-(1 << 16)))
        r = builder.select(builder.icmp_signed(">", builder.and_(x, _i32(ABS)), _i32(INF)), _i32(QNAN), r)
        return builder.select(rnd, r, x)
    return sig, codegen


def _unary32(fn, doc):
    """An int32 -> int32 intrinsic from ``fn(builder, x, is_zero)``; ``is_zero``: exponent field 0
    (zeros and the DAZ subnormals)."""
    def typer(typingctx, p):
        if not _is32(p):
            return None

        def codegen(context, builder, signature, args):
            x = args[0]
            z = builder.icmp_signed("==", builder.and_(x, _i32(INF)), _i32(0))
            return fn(builder, x, z)
        return types.int32(p), codegen
    typer.__doc__ = doc
    return intrinsic(typer)


_a_code = _unary32(lambda b, x, z: b.select(z, _i32(ZERO_A), b.add(b.sub(b.and_(x, _i32(ABS)), _i32(ONE)),
                                                                    b.and_(x, _i32(-(1 << 31))))),
                   "A code of a pattern: ``|x| - ONE`` plus the sign bit (mod 2**32), ZERO_A for zero.")
_b_code = _unary32(lambda b, x, z: b.select(z, _i32(0), x), "B code of a pattern: itself, 0 for zero.")
_mag = _unary32(lambda b, x, z: b.and_(x, _i32(ABS)), "``|x|`` (its pattern).")
_nz_mag = _unary32(lambda b, x, z: b.select(z, _i32(ABS), b.and_(x, _i32(ABS))),
                   "``|x|``, or the largest int32 for zero (a neutral element of min over the nonzero ones).")
_is_zero = _unary32(lambda b, x, z: b.zext(z, ir.IntType(32)), "1 for zero, else 0.")


@intrinsic
def _min32(typingctx, x, y):
    """int32 minimum (numba's ``min`` would widen to int64)."""
    if not (_is32(x) and _is32(y)):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(builder.icmp_signed("<", args[0], args[1]), args[0], args[1])
    return types.int32(x, y), codegen


@intrinsic
def _max32(typingctx, x, y):
    """int32 maximum."""
    if not (_is32(x) and _is32(y)):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(builder.icmp_signed(">", args[0], args[1]), args[0], args[1])
    return types.int32(x, y), codegen


@njit(inline="always")
def _encode_row(src, row, side_a, rnd):
    """``row[k]`` = the A (``side_a``) or B code of ``_pattern(src[k], rnd)``.  Returns the
    smallest nonzero and the largest magnitude pattern and the number of zeros (all int32)."""
    mn, mx, nz = np.int32(ABS), np.int32(0), np.int32(0)
    for k in range(np.uint64(0), np.uint64(src.size)):
        p = _pattern(src[k], rnd)
        row[k] = _a_code(p) if side_a else _b_code(p)
        mn = _min32(mn, _nz_mag(p))
        mx = _max32(mx, _mag(p))
        nz = gk.add32(nz, _is_zero(p))
    return mn, mx, nz


@njit(parallel=True, cache=True)
def _encode_b(u, bf16, codes, stats):
    """Codes of B's rows (``u``: uint32 patterns, rounded to bf16 first if ``bf16``): the bits,
    0 for zeros and (DAZ) subnormals.  ``stats[k]``: the smallest nonzero and the largest
    magnitude pattern of row k, and its number of zeros."""
    rnd = True if bf16 else False
    for i in prange(u.shape[0]):
        stats[i, 0], stats[i, 1], stats[i, 2] = _encode_row(u[i], codes[i], False, rnd)


@njit(inline="always")
def _amask(x):
    """All ones for a nonzero A code, 0 for ZERO_A (its products are +0)."""
    return np.int32(0) if x == ZERO_A else np.int32(-1)


@njit(inline="always")
def _masked_pass(acc0, acc1, acc2, acc3, x0, x1, x2, x3, rb, n):
    """One k for four rows, zero operands masked to +0 products."""
    if (x0 == ZERO_A) & (x1 == ZERO_A) & (x2 == ZERO_A) & (x3 == ZERO_A):
        return
    m0, m1, m2, m3 = _amask(x0), _amask(x1), _amask(x2), _amask(x3)
    for j in range(np.uint64(0), np.uint64(n)):
        y = rb[j]
        acc0[j] += gk.fm_product(x0, y, m0)
        acc1[j] += gk.fm_product(x1, y, m1)
        acc2[j] += gk.fm_product(x2, y, m2)
        acc3[j] += gk.fm_product(x3, y, m3)


@njit(parallel=True, cache=True)
def _matmul_fast(a, cb, bzero, out, lo=1, hi=254, bf16=False):
    """out[i, j] = float32 sum over k in order of the products, if every nonzero exponent of A
    lies in ``[lo, hi]`` (returns False, ``out`` unfinished, if not).  ``a`` (M, K): A's bit
    patterns (rounded to bf16 if ``bf16``), encoded here MR rows at a time into a small buffer
    (no pass over A of its own, no (M, K) array); ``cb`` (K, N): B's codes; ``bzero[k]``: row k
    of B holds a zero.

    Vectorized over j, MR = 4 rows of A per pass (one load of B serves four rows) and, where no
    operand is zero, KU = 4 consecutive k: ``(((acc + p_k) + p_k+1) + p_k+2) + p_k+3``, the same
    roundings in the same order as one at a time, with a quarter of the loads and stores of the
    sums (which bounded the two-k version when N is small: N = 64).  Where some operand of the
    four k is zero, one k per pass with masks: a zero operand's product is +0, and adding +0
    changes nothing (a sum that starts at +0 is never -0)."""
    m = a.shape[0]
    kk = min(a.shape[1], cb.shape[0], bzero.size)      # all equal (for every caller)
    n = cb.shape[1]
    k4 = kk - kk % KU
    rnd = True if bf16 else False
    bad = 0
    for ib in prange((m + MR - 1) // MR):
        i0 = MR * ib
        codes = np.empty((MR, kk), np.int32)
        mn, mx, nz = np.int32(ABS), np.int32(0), np.int32(0)
        for r in range(MR):
            rmn, rmx, rnz = _encode_row(a[min(i0 + r, m - 1)][:kk], codes[r], True, rnd)
            mn, mx, nz = _min32(mn, rmn), _max32(mx, rmx), gk.add32(nz, rnz)
        zk = bzero                                    # zk[k]: an operand of k is zero
        if nz:
            zk = bzero[:kk].copy()
            for r in range(MR):
                for k in range(kk):
                    zk[k] |= codes[r, k] == ZERO_A
        if (mn >> 23) < lo or (mx >> 23) > hi:
            bad += 1
        else:
            spare = np.empty((MR, n), np.float32)     # the sums of rows past the end
            acc0 = out[i0]
            acc1 = out[i0 + 1] if i0 + 1 < m else spare[1]
            acc2 = out[i0 + 2] if i0 + 2 < m else spare[2]
            acc3 = out[i0 + 3] if i0 + 3 < m else spare[3]
            acc0[:] = 0
            acc1[:] = 0
            acc2[:] = 0
            acc3[:] = 0
            ra0, ra1, ra2, ra3 = codes[0], codes[1], codes[2], codes[3]
            for k in range(0, k4, KU):
                if zk[k] | zk[k + 1] | zk[k + 2] | zk[k + 3]:
                    for q in range(k, k + KU):
                        _masked_pass(acc0, acc1, acc2, acc3, ra0[q], ra1[q], ra2[q], ra3[q], cb[q], n)
                else:
                    x0, x1, x2, x3 = ra0[k], ra0[k + 1], ra0[k + 2], ra0[k + 3]
                    y0, y1, y2, y3 = ra1[k], ra1[k + 1], ra1[k + 2], ra1[k + 3]
                    u0, u1, u2, u3 = ra2[k], ra2[k + 1], ra2[k + 2], ra2[k + 3]
                    v0, v1, v2, v3 = ra3[k], ra3[k + 1], ra3[k + 2], ra3[k + 3]
                    b0, b1, b2, b3 = cb[k], cb[k + 1], cb[k + 2], cb[k + 3]
                    for j in range(np.uint64(0), np.uint64(n)):
                        w0, w1, w2, w3 = b0[j], b1[j], b2[j], b3[j]
                        acc0[j] = (((acc0[j] + _p(x0, w0)) + _p(x1, w1)) + _p(x2, w2)) + _p(x3, w3)
                        acc1[j] = (((acc1[j] + _p(y0, w0)) + _p(y1, w1)) + _p(y2, w2)) + _p(y3, w3)
                        acc2[j] = (((acc2[j] + _p(u0, w0)) + _p(u1, w1)) + _p(u2, w2)) + _p(u3, w3)
                        acc3[j] = (((acc3[j] + _p(v0, w0)) + _p(v1, w1)) + _p(v2, w2)) + _p(v3, w3)
            for q in range(k4, kk):
                _masked_pass(acc0, acc1, acc2, acc3, ra0[q], ra1[q], ra2[q], ra3[q], cb[q], n)
    return bad == 0


@njit(inline="always")
def _p(x, y):
    """The product of two nonzero codes: one int32 add, read as float32."""
    return gk.as_f32(gk.add32(x, y))


def _matmul_dispatch(a, b, out, bf16=False):
    """Fast path when no special case can occur, else the all-cases kernel; True for the fast one.
    ``a``, ``b``: float32 bit patterns, rounded to bf16 first if ``bf16``."""
    cb = np.empty(b.shape, np.int32)
    stats = np.empty((b.shape[0], 3), np.int32)
    with gk.threads_for(b.size):                 # cheap: threads only for a huge B
        _encode_b(b, bf16, cb, stats)
    # products of normals stay normal: exponent sums (biased) in [128, 380]; see the comment above.
    # A row of zeros has exponents 255 (min) and 0 (max): no constraint.
    emin, emax = stats[:, 0].min() >> 23, stats[:, 1].max() >> 23
    fast = emax < 255                            # no infinity or NaN in B
    if fast:
        fast = _matmul_fast(a, cb, stats[:, 2] > 0, out, np.int64(128 - emin), np.int64(min(380 - emax, 254)), bf16)
    if not fast:
        if bf16:
            a, b = _round_bits(a), _round_bits(b)
        _matmul_kernel(a, b, out)
    return fast


@njit(parallel=True, cache=True)
def _round_bf16_kernel(u, out):
    """uint32 fp32 patterns rounded to bf16 (nearest, ties to even); NaNs become the quiet NaN."""
    for i in prange(u.size):
        out[i] = _pattern(u[i], True)


@njit(parallel=True, cache=True)
def _mul_kernel(a, b, out):
    for i in prange(a.size):
        out[i] = _fm32(np.int64(a[i]), np.int64(b[i]))


def round_to_bf16(x):
    """float32 values rounded to the nearest bf16 (ties to even), kept in float32."""
    return _round_bits(_bits(x)).view(np.float32).reshape(np.shape(x))


def _round_bits(u):
    """bf16 rounding of uint32 fp32 patterns, as patterns."""
    out = np.empty(u.shape, np.uint32)
    with gk.threads_for(u.size):
        _round_bf16_kernel(u.ravel(), out.ravel())
    return out


def _bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def fm_matmul(a, b, fmt="fp32"):
    """``a @ b`` (float32, 2-D) with every scalar product a Float Mitchell product in ``fmt``."""
    if fmt not in ("fp32", "bf16"):
        raise ValueError(f"fmt must be 'fp32' or 'bf16', got {fmt!r}")
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"fm_matmul needs (M, K) @ (K, N), got {a.shape} and {b.shape}")
    out = np.empty((a.shape[0], b.shape[1]), np.float32)
    if out.size:
        if a.shape[1] == 0:
            out[:] = 0
        else:            # bf16: the kernels round the operands as they read them
            with gk.threads_for(a.shape[0] * a.shape[1] * b.shape[1]):
                _matmul_dispatch(_bits(a), _bits(b), out, fmt == "bf16")
    return out


class FloatMitchellOps:
    """Arithmetic for training where every multiplication is a Float Mitchell product."""

    def __init__(self, fmt):
        if fmt not in ("fp32", "bf16"):
            raise ValueError(f"fmt must be 'fp32' or 'bf16', got {fmt!r}")
        self.fmt = fmt
        self.name = f"float-mitchell-{fmt}"

    def matmul(self, a, b):
        return fm_matmul(a, b, self.fmt)

    def mul(self, a, b):
        a, b = np.broadcast_arrays(np.asarray(a, np.float32), np.asarray(b, np.float32))
        if self.fmt == "bf16":
            a, b = round_to_bf16(a), round_to_bf16(b)
        out = np.empty(a.shape, np.uint32)
        with gk.threads_for(a.size * 16):
            _mul_kernel(_bits(a).ravel(), _bits(b).ravel(), out.ravel())
        return out.view(np.float32)


class _NumpyOps:
    name = "float32"

    @staticmethod
    def matmul(a, b):
        return a @ b

    @staticmethod
    def mul(a, b):
        return np.multiply(a, b, dtype=np.float32)


NUMPY_OPS = _NumpyOps()
