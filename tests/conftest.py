import subprocess
import sys

import numpy as np
import pytest



def all_operands(cfg):
    lo, hi = cfg.operand_range
    return np.arange(lo, hi + 1, dtype=np.int64)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def run_cli(*args):
    """``mitchell ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
