"""A design written outside the package (``--design-module``): the README's example, end to end, and the
contract checks that refuse an incomplete one (pymodel.registry.register / check_design_class)."""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from numba import njit

from pymodel.designs.base import Design, Param
from pymodel.registry import DESIGNS, check_design_class, register

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def readme_example(tmp_path):
    """The example files of docs/own.md (\"Write your own design\"), written as the page shows them."""
    text = (ROOT / "docs" / "own.md").read_text()
    for name, code in re.findall(r"<!-- example: (\S+) -->\n```python\n(.*?)```", text, re.S):
        (tmp_path / name).write_text(code)
    assert (tmp_path / "tomul.py").exists() and (tmp_path / "tomul_hw.py").exists()
    return f"{tmp_path / 'tomul.py'}:TruncatedOperands"


def cli(spec, *args, cwd=None):
    r = subprocess.run([PY, "-m", "mitchell_cli", "--design-module", spec, *args, "--json"], capture_output=True,
                       text=True, cwd=cwd)
    return r.returncode, json.loads(r.stdout)


def reference(width, cut, signed=False):
    """The truncated-operand product, from its definition (numpy)."""
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    v = np.arange(lo, hi + 1)
    m = (np.abs(v) >> cut) << cut
    return v, np.sign(v)[:, None] * np.sign(v)[None, :] * m[:, None] * m[None, :]


@pytest.mark.skipif(shutil.which("yosys") is None, reason="needs yosys")
def test_readme_example_end_to_end(tmp_path):
    spec = readme_example(tmp_path)
    rc, d = cli(spec, "designs")
    tom = next(x for x in d["designs"] if x["name"] == "tom")
    assert rc == 0 and tom["params"][0]["name"] == "cut" and tom["params"][0]["range"] == "0..width-1"
    rc, m = cli(spec, "errors", "--design", "tom", "--width", "6", "--cut", "3")
    v, p = reference(6, 3)
    exact = v[:, None] * v[None, :]
    nz = exact != 0
    assert rc == 0 and m["mred"] == pytest.approx(np.abs((p - exact)[nz] / exact[nz]).mean(), rel=1e-12)
    rc, s = cli(spec, "verify", "--design", "tom", "--width", "5", "--signed", "--prove",
                "--build-dir", str(tmp_path / "b"))
    assert rc == 0 and s["result"] == "proven"
    rc, s = cli(spec, "verify", "--design", "tom", "--width", "5", "--signed", "--exhaustive",
                "--build-dir", str(tmp_path / "b"))
    assert rc == 0 and s["checked"] == 1 << 10 and s["mismatches"] == 0
    rc, r = cli(spec, "nn", "--design", "tom", "--epochs", "2", "--finetune-epochs", "0",
                "--cache-dir", str(tmp_path / "nn"))
    assert rc == 0 and r["design"] == "tom" and 0 <= r["accuracy"]["int8_tom"] <= 1
    # the proof can fail: a hardware file that clears one bit too few
    hw = tmp_path / "tomul_hw.py"
    hw.write_text(hw.read_text().replace('{"mag": ((env["ma"] >> t)', '{"mag": ((env["ma"] >> (t - 1))'))
    rc, s = cli(spec, "verify", "--design", "tom", "--width", "5", "--prove", "--build-dir", str(tmp_path / "b2"))
    assert rc == 1 and s["result"] == "counterexample"
    a, b = s["counterexample"]["a"], s["counterexample"]["b"]
    assert s["counterexample"]["spec_p"] == ((a >> 2) << 2) * ((b >> 2) << 2) != s["counterexample"]["design_p"]


@njit(inline="always")
def _good(a, b, P):
    return np.uint64(a * b)


@njit(inline="always")
def _off_by_one(a, b, P):
    return np.uint64(a * b + (1 if a == 3 else 0))


def test_contract_names_what_is_missing():
    @dataclass(frozen=True, kw_only=True)
    class Bare(Design):
        NAME: ClassVar[str] = "bare"
        TITLE: ClassVar[str] = "bare"
        REFERENCE: ClassVar[str] = "none"
    with pytest.raises(ValueError) as e:
        check_design_class(Bare, "--design-module x:Bare")
    msg = str(e.value)
    assert "mul_unsigned(self, a, b): the scalar reference" in msg and "mul_magnitude" in msg
    assert "HARDWARE['mul']" in msg and msg.startswith("--design-module x:Bare (Bare) does not meet")

    @dataclass(frozen=True, kw_only=True)
    class Drifts(Design):
        NAME: ClassVar[str] = "drifts"
        TITLE: ClassVar[str] = "drifts"
        REFERENCE: ClassVar[str] = "none"
        PARAMS: ClassVar[tuple] = (Param("k", int, 0, "width-1", 0, "unused", "k"),)
        HARDWARE: ClassVar[dict] = {"mul": "hdl.designs.ilm:ILMMultiplier"}
        k: int = None
        mul_magnitude = _off_by_one

        def mul_unsigned(self, a, b):
            return a * b
    with pytest.raises(ValueError, match=r"fast path mul_magnitude differs from the scalar reference mul_unsigned "
                                         r"at width 4 unsigned: a=3 b=0 gives 1, the reference 0"):
        check_design_class(Drifts)
    Drifts.mul_magnitude = _good
    check_design_class(Drifts)          # with the fast path fixed it passes (the check can pass, too)

    class Mitchell2(Drifts):
        NAME: ClassVar[str] = "mitchell"
    with pytest.raises(ValueError, match="NAME 'mitchell' is a built-in design's"):
        register(Mitchell2)
    assert "drifts" not in DESIGNS


def test_cli_refuses_a_bad_module(tmp_path):
    r = subprocess.run([PY, "-m", "mitchell_cli", "--design-module", "no_such_module_here:X", "designs", "--json"],
                       capture_output=True, text=True, cwd=tmp_path)
    err = json.loads(r.stdout)["error"]
    assert r.returncode == 2 and err.startswith("--design-module 'no_such_module_here:X'") and "No module named" in err
    (tmp_path / "m.py").write_text("class X:\n    pass\n")
    r = subprocess.run([PY, "-m", "mitchell_cli", "designs", "--design-module", f"{tmp_path / 'm.py'}:X", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "is not a subclass of pymodel.designs.base.Design" in json.loads(r.stdout)["error"]
