"""Failures of the external tools (yosys, ABC, Icarus, Verilator, the C compiler, nextpnr).

A tool that fails or does not finish is neither bad input nor a check that found a mismatch:
:class:`ToolError` carries the tool's own reason (its ``ERROR`` line) and the log's path, and
the command line answers it with exit code 3 (``exit_code``).  This module imports nothing
heavy, so ``sim`` and ``hdl.cost`` raise it and the CLI reads ``exit_code`` without importing it.
"""

import re
from pathlib import Path

__all__ = ["ToolError", "ToolMissing", "log_reason", "MAP_MEMORIES"]

#: Yosys commands that map memories to logic.  ``proc`` turns a large constant ``case`` (a lookup
#: table such as REALM's) into a ROM (``$mem_v2``); ``sat``, ``write_aiger`` and the mutation
#: flow cannot read memories, so every script runs this right after ``proc`` / ``prep``.
MAP_MEMORIES = "memory"


class ToolError(RuntimeError):
    """An external tool failed or did not finish.

    Parameters
    ----------
    what : str
        What was being done, as a phrase: ``"yosys failed to map m to an AIG"``.
    reason : str, optional
        The tool's own reason (see :func:`log_reason`).
    log : str or Path, optional
        The log file to read for the rest.

    Attributes
    ----------
    reason, log : str or None
    exit_code : int
        3: the CLI's exit code for a tool failure.
    """

    exit_code = 3

    def __init__(self, what, reason=None, log=None):
        self.what, self.reason = what, reason
        self.log = str(log) if log is not None else None
        msg = what + (f": {reason}" if reason else "") + (f" (log: {self.log})" if self.log else "")
        super().__init__(msg)


class ToolMissing(FileNotFoundError):
    """A tool is not installed (a :class:`FileNotFoundError` whose CLI exit code is 3)."""

    exit_code = 3


# "ERROR: ..." (yosys), "%Error: ..." (Verilator), "f.v:2: error: ..." (Icarus, gcc: the place is kept)
_ERROR_LINE = re.compile(r"^\s*%?(?:ERROR|Error|error)\b[:\s]+(.*\S)|^(\S+:\d+:(?:\d+:)?\s*(?:error|Error)\b.*\S)",
                         re.M)


def log_reason(*texts, path=None, default=None):
    """The tool's own reason for a failure: the first ``ERROR: ...`` line of the texts (or the file).

    Parameters
    ----------
    *texts : str
        Captured output (stderr, stdout), searched in order.
    path : str or Path, optional
        A log file, searched after the texts when it exists.
    default : str, optional
        Returned when no error line is found; None gives the last non-empty line of the texts.

    Returns
    -------
    str or None
    """
    texts = [t for t in texts if t]
    if path is not None and Path(path).exists():
        texts.append(Path(path).read_text(errors="replace"))
    for t in texts:
        m = _ERROR_LINE.search(t)
        if m:
            return (m.group(1) or m.group(2))[:500]
    if default is not None:
        return default
    lines = [ln.strip() for t in texts for ln in t.splitlines() if ln.strip()]
    return lines[-1][:500] if lines else None
