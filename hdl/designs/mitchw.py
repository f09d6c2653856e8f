"""Mitch-w hardware: truncating log converters (with a set-one bit), one adder, a floor antilog.

Also the steps DR-ALM and ALM-SOA share with it (:func:`set_one_log_steps`, :func:`antilog_step`).
"""

from amaranth.hdl import Cat, Const

from ..blocks import Antilog, index_bits, prefix_add
from .base import DesignMultiplier, Step, log_step

__all__ = ["MitchWMultiplier", "set_one_log_steps", "antilog_step"]


def antilog_step(width, frac_bits):
    """The floor antilog as a step: ``f``, ``carry``, ``sh`` to ``mag = floor(2**(sh+carry) * 1.f)``.

    :class:`hdl.blocks.Antilog` without its ``_fault`` (the base applies ``antilog_lsb`` once, at the output).
    """
    shift_bits = (2 * width - 1).bit_length()

    def antilog(m, env):
        al = Antilog(frac_bits=frac_bits, shift_bits=shift_bits, offset=0, out_width=2 * width)
        m.submodules.antilog = al
        m.d.comb += [al.sh.eq(env["sh"]), al.carry.eq(env["carry"]), al.f.eq(env["f"])]
        return {"mag": al.value}
    return Step("antilog", shift_bits, {"f", "carry", "sh"}, antilog)


def set_one_log_steps(width, kept, set_one, cin, one=1):
    """Log converters keeping ``kept`` fraction bits, a 1 appended below them when ``set_one``, and a
    prefix adder with carry-in ``cin`` (0 or 1) over the ``kept + set_one`` bit fractions."""
    F = kept + int(set_one)

    def add(m, env):
        xa, xb = env["xa"], env["xb"]
        if set_one:          # the forced LSB: a constant, so its adder bit folds away
            xa, xb = Cat(Const(one, 1), xa), Cat(Const(one, 1), xb)
        f, carry = prefix_add(xa, xb, Const(cin, 1))
        # The carry goes to the antilog's data, not into its shift amount (off the critical path).
        return {"f": f, "carry": carry, "sh": env["ka"] + env["kb"]}

    return [log_step(width, kept),
            Step("add", index_bits(F) + 2, {"xa", "xb", "ka", "kb"}, add),
            antilog_step(width, F)]


class MitchWMultiplier(DesignMultiplier):
    """Mitch-w log multiplier (``pymodel.designs.mitchw.MitchW``).

    Two log converters keeping ``w - 1 - unbias`` fraction bits (with ``unbias`` a constant 1
    below them), a ``w - 1`` bit prefix fraction adder and a left-shifting antilog whose low
    ``w - 1`` bits are dropped.  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "mitch-w"

    def _core_steps(self, m):
        c = self.config
        u = int(c.unbias)
        # _fault="no_set_one": a 0 for the forced 1 (a deliberate bug)
        return set_one_log_steps(c.width, c.frac_bits - u, u, 0, one=0 if self._fault == "no_set_one" else 1)
