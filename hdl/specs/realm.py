"""Specification of REALM (``pymodel.designs.realm.REALM``), from its docstring::

    x1 + x2 <  1:   2^(k1+k2)   (1 + x1 + x2 + s_ij)
    x1 + x2 >= 1:   2^(k1+k2+1) (x1 + x2 + s_ij / 2)

``i``, ``j`` the top ``segment_bits`` bits of each untruncated fraction, ``s_ij`` the model's
table (``REALM.table``, data of the design) at ``factor_bits`` bits, the fractions truncated
to ``frac_bits`` bits with their last bit set when ``REALM.sets_one``; floored.
"""

from amaranth.hdl import Cat, Signal

from .base import SpecMultiplier, log_convert
from .mbm import corrected_product

__all__ = ["REALMSpec"]


class REALMSpec(SpecMultiplier):
    """Specification of ``REALM.mul``.  Ports and latency as :class:`hdl.specs.base.SpecMultiplier`
    (``a``, ``b`` in, ``p`` out, combinational)."""

    def magnitude(self, m, ma, mb):
        c = self.config
        w, f, g, q, sb = c.width, c.frac_bits, c.guard_bits, c.factor_bits, c.segment_bits
        logs, segs = [], []
        for v in (ma, mb):
            k, x = log_convert(m, v, w, f)
            if c.sets_one:
                x = x | 1
            _, full = log_convert(m, v, w, w - 1)           # the untruncated fraction selects the segment
            seg = Signal(sb)
            m.d.comb += seg.eq(full >> (w - 1 - sb) if w - 1 >= sb else full << (sb - (w - 1)))
            logs.append((k, x))
            segs.append(seg)
        s = Signal(q + 1)
        with m.Switch(Cat(segs[1], segs[0])):           # row: segment of a, column: segment of b
            for i, row in enumerate(c.table):
                for j, v in enumerate(row):
                    with m.Case((i << sb) | j):
                        m.d.comb += s.eq(v)
        (k1, x1), (k2, x2) = logs
        return corrected_product(m, k1, x1, k2, x2, f, g, s << (g - q))
