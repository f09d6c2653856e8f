"""The NN study: the bit-exact Mitchell multiplier inside numpy neural-net layers."""

from .matmul import ExactMultiplier, approx_matmul

__all__ = ["approx_matmul", "ExactMultiplier"]
