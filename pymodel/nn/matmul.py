"""``approx_matmul``: the hardware MAC array, where the NN meets the approximate multiplier.

Every scalar product is ``multiplier.mul(a_ik, b_kj)`` bit for bit, and the sum is
exact (int64).  Which compiled path runs depends on the multiplier
(:func:`gemm_path` names it):

``"blas"``
    :class:`ExactMultiplier`: numpy's BLAS in float32 while every partial sum stays
    below 2**24, float64 below 2**53 (exact there), else numpy's int64 matmul.
``"mitchell-fast"``
    :class:`~pymodel.Mitchell`, signed up to 16 bits or unsigned up to 15 (every
    product below 2**31), any ``frac_bits``: each operand encoded once as a float32-style
    int32 pattern, each product one int32 add and one float -> int conversion
    (:mod:`pymodel.nn.gemm_kernels`), int32 SIMD sums split or pinned so they stay exact.
``"general"``
    Anything else with ``mul_magnitude`` (a numba ``fn(ma, mb, P)`` on int64
    magnitudes) and ``kernel_params`` (``P``): every :mod:`pymodel.designs` design, and
    Mitchell past the fast path's widths:
    up to 8 bits, a table of every signed product filled by ``fn`` once per design and one
    add + one load per product; wider, one compiled (inlined) call of ``fn`` per product, the
    sign applied, operands held in int32 where they fit, int64 sums, vectorized over k when
    ``fn`` is branch-free.

:class:`EncodedWeights` encodes a weight matrix once for reuse across calls (the NN
layers and the ONNX executor do that): ``approx_matmul(a, EncodedWeights(b, mult))``.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ..config import MAX_WIDTH, Mitchell, OperandChecks, _check_int
from . import gemm_kernels as gk

__all__ = ["approx_matmul", "ExactMultiplier", "EncodedWeights", "gemm_path"]


@dataclass(frozen=True, kw_only=True)
class ExactMultiplier(OperandChecks):
    """An exact ``width``-bit multiplier with the same interface as ``Mitchell`` (the baseline)."""

    width: int
    signed: bool = False

    def __post_init__(self):
        object.__setattr__(self, "width", _check_int("width", self.width, 2, MAX_WIDTH))
        if not isinstance(self.signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, got {self.signed!r}")

    def mul(self, a, b):
        if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
            self._check_scalar("a", int(a))
            self._check_scalar("b", int(b))
            return int(a) * int(b)
        return self._check_array("a", a) * self._check_array("b", b)

    def describe(self):
        return f"exact {'s' if self.signed else 'u'}{self.width}"


def _mitchell_fast(mult):
    return isinstance(mult, Mitchell) and mult.width <= (16 if mult.signed else 15)


def gemm_path(multiplier):
    """The path ``approx_matmul`` takes for ``multiplier``: ``"blas"``, ``"mitchell-fast"`` or
    ``"general"`` (see the module docstring); TypeError for an object it cannot use."""
    if isinstance(multiplier, ExactMultiplier):
        return "blas"
    if _mitchell_fast(multiplier):
        return "mitchell-fast"
    if isinstance(multiplier, Mitchell) or (hasattr(multiplier, "mul_magnitude")
                                            and hasattr(multiplier, "kernel_params")):
        return "general"
    raise TypeError("multiplier must be a pymodel.Mitchell, an ExactMultiplier or a design config with "
                    f"mul_magnitude and kernel_params, got {type(multiplier).__name__}")


def _magnitude_fn(mult):
    """(fn, params) of the general kernel.  ``mul_magnitude`` is read from the class when it is
    defined there (a numba dispatcher read through an instance would bind like a method);
    ``kernel_params`` may be a method (pymodel.designs) or a tuple."""
    if isinstance(mult, Mitchell):
        return gk.mitchell_magnitude, (np.int64(mult.frac_bits),)
    fn = getattr(type(mult), "mul_magnitude", None)
    if fn is None:
        fn = mult.mul_magnitude
    params = mult.kernel_params() if callable(mult.kernel_params) else mult.kernel_params
    return fn, tuple(np.int64(p) for p in params)


_TABLES = {}


def _table(mult):
    """The signed product table of a narrow design (general path), built once per design."""
    fn, params = _magnitude_fn(mult)
    key = (fn, params, mult.operand_range[0], mult.width)
    if key not in _TABLES:
        _TABLES[key] = gk.product_table(fn, params, np.int64(mult.operand_range[0]), mult.width)
    return _TABLES[key]


def _max_product(mult):
    """A bound on |product|: the exact one for Mitchell (which never overestimates) and the
    exact multiplier, twice it for other designs (which may overestimate, never by 2x)."""
    lo, hi = mult.operand_range
    exact = max(lo * lo, hi * hi)
    return exact if isinstance(mult, (Mitchell, ExactMultiplier)) else 2 * exact


def _check_operand(mult, name, v):
    """``v`` as an integer array inside the operand range, without a copy when it already is one.
    Same messages as ``OperandChecks._check_array``."""
    v = np.asarray(v)
    if v.dtype.kind not in "iu":
        raise TypeError(f"operand {name} must be a Python int or an integer numpy array, got dtype {v.dtype}")
    lo, hi = mult.operand_range
    info = np.iinfo(v.dtype)
    if v.size and (info.min < lo or info.max > hi):          # the dtype alone does not prove the range
        vmin, vmax = int(v.min()), int(v.max())
        if vmin < lo or vmax > hi:
            bad = vmin if vmin < lo else vmax
            kind = "signed" if mult.signed else "unsigned"
            raise ValueError(f"operand {name} holds {bad}, out of range for {kind} width {mult.width}: {lo}..{hi}")
    return v


def _kernel_dtype(v, mult):
    """Operands for the kernels: int32 where the width fits, else int64; ints kept as they are
    when numba takes them directly (int8/int16/int32/int64 and small unsigned)."""
    if mult.width <= 31:
        return v if v.dtype in (np.int8, np.int16, np.int32, np.uint8, np.uint16) else v.astype(np.int32)
    return v if v.dtype == np.int64 else v.astype(np.int64)


def _round_up(x, r):
    return -(-x // r) * r


class EncodedWeights:
    """The right-hand operand ``b`` (K, N) of ``approx_matmul``, encoded once for ``multiplier``.

    Reuse it across calls with the same weights: ``approx_matmul(a, enc)``.  Holds the
    transposed codes (fast Mitchell path), the transposed operands (general path) or the
    float matrix BLAS takes (exact multiplier).

    Attributes
    ----------
    multiplier : the multiplier it was encoded for
    shape : (K, N)
    path : str, as :func:`gemm_path`
    """

    def __init__(self, b, multiplier):
        self.path = gemm_path(multiplier)
        self.multiplier = multiplier
        b = _check_operand(multiplier, "b", b)
        if b.ndim != 2:
            raise ValueError(f"b must be 2-D, got shape {b.shape}")
        self.shape = b.shape
        k, n = b.shape
        with gk.threads_for(b.size):
            if self.path == "mitchell-fast":
                # transposed first (a cheap copy of narrow integers) so that the encoder reads rows
                bt = np.ascontiguousarray(_kernel_dtype(b, multiplier).T)
                self.data = gk.encode_rows(bt, multiplier.frac_bits, False, _round_up(max(n, 1), gk.NR))
            elif self.path == "general" and multiplier.width <= gk.LUT_MAX_WIDTH:
                self.table = _table(multiplier)
                self.data = gk.table_codes(np.ascontiguousarray(b.T), multiplier.operand_range[0], 0)
            elif self.path == "general":
                self.data = np.ascontiguousarray(_kernel_dtype(b, multiplier).T)
            else:
                self.data = b

    def __repr__(self):
        return f"EncodedWeights(shape={self.shape}, path={self.path!r}, multiplier={self.multiplier!r})"


def approx_matmul(a, b, multiplier=None):
    """Integer matrix product ``a @ b`` with every scalar product from ``multiplier``.

    Parameters
    ----------
    a : integer array, shape (M, K), any integer dtype (int8/int16 are read as they are)
    b : integer array, shape (K, N), or an :class:`EncodedWeights` of one
    multiplier : pymodel.Mitchell, ExactMultiplier, or a design config with ``mul_magnitude``
        Operand width and signedness; values outside its range are an error.  Optional
        when ``b`` is encoded (it must then be the one ``b`` was encoded for).

    Returns
    -------
    int64 array, shape (M, N): ``sum_k multiplier.mul(a[i, k], b[k, j])``, exact.

    The path (module docstring, :func:`gemm_path`): BLAS for the exact multiplier, the
    fast int32 Mitchell kernel for Mitchell up to 16 bits signed / 15 unsigned, the
    general compiled kernel for every other design and width.
    """
    if isinstance(b, EncodedWeights):
        if multiplier is None:
            multiplier = b.multiplier
        elif multiplier != b.multiplier:
            raise ValueError(f"b was encoded for {b.multiplier!r}, not {multiplier!r}")
        enc = b
    else:
        if multiplier is None:
            raise TypeError("approx_matmul needs a multiplier unless b is an EncodedWeights")
        path = gemm_path(multiplier)
        b_arr = _check_operand(multiplier, "b", b)
        enc = None
    path = gemm_path(multiplier)
    a = _check_operand(multiplier, "a", a)
    b_shape = enc.shape if enc is not None else b_arr.shape
    if a.ndim != 2 or len(b_shape) != 2:
        raise ValueError(f"a and b must be 2-D, got shapes {a.shape} and {b_shape}")
    if a.shape[1] != b_shape[0]:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b_shape}")
    m, k = a.shape
    n = b_shape[1]
    max_product = _max_product(multiplier)
    if k * max_product >= 2 ** 63:
        raise ValueError(f"the sum of {k} products of {multiplier.width}-bit operands can exceed int64; "
                         "split the inner dimension")
    if m * n == 0 or k == 0:
        return np.zeros((m, n), np.int64)
    if enc is None:
        enc = EncodedWeights(b_arr, multiplier)
    if path == "blas":
        return _exact(a, enc.data, k * max_product)
    out = np.empty((m, n), np.int64)
    if path == "mitchell-fast":          # encoding is cheap: threads only for a huge operand
        with gk.threads_for(a.size):
            ea = gk.encode_rows(_kernel_dtype(a, multiplier), multiplier.frac_bits, True, _round_up(m, gk.MR))
    elif multiplier.width <= gk.LUT_MAX_WIDTH:
        with gk.threads_for(a.size):
            ca = gk.table_codes(a, multiplier.operand_range[0], multiplier.width)
    with gk.threads_for(m * n * k):
        if path == "mitchell-fast":
            chunk = (2 ** 31 - 1) // max_product            # products an int32 sum holds without overflow
            if chunk >= 64:
                gk.mitchell_gemm_i32(ea, enc.data, out, min(chunk, 1 << 20))
            else:
                gk.mitchell_gemm_dual(ea, enc.data, out, gk.DUAL_CHUNK)
        elif multiplier.width <= gk.LUT_MAX_WIDTH:
            gk.table_gemm(ca, enc.data, enc.table, out)
        else:
            fn, params = _magnitude_fn(multiplier)
            gk.general_gemm(np.ascontiguousarray(_kernel_dtype(a, multiplier)), enc.data, out, fn, params)
    return out


def _exact(a, b, bound):
    """Exact integer product by BLAS: float32 while sums stay below 2**24, float64 below 2**53."""
    if bound < 2 ** 24:
        return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
    if bound < 2 ** 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)
