"""DR-ALM hardware: set-one log converters, a fraction adder whose carry-in is the compensation, a floor antilog."""

from .base import DesignMultiplier
from .mitchw import set_one_log_steps

__all__ = ["DRALMMultiplier"]


class DRALMMultiplier(DesignMultiplier):
    """DR-ALM-t log multiplier (``pymodel.designs.dralm.DRALM``).

    Two log converters keeping ``t - 2`` fraction bits with a constant 1 below them, a
    ``t - 1`` bit prefix fraction adder whose carry-in of 1 is the one-LSB compensation, and a
    left-shifting antilog.  ``_fault="no_compensation"`` drops the carry-in (a deliberate bug
    for the bench's self-test).  Ports, stream interface and latency as
    :class:`hdl.designs.base.DesignMultiplier`.
    """

    DESIGN = "dr-alm"

    def _core_steps(self, m):
        c = self.config
        return set_one_log_steps(c.width, c.t - 2, True, 0 if self._fault == "no_compensation" else 1)
