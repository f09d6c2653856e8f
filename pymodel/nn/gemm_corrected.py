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
``corr[k, s, :]``, a plain vector load.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from . import gemm_kernels as gk
from .gemm_kernels import ZERO_B, _pin, f32_bits, trunc32

__all__ = ["encode_a", "encode_b", "corrected_gemm", "factor_patterns", "task_rows", "LANES", "MR"]

EXP_SIGN = -(1 << 23)             # sign and exponent fields of an int32 pattern (0xFF800000)
# A zero factor: 2**-67, far below a unit of V for a nonzero A operand; with ZERO_A (exponent
# field 206, sign set) the exponent field wraps past 255 to a tiny positive float, as every
# nonzero factor's does (2**-126 would not wrap, and become a huge negative float).
TINY = 60 << 23


def vector_lanes():
    """int32 lanes of the widest vector register numba compiles for: 16 with AVX-512, else 8
    (``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` when set, as for an AVX2 build on a newer CPU)."""
    from numba.core import config
    if config.CPU_NAME or config.CPU_FEATURES:
        return 16 if "+avx512f" in (config.CPU_FEATURES or "") else 8
    import llvmlite.binding as ll
    return 16 if ll.get_host_cpu_features().get("avx512f") else 8


# Register tile of corrected_gemm: MR rows x TW columns, eight vectors of int32 sums with AVX2 and
# AVX-512 alike, TW / 2 columns when float sums pin them.  Measured on 256x784 @ 784x128 (AMD
# EPYC, 1 thread): 2 x 64 best with AVX-512 (4 x 16 about 1.5x slower), 2 x 32 with AVX2 code.
# Narrower B (a conv layer with 16 output channels) takes one-vector tiles for what is left.
MR, TW = 2, 4 * vector_lanes()
LANES = vector_lanes()            # B columns are padded to a multiple of this


def factor_patterns(form):
    """float32 patterns of the factors ``c / 2**correction_bits`` (TINY for 0), int32 (S, S)."""
    c = np.array(form.correction, np.float64) / (1 << form.correction_bits)
    pat = np.asarray(c, np.float32).view(np.int32).copy()
    pat[c == 0] = TINY
    return pat


@njit(parallel=True, cache=True)
def encode_a(codes, v, segment_bits, xa, sa):
    """A side: ``xa`` the sign and exponent fields of each code, ``sa`` each operand's segment (the
    top ``segment_bits`` of its untruncated fraction).  ``codes`` (Mp, K) of ``v`` (M, K), M <= Mp
    (padding rows of zero codes); outputs (Mp, K) int32."""
    m, kk = codes.shape
    for i in prange(m):
        for k in range(kk):
            x = np.int64(v[i, k]) if i < v.shape[0] else np.int64(0)       # padding rows: zero
            bits = np.int64(f32_bits(np.float32(abs(x))))
            xa[i, k] = codes[i, k] & np.int32(EXP_SIGN)
            sa[i, k] = np.int32((bits >> (23 - segment_bits)) & ((1 << segment_bits) - 1)) if x != 0 else 0


@njit(parallel=True, cache=True)
def encode_b(v, pats, segment_bits, corr):
    """B side (K, N) operands to ``corr`` (K, S, Np): ``pats[s, ib] * 2**kb`` with the sign of b, or
    ZERO_B for b = 0 (padding columns too).  Each operand's fields are computed once (``base``:
    its exponent and sign, ``seg``: its segment, -1 for zero), then the rows of ``corr`` are
    written one at a time, contiguously."""
    kk, s_n, np_ = corr.shape
    n = v.shape[1]
    smask = (1 << segment_bits) - 1
    base = np.empty((kk, np_), np.int32)
    seg = np.full((kk, np_), -1, np.int32)
    for k in prange(kk):
        src = v[k]
        for j in range(n):
            x = np.int64(src[j])
            bits = np.int64(f32_bits(np.float32(abs(x))))
            base[k, j] = trunc32((((bits >> 23) - 127) << 23) | (np.int64(-(1 << 31)) if x < 0 else np.int64(0)))
            seg[k, j] = np.int32((bits >> (23 - segment_bits)) & smask) if x != 0 else np.int32(-1)
        for s in range(s_n):
            row = corr[k, s]
            ps = pats[s]
            bk, sk = base[k], seg[k]
            for j in range(np_):
                q = sk[j]
                row[j] = trunc32(np.int64(ps[max(q, 0)]) + np.int64(bk[j])) if q >= 0 else ZERO_B
    return corr


def _tile_intrinsic(dual, tw):
    """An intrinsic ``tile(ca, xa, sa, cbt, corr, acc_i, acc_f, r0, q0, k0, k1, j0, post)``: for rows
    ``r0 .. r0 + MR - 1`` of A and columns ``j0 .. j0 + tw - 1``, ``acc_i[q0 + r, j] += product``
    over ``k0 <= k < k1`` (and ``acc_f += value`` when ``dual``), the sums held in vector registers
    across the k loop (loaded once, stored once).  LLVM IR on vector types, as the Float Mitchell
    tile (pymodel.nn.mfree): a numba loop over j keeps its sums in memory, a load and a store per
    product.  Per product: two int32 adds, a float add, a conversion (and the ``post`` steps); the
    A element is broadcast and its segment picks the row of ``corr`` to load."""
    def typer(typingctx, ca, xa, sa, cbt, corr, acc_i, acc_f, r0, q0, k0, k1, j0, post):
        arrays = (ca, xa, sa, cbt, corr, acc_i, acc_f)
        if not all(isinstance(t, types.Array) and t.layout == "C" for t in arrays) or corr.ndim != 3:
            return None
        gk._check_post(post)
        sig = types.void(ca, xa, sa, cbt, corr, acc_i, acc_f, types.int64, types.int64, types.int64, types.int64,
                         types.int64, post)

        def codegen(context, builder, signature, args):
            ca, xa, sa, bb, cc, ai, af = (context.make_array(t)(context, builder, v)
                                          for t, v in zip(signature.args[:7], args[:7]))
            r0, q0, k0, k1, j0, post = args[7:]
            post_ty = signature.args[12]
            i32, i64 = ir.IntType(32), ir.IntType(64)
            vi, vf = ir.VectorType(i32, tw), ir.VectorType(ir.FloatType(), tw)
            ldk = builder.extract_value(ca.shape, 1)
            ldn = builder.extract_value(bb.shape, 1)
            per_k = builder.mul(builder.extract_value(cc.shape, 1), ldn)
            mask0 = ir.Constant(vi, [0] * tw)

            def splat(x, vt=vi):
                u = ir.Constant(vt, ir.Undefined)
                return builder.shuffle_vector(builder.insert_element(u, x, ir.Constant(i32, 0)), u, mask0)

            def row_ptr(arr, row, vt):
                return builder.bitcast(builder.gep(arr.data, [builder.add(builder.mul(row, ldn), j0)]), vt.as_pointer())

            rows = [builder.add(q0, ir.Constant(i64, r)) for r in range(MR)]
            pi = [row_ptr(ai, q, vi) for q in rows]
            pf = [row_ptr(af, q, vf) for q in rows]
            init_i = [builder.load(p, align=4) for p in pi]
            init_f = [builder.load(p, align=4) for p in pf] if dual else []
            orv = None if isinstance(post_ty.types[0], types.NoneType) else splat(builder.extract_value(post, 0))
            clamp = not isinstance(post_ty.types[2], types.NoneType)
            if clamp:
                sat = splat(builder.extract_value(post, 1))
                satf = splat(builder.extract_value(post, 2), vf)
                nsatf = builder.fneg(satf)
                nsat = builder.neg(sat)
            pre = builder.block
            loop = builder.append_basic_block("ctile.loop")
            done = builder.append_basic_block("ctile.done")
            builder.cbranch(builder.icmp_signed("<", k0, k1), loop, done)
            builder.position_at_end(loop)
            k = builder.phi(i64)
            acc_i = [builder.phi(vi) for _ in range(MR)]
            acc_f = [builder.phi(vf) for _ in range(MR)] if dual else []
            bv = builder.load(builder.bitcast(builder.gep(bb.data, [builder.add(builder.mul(k, ldn), j0)]),
                                              vi.as_pointer()), align=4)
            new_i, new_f = [], []
            for r in range(MR):
                idx = builder.add(builder.mul(builder.add(r0, ir.Constant(i64, r)), ldk), k)
                a = builder.load(builder.gep(ca.data, [idx]))
                x = builder.load(builder.gep(xa.data, [idx]))
                seg = builder.sext(builder.load(builder.gep(sa.data, [idx])), i64)
                off = builder.add(builder.add(builder.mul(k, per_k), builder.mul(seg, ldn)), j0)
                rv = builder.load(builder.bitcast(builder.gep(cc.data, [off]), vi.as_pointer()), align=4)
                sv = builder.add(bv, splat(a))
                if orv is not None:
                    sv = builder.or_(sv, orv)
                v = builder.fadd(builder.bitcast(sv, vf), builder.bitcast(builder.add(rv, splat(x)), vf))
                if clamp:
                    v = builder.select(builder.fcmp_ordered("<", v, satf), v, satf)
                    v = builder.select(builder.fcmp_ordered(">", v, nsatf), v, nsatf)
                p = builder.fptosi(v, vi)
                if clamp:
                    p = builder.select(builder.fcmp_ordered(">=", v, satf), sat, p)
                    p = builder.select(builder.fcmp_ordered("<=", v, nsatf), nsat, p)
                new_i.append(builder.add(acc_i[r], p))
                if dual:
                    new_f.append(builder.fadd(acc_f[r], v))
            k_next = builder.add(k, ir.Constant(i64, 1))
            end = builder.block
            k.add_incoming(k0, pre)
            k.add_incoming(k_next, end)
            for phis, init, new in ((acc_i, init_i, new_i), (acc_f, init_f, new_f)):
                for ph, a0, a1 in zip(phis, init, new):
                    ph.add_incoming(a0, pre)
                    ph.add_incoming(a1, end)
            builder.cbranch(builder.icmp_signed("<", k_next, k1), loop, done)
            builder.position_at_end(done)
            stores = []
            for ptrs, init, new, vt in ((pi, init_i, new_i, vi), (pf, init_f, new_f, vf)):
                for ptr, a0, a1 in zip(ptrs, init, new):
                    fin = builder.phi(vt)            # every phi first: LLVM wants them at the top
                    fin.add_incoming(a0, pre)
                    fin.add_incoming(a1, end)
                    stores.append((fin, ptr))
            for fin, ptr in stores:
                builder.store(fin, ptr, align=4)
            return context.get_dummy_value()
        return sig, codegen
    return intrinsic(typer)


_tile = _tile_intrinsic(False, TW)
_tile_dual = _tile_intrinsic(True, TW // 2)
_tile_1 = _tile_intrinsic(False, LANES)
_tile_dual_1 = _tile_intrinsic(True, LANES)
# Rows per task and k per block: a k block of B and of the ``corr`` rows that a task's rows use
# stays in L2 while all the task's rows pass over it.
TASK_ROWS, KB = 64, 64


def task_rows(mp):
    """Rows per task: TASK_ROWS, or fewer so that every numba thread gets two tasks (M = 64 would
    otherwise be one task on one thread)."""
    return min(TASK_ROWS, max(MR, -(-mp // (2 * numba.get_num_threads() * MR)) * MR))


@njit(parallel=True, cache=True)
def corrected_gemm(ca, xa, sa, cbt, corr, out, kc, dual, post, task_rows):
    """``out[i, j] = sum_k floor(V + correction)`` (module docstring), exact in int64.

    ``ca``, ``xa``, ``sa`` (Mp, K) from the A side, Mp a multiple of MR (padding rows: ZERO_A
    codes); ``cbt`` (K, Np) B codes (not transposed) and ``corr`` (K, S, Np), Np a multiple of
    LANES; ``out`` (M, N), M <= Mp, N <= Np.  int32 sums over blocks of at most ``kc`` products;
    with ``dual`` (16-bit products) each int32 sum wraps and a float32 sum pins it (as
    :func:`pymodel.nn.gemm_kernels.logadd_gemm_dual`).  Each task takes ``task_rows`` rows (a multiple
    of MR: :func:`task_rows`)."""
    mp, kk = ca.shape
    np_ = cbt.shape[1]
    m, n = out.shape
    kb = min(KB, kc)
    per = task_rows
    for task in prange((mp + per - 1) // per):
        t0 = task * per
        rows = min(per, mp - t0)
        acc_i = np.zeros((rows, np_), np.int32)
        acc_f = np.zeros((rows, np_), np.float32)
        total = np.zeros((rows, np_), np.int64)
        for k0 in range(0, kk, kb):
            k1 = min(kk, k0 + kb)
            for q0 in range(0, rows, MR):
                j0 = 0
                if dual:
                    while j0 + TW // 2 <= np_:
                        _tile_dual(ca, xa, sa, cbt, corr, acc_i, acc_f, t0 + q0, q0, k0, k1, j0, post)
                        j0 += TW // 2
                    while j0 < np_:
                        _tile_dual_1(ca, xa, sa, cbt, corr, acc_i, acc_f, t0 + q0, q0, k0, k1, j0, post)
                        j0 += LANES
                else:
                    while j0 + TW <= np_:
                        _tile(ca, xa, sa, cbt, corr, acc_i, acc_f, t0 + q0, q0, k0, k1, j0, post)
                        j0 += TW
                    while j0 < np_:
                        _tile_1(ca, xa, sa, cbt, corr, acc_i, acc_f, t0 + q0, q0, k0, k1, j0, post)
                        j0 += LANES
            for q in range(rows):
                for j in range(np_):
                    total[q, j] += _pin(acc_i[q, j], acc_f[q, j]) if dual else np.int64(acc_i[q, j])
                    acc_i[q, j] = 0
                    acc_f[q, j] = 0
        for q in range(min(rows, m - t0)):
            for j in range(n):
                out[t0 + q, j] = total[q, j]
