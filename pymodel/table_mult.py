"""A multiplier known only by its products: a table of every pair, or chunks of one, from a circuit.

:mod:`sim.blackbox` runs any combinational multiplier's Verilog on every operand pair (the
compiled harness of ``mitchell verify --exhaustive``) and hands the products here, where
nothing of the circuit is assumed (not even the sign symmetry of the log family):

- :func:`product_error_metrics`: the error metrics of :func:`pymodel.metrics.error_metrics`
  (same keys, the same accumulator and reduction, :mod:`pymodel.metric_defs`) from the
  products of every pair, read chunk by chunk (16 bits: 2^32 pairs, never held at once);
- :class:`TableMultiplier`: ``mul`` by table look-up, and ``product_table()`` for the table
  path of :func:`pymodel.nn.approx_matmul` (every MAC of the NN studies), up to
  :data:`TABLE_MAX_WIDTH` bits (a 12-bit table is 2^24 int32 entries, 64 MB; 16 bits would be 16 GB).

Relative errors are ``(approx - exact) / exact`` on the signed values, which for a sign-magnitude
design equals the magnitudes' relative error that the designs' sweep uses.
"""

import numbers

import numpy as np
from numba import njit, prange

from . import metric_defs as M
from .design_metrics import _add
from .designs.base import OperandChecks

__all__ = ["TableMultiplier", "product_error_metrics", "TABLE_MAX_WIDTH", "MAX_WIDTH"]

TABLE_MAX_WIDTH = 12      # product table held in memory (NN studies): 2^24 entries
MAX_WIDTH = 16            # every pair visited: 2^32 at 16 bits


@njit(parallel=True)
def _rows(avals, bvals, prod, fa, ia, ip):
    """Per row of ``prod`` (one ``a``), the metric columns over every ``b``; ``ip``: the products at the
    row's argmin/argmax/WCE pairs."""
    n = bvals.size
    for r in prange(prod.shape[0]):
        acc = np.zeros(M.NF)
        acc[M.MIN_RE] = np.inf
        acc[M.MAX_RE] = -np.inf
        acc[M.WCE] = -1.0
        idx = np.zeros(3, np.int64)
        x = avals[r]
        for j in range(n):
            ex = x * bvals[j]
            err = float(prod[r, j]) - float(ex)
            re = err / float(ex) if ex != 0 else np.nan
            _add(acc, idx, j, 1.0, err, abs(float(ex)), re)
        fa[r, :] = acc
        for c in range(3):
            ia[r, 2 * c] = x
            ia[r, 2 * c + 1] = bvals[idx[c]]
            ip[r, c] = prod[r, idx[c]]


class _Products:
    """The ``cfg`` that :func:`pymodel.metric_defs.reduce_rows` reads: a name, a configuration and ``mul`` at
    the few pairs it asks for (the worst cases, whose products the sweep kept)."""

    def __init__(self, name, config, known):
        self.NAME, self._config, self._known = name, config, known

    def as_dict(self):
        return dict(self._config)

    def mul(self, a, b):
        return self._known[(int(a), int(b))]


def product_error_metrics(name, config, chunks, *, total=None, progress=None):
    """Error metrics of a multiplier from the products of every operand pair.

    Parameters
    ----------
    name : str
        The ``design`` key of the result (a circuit: ``verilog:<module>``).
    config : dict
        Its configuration (``width``, ``signed`` and anything stating what was measured).
    chunks : iterable of (a, b, products)
        ``a`` (na,) and ``b`` (n,) operand values, ``products`` (na, n) int64: ``products[i, j]``
        is the circuit's result for ``(a[i], b[j])``.  Together every pair once.
    total : int, optional
        The pairs expected; a shorter stream is an error (a lost result is never a missing pair).
    progress : callable, optional
        Called with the pairs of each chunk.

    Returns
    -------
    dict
        The keys of :func:`pymodel.metrics.error_metrics` (``method`` ``"sweep"``, ``exhaustive`` True).
    """
    fas, ias, known = [], [], {}
    seen = 0
    for a, b, prod in chunks:
        a = np.asarray(a, np.int64)
        b = np.asarray(b, np.int64)
        prod = np.ascontiguousarray(prod, np.int64)
        if prod.shape != (a.size, b.size):
            raise ValueError(f"products of shape {prod.shape} for {a.size} x {b.size} operands")
        fa = np.empty((a.size, M.NF))
        ia = np.empty((a.size, M.NI), np.int64)
        ip = np.empty((a.size, 3), np.int64)
        _rows(a, b, prod, fa, ia, ip)
        fas.append(fa)
        ias.append(ia)
        for r in range(a.size):
            for c in range(3):
                known[(int(ia[r, 2 * c]), int(ia[r, 2 * c + 1]))] = int(ip[r, c])
        seen += prod.size
        if progress:
            progress(prod.size)
    if total is not None and seen != total:
        raise RuntimeError(f"the circuit gave {seen} products, expected {total}")
    fa, ia = np.concatenate(fas), np.concatenate(ias)
    cfg = _Products(name, config, known)
    # reduce only the rows' worst pairs, whose products were kept (exact_re asks for those)
    out = M.reduce_rows(cfg, "mul", fa, ia, seen, True, None)
    return out


class TableMultiplier(OperandChecks):
    """A signed or unsigned ``width``-bit multiplier given by its products (``table[pa, pb]``, operand bit
    patterns ``pa``, ``pb``), with the interface the NN studies use (``mul``, ``width``, ``signed``,
    ``operand_range``, ``NAME``, ``as_dict``, ``describe``, ``product_table``).

    Parameters
    ----------
    name : str
        Its name in tables (``verilog:<module>``).
    width : int
        Operand width, 2..:data:`TABLE_MAX_WIDTH`.
    signed : bool
        Two's-complement operands.
    table : int64 array (2**width, 2**width)
        Products indexed by operand bit patterns.
    config : dict, optional
        Extra configuration keys (the file, module, ports).
    """

    OPS = ("mul",)
    PARAMS = ()            # no parameters of its own (figures read a design's PARAMS)

    def __init__(self, name, width, signed, table, config=None):
        if not 2 <= width <= TABLE_MAX_WIDTH:
            raise ValueError(f"a product table is held up to {TABLE_MAX_WIDTH} bits (2^{2 * TABLE_MAX_WIDTH} "
                             f"entries), got width {width}")
        table = np.asarray(table, np.int64)
        if table.shape != (1 << width, 1 << width):
            raise ValueError(f"table must have shape ({1 << width}, {1 << width}), got {table.shape}")
        self.NAME, self.width, self.signed = name, int(width), bool(signed)
        self.TITLE = f"circuit {name.split(':', 1)[-1]}"       # no colon: figures cut titles there
        self._config = dict(config or {})
        self._patterns = table
        # value order (a - lo, b - lo), the layout of the NN kernels' product tables
        order = np.arange(1 << width) ^ ((1 << (width - 1)) if signed else 0)
        self._by_value = np.ascontiguousarray(table[np.ix_(order, order)])
        self.product_bound = int(np.abs(table).max())

    def __repr__(self):
        return f"TableMultiplier({self.NAME!r}, width={self.width}, signed={self.signed})"

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def as_dict(self):
        return {"width": self.width, "signed": self.signed, **self._config}

    def describe(self):
        return f"{self.NAME} {'s' if self.signed else 'u'}{self.width}"

    def product_table(self):
        """``T[(a - lo) << width | (b - lo)]`` as int32 (``lo`` the smallest operand): the NN kernels' layout."""
        if self.product_bound >= 2 ** 31:
            raise ValueError(f"{self.NAME}: products up to {self.product_bound} do not fit the int32 table")
        return self._by_value.astype(np.int32).reshape(-1)

    def mul(self, a, b):
        """The circuit's product of ``a`` and ``b`` (ints or integer arrays, broadcasting)."""
        lo = self.operand_range[0]
        if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
            self._check_scalar("a", int(a))
            self._check_scalar("b", int(b))
            return int(self._by_value[int(a) - lo, int(b) - lo])
        a = self._check_array("a", a)
        b = self._check_array("b", b)
        return self._by_value[np.asarray(a, np.int64) - lo, np.asarray(b, np.int64) - lo]
