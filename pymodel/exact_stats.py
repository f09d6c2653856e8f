"""Moved to :mod:`pymodel.exact.mitchell`; this module keeps the old imports working."""

from .exact.mitchell import (EM_ABOVE, TABLE_MAX, _direct_sum, _err_sums, _tables,  # noqa: F401
                             exact_mul_metrics, n_block_pairs)

__all__ = ["exact_mul_metrics", "n_block_pairs", "EM_ABOVE"]
