"""The design registry: every design by name, so nothing downstream names a design class.

Adding a design takes one model file in ``pymodel/designs/``, one hardware file in
``hdl/designs/`` (named by the model's ``HARDWARE``) and one line here.
"""

import importlib

__all__ = ["DESIGNS", "design_class", "make_design", "designs_info", "design_names", "designs_with", "register",
           "check_design_class", "user_designs", "ENTRY_POINT_GROUP", "ENV"]

_USER = {}          # name -> class of every design registered from outside the package (register, below)

# name -> "module:Class" of the model; the order is the order of tables and figures.
DESIGNS = {
    "mitchell": "pymodel.config:Mitchell",
    "mbm": "pymodel.designs.mbm:MBM",
    "ilm": "pymodel.designs.ilm:ILM",
    "od": "pymodel.designs.od:OperandDecomposition",
    "mitch-w": "pymodel.designs.mitchw:MitchW",
    "dr-alm": "pymodel.designs.dralm:DRALM",
    "alm-soa": "pymodel.designs.almsoa:ALMSOA",
    "realm": "pymodel.designs.realm:REALM",
    "nearest-one": "pymodel.designs.nearestone:NearestOne",
    "inzed": "pymodel.designs.inzed:INZeD",
}


def _load(path):
    module, cls = path.split(":")
    for c in _USER.values():        # a design registered from outside (its module may be a file)
        if f"{c.__module__}:{c.__qualname__}" == path:
            return c
    return getattr(importlib.import_module(module), cls)


def design_names():
    return list(DESIGNS)


def design_class(name):
    """The config class of design ``name``; a ValueError lists the designs otherwise."""
    if name not in DESIGNS:
        raise ValueError(f"unknown design {name!r}; the designs are: {', '.join(DESIGNS)}")
    return _load(DESIGNS[name])


def designs_with(op):
    """Names of the designs that have operator ``op`` ("mul" or "div")."""
    return [n for n in DESIGNS if op in design_class(n).OPS]


def make_design(name, *, width, signed=False, **params):
    """The config of design ``name``; parameters it does not have are refused by name.

    ``params`` with value ``None`` take the design's default.
    """
    cls = design_class(name)
    own = set(cls.param_names())
    extra = sorted(k for k, v in params.items() if v is not None and k not in own)
    if extra:
        have = ", ".join(cls.param_names()) or "none"
        raise ValueError(f"design {name!r} has no parameter {', '.join(extra)} (its parameters: {have})")
    kw = {k: v for k, v in params.items() if k in own and v is not None}
    return cls(width=width, signed=signed, **kw)


def designs_info():
    """Every design with its operators, reference and parameters (``mitchell designs --json``)."""
    out = []
    for name in DESIGNS:
        cls = design_class(name)
        out.append({"name": name, "title": cls.TITLE, "reference": cls.REFERENCE,
                    "derived_from_description": cls.AFTER, "ops": list(cls.OPS),
                    "width": {"range": f"{cls.MIN_WIDTH}..{cls.MAX_WIDTH}", "default": 8},
                    "signed": {"type": "bool", "default": False},
                    "params": [p.as_dict() for p in cls.PARAMS]})
    return out


# -- designs outside the package: --design-module, the MITCHELL_DESIGN_MODULES variable, entry points ------------

#: Entry-point group of installed packages' designs: ``name = "package.module:Class"``.
ENTRY_POINT_GROUP = "mitchell.designs"
#: Comma-separated ``module:Class`` or ``path/file.py:Class`` specs, read at import (the CLI sets it from
#: ``--design-module`` so that the processes it starts, the cocotb bench, know the design too).
ENV = "MITCHELL_DESIGN_MODULES"
BUILTIN = frozenset(DESIGNS)


def _import_spec(spec, option):
    """The class named by ``spec`` (``package.module:Class`` or ``path/file.py:Class``)."""
    import importlib.util
    import os
    import sys
    where, sep, cls_name = str(spec).rpartition(":")
    if not sep or not where or not cls_name:
        raise ValueError(f"{option} {spec!r}: expected package.module:Class or path/file.py:Class")
    if where.endswith(".py"):
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise ValueError(f"{option} {spec!r}: no file {where}")
        folder = os.path.dirname(path)
        if folder not in sys.path:      # its neighbours (the design's HARDWARE module), here and in child processes
            sys.path.insert(0, folder)
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH")) if p)
        name = "mitchell_user_" + os.path.splitext(os.path.basename(path))[0]
        mod_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        mod_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as e:
            if e.name != where.split(".")[0] or os.getcwd() in sys.path:
                raise ValueError(f"{option} {spec!r}: importing {where} failed: {e}") from None
            # a module in the working folder (the console script does not put it on sys.path): there, and for
            # the processes this one starts
            sys.path.insert(0, os.getcwd())
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH")) if p)
            try:
                module = importlib.import_module(where)
            except ModuleNotFoundError as e2:
                raise ValueError(f"{option} {spec!r}: no module {where} (on the Python path or in the working "
                                 f"folder): {e2}") from None
    try:
        return getattr(module, cls_name)
    except AttributeError:
        raise ValueError(f"{option} {spec!r}: module {where} has no {cls_name}") from None


def check_design_class(cls, what="the design"):
    """Raise ValueError listing every way ``cls`` misses the contract of a design (what the built-in designs
    meet): a frozen keyword-only dataclass subclassing ``Design``; ``NAME``, ``TITLE``, ``REFERENCE``;
    ``OPS``; ``PARAMS`` as ``Param`` with a field each; per operator a scalar reference (``mul_unsigned`` /
    ``div_unsigned``), a compiled fast path (``mul_magnitude`` / ``div_magnitude``) bit-identical to it on
    every pair at a small width, unsigned and signed, and ``HARDWARE`` naming an importable component.
    ``SPEC`` (the hardware specification for ``verify --prove``) is optional."""
    import dataclasses
    import importlib.util
    import re

    from .designs.base import Design, Param
    if not (isinstance(cls, type) and issubclass(cls, Design)):
        raise ValueError(f"{what}: {cls!r} is not a subclass of pymodel.designs.base.Design")
    missing = []
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        missing.append("the @dataclass(frozen=True, kw_only=True) decorator")
    if not isinstance(cls.NAME, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", cls.NAME or ""):
        missing.append(f"NAME (lower-case letters, digits and '-', got {cls.NAME!r})")
    for attr in ("TITLE", "REFERENCE"):
        if not isinstance(getattr(cls, attr), str) or not getattr(cls, attr):
            missing.append(f"{attr} (a non-empty string)")
    ops = cls.OPS if isinstance(cls.OPS, tuple) else ()
    if not ops or not set(ops) <= {"mul", "div"}:
        missing.append(f"OPS (a tuple of 'mul' and/or 'div', got {cls.OPS!r})")
    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    for p in cls.PARAMS:
        if not isinstance(p, Param):
            missing.append(f"PARAMS entries as pymodel.designs.base.Param (got {p!r})")
        elif p.name not in names:
            missing.append(f"a dataclass field {p.name} for its Param")
    for op in ops:
        if getattr(cls, f"{op}_unsigned") is getattr(Design, f"{op}_unsigned"):
            missing.append(f"{op}_unsigned(self, a, b): the scalar reference on Python ints")
        if not callable(getattr(cls, f"{op}_magnitude", None)):
            missing.append(f"{op}_magnitude: the numba @njit fast path fn(a, b, P)")
        hw = (cls.HARDWARE or {}).get(op)
        mod = hw.split(":")[0] if isinstance(hw, str) and hw.count(":") == 1 else None
        if mod is None:
            missing.append(f"HARDWARE[{op!r}] ('module:Class' of its Amaranth component)")
        else:
            try:
                found = importlib.util.find_spec(mod) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                missing.append(f"HARDWARE[{op!r}]: module {mod} cannot be found")
    if missing:
        raise ValueError(f"{what} ({cls.__name__}) does not meet the design contract; it needs: "
                         + "; ".join(missing))
    _check_fast_path(cls, what)


def _check_fast_path(cls, what):
    """The compiled fast path equals the scalar reference on every pair at a small width, unsigned and signed."""
    import numpy as np
    w = max(cls.MIN_WIDTH, min(4, cls.MAX_WIDTH))
    for signed in (False, True):
        try:
            cfg = cls(width=w, signed=signed)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what} ({cls.__name__}): its defaults are refused at width {w}: {e}") from None
        lo, hi = cfg.operand_range
        v = np.arange(lo, hi + 1)
        a, b = np.repeat(v, v.size), np.tile(v, v.size)
        for op in cls.OPS:
            if op == "mul":
                fast = cfg.mul(a, b)
                ref = [cfg.mul(int(x), int(y)) for x, y in zip(a, b)]
            else:
                keep = b != 0
                fast = cfg.div(a[keep], b[keep])
                ref = [cfg.div(int(x), int(y)) for x, y in zip(a[keep], b[keep])]
                a, b = a[keep], b[keep]
            bad = np.nonzero(np.asarray(fast, dtype=object) != np.asarray(ref, dtype=object))[0]
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"{what} ({cls.__name__}): the fast path {op}_magnitude differs from the scalar "
                                 f"reference {op}_unsigned at width {w} {'signed' if signed else 'unsigned'}: "
                                 f"a={int(a[i])} b={int(b[i])} gives {int(fast[i])}, the reference {ref[i]} "
                                 f"({bad.size} pairs differ)")


def register(spec_or_class, *, option="--design-module"):
    """Add a design from outside the package (checked against the contract); return its name.

    Parameters
    ----------
    spec_or_class : str or type
        ``package.module:Class``, ``path/file.py:Class`` or the class itself.
    option : str
        How errors name the source (``--design-module``, an entry point, the environment variable).
    """
    cls = _import_spec(spec_or_class, option) if isinstance(spec_or_class, str) else spec_or_class
    what = f"{option} {spec_or_class}" if isinstance(spec_or_class, str) else f"design {cls!r}"
    name = getattr(cls, "NAME", None)
    if name in BUILTIN:
        raise ValueError(f"{what}: NAME {name!r} is a built-in design's; choose another")
    if _USER.get(name) is cls:
        return name
    if name in _USER:
        raise ValueError(f"{what}: a design named {name!r} is already registered ({_USER[name].__module__})")
    check_design_class(cls, what)
    _USER[name] = cls
    DESIGNS[name] = f"{cls.__module__}:{cls.__qualname__}"
    return name


def user_designs():
    """Names of the registered outside designs."""
    return list(_USER)


def _register_outside():
    """Designs of installed packages (entry points) and of the environment variable, at import."""
    import os
    from importlib.metadata import entry_points
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        register(ep.value, option=f"entry point {ep.name} ({ENTRY_POINT_GROUP})")
    for spec in filter(None, (s.strip() for s in os.environ.get(ENV, "").split(","))):
        register(spec, option=ENV)


_register_outside()
