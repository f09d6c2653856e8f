"""Compiled GEMM kernels behind :func:`pymodel.nn.approx_matmul` (numba, SIMD): the log-add
kernels, the encoder they share with :mod:`pymodel.nn.gemm_corrected`, and the general and
table kernels.

The log-add kernels rest on one fact: the float32 bit pattern of an integer
``0 < v < 2**24`` *is* its Mitchell logarithm, the exponent field holding ``k`` (plus
the bias 127) and the mantissa field the fraction ``v / 2**k - 1``.  So each operand
is encoded once as an int32 pattern (fraction truncated to ``keep_bits``, the design's
set bits OR'ed in, the bias taken off one side, the sign in bit 31:
:class:`pymodel.gemm_forms.LogAdd`), and each product is

    int32 add  ->  reinterpret as float32  ->  truncating float -> int32 conversion

which is ``2**(ka+kb) * (1 + fa + fb)`` (or ``2**(ka+kb+1) * (fa + fb)`` after the
carry), floored: exactly Mitchell's antilog, with its sign (plus an OR and a clamp for
designs with a set-one adder or that can reach ``product_max``).  A zero operand gets a
pattern far below every product (the sum is a float in ``(0, 1)``, truncated to 0).

Loops index 1-D row views with unsigned ``k`` so that numba emits no negative-index
wrap-around; otherwise LLVM builds every vector from scalar inserts (a gather) and
the kernel runs 5x slower.  int32 arithmetic goes through the small intrinsics below,
because numba widens ``int32 + int32`` to int64 (and int64 lanes are half as many).
"""

import contextlib

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Below this many scalar operations a kernel runs on the calling thread alone: waking numba's
# worker threads costs tens of microseconds on a quiet machine and, measured here on a shared
# 2-core machine, about 12 ms per call under load (a small training step made 800 such calls).
PARALLEL_MIN_WORK = 1 << 22


@contextlib.contextmanager
def threads_for(work):
    """Run the numba kernels inside with one thread when ``work`` is below PARALLEL_MIN_WORK."""
    n = numba.get_num_threads()
    if work >= PARALLEL_MIN_WORK or n == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(n)

# Zero codes (see the module docstring).  An A-side code of a nonzero magnitude is
# ``bits(|a|) - BIAS`` in [0, 15 << 23], a B-side code ``bits(|b|)`` in [127 << 23, 142 << 23];
# both zero codes keep every sum of two codes a non-negative pattern of a float below 1.
BIAS = 127 << 23
ZERO_A = -(50 << 23)
ZERO_B = 100 << 23
SIGN = -(1 << 31)           # bit 31 as an int32


def ir_op(sig, emit, doc):
    """A one- or two-argument intrinsic of signature ``sig`` whose body is ``emit(builder, *args)``: a
    single IR instruction or two, in the argument's own width (numba would widen int32 to int64)."""
    if len(sig.args) == 1:
        def typer(typingctx, x):
            return sig, lambda context, builder, signature, args: emit(builder, *args)
    else:
        def typer(typingctx, x, y):
            return sig, lambda context, builder, signature, args: emit(builder, *args)
    typer.__doc__ = doc
    return intrinsic(typer)


add32 = ir_op(types.int32(types.int32, types.int32), lambda b, x, y: b.add(x, y),
              "int32 + int32 -> int32, wrapping (numba alone would widen to int64).")
as_f32 = ir_op(types.float32(types.int32), lambda b, x: b.bitcast(x, ir.FloatType()),
               "Reinterpret an int32 as a float32 (same bits).")
f32_bits = ir_op(types.int32(types.float32), lambda b, x: b.bitcast(x, ir.IntType(32)),
                 "Reinterpret a float32 as an int32 (same bits).")
trunc32 = ir_op(types.int32(types.int64), lambda b, x: b.trunc(x, ir.IntType(32)),
                "int64 -> int32, keeping the low 32 bits.")
f64_bits = ir_op(types.int64(types.float64), lambda b, x: b.bitcast(x, ir.IntType(64)),
                 "Reinterpret a float64 as an int64 (same bits).")


# ``post`` = (or_sum, sat, satf): what follows the add of two codes, each None when the design
# has no such step, so that the compiled kernel has none either (numba compiles one version per
# combination of types).  or_sum: int32 pattern bits OR'ed into the sum; sat (int32) and satf
# (float32, the smallest float >= sat): the symmetric saturation of a design whose products can
# reach ``product_max`` (the caller checks whether the operands at hand can).
PLAIN = (None, None, None)


def _check_post(post):
    want = (types.int32, types.int32, types.float32)
    ok = (isinstance(post, types.BaseTuple) and len(post) == 3
          and all(isinstance(t, types.NoneType) or t == w for t, w in zip(post.types, want))
          and isinstance(post.types[1], types.NoneType) == isinstance(post.types[2], types.NoneType))
    if not ok:
        raise TypeError(f"post must be (or_sum: int32, sat: int32, satf: float32), each None when absent, got {post}")


def _logadd_ir(builder, x, y, post, post_ty):
    """IR of the float32 value of codes ``x + y``: ``(x + y) | or_sum``."""
    s = builder.add(x, y)
    if not isinstance(post_ty.types[0], types.NoneType):
        s = builder.or_(s, builder.extract_value(post, 0))
    return builder.bitcast(s, ir.FloatType())


def _clampf_ir(builder, f, post, post_ty):
    """IR of ``f`` clamped to ``[-satf, satf]`` (a float sum of clamped values stays within 1 per
    term of the integer sum, which pinning needs)."""
    if isinstance(post_ty.types[2], types.NoneType):
        return f
    satf = builder.extract_value(post, 2)
    f = builder.select(builder.fcmp_ordered("<", f, satf), f, satf)
    nsat = builder.fneg(satf)
    return builder.select(builder.fcmp_ordered(">", f, nsat), f, nsat)


def _clamp_ir(builder, f, post, post_ty):
    """IR of ``int(f)`` for a clamped ``f``, saturated to ``[-sat, sat]``: ``|f| >= satf`` means
    ``|floor(f)| >= sat`` (``satf`` is the smallest float >= sat), and selects ``sat`` before the
    conversion of a float past 2**31 could matter."""
    p = builder.fptosi(f, ir.IntType(32))
    if isinstance(post_ty.types[1], types.NoneType):
        return p
    sat, satf = builder.extract_value(post, 1), builder.extract_value(post, 2)
    p = builder.select(builder.fcmp_ordered(">=", f, satf), sat, p)
    return builder.select(builder.fcmp_ordered("<=", f, builder.fneg(satf)), builder.neg(sat), p)


@intrinsic
def logadd_value(typingctx, x, y, post):
    """The float32 whose pattern is the sum of an A code and a B code (with ``post``, see
    :func:`_logadd_ir`): the untruncated product with its sign."""
    _check_post(post)
    sig = types.float32(types.int32, types.int32, post)

    def codegen(context, builder, signature, args):
        return _logadd_ir(builder, args[0], args[1], args[2], signature.args[2])
    return sig, codegen


@intrinsic
def clamp_value(typingctx, f, post):
    """A product's float32 value clamped to ``[-satf, satf]`` (see PLAIN)."""
    _check_post(post)
    sig = types.float32(types.float32, post)

    def codegen(context, builder, signature, args):
        return _clampf_ir(builder, args[0], args[1], signature.args[1])
    return sig, codegen


@intrinsic
def logadd_product(typingctx, x, y, post):
    """One product from an A code and a B code: ``int(logadd_value)``, saturated (see PLAIN)."""
    _check_post(post)
    sig = types.int32(types.int32, types.int32, post)

    def codegen(context, builder, signature, args):
        f = _logadd_ir(builder, args[0], args[1], args[2], signature.args[2])
        f = _clampf_ir(builder, f, args[2], signature.args[2])
        return _clamp_ir(builder, f, args[2], signature.args[2])
    return sig, codegen


# --- encoding ------------------------------------------------------------------------

@intrinsic
def _code32(typingctx, v, mask, orc, bias, zero):
    """int32 code of one operand ``|v| <= 2**15``: the float32 pattern of ``|v|`` with its mantissa
    cut by ``mask`` and ``orc`` OR'ed in, minus ``bias``, the sign in bit 31; ``zero`` for 0.
    Written in LLVM IR so that every step stays in int32 lanes (numba would widen to int64 and
    AVX2 cannot convert int64 to float in SIMD)."""
    sig = types.int32(types.int32, types.int32, types.int32, types.int32, types.int32)

    def codegen(context, builder, signature, args):
        x, msk, orc, b, z = args
        i32 = ir.IntType(32)
        zero32 = ir.Constant(i32, 0)
        neg = builder.icmp_signed("<", x, zero32)
        mag = builder.select(neg, builder.sub(zero32, x), x)
        bits = builder.bitcast(builder.sitofp(mag, ir.FloatType()), i32)
        c = builder.sub(builder.or_(builder.and_(bits, msk), orc), b)
        c = builder.or_(c, builder.and_(x, ir.Constant(i32, -(1 << 31))))
        return builder.select(builder.icmp_signed("==", x, zero32), z, c)
    return sig, codegen


@njit(parallel=True, cache=True)
def encode_rows(v, keep_bits, or_code, add_a, side_a, rows_pad):
    """Codes of the rows of ``v`` (R, K), ``|v| <= 2**15``: (rows_pad, K) int32, padding rows of zero
    codes; ``keep_bits`` fraction bits kept, ``or_code`` OR'ed in (:class:`pymodel.gemm_forms.LogAdd`).
    ``side_a`` takes the bias off and adds ``add_a`` (the A side of the product)."""
    r, kk = v.shape
    mask = trunc32(np.int64(0xFFFFFFFF) ^ ((np.int64(1) << (23 - keep_bits)) - 1))
    orc = trunc32(np.int64(or_code))
    bias = trunc32(np.int64(BIAS) - add_a if side_a else np.int64(0))
    zero = trunc32(np.int64(ZERO_A) if side_a else np.int64(ZERO_B))
    out = np.empty((rows_pad, kk), np.int32)
    for i in prange(rows_pad):
        row = out[i]
        if i < r:
            src = v[i]
            for k in range(np.uint64(0), np.uint64(kk)):
                row[k] = _code32(np.int32(src[k]), mask, orc, bias, zero)
        else:
            for k in range(np.uint64(0), np.uint64(kk)):
                row[k] = zero
    return out


# --- the fast Mitchell kernels --------------------------------------------------------
# Register block: MR rows of A x NR rows of B^T, eight accumulators (vectors over k
# after vectorization), which fits AVX2's sixteen ymm registers with the six loads.
MR, NR = 4, 2


@njit(parallel=True, cache=True)
def logadd_gemm_i32(ea, eb, out, kc, post):
    """``out[i, j] = sum_k product(ea[i, k], eb[j, k])``, int32 sums over chunks of at most
    ``kc`` products (the caller picks ``kc`` so that a chunk cannot overflow), int64 total.

    ``ea`` (Mp, K) and ``eb`` (Np, K) are codes, Mp and Np multiples of MR and NR; ``out``
    is (M, N) with M <= Mp, N <= Np.  ``post``: see PLAIN (Mitchell: one add and one conversion
    per product)."""
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
                    c00 = add32(c00, logadd_product(a0, b0, post))
                    c01 = add32(c01, logadd_product(a0, b1, post))
                    c10 = add32(c10, logadd_product(a1, b0, post))
                    c11 = add32(c11, logadd_product(a1, b1, post))
                    c20 = add32(c20, logadd_product(a2, b0, post))
                    c21 = add32(c21, logadd_product(a2, b1, post))
                    c30 = add32(c30, logadd_product(a3, b0, post))
                    c31 = add32(c31, logadd_product(a3, b1, post))
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


@intrinsic
def _clamp_int(typingctx, f, post):
    """``int(f)`` of a value from :func:`clamp_value`, saturated (the integer side of :func:`logadd_product`)."""
    _check_post(post)
    sig = types.int32(types.float32, post)

    def codegen(context, builder, signature, args):
        return _clamp_ir(builder, args[0], args[1], signature.args[1])
    return sig, codegen


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
def logadd_gemm_dual(ea, eb, out, kc, post):
    """As :func:`logadd_gemm_i32` for products up to 2**31 (16-bit operands), where an
    int32 sum overflows after two terms: each accumulator is a wrapping int32 sum plus a
    float32 sum of the untruncated products that pins its high bits (``kc <= DUAL_CHUNK``).
    fastmath only lets LLVM reorder that float sum, whose error the chunk size bounds.
    A 4 x 1 block: eight accumulators, which AVX2's registers hold without spilling."""
    mp, kk = ea.shape
    np_ = eb.shape[0]
    m, n = out.shape
    for ib in prange(mp // MR):
        i0 = ib * MR
        ra0, ra1, ra2, ra3 = ea[i0], ea[i0 + 1], ea[i0 + 2], ea[i0 + 3]
        for j in range(min(np_, n)):
            rb = eb[j]
            t0 = t1 = t2 = t3 = np.int64(0)
            for k0 in range(0, kk, kc):
                k1 = min(kk, k0 + kc)
                c0 = c1 = c2 = c3 = np.int32(0)
                f0 = f1 = f2 = f3 = np.float32(0)
                for k in range(np.uint64(k0), np.uint64(k1)):
                    b = rb[k]
                    p = clamp_value(logadd_value(ra0[k], b, post), post)
                    c0 = add32(c0, _clamp_int(p, post))
                    f0 += p
                    p = clamp_value(logadd_value(ra1[k], b, post), post)
                    c1 = add32(c1, _clamp_int(p, post))
                    f1 += p
                    p = clamp_value(logadd_value(ra2[k], b, post), post)
                    c2 = add32(c2, _clamp_int(p, post))
                    f2 += p
                    p = clamp_value(logadd_value(ra3[k], b, post), post)
                    c3 = add32(c3, _clamp_int(p, post))
                    f3 += p
                t0 += _pin(c0, f0)
                t1 += _pin(c1, f1)
                t2 += _pin(c2, f2)
                t3 += _pin(c3, f3)
            for r, t in enumerate((t0, t1, t2, t3)):
                if i0 + r < m:
                    out[i0 + r, j] = t


# --- the general kernel: any design's magnitude function --------------------------------

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
def general_gemm(a, bt, out, fn, params, sat):
    """``out[i, j] = sum_k sign * min(fn(|a[i, k]|, |bt[j, k]|, params), sat)`` in int64 (the caller
    has checked that the sum fits; ``sat`` is the design's ``product_max``).  ``a`` (M, K), ``bt`` (N, K): int32 or int64 operands, widened
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
                p = min(np.int64(fn(m0, n0, params)), sat)
                t00 += -p if (x0 ^ y0) < 0 else p
                p = min(np.int64(fn(m0, n1, params)), sat)
                t01 += -p if (x0 ^ y1) < 0 else p
                p = min(np.int64(fn(m1, n0, params)), sat)
                t10 += -p if (x1 ^ y0) < 0 else p
                p = min(np.int64(fn(m1, n1, params)), sat)
                t11 += -p if (x1 ^ y1) < 0 else p
            out[i0, j0] = t00
            out[i1, j0] = t10
            out[i0, j1] = t01
            out[i1, j1] = t11


# --- the table kernel: any design at widths up to LUT_MAX_WIDTH ---------------------------
# A branch-free int64 magnitude function costs tens of SIMD operations per product (Mitchell's
# runs at about 80x float32); at 8 bits all 2**16 signed products fit a 256 KiB table, filled
# by the same function, and a product is one add and one load.
LUT_MAX_WIDTH = 8


@intrinsic
def _lut(typingctx, table, idx):
    """``table[idx]`` (int32, no bounds or wrap-around handling) as a relaxed atomic load, which
    compiles to a plain ``mov`` but keeps LLVM from vectorizing the loop into gathers (several
    times slower than scalar loads here)."""
    sig = types.int32(table, types.uint64)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, value=args[0])
        return builder.load_atomic(builder.gep(arr.data, [args[1]]), "monotonic", 4)
    return sig, codegen


@njit(cache=True)
def product_table(fn, params, lo, width, sat):
    """``T[(a - lo) << width | (b - lo)] = sign * min(fn(|a|, |b|, params), sat)`` for every operand
    pair (``lo`` = the smallest operand, ``-2**(width-1)`` or 0), int32."""
    size = np.int64(1) << width
    t = np.empty(size * size, np.int32)
    for ua in range(size):
        a = ua + lo
        for ub in range(size):
            b = ub + lo
            p = min(np.int64(fn(abs(a), abs(b), params)), sat)          # designs return uint64
            t[(ua << width) | ub] = trunc32(-p if (a ^ b) < 0 else p)
    return t


@njit(parallel=True, cache=True)
def table_codes(v, lo, shift):
    """``(v - lo) << shift`` as int32: table-row (A side) or column (B side) offsets."""
    r, kk = v.shape
    out = np.empty((r, kk), np.int32)
    for i in prange(r):
        src = v[i]
        row = out[i]
        for k in range(np.uint64(0), np.uint64(kk)):
            row[k] = trunc32((np.int64(src[k]) - lo) << shift)
    return out


@njit(parallel=True, cache=True)
def table_gemm(ca, cb, table, out):
    """``out[i, j] = sum_k table[ca[i, k] + cb[j, k]]`` (int64); 2 x 2 register block."""
    m, kk = ca.shape
    n = cb.shape[0]
    for ib in prange((m + 1) // 2):
        i0 = 2 * ib
        i1 = min(i0 + 1, m - 1)
        ra0, ra1 = ca[i0], ca[i1]
        for j0 in range(0, n, 2):
            j1 = min(j0 + 1, n - 1)
            rb0, rb1 = cb[j0], cb[j1]
            t00 = t01 = t10 = t11 = np.int64(0)
            for k in range(np.uint64(0), np.uint64(kk)):
                x0, x1 = np.uint64(ra0[k]), np.uint64(ra1[k])
                y0, y1 = np.uint64(rb0[k]), np.uint64(rb1[k])
                t00 += _lut(table, x0 + y0)
                t01 += _lut(table, x0 + y1)
                t10 += _lut(table, x1 + y0)
                t11 += _lut(table, x1 + y1)
            out[i0, j0] = t00
            out[i1, j0] = t10
            out[i0, j1] = t01
            out[i1, j1] = t11
