"""What every log-multiplier design shares: parameters, operand checks, ``mul``/``div``, names.

A design is a frozen, keyword-only dataclass that subclasses :class:`Design`.  It gives

- ``NAME``, ``TITLE``, ``REFERENCE`` (the paper), ``AFTER`` (True when the bit-level
  definition was derived from the published description rather than read) and ``OPS``;
- ``PARAMS``: its own parameters besides ``width`` and ``signed``, as :class:`Param`
  (name, type, range, default, meaning), from which the fields are checked, the CLI
  options are built and the module name is encoded;
- ``mul_unsigned(a, b)``: the scalar reference on Python ints, the specification, one
  helper per hardware block;
- ``mul_magnitude``: a numba ``@njit(inline="always")`` function ``fn(a, b, P)`` of two
  magnitudes (int64) and ``P = kernel_params()`` that returns the same magnitude (uint64),
  written branch-free where it can be so that GEMM kernels vectorize;
- ``HARDWARE``: ``{"mul": "hdl.module:Class"}``, resolved by ``hdl.create``.
- ``SPEC``: ``{"mul": "hdl.specs.module:Class"}``, its hardware specification for proofs
  (a combinational component built as ``Class(config)``), resolved by ``hdl.spec.spec_for``.

Dividers give ``div_unsigned``/``div_magnitude`` and ``quotient_frac_bits`` likewise.
Signed designs are sign-magnitude around the unsigned core, two's complement outside.
"""

import numbers
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

import numpy as np
from numba import njit, prange

__all__ = ["Design", "Param", "OperandChecks", "MAX_WIDTH", "check_int", "dtype_for", "shift_floor", "Boundary",
           "region_edge", "grid_lines"]

MAX_WIDTH = 32
ON_ZERO = ("raise", "saturate")
U0 = np.uint64(0)
U1 = np.uint64(1)


def check_int(name, value, lo, hi, why=""):
    """``value`` as an int in ``lo..hi``, or a TypeError/ValueError naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in {lo}..{hi}{why}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}{why}, got {value}")
    return int(value)


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def dtype_for(bits, signed):
    """Smallest numpy integer dtype holding ``bits`` bits; None if over 64."""
    for n in (8, 16, 32, 64):
        if bits <= n:
            return np.dtype(f"{'i' if signed else 'u'}{n // 8}")
    return None


def _eval(expr, width):
    """A bound or default given as an expression in ``width`` ("width-1") or a constant."""
    if isinstance(expr, str):
        return int(eval(expr, {"__builtins__": {}}, {"width": width, "min": min, "max": max}))
    return expr


@dataclass(frozen=True)
class Param:
    """One design parameter: checked in the config, listed by ``mitchell designs``, an option in the CLI.

    ``lo``, ``hi`` and ``default`` are ints, bools or expressions in ``width`` ("width-1").
    ``tag`` is the short prefix that encodes the value in module names (``f7``).
    """

    name: str
    type: type
    lo: object
    hi: object
    default: object
    meaning: str
    tag: str
    why: str = ""

    def bounds(self, width):
        return _eval(self.lo, width), _eval(self.hi, width)

    def resolve(self, value, width):
        """The checked value of this parameter for ``width`` (``None`` means the default)."""
        if self.type is bool:
            return check_bool(self.name, self.default if value is None else value)
        lo, hi = self.bounds(width)
        v = _eval(self.default, width) if value is None else value
        return check_int(self.name, v, lo, hi, self.why)

    def as_dict(self):
        rng = "bool" if self.type is bool else f"{self.lo}..{self.hi}"
        return {"name": self.name, "type": self.type.__name__, "range": rng, "default": self.default,
                "meaning": self.meaning}


class OperandChecks:
    """Operand range and checks of a ``width``-bit, optionally ``signed`` multiplier."""

    @property
    def operand_range(self):
        """Inclusive ``(lo, hi)`` of an operand."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    def _check_scalar(self, name, v):
        lo, hi = self.operand_range
        if not lo <= v <= hi:
            kind = "signed" if self.signed else "unsigned"
            raise ValueError(f"operand {name}={v} is out of range for {kind} width {self.width}: {lo}..{hi}")

    def _check_array(self, name, v):
        v = np.asarray(v)
        if v.dtype.kind not in "iu":
            raise TypeError(f"operand {name} must be a Python int or an integer numpy array, got dtype {v.dtype}")
        lo, hi = self.operand_range
        if v.size:
            vmin, vmax = int(v.min()), int(v.max())
            if vmin < lo or vmax > hi:
                bad = vmin if vmin < lo else vmax
                kind = "signed" if self.signed else "unsigned"
                raise ValueError(f"operand {name} holds {bad}, out of range for {kind} width {self.width}: {lo}..{hi}")
        return v.astype(np.int64)


class Boundary(NamedTuple):
    """One case boundary of a design in the log-fraction plane ``(x1, x2)`` in ``[0, 1]^2``.

    ``x1`` and ``x2`` are the vertices of a polyline (float arrays of one length); a NaN
    breaks it into pieces.  ``label`` says what changes across it (a legend entry).
    """

    label: str
    x1: np.ndarray
    x2: np.ndarray


EDGE_STEPS = 512    # below a pixel of the figures: a finer fraction grid is sampled at this many steps


def region_edge(bits, inside, label, max_steps=EDGE_STEPS):
    """The lower edge of a region of the fraction plane given on ``bits``-bit fraction codes.

    ``inside(i, j)`` (numpy-vectorised over int64 codes ``i`` of ``x1`` and ``j`` of ``x2``,
    ``0..2**bits - 1``) says whether the pair lies in the region; for each ``i`` the region must
    be closed upwards in ``j`` (a carry: ``x1 + x2 >= 1``; a borrow: ``x1 < x2``).  The edge is
    a staircase with one step per code, exact on the codes; above ``max_steps`` codes it is
    sampled at ``max_steps`` evenly spaced codes (off by at most ``1 / max_steps``).  Columns
    where the region is empty leave a gap.
    """
    n = 1 << bits
    m = min(n, max_steps)
    codes = (np.arange(m, dtype=np.int64) * n) // m
    ins = np.asarray(inside(codes[:, None], codes[None, :]), bool)
    edges = np.append(codes, n) / n
    has = ins.any(axis=1)
    y = np.where(has, edges[ins.argmax(axis=1)], np.nan)
    x1 = np.repeat(edges, 2)[1:-1]            # each column's left and right edge
    return Boundary(label, x1, np.repeat(y, 2))


def grid_lines(values, label, axes=(0, 1)):
    """Lines ``x1 = v`` (axis 0) and ``x2 = v`` (axis 1) across the plane for each ``v`` in ``values``,
    as one :class:`Boundary` (NaN-separated)."""
    x1, x2 = [], []
    for v in values:
        if 0 in axes:
            x1 += [v, v, np.nan]
            x2 += [0.0, 1.0, np.nan]
        if 1 in axes:
            x1 += [0.0, 1.0, np.nan]
            x2 += [v, v, np.nan]
    return Boundary(label, np.array(x1, float), np.array(x2, float))


@njit(inline="always")
def shift_floor(mant, e):
    """``floor(mant * 2**e)`` for ``mant >= 0`` (int64) and any int ``e``, as uint64; past 2**64 - 1 it
    saturates there (the output step then saturates to the product width), so nothing wraps."""
    m = np.uint64(mant)
    up = np.uint64(max(e, 0))
    r = (m << up) >> np.uint64(max(-e, 0))
    return r if (m << up) >> up == m and e < 64 else ~U0


@njit(parallel=True)
def _mul_kernel(fn, a, b, out, signed, P, sat):
    """``out[i]``: two's-complement pattern of the product of ``a[i]``, ``b[i]`` from ``fn``."""
    for i in prange(a.size):
        x, y = a[i], b[i]
        neg = signed and ((x < 0) != (y < 0))
        m = fn(abs(x), abs(y), P)
        m = min(m, sat)
        out[i] = (U0 - m) if neg else m


@njit(parallel=True)
def _div_kernel(fn, a, b, out, dbz, signed, P, sat):
    """Quotient patterns; ``b == 0`` sets ``dbz`` and writes the saturated quotient."""
    for i in prange(a.size):
        x, y = a[i], b[i]
        if y == 0:
            dbz[i] = True
            out[i] = (U0 - sat - U1) if (signed and x < 0) else sat
            continue
        neg = signed and ((x < 0) != (y < 0))
        m = min(fn(abs(x), abs(y), P), sat)
        out[i] = (U0 - m) if neg else m


@dataclass(frozen=True, kw_only=True)
class Design(OperandChecks):
    """Base of every design config: ``width``, ``signed`` and the design's ``PARAMS``.

    Parameters
    ----------
    width : int
        Operand width in bits, ``MIN_WIDTH..MAX_WIDTH`` of the design (2..32 for most).
    signed : bool
        Two's-complement operands; magnitudes go through the unsigned core and the sign
        is applied by exact negation.

    Notes
    -----
    Products are ``2*width`` bits.  A design that can overestimate saturates the product
    magnitude at ``product_max`` rather than wrap.
    """

    width: int
    signed: bool = False

    NAME: ClassVar[str] = None
    TITLE: ClassVar[str] = ""
    REFERENCE: ClassVar[str] = ""
    AFTER: ClassVar[bool] = False
    OPS: ClassVar[tuple] = ("mul",)
    PARAMS: ClassVar[tuple] = ()
    HARDWARE: ClassVar[dict] = {}
    SPEC: ClassVar[dict] = {}
    MIN_WIDTH: ClassVar[int] = 2
    MAX_WIDTH: ClassVar[int] = MAX_WIDTH

    def __post_init__(self):
        w = check_int("width", self.width, self.MIN_WIDTH, self.MAX_WIDTH)
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "signed", check_bool("signed", self.signed))
        for p in self.PARAMS:
            object.__setattr__(self, p.name, p.resolve(getattr(self, p.name), w))
        self._check()

    def _check(self):
        """Checks across parameters (a subclass hook)."""

    # -- description -------------------------------------------------------------
    @classmethod
    def param_names(cls):
        return [p.name for p in cls.PARAMS]

    def as_dict(self):
        """Every field, ``width`` and ``signed`` first (enough to rebuild the config)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self):
        """Short text, parameters at their default left out: ``mbm s8 c_bits=4``."""
        ps = " ".join(f"{p.name}={getattr(self, p.name)}" for p in self.PARAMS
                      if getattr(self, p.name) != p.resolve(None, self.width))
        return f"{self.NAME} {'s' if self.signed else 'u'}{self.width}" + (f" {ps}" if ps else "")

    def module_name(self, op, stages=0):
        """A Verilog module name that encodes every parameter: ``mbm_mul_u8_f7_c6_p0``."""
        parts = [self.NAME.replace("-", "_"), op, f"{'s' if self.signed else 'u'}{self.width}"]
        for p in self.PARAMS:
            if op != "div" and p.name == "quotient_frac_bits":
                continue
            v = getattr(self, p.name)
            parts.append(f"{p.tag}{int(v)}")
        return "_".join(parts) + f"_p{stages}"

    # -- widths ------------------------------------------------------------------
    @property
    def product_width(self):
        return 2 * self.width

    @property
    def product_max(self):
        """The largest product magnitude the output holds (``2**(2w) - 1``, signed ``2**(2w-1) - 1``);
        a design that overestimates saturates there, symmetrically when signed, rather than wrap."""
        return (1 << (2 * self.width - int(self.signed))) - 1

    # -- the operators ----------------------------------------------------------
    def mul_unsigned(self, a, b):
        raise NotImplementedError

    def kernel_params(self):
        """The ints ``P`` passed to ``mul_magnitude`` (a tuple of np.int64)."""
        return tuple(np.int64(getattr(self, p.name)) for p in self.PARAMS) + (np.int64(self.width),)

    def gemm_form(self):
        """How ``approx_matmul`` runs this design fast (:mod:`pymodel.gemm_forms`), or None for
        the general kernel (one call of ``mul_magnitude`` per product)."""
        return None

    def fraction_boundaries(self, op):
        """Where this design's datapath changes case, in the log-fraction plane ``(x1, x2)``.

        ``a = 2**k1 (1 + x1)`` and ``b = 2**k2 (1 + x2)``; across a boundary the error follows
        another formula, so ``mitchell plot --kind fraction`` draws them over the error.  The
        default is Mitchell's: the fraction adder's carry (``mul``: ``x1 + x2 >= 1``) or the
        subtractor's borrow (``div``: ``x1 < x2``), on the fractions truncated to ``frac_bits``
        where the design has it (every bit otherwise).  A design whose cases differ overrides it.

        Returns
        -------
        list of Boundary
            Possibly empty (one formula over the whole plane, or no curve to draw).
        """
        bits = getattr(self, "frac_bits", self.width - 1)
        if op == "div":
            return [region_edge(bits, lambda i, j: i < j, "borrow: x1 < x2 (above)")]
        return [region_edge(bits, lambda i, j: i + j >= 1 << bits, "carry: x1 + x2 >= 1 (above)")]

    def exact_form(self, op):
        """This design's exact error statistics for ``op`` (:mod:`pymodel.exact`): a callable
        ``f(cfg, op, progress=None)`` returning every key of the sweep, or None (the default) when
        the design has none and :func:`pymodel.metrics.error_metrics` sweeps or samples."""
        return None

    def _operands(self, a, b):
        """``(scalar, a, b, shape)``: two Python ints, or int64 arrays broadcast flat."""
        scalar = all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b))
        if scalar:
            self._check_scalar("a", a)
            self._check_scalar("b", b)
            return True, a, b, None
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, (bool, float)):
                raise TypeError(f"operand {name} must be an int or an integer numpy array, got {type(v).__name__}")
        a = self._check_array("a", a)
        b = self._check_array("b", b)
        try:
            a, b = np.broadcast_arrays(a, b)
        except ValueError:
            raise ValueError(f"operands a {a.shape} and b {b.shape} do not broadcast") from None
        shape = a.shape
        return False, np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel(), shape

    @staticmethod
    def _result(bits_u64, shape, dtype, signed):
        v = bits_u64.view(np.int64) if signed else bits_u64
        r = v.astype(dtype).reshape(shape)
        return r[()] if r.ndim == 0 else r

    def _out_dtype(self, bits, what):
        dt = dtype_for(bits, self.signed)
        if dt is None:
            raise ValueError(f"the {what} needs {bits} bits, more than a 64-bit numpy integer holds; "
                             "use Python ints, or fewer quotient_frac_bits")
        return dt

    def _need(self, op):
        if op not in self.OPS:
            raise ValueError(f"design {self.NAME!r} has no {op!r} (it has {', '.join(self.OPS)})")

    def mul_scalar(self, a, b):
        """The reference product of two checked Python ints (sign-magnitude, saturating)."""
        m = min(self.mul_unsigned(abs(a), abs(b)) if self.signed else self.mul_unsigned(a, b), self.product_max)
        return -m if (self.signed and (a < 0) != (b < 0)) else m

    def _mul_array(self, a, b, out):
        _mul_kernel(type(self).mul_magnitude, a, b, out, self.signed, self.kernel_params(),
                    np.uint64(self.product_max))

    def mul(self, a, b):
        """Product.  Python ints in, Python int out (the reference); integer arrays broadcast
        (the compiled datapath), and the result has the smallest integer dtype holding ``2*width`` bits."""
        self._need("mul")
        scalar, a, b, shape = self._operands(a, b)
        if scalar:
            return self.mul_scalar(a, b)
        dtype = self._out_dtype(self.product_width, "product")
        out = np.empty(a.size, np.uint64)
        if a.size:
            self._mul_array(a, b, out)
        return self._result(out, shape, dtype, self.signed)

    # -- dividers ----------------------------------------------------------------
    @property
    def quotient_width(self):
        return self.width + self.quotient_frac_bits + int(self.signed)

    def div_unsigned(self, a, b):
        raise NotImplementedError

    def div_saturated(self, a):
        """The quotient for ``b == 0``: all ones in the magnitude bits with the dividend's sign."""
        top = 1 << (self.width + self.quotient_frac_bits)
        return -top if (self.signed and a < 0) else top - 1

    def div_scalar(self, a, b):
        if b == 0:
            raise ZeroDivisionError(f"{self.NAME} division by zero (pass on_zero='saturate' for the "
                                    "hardware's dbz behaviour)")
        m = self.div_unsigned(abs(a), abs(b)) if self.signed else self.div_unsigned(a, b)
        m = min(m, (1 << (self.width + self.quotient_frac_bits)) - 1)
        return -m if (self.signed and (a < 0) != (b < 0)) else m

    def _div_array(self, a, b, out, dbz):
        sat = np.uint64((1 << (self.width + self.quotient_frac_bits)) - 1)
        _div_kernel(type(self).div_magnitude, a, b, out, dbz, self.signed, self.kernel_params(), sat)

    def div(self, a, b, *, on_zero="raise"):
        """Quotient ``floor(Q * 2**quotient_frac_bits)`` (the magnitude is floored).

        ``on_zero="raise"`` (default) raises ``ZeroDivisionError`` for any ``b == 0``.
        ``on_zero="saturate"`` returns ``(q, dbz)``: ``dbz`` flags ``b == 0`` and ``q`` is
        all ones in the magnitude bits with the dividend's sign, as the hardware drives it.
        """
        self._need("div")
        if on_zero not in ON_ZERO:
            raise ValueError(f"on_zero must be one of {ON_ZERO}, got {on_zero!r}")
        scalar, a, b, shape = self._operands(a, b)
        if scalar:
            if b == 0 and on_zero == "saturate":
                return self.div_saturated(a), True
            q = self.div_scalar(a, b)
            return (q, False) if on_zero == "saturate" else q
        dtype = self._out_dtype(self.quotient_width, "quotient")
        if on_zero == "raise" and a.size and not b.all():
            i = int(np.flatnonzero(b == 0)[0])
            raise ZeroDivisionError(f"{self.NAME} division by zero at flat index {i} "
                                    "(pass on_zero='saturate' for the hardware's dbz behaviour)")
        out = np.empty(a.size, np.uint64)
        dbz = np.zeros(a.size, np.bool_)
        if a.size:
            self._div_array(a, b, out, dbz)
        q = self._result(out, shape, dtype, self.signed)
        if on_zero == "saturate":
            d = dbz.reshape(shape)
            return q, (d[()] if d.ndim == 0 else d)
        return q
