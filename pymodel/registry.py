"""The design registry: every design by name, so nothing downstream names a design class.

Adding a design takes one model file in ``pymodel/designs/``, one hardware file in
``hdl/designs/`` (named by the model's ``HARDWARE``) and one line here.
"""

import importlib

__all__ = ["DESIGNS", "design_class", "make_design", "designs_info", "design_names", "designs_with"]

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
