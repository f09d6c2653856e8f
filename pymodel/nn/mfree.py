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


@njit(cache=True)
def _encode_b(u, bf16, codes, bzero):
    """Codes of B's rows (``u`` (K, N): uint32 patterns, rounded to bf16 first if ``bf16``) into
    ``codes`` (K, Np >= N): the bits, 0 for zeros and (DAZ) subnormals, ONE in the padding columns;
    ``bzero[k]``: row k holds a zero.  Returns the smallest and the largest exponent of the nonzero
    values (255 and 0 if none; 255 for the largest if an infinity or NaN).  One thread: O(K N)
    beside the kernel's O(M K N), and no wake-up of the workers."""
    rnd = True if bf16 else False
    mn, mx = np.int32(ABS), np.int32(0)
    for i in range(u.shape[0]):
        rmn, rmx, rnz = _encode_row(u[i], codes[i, :u.shape[1]], False, rnd)
        mn, mx = _min32(mn, rmn), _max32(mx, rmx)
        bzero[i] = rnz != 0
        codes[i, u.shape[1]:] = ONE
    return mn >> 23, mx >> 23


def _tile_intrinsic(mask_a, mask_b):
    """An intrinsic ``tile(codes, masks, cb, acc, j0)``: ``acc[r, j0:j0 + TW] += product(codes[r, k],
    cb[k, j0:j0 + TW])`` for every row r < MR and every k in order, the MR x TW sums held in
    registers across the whole k loop (loaded once, stored once).  Written in LLVM IR on vector
    types (numba has none): LLVM keeps numba's arrays in memory, so a numba loop over j reloads
    and stores every sum for every k.  Zero operands give +0 products: ZERO_B (``mask_b``) by a
    compare per load of B, ZERO_A (``mask_a``) by ``masks`` (MR, K), 0 for ZERO_A and -1 else (a
    load: a scalar compare per row and k, moved to a vector register, cost twice as much); one
    vector and per product for either or both.  Without them no such operand may occur."""
    def typer(typingctx, codes, masks, cb, acc, j0):
        if not all(isinstance(t, types.Array) and t.ndim == 2 and t.layout == "C" for t in (codes, masks, cb, acc)):
            return None                  # rows are addressed as data + row * shape[1]
        sig = types.void(codes, masks, cb, acc, types.int64)

        def codegen(context, builder, signature, args):
            ca, ma, bb, aa = (context.make_array(t)(context, builder, v) for t, v in zip(signature.args[:4], args[:4]))
            j0 = args[4]
            i32, i64 = ir.IntType(32), ir.IntType(64)
            vi, vf = ir.VectorType(i32, TW), ir.VectorType(ir.FloatType(), TW)
            kk = builder.extract_value(ca.shape, 1)
            ldb = builder.extract_value(bb.shape, 1)
            lda = builder.extract_value(aa.shape, 1)
            undef = ir.Constant(vi, ir.Undefined)
            splat0 = ir.Constant(vi, [0] * TW)

            def splat(x):
                return builder.shuffle_vector(builder.insert_element(undef, x, ir.Constant(i32, 0)), undef, splat0)

            sums = [builder.bitcast(builder.gep(aa.data, [builder.add(builder.mul(ir.Constant(i64, r), lda), j0)]),
                                    vf.as_pointer()) for r in range(MR)]
            init = [builder.load(p, align=4) for p in sums]
            pre = builder.block
            loop = builder.append_basic_block("fm_tile.loop")
            done = builder.append_basic_block("fm_tile.done")
            builder.cbranch(builder.icmp_signed(">", kk, ir.Constant(i64, 0)), loop, done)
            builder.position_at_end(loop)
            k = builder.phi(i64)
            acc = [builder.phi(vf) for _ in range(MR)]
            bv = builder.load(builder.bitcast(builder.gep(bb.data, [builder.add(builder.mul(k, ldb), j0)]),
                                              vi.as_pointer()), align=4)
            if mask_b:
                bnz = builder.sext(builder.icmp_signed("!=", bv, splat0), vi)
            new = []
            for r in range(MR):
                rk = builder.add(builder.mul(ir.Constant(i64, r), kk), k)
                p = builder.add(bv, splat(builder.load(builder.gep(ca.data, [rk]))))
                if mask_a and mask_b:
                    p = builder.and_(p, builder.and_(bnz, splat(builder.load(builder.gep(ma.data, [rk])))))
                elif mask_a:
                    p = builder.and_(p, splat(builder.load(builder.gep(ma.data, [rk]))))
                elif mask_b:
                    p = builder.and_(p, bnz)
                new.append(builder.fadd(acc[r], builder.bitcast(p, vf)))
            k1 = builder.add(k, ir.Constant(i64, 1))
            end = builder.block
            k.add_incoming(ir.Constant(i64, 0), pre)
            k.add_incoming(k1, end)
            for r in range(MR):
                acc[r].add_incoming(init[r], pre)
                acc[r].add_incoming(new[r], end)
            builder.cbranch(builder.icmp_signed("<", k1, kk), loop, done)
            builder.position_at_end(done)
            fin = [builder.phi(vf) for _ in range(MR)]
            for r in range(MR):
                fin[r].add_incoming(init[r], pre)
                fin[r].add_incoming(new[r], end)
                builder.store(fin[r], sums[r], align=4)
            return context.get_dummy_value()
        return sig, codegen
    return intrinsic(typer)


# Register block of the fast kernel: MR rows of A x TW columns, MR * TW / lanes accumulators
# (12 ymm with AVX2, 6 zmm with AVX-512) and TW / lanes loads of B per k, which AVX2's sixteen
# registers hold.  Measured (1 thread, fm_matmul / numpy float32, AMD EPYC): 16 x 6 about
# 1.0-1.2x with AVX-512 and 1.3-1.7x with AVX2 (Haswell code); 16 x 4, 16 x 8, 8 x 8, 8 x 12,
# 32 x 3..8 no better with either, widths that are no power of two (24, 48) ten times slower.
MR, TW = 6, 16
_tile = _tile_intrinsic(False, False)
_tile_mask_a = _tile_intrinsic(True, False)
_tile_mask_b = _tile_intrinsic(False, True)
_tile_mask_ab = _tile_intrinsic(True, True)


@njit(parallel=True, cache=True)
def _matmul_fast(a, cb, bzero, out, lo=1, hi=254, bf16=False):
    """out[i, j] = float32 sum over k in order of the products, if every nonzero exponent of A
    lies in ``[lo, hi]`` (returns False, ``out`` unfinished, if not).  ``a`` (M, K): A's bit
    patterns (rounded to bf16 if ``bf16``), encoded here MR rows at a time into a small buffer
    (no pass over A of its own, no (M, K) array); ``cb`` (K, Np): B's codes, Np >= N a multiple
    of TW (columns past N: any nonzero code); ``bzero[k]``: row k of B holds a zero.

    Per block of MR rows: the register tiles of ``_tile`` across Np, each running over all k in
    order, so each sum takes its products one at a time in k order (the roundings of the
    definition); a product is one int32 add, one load of B serves MR rows.  A block with zero
    operands in A (``masks``) and/or in B (``bzero``) takes the tile that masks them."""
    m, n = out.shape
    kk = min(a.shape[1], cb.shape[0], bzero.size)      # all equal (for every caller)
    npad = cb.shape[1] - cb.shape[1] % TW
    rnd = True if bf16 else False
    bzeros = bzero[:kk].any()
    bad = 0
    for ib in prange((m + MR - 1) // MR):
        i0 = MR * ib
        codes = np.empty((MR, kk), np.int32)
        mn, mx, nz = np.int32(ABS), np.int32(0), np.int32(0)
        for r in range(MR):
            rmn, rmx, rnz = _encode_row(a[min(i0 + r, m - 1)][:kk], codes[r], True, rnd)
            mn, mx, nz = _min32(mn, rmn), _max32(mx, rmx), gk.add32(nz, rnz)
        if (mn >> 23) < lo or (mx >> 23) > hi:
            bad += 1
        else:
            acc = np.zeros((MR, npad), np.float32)
            if nz:
                masks = np.empty((MR, kk), np.int32)
                for r in range(MR):
                    for k in range(kk):
                        masks[r, k] = 0 if codes[r, k] == ZERO_A else -1
                for j0 in range(0, npad, TW):
                    if bzeros:
                        _tile_mask_ab(codes, masks, cb, acc, np.int64(j0))
                    else:
                        _tile_mask_a(codes, masks, cb, acc, np.int64(j0))
            else:
                for j0 in range(0, npad, TW):
                    if bzeros:
                        _tile_mask_b(codes, codes, cb, acc, np.int64(j0))
                    else:
                        _tile(codes, codes, cb, acc, np.int64(j0))
            for r in range(min(MR, m - i0)):
                out[i0 + r] = acc[r, :n]
    return bad == 0


def _empty_int32_64(shape):
    """An empty int32 array starting on a 64-byte boundary, so that (with rows of TW = 16 values)
    each tile's load of B is one cache line, not two (numpy's buffers are 16-byte aligned; 1.2-1.6x
    slower kernel measured on the split lines)."""
    size = int(np.prod(shape))
    buf = np.empty(size + 16, np.int32)
    start = (-buf.ctypes.data % 64) // 4
    return buf[start:start + size].reshape(shape)


def _matmul_dispatch(a, b, out, bf16=False):
    """Fast path when no special case can occur, else the all-cases kernel; True for the fast one.
    ``a``, ``b``: float32 bit patterns, rounded to bf16 first if ``bf16``."""
    kk, n = b.shape
    cb = _empty_int32_64((kk, -(-n // TW) * TW))     # padding columns: products = A's values, never read
    bzero = np.empty(kk, np.bool_)
    emin, emax = _encode_b(b, bf16, cb, bzero)
    # products of normals stay normal: exponent sums (biased) in [128, 380] (see the comment
    # above); no infinity or NaN in B (emax < 255), A checked in the kernel
    fast = emax < 255 and _matmul_fast(a, cb, bzero, out, 128 - emin, min(380 - emax, 254), bf16)
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
