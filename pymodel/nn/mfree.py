"""Multiplication-free arithmetic for training: every product through ``FloatMitchell``.

``FloatMitchellOps(fmt)`` gives ``matmul`` (float32 accumulation; each scalar product is
``bits(|x|) + bits(|y|) - bits(1.0)`` with the model's special cases) and elementwise
``mul``.  For ``bf16`` the operands are first rounded to bf16 (nearest even); the fp32
kernel on bf16-representable patterns is exactly the bf16 Mitchell product, since both
formats share the exponent field (a test checks this against ``FloatMitchell("bf16")``).
``NUMPY_OPS`` is the ordinary float32 arithmetic, for the baseline.
"""

import numpy as np
from numba import njit, prange

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
# |x| = inf) skips the whole row of products, ZERO_B = 0 selects a zero product.
ZERO_A = 1 << 30


@njit(parallel=True, cache=True)
def _encode_a(u, codes, emin, emax, special):
    """Per row of ``u`` (uint32 patterns): codes, min/max exponent of the normal values, and
    whether it holds an infinity or NaN."""
    for i in prange(u.shape[0]):
        lo, hi, sp = 255, 0, False
        for k in range(u.shape[1]):
            v = np.int64(u[i, k])
            e = (v >> 23) & 255
            c = (v & ABS) - ONE + (v & SIGN)
            codes[i, k] = gk.trunc32(np.int64(ZERO_A) if e == 0 else c)
            if e != 0:
                lo, hi = min(lo, e), max(hi, e)
            sp |= e == 255
        emin[i], emax[i], special[i] = lo, hi, sp


@njit(parallel=True, cache=True)
def _encode_b(u, codes, emin, emax, special, zeros):
    """As ``_encode_a`` for B, plus whether each row holds a zero (or subnormal)."""
    for i in prange(u.shape[0]):
        lo, hi, sp, z = 255, 0, False, False
        for k in range(u.shape[1]):
            v = np.int64(u[i, k])
            e = (v >> 23) & 255
            codes[i, k] = gk.trunc32(np.int64(0) if e == 0 else v)
            if e != 0:
                lo, hi = min(lo, e), max(hi, e)
            sp |= e == 255
            z |= e == 0
        emin[i], emax[i], special[i], zeros[i] = lo, hi, sp, z


@njit(inline="always")
def _amask(x):
    """All ones for a nonzero A code, 0 for ZERO_A (its products are +0)."""
    return np.int32(0) if x == ZERO_A else np.int32(-1)


@njit(inline="always")
def _masked_pass(acc0, acc1, x0, x1, rb, n):
    """One k for two rows, zero operands masked to +0 products."""
    if (x0 == ZERO_A) & (x1 == ZERO_A):
        return
    m0, m1 = _amask(x0), _amask(x1)
    for j in range(np.uint64(0), np.uint64(n)):
        y = rb[j]
        acc0[j] += gk.fm_product(x0, y, m0)
        acc1[j] += gk.fm_product(x1, y, m1)


@njit(parallel=True, cache=True)
def _matmul_fast(ca, cb, bzero, out):
    """out[i, j] = float32 sum over k in order of the products; ca (M, K), cb (K, N) codes.

    Vectorized over j, two rows of A per pass (one load of B for both).  Where no operand of
    two consecutive k is zero (``bzero[k]``: row k of B holds a zero), each product is one int32
    add and one float32 add, two k per pass (``(acc + p_k) + p_k+1``, the same rounding as one
    at a time, half the loads and stores of the sums).  Otherwise one k per pass with a mask:
    a zero operand's product is +0, and adding +0 changes nothing (a sum that starts at +0 is
    never -0).  Two rows, not four: four spill on AVX2."""
    m, kk = ca.shape
    n = cb.shape[1]
    for ib in prange((m + 1) // 2):
        i0 = 2 * ib
        i1 = min(i0 + 1, m - 1)       # an odd last row is computed twice into the same sums
        acc0 = out[i0]
        acc1 = out[i1] if i1 != i0 else np.empty(n, np.float32)
        acc0[:] = 0
        acc1[:] = 0
        ra0, ra1 = ca[i0], ca[i1]
        for k in range(0, kk - 1, 2):
            x0, x1, z0, z1 = ra0[k], ra1[k], ra0[k + 1], ra1[k + 1]
            rb, rc = cb[k], cb[k + 1]
            if ((x0 != ZERO_A) & (x1 != ZERO_A) & (z0 != ZERO_A) & (z1 != ZERO_A)
                    & (not bzero[k]) & (not bzero[k + 1])):
                for j in range(np.uint64(0), np.uint64(n)):
                    y, w = rb[j], rc[j]
                    acc0[j] = (acc0[j] + gk.as_f32(gk.add32(x0, y))) + gk.as_f32(gk.add32(z0, w))
                    acc1[j] = (acc1[j] + gk.as_f32(gk.add32(x1, y))) + gk.as_f32(gk.add32(z1, w))
            else:
                _masked_pass(acc0, acc1, x0, x1, rb, n)
                _masked_pass(acc0, acc1, z0, z1, rc, n)
        if kk % 2:
            _masked_pass(acc0, acc1, ra0[kk - 1], ra1[kk - 1], cb[kk - 1], n)


def _matmul_dispatch(a, b, out):
    """Fast path when no special case can occur, else the all-cases kernel; True for the fast one."""
    ca = np.empty(a.shape, np.int32)
    cb = np.empty(b.shape, np.int32)
    ea = [np.empty(a.shape[0], np.int64), np.empty(a.shape[0], np.int64), np.empty(a.shape[0], np.bool_)]
    eb = [np.empty(b.shape[0], np.int64), np.empty(b.shape[0], np.int64), np.empty(b.shape[0], np.bool_),
          np.empty(b.shape[0], np.bool_)]
    with gk.threads_for(a.size + b.size):        # cheap: threads only for huge operands
        _encode_a(a, ca, *ea)
        _encode_b(b, cb, *eb)
    # products of normals stay normal: exponent sums (biased) in [128, 380]; see the comment above
    fast = not (ea[2].any() or eb[2].any()) and ea[0].min() + eb[0].min() >= 128 and ea[1].max() + eb[1].max() <= 380
    if fast:
        _matmul_fast(ca, cb, eb[3], out)
    else:
        _matmul_kernel(a, b, out)
    return fast


@njit(parallel=True, cache=True)
def _round_bf16_kernel(u, out):
    """uint32 fp32 patterns rounded to bf16 (nearest, ties to even); NaNs become the quiet NaN."""
    for i in prange(u.size):
        v = np.int64(u[i])
        r = ((v + 0x7FFF + ((v >> 16) & 1)) >> 16) << 16
        out[i] = 0x7FC00000 if (v & ABS) > INF else r


@njit(parallel=True, cache=True)
def _mul_kernel(a, b, out):
    for i in prange(a.size):
        out[i] = _fm32(np.int64(a[i]), np.int64(b[i]))


def round_to_bf16(x):
    """float32 values rounded to the nearest bf16 (ties to even), kept in float32."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32)
    out = np.empty(u.shape, np.uint32)
    with gk.threads_for(u.size):
        _round_bf16_kernel(u.ravel(), out.ravel())
    return out.view(np.float32).reshape(np.shape(x))


def _bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def fm_matmul(a, b, fmt="fp32"):
    """``a @ b`` (float32, 2-D) with every scalar product a Float Mitchell product in ``fmt``."""
    if fmt not in ("fp32", "bf16"):
        raise ValueError(f"fmt must be 'fp32' or 'bf16', got {fmt!r}")
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"fm_matmul needs (M, K) @ (K, N), got {a.shape} and {b.shape}")
    if fmt == "bf16":
        a, b = round_to_bf16(a), round_to_bf16(b)
    out = np.empty((a.shape[0], b.shape[1]), np.float32)
    if out.size:
        if a.shape[1] == 0:
            out[:] = 0
        else:
            with gk.threads_for(a.shape[0] * a.shape[1] * b.shape[1]):
                _matmul_dispatch(_bits(a), _bits(b), out)
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
