"""The golden model's outputs for one operator, port by port, as arrays.

Every verification flow (cocotb bench, exhaustive harness, proofs, mutation)
names the reference here, so a new design family only has to be added once.
"""

import numpy as np

__all__ = ["expected", "data_outputs", "operand_patterns_to_values"]


def data_outputs(op):
    """The data output ports of ``op``'s unit, in the order :func:`expected` returns them."""
    return ("q", "dbz") if op == "div" else ("p",)


def expected(cfg, op, a, b):
    """``{port: array}`` of the model's results for operand arrays ``a``, ``b`` (broadcasting)."""
    if op == "mul":
        return {"p": cfg.mul(a, b)}
    if op == "div":
        q, dbz = cfg.div(a, b, on_zero="saturate")
        return {"q": q, "dbz": dbz}
    if op == "fmul":
        return {"p": cfg.mul_bits(a, b)}
    raise ValueError(f"op must be 'mul', 'div' or 'fmul', got {op!r}")


def operand_patterns_to_values(patterns, width, signed):
    """Operand bit patterns (``0 .. 2**width - 1``) as the model's operand values (two's complement when signed)."""
    v = np.asarray(patterns, dtype=np.int64)
    if signed:
        v = np.where(v >= 1 << (width - 1), v - (1 << width), v)
    return v
