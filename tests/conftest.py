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


def relative_errors(cfg, samples=None, seed=0):
    """Relative errors of ``cfg.mul`` over nonzero unsigned pairs: every pair, or ``samples`` seeded ones."""
    if samples is None:
        v = np.arange(1, 1 << cfg.width, dtype=np.int64)
        a, b = (x.ravel() for x in np.meshgrid(v, v))
    else:
        a, b = np.random.default_rng(seed).integers(1, 1 << cfg.width, size=(2, samples), dtype=np.int64)
    exact = a.astype(np.float64) * b
    return (cfg.mul(a, b).astype(np.float64) - exact) / exact
