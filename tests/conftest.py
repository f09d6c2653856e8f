import os
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory):
    """One temporary user cache for the whole run (``MITCHELL_CACHE_DIR``, inherited by the CLI
    subprocesses): trained models and builds are shared between tests, the user's own cache is untouched."""
    from pymodel.cache import ENV
    old = os.environ.get(ENV)
    path = tmp_path_factory.mktemp("mitchell-cache")
    os.environ[ENV] = str(path)
    yield path
    if old is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = old



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
