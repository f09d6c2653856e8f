"""Progress bars on stderr (tqdm) that show on every terminal, also one that reports a size of 0 x 0.

The CLI decides whether a bar is wanted (a terminal, no ``--json``); the library calls :func:`bar`.
"""

import os
import sys

__all__ = ["bar"]


def _size():
    """Nothing (tqdm sizes the bar) unless the terminal reports a zero size (``script -qc``, some CI
    pseudo-terminals, an editor's terminal pane): then 80 x 24, since tqdm draws nothing on 0 rows."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return {"ncols": 80, "nrows": 24}
    return {} if size.columns > 0 and size.lines > 0 else {"ncols": 80, "nrows": 24}


def bar(**kw):
    """A ``tqdm`` bar on stderr, cleared when closed (``leave=False``); ``kw`` go to tqdm (``total``,
    ``desc``, ``unit``, ...)."""
    from tqdm import tqdm
    for k, v in {"leave": False, "file": sys.stderr, **_size()}.items():
        kw.setdefault(k, v)
    return tqdm(**kw)
