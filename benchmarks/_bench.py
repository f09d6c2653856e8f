"""Helpers shared by the benchmark scripts (each run as ``python benchmarks/NAME.py``)."""

import platform
import subprocess


def cpu_model():
    """The CPU's model name (``lscpu``), printed beside every figure."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
