"""The per-user cache: trained float models, synthesis results, build folders of the simulators and provers.

One folder, wherever the command runs: ``$MITCHELL_CACHE_DIR`` if set (``mitchell --cache-dir DIR``
sets it for the command and the processes it starts), else the platform's cache folder:
``$XDG_CACHE_HOME/mitchell`` or ``~/.cache/mitchell`` (Linux and other Unix), ``~/Library/Caches/mitchell``
(macOS), ``%LOCALAPPDATA%\\mitchell\\Cache`` (Windows).  Nothing in it is an output a user asked for:
deleting it (``make clean``, ``python -m pymodel.cache --clear``) only costs recomputation.

``python -m pymodel.cache`` prints the folder.
"""

import os
import shutil
import sys
from pathlib import Path

__all__ = ["ENV", "SUBDIRS", "cache_dir", "cache_path", "clear"]

ENV = "MITCHELL_CACHE_DIR"
SUBDIRS = ("nn", "cost", "explore", "build")     # what the package writes there (clear removes only these)


def cache_dir():
    """The cache folder (absolute; not created here)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser().resolve()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "mitchell" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "mitchell"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # the XDG spec ignores a relative XDG_CACHE_HOME
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".cache"
    return base / "mitchell"


def cache_path(*parts):
    """``cache_dir() / parts``, e.g. ``cache_path("nn")``."""
    return cache_dir().joinpath(*map(str, parts))


def clear():
    """Delete what the package cached (the :data:`SUBDIRS` of :func:`cache_dir`, and the folder if then
    empty); other files there are left alone.  Returns the paths removed."""
    root, gone = cache_dir(), []
    for d in SUBDIRS:
        p = root / d
        if p.is_dir():
            shutil.rmtree(p)
            gone.append(str(p))
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
        gone.append(str(root))
    return gone


if __name__ == "__main__":
    if sys.argv[1:] == ["--clear"]:
        removed = clear()
        print("\n".join(f"removed {p}" for p in removed) or f"nothing cached in {cache_dir()}")
    elif sys.argv[1:]:
        sys.exit("usage: python -m pymodel.cache [--clear]")
    else:
        print(cache_dir())
