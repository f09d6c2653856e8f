"""The residues GEMM (ILM, nearest-one: :class:`pymodel.gemm_forms.Residues`).

``sum_k a*b - ra*rb`` with ``ra = sign(a) r(|a|)``: one compiled pass per operand matrix writes
the operand and its signed residue in the dtype in which BLAS sums them exactly
(:func:`blas_dtype`), then two BLAS products and a subtraction.
"""

import numpy as np
from numba import njit, prange

__all__ = ["blas_dtype", "residue_rows", "residue_gemm"]


def blas_dtype(bound):
    """The dtype in which BLAS sums integers exactly when every partial sum is below ``bound``."""
    return np.float32 if bound < 2 ** 24 else np.float64 if bound < 2 ** 53 else np.int64


@njit(parallel=True)
def residue_rows(v, fn, params, x_out, r_out):
    """``x_out = v`` and ``r_out = sign(v) * fn(|v|, params)`` over (R, K) arrays, in the outputs'
    dtype (exact: the caller picked it for the sums).  numba compiles it per ``fn`` and dtypes,
    and cannot cache a function taking a function."""
    r, kk = v.shape
    for i in prange(r):
        for k in range(kk):
            x = np.int64(v[i, k])
            q = fn(abs(x), params)
            x_out[i, k] = x
            r_out[i, k] = -q if x < 0 else q


def residue_operands(v, form, dtype):
    """(v, signed residues) of an integer matrix, in ``dtype``."""
    x = np.empty(v.shape, dtype)
    r = np.empty(v.shape, dtype)
    residue_rows(v, form.residue, tuple(np.int64(p) for p in form.params), x, r)
    return x, r


def residue_gemm(xa, ra, xb, rb):
    """``xa @ xb - ra @ rb`` as int64 (operands from :func:`residue_operands`, one dtype)."""
    return (xa @ xb).astype(np.int64) - (ra @ rb).astype(np.int64)
