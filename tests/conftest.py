import numpy as np
import pytest

from pymodel import Mitchell


def all_operands(cfg):
    lo, hi = cfg.operand_range
    return np.arange(lo, hi + 1, dtype=np.int64)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
