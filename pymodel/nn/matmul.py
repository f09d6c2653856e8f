"""``approx_matmul``: the hardware MAC array, where the NN meets the approximate multiplier.

Every scalar product is ``multiplier.mul(a_ik, b_kj)`` bit for bit, and the sum is
exact (int64).  Which compiled path runs depends on the multiplier's GEMM form
(:mod:`pymodel.gemm_forms`, ``multiplier.gemm_form()``); :func:`gemm_path` names it:

``"blas"``
    :class:`ExactMultiplier`: numpy's BLAS in float32 while every partial sum stays
    below 2**24, float64 below 2**53 (exact there), else numpy's int64 matmul.
``"log-add"``
    :class:`~pymodel.gemm_forms.LogAdd` without a correction (Mitchell, Mitch-w, DR-ALM,
    ALM-SOA), signed up to 16 bits or unsigned up to 15 (every product below 2**31): each
    operand encoded once as a float32-style int32 pattern, each product one int32 add and
    one float -> int conversion (plus an OR and a clamp for the set-one designs), int32 SIMD
    sums split or pinned so they stay exact (:mod:`pymodel.nn.gemm_kernels`).
``"log-add-corrected"``
    ``LogAdd`` with a per-segment correction (MBM, REALM), same widths: one more float
    pattern per product from an encoded B-side table (:mod:`pymodel.nn.gemm_corrected`).
``"residues"``
    :class:`~pymodel.gemm_forms.Residues` (ILM, nearest-one), any width: ``A @ B - RA @ RB``,
    two exact BLAS products as above.
``"bitwise-split"``
    :class:`~pymodel.gemm_forms.BitwiseSplit` (operand decomposition), same widths as
    ``log-add``: the two Mitchell operand pairs formed and encoded in registers
    (:mod:`pymodel.nn.gemm_bitwise`).
``"general"``
    Anything else with ``mul_magnitude`` (a numba ``fn(ma, mb, P)`` on int64 magnitudes)
    and ``kernel_params`` (``P``), and the forms above past their widths (32-bit Mitchell):
    up to 8 bits, a table of every signed product filled by ``fn`` once per design and one
    add + one load per product; wider, one compiled (inlined) call of ``fn`` per product, the
    sign applied, the magnitude saturated at ``product_max``, int64 sums.

:class:`EncodedWeights` encodes a weight matrix once for reuse across calls (the NN
layers and the ONNX executor do that): ``approx_matmul(a, EncodedWeights(b, mult))``.
"""

import numbers
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..config import MAX_WIDTH, Mitchell, OperandChecks, _check_int
from ..gemm_forms import MAX_WIDTH as FORM_MAX_WIDTH
from ..gemm_forms import BitwiseSplit, LogAdd, Residues
from . import gemm_bitwise as gb
from . import gemm_corrected as gc
from . import gemm_kernels as gk
from . import gemm_residues as gr

__all__ = ["approx_matmul", "ExactMultiplier", "EncodedWeights", "gemm_path", "recording_operands"]

_recorders = []         # lists that approx_matmul appends its operands to (recording_operands)


@contextmanager
def recording_operands():
    """Every ``approx_matmul`` call inside the ``with`` appends its ``(a, b)`` (int64 copies,
    shapes (M, K) and (K, N)) to the yielded list: the operand pairs a MAC array sees
    (:mod:`sim.power` builds its NN operand streams from them).  ``b`` must not be an
    :class:`EncodedWeights` of a non-exact multiplier (its codes no longer hold ``b``), so
    record with an :class:`ExactMultiplier`."""
    calls = []
    _recorders.append(calls)
    try:
        yield calls
    finally:
        _recorders.remove(calls)


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


def _form(mult):
    """The multiplier's GEMM form (None: the general kernel).  A form that needs products below
    2**31 is refused past those widths, whoever made it."""
    get = getattr(mult, "gemm_form", None)
    form = get() if callable(get) else None
    if isinstance(form, (LogAdd, BitwiseSplit)) and mult.width > FORM_MAX_WIDTH[bool(mult.signed)]:
        return None
    return form


def gemm_path(multiplier):
    """The path ``approx_matmul`` takes for ``multiplier`` (see the module docstring): ``"blas"``,
    ``"log-add"``, ``"log-add-corrected"``, ``"residues"``, ``"bitwise-split"`` or ``"general"``;
    TypeError for an object it cannot use."""
    if isinstance(multiplier, ExactMultiplier):
        return "blas"
    if callable(getattr(multiplier, "product_table", None)):
        return "table"          # a circuit known by its products (pymodel.table_mult.TableMultiplier)
    form = _form(multiplier)
    if isinstance(form, LogAdd):
        return "log-add" if form.correction is None else "log-add-corrected"
    if isinstance(form, Residues):
        return "residues"
    if isinstance(form, BitwiseSplit):
        return "bitwise-split"
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


def _saturation(mult):
    """The largest product magnitude the design returns (``product_max``; none known: int64's)."""
    return int(getattr(mult, "product_max", 2 ** 63 - 1))


_TABLES = {}


def _table(mult):
    """The signed product table of a narrow design (general path), built once per design."""
    fn, params = _magnitude_fn(mult)
    key = (fn, params, mult.operand_range[0], mult.width, _saturation(mult))
    if key not in _TABLES:
        _TABLES[key] = gk.product_table(fn, params, np.int64(mult.operand_range[0]), mult.width,
                                        np.int64(_saturation(mult)))
    return _TABLES[key]


def _max_product(mult):
    """A bound on |product|: the exact one for Mitchell (which never overestimates) and the
    exact multiplier, twice it for other designs (which may overestimate, never by 2x)."""
    if getattr(mult, "product_bound", None) is not None:
        return max(int(mult.product_bound), 1)      # a product table's largest |product|
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


def _f32_bits(v):
    return int(np.array(v, np.float32).view(np.uint32))


def _product_bound(form, amax, bmax):
    """An upper bound on every product magnitude of ``form`` with ``|a| <= amax``, ``|b| <= bmax``.

    A code is monotone in ``|v|`` (the float pattern is; the kept bits are; ``or_code`` is a bit
    below them or the last kept one, both monotone), so the sum of the largest codes, plus
    ``or_sum`` (``s | m <= s + m``), plus the largest correction at the largest exponents, bounds
    every product."""
    if amax == 0 or bmax == 0:
        return 0.0
    mask = ~((1 << (23 - form.keep_bits)) - 1) & 0xFFFFFFFF
    ca, cb = (_f32_bits(v) & mask | form.or_code for v in (amax, bmax))
    pattern = ca + cb - gk.BIAS + form.add_a + form.or_sum
    v = float(np.array(pattern, np.uint32).view(np.float32))
    if form.correction is not None:
        ka, kb = amax.bit_length() - 1, bmax.bit_length() - 1
        v += max(map(max, form.correction)) / 2 ** form.correction_bits * 2.0 ** (ka + kb)
    return v


def _post(mult, form, amax, bmax):
    """The log-add kernels' ``post`` (``gemm_kernels.PLAIN``): the OR of a set-one adder, and the
    saturation when some product of operands up to ``amax``, ``bmax`` can reach ``product_max``
    (never for Mitchell's own form, which does not overestimate)."""
    orv = np.int32(form.or_sum) if form.or_sum else None
    sat = _saturation(mult)
    if form.plain or _product_bound(form, amax, bmax) < sat:
        return (orv, None, None)
    satf = np.float32(sat)
    if int(satf) < sat:
        satf = np.nextafter(satf, np.float32(np.inf))
    return (orv, np.int32(sat), satf)


def _absmax(v):
    return max(-int(v.min()), int(v.max()), 0) if v.size else 0


class EncodedWeights:
    """The right-hand operand ``b`` (K, N) of ``approx_matmul``, encoded once for ``multiplier``.

    Reuse it across calls with the same weights: ``approx_matmul(a, enc)``.  Holds what the
    path's kernel reads: transposed codes (log-add), codes and the correction table
    (log-add-corrected), ``b`` and its residues in BLAS's dtype (residues), the operand planes
    of the transposed ``b`` (bitwise-split), the transposed operands or their table offsets
    (general), or ``b`` itself (exact multiplier, BLAS).

    Attributes
    ----------
    multiplier : the multiplier it was encoded for
    shape : (K, N)
    path : str, as :func:`gemm_path`
    absmax : int, the largest ``|b|`` (bounds the products, for clamps and sum splitting)

    ``work``: the operation count of the GEMM it is encoded for, when that is one call
    (``approx_matmul`` passes it): encoding then uses the threads the GEMM will wake anyway.
    """

    def __init__(self, b, multiplier, *, work=None):
        self.path = gemm_path(multiplier)
        self.multiplier = multiplier
        b = _check_operand(multiplier, "b", b)
        if b.ndim != 2:
            raise ValueError(f"b must be 2-D, got shape {b.shape}")
        self.shape = b.shape
        k, n = b.shape
        form = _form(multiplier)
        self.absmax = _absmax(b)
        with gk.threads_for(work or b.size):
            if self.path == "log-add":
                # transposed first (a cheap copy of narrow integers) so that the encoder reads rows
                bt = np.ascontiguousarray(_kernel_dtype(b, multiplier).T)
                self.data = gk.encode_rows(bt, form.keep_bits, form.or_code, 0, False, _round_up(max(n, 1), gk.NR))
            elif self.path == "log-add-corrected":
                np_ = _round_up(max(n, 1), gc.LANES)
                padded = np.zeros((k, np_), np.int32)
                padded[:, :n] = b
                self.data = gk.encode_rows(padded, form.keep_bits, form.or_code, 0, False, k)
                self.corr = np.empty((k, 1 << form.segment_bits, np_), np.int32)
                gc.encode_b(padded, gc.factor_patterns(form), form.segment_bits, self.corr)
            elif self.path == "residues":
                lo, hi = multiplier.operand_range
                self.blas_dtype, self.chunk = gr.blas_plan(k, max(lo * lo, hi * hi))
                self.data, self.residues = gr.residue_operands(b, form, self.blas_dtype, max(-lo, hi))
            elif self.path == "table":
                self.table = multiplier.product_table()
                self.data = gk.table_codes(np.ascontiguousarray(b.T), multiplier.operand_range[0], 0)
            elif self.path == "general" and multiplier.width <= gk.LUT_MAX_WIDTH:
                self.table = _table(multiplier)
                self.data = gk.table_codes(np.ascontiguousarray(b.T), multiplier.operand_range[0], 0)
            elif self.path == "bitwise-split":
                self.data = gb.encode_b(np.ascontiguousarray(b.T, np.int32))
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

    The path: see the module docstring and :func:`gemm_path`.
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
        gemm_path(multiplier)
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
    if _recorders:
        if enc is not None and enc.path != "blas":
            raise ValueError("recording_operands needs b as an array or encoded for an ExactMultiplier, "
                             f"not for {enc.path!r}")
        pair = (a.astype(np.int64), (enc.data if enc is not None else b_arr).astype(np.int64))
        for calls in _recorders:
            calls.append(pair)
    if m * n == 0 or k == 0:
        return np.zeros((m, n), np.int64)
    if enc is None:
        enc = EncodedWeights(b_arr, multiplier, work=m * n * k)
    if path == "blas":
        return _exact(a, enc.data, k * max_product)
    if path == "residues":
        with gk.threads_for(m * n * k):
            lo, hi = multiplier.operand_range
            xa, ra = gr.residue_operands(a, _form(multiplier), enc.blas_dtype, max(-lo, hi))
        return gr.residue_gemm(xa, ra, enc.data, enc.residues, enc.chunk)
    out = np.empty((m, n), np.int64)
    form = _form(multiplier)
    if isinstance(form, LogAdd):
        post = _post(multiplier, form, _absmax(a), enc.absmax)
    chunk = (2 ** 31 - 1) // max_product            # products an int32 sum holds without overflow
    # A's encoders run on the threads the kernel wakes (or not) for the whole product
    with gk.threads_for(m * n * k):
        if path == "log-add":
            ea = gk.encode_rows(_kernel_dtype(a, multiplier), form.keep_bits, form.or_code, form.add_a, True,
                                _round_up(m, gk.MR))
            if chunk >= 64:
                gk.logadd_gemm_i32(ea, enc.data, out, min(chunk, 1 << 20), post)
            else:
                gk.logadd_gemm_dual(ea, enc.data, out, gk.DUAL_CHUNK, post)
        elif path == "log-add-corrected":
            av = _kernel_dtype(a, multiplier)
            mp = _round_up(m, gc.MR)
            ea = gk.encode_rows(av, form.keep_bits, form.or_code, form.add_a, True, mp)
            xa, sa = np.empty((mp, k), np.int32), np.empty((mp, k), np.int32)
            gc.encode_a(ea, av, form.segment_bits, xa, sa)
            dual = chunk < 64
            gc.corrected_gemm(ea, xa, sa, enc.data, enc.corr, out, gk.DUAL_CHUNK if dual else min(chunk, 1 << 20),
                              dual, post, gc.task_rows(mp))
        elif path == "bitwise-split":
            ea = gb.encode_a(np.ascontiguousarray(a, np.int32))
            gb.encoded_gemm(ea, enc.data, out, form.frac_bits, _absmax(a), enc.absmax)
        elif path == "table" or multiplier.width <= gk.LUT_MAX_WIDTH:
            ca = gk.table_codes(a, multiplier.operand_range[0], multiplier.width)
            gk.table_gemm(ca, enc.data, enc.table, out)
        else:
            fn, params = _magnitude_fn(multiplier)
            gk.general_gemm(np.ascontiguousarray(_kernel_dtype(a, multiplier)), enc.data, out, fn, params,
                            np.int64(min(_saturation(multiplier), 2 ** 63 - 1)))
    return out


def _exact(a, b, bound):
    """Exact integer product by BLAS: float32 while sums stay below 2**24, float64 below 2**53."""
    if bound < 2 ** 24:
        return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
    if bound < 2 ** 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)
