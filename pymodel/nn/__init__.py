"""The NN study: the bit-exact Mitchell multiplier inside numpy neural-net layers."""

from .matmul import EncodedWeights, ExactMultiplier, approx_matmul, gemm_path

__all__ = ["approx_matmul", "ExactMultiplier", "EncodedWeights", "gemm_path"]
