"""The residues GEMM (ILM, nearest-one: :class:`pymodel.gemm_forms.Residues`).

``sum_k a*b - ra*rb`` with ``ra = sign(a) r(|a|)``: one compiled pass per operand matrix writes
the operand and its signed residue in the dtype in which BLAS sums them exactly
(:func:`blas_plan`: float32 over chunks of K where that is exact, else float64), then two BLAS
products per chunk and a subtraction.
"""

import numpy as np
from numba import njit, prange

__all__ = ["blas_plan", "residue_rows", "residue_lookup", "residue_table", "residue_operands", "residue_gemm"]


# Below this many products per chunk, a wider dtype in one pass beats many narrow passes.
MIN_CHUNK = 256


def blas_plan(k, max_product):
    """``(dtype, chunk)``: BLAS sums ``chunk`` products of magnitude up to ``max_product`` exactly in
    ``dtype`` (float32 below 2**24, float64 below 2**53), the narrowest dtype that takes chunks of at
    least MIN_CHUNK (or all ``k``); int64 (numpy's own matmul) when none does."""
    for dtype, limit in ((np.float32, 2 ** 24), (np.float64, 2 ** 53)):
        chunk = (limit - 1) // max(max_product, 1)
        if chunk >= min(k, MIN_CHUNK):
            return dtype, max(min(chunk, k), 1)
    return np.int64, max(k, 1)


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


# Up to this operand magnitude the residues come from a table (one compiled, cached kernel for every
# design; the table is filled by calling the design's function from Python, a fraction of a second
# the first time); past it, residue_rows compiles per design.
TABLE_MAX = 1 << 16
_TABLES = {}


def residue_table(form, size, dtype):
    """``r(v)`` for ``0 <= v < size`` in ``dtype``, built once per form."""
    key = (form.residue, tuple(form.params), size, np.dtype(dtype))
    if key not in _TABLES:
        params = tuple(np.int64(p) for p in form.params)
        _TABLES[key] = np.array([form.residue(np.int64(v), params) for v in range(size)], np.int64).astype(dtype)
    return _TABLES[key]


@njit(parallel=True, cache=True)
def residue_lookup(v, table, x_out, r_out):
    """``x_out = v`` and ``r_out = sign(v) * table[|v|]`` over (R, K) arrays."""
    r, kk = v.shape
    for i in prange(r):
        for k in range(kk):
            x = np.int64(v[i, k])
            q = table[abs(x)]
            x_out[i, k] = x
            r_out[i, k] = -q if x < 0 else q


def residue_operands(v, form, dtype, vmax):
    """(v, signed residues) of an integer matrix with ``|v| <= vmax``, in ``dtype``."""
    x = np.empty(v.shape, dtype)
    r = np.empty(v.shape, dtype)
    if vmax < TABLE_MAX:
        residue_lookup(v, residue_table(form, vmax + 1, dtype), x, r)
    else:
        residue_rows(v, form.residue, tuple(np.int64(p) for p in form.params), x, r)
    return x, r


def residue_gemm(xa, ra, xb, rb, chunk):
    """``xa @ xb - ra @ rb`` as int64 (operands from :func:`residue_operands`, one dtype), BLAS on
    ``chunk`` columns of A (rows of B) at a time, each partial product exact."""
    k = xa.shape[1]
    out = (xa[:, :chunk] @ xb[:chunk]).astype(np.int64) - (ra[:, :chunk] @ rb[:chunk]).astype(np.int64)
    for k0 in range(chunk, k, chunk):
        s = slice(k0, k0 + chunk)
        out += (xa[:, s] @ xb[s]).astype(np.int64)
        out -= (ra[:, s] @ rb[s]).astype(np.int64)
    return out
