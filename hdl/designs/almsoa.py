"""ALM-SOA hardware: Mitchell's log converters, a set-one fraction adder, a floor antilog."""

from amaranth.hdl import Cat, Const

from ..blocks import index_bits, prefix_add
from .base import DesignMultiplier, Step, log_step
from .mitchw import antilog_step

__all__ = ["ALMSOAMultiplier"]


def set_one_add(x1, x2, m, cin_and=True):
    """``(sum, carry)`` of the set-one adder: low ``m`` bits 1, carry into bit ``m`` = ``x1[m-1] & x2[m-1]``,
    an exact prefix adder above."""
    F = len(x1)
    cin = (x1[m - 1] & x2[m - 1]) if m and cin_and else Const(0, 1)
    ones = Const((1 << m) - 1, m)
    if m == F:           # no exact part: the carry out is the carry in
        return ones, cin
    hi, carry = prefix_add(x1[m:], x2[m:], cin)
    return Cat(ones, hi), carry


class ALMSOAMultiplier(DesignMultiplier):
    """ALM-SOA log multiplier (``pymodel.designs.almsoa.ALMSOA``).

    Two full-precision log converters, a ``width - 1`` bit fraction adder whose low ``m`` bits
    are set to 1 (no carry logic: one AND gives the carry into bit ``m``), and a left-shifting
    antilog.  Ports, stream interface and latency as :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "alm-soa"

    def _core_steps(self, m):
        c = self.config
        w, F = c.width, c.frac_bits

        def add(m, env):
            # _fault="no_soa_carry": no carry into bit m (a deliberate bug)
            f, carry = set_one_add(env["xa"], env["xb"], c.m, self._fault != "no_soa_carry")
            return {"f": f, "carry": carry, "sh": env["ka"] + env["kb"]}

        return [log_step(w, F),
                Step("add", index_bits(max(F - c.m, 1)) + 2, {"xa", "xb", "ka", "kb"}, add),
                antilog_step(w, F)]
