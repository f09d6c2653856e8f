"""Helpers shared by the subcommands: config options, JSON output, progress bars."""

import contextlib
import json
import math
import sys


def progress_wanted(args):
    return not getattr(args, "json", False) and sys.stdout.isatty()


@contextlib.contextmanager
def progress(args, **bar):
    """A progress bar's ``update`` on a terminal without ``--json``; ``None`` otherwise (quiet)."""
    if not progress_wanted(args):
        yield None
        return
    from pymodel.progress import bar as progress_bar
    with progress_bar(**bar) as b:
        yield b.update


def emit(args, obj, text):
    if args.json:
        print(json.dumps(obj, default=json_default, allow_nan=False))
    else:
        print(text)


def json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def clean(obj):
    """NaN is not JSON: report it as null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def design_params():
    """Every design parameter by option name (``--c-bits``), with the designs that have it."""
    from pymodel.registry import DESIGNS, design_class
    out = {}
    for name in DESIGNS:
        for prm in design_class(name).PARAMS:
            opt = "--" + prm.name.replace("_", "-")
            out.setdefault(opt, (prm, []))[1].append(name)
    return out


def config(args):
    """The config the options describe: a FloatMitchell for ``--op fmul``, else ``--design`` with its parameters."""
    from pymodel import FloatMitchell
    from pymodel.registry import design_class, make_design
    check_config_options(args)
    if args.op == "fmul":
        return FloatMitchell(args.format)
    name = getattr(args, "design", "mitchell")
    cls = design_class(name)
    if args.op not in cls.OPS:
        raise ValueError(f"--design {name} has no --op {args.op} (it has {', '.join(cls.OPS)})")
    params = {}
    for opt, (prm, names) in design_params().items():
        if name not in names:
            refuse(args, (opt,), f"to --design {name} (only to {', '.join(names)})")
            continue
        value = getattr(args, prm.name, None)
        if prm.name == "quotient_frac_bits" and args.op != "div":
            continue
        params[prm.name] = value
    return make_design(name, width=args.width, signed=args.signed, **params)


def parse_bool(text):
    """An argparse ``type`` for a boolean parameter: true/false, yes/no, 1/0."""
    import argparse
    v = str(text).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def design_list(args, op="mul"):
    """The names given to a list-valued ``--design`` (``mbm ilm`` or ``mbm,ilm``), default mitchell; checked,
    each one a design with operator ``op`` (the networks multiply)."""
    from pymodel.registry import design_class
    names = list(dict.fromkeys(n.strip() for d in (args.design or ["mitchell"]) for n in d.split(",") if n.strip()))
    for n in names:
        try:
            design_class(n)
        except ValueError as e:
            raise ValueError(f"--design: {e}") from None
    check_design_op("--design", names, op)
    return names


def check_design_op(option, names, op):
    """Refuse a design of ``names`` that lacks operator ``op``, naming it and the designs that have ``op``."""
    from pymodel.registry import design_class, designs_with
    word = {"mul": "multiply", "div": "divide"}[op]
    for n in names:
        if op not in design_class(n).OPS:
            has = ", ".join(f"--op {o}" for o in design_class(n).OPS)
            raise ValueError(f"{option} {n} does not {word} (it has {has} only); the designs that {word}: "
                             f"{', '.join(designs_with(op))}")


def design_configs(args, names, width, signed=True):
    """``[(name, config)]`` of each design in ``names`` with the parameter options that it has; an option
    that none of them has is refused by name."""
    from pymodel.registry import make_design
    params = design_params()
    for opt, (prm, owners) in params.items():
        if not set(owners) & set(names):
            refuse(args, (opt,), f"to --design {', '.join(names)} (only to {', '.join(owners)})")
    out = []
    for n in names:
        kw = {prm.name: getattr(args, prm.name, None) for opt, (prm, owners) in params.items()
              if n in owners and prm.name != "quotient_frac_bits"}
        out.append((n, make_design(n, width=width, signed=signed, **kw)))
    return out


def _param_help(param, design, shared):
    """A parameter's meaning, range and default in ``design`` (prefixed with the design when several
    designs share the option name: they may differ in all three)."""
    from pymodel.registry import design_class
    prm = next(q for q in design_class(design).PARAMS if q.name == param)
    rng = "true/false" if prm.type is bool else f"{prm.lo}..{prm.hi}"
    return (f"{design}: " if shared else "") + f"{prm.meaning}; {rng}, default {prm.default}" + \
        ("" if shared else f" ({design})")


def add_design_args(p, choice=True):
    """``--design`` (unless ``choice`` is False) and every design's own parameters (each applies to the
    designs that have it)."""
    from pymodel.registry import DESIGNS
    if choice:
        p.add_argument("--design", choices=list(DESIGNS), default="mitchell",
                       help="the design (default mitchell); `mitchell designs` lists each one's parameters")
    for opt, (prm, names) in design_params().items():
        if opt in ("--frac-bits", "--quotient-frac-bits"):
            continue        # added with the common options
        p.add_argument(opt, type=parse_bool if prm.type is bool else int, default=None, dest=prm.name,
                       help="; ".join(_param_help(prm.name, n, len(names) > 1) for n in names))


def add_config_args(p, op_choices=("mul", "div", "fmul"), width_list=False):
    p.add_argument("--op", choices=op_choices, default="mul",
                   help="operator (default mul)" + ("; fmul: float Mitchell, see --format" if "fmul" in op_choices else ""))
    if "fmul" in op_choices:
        p.add_argument("--format", choices=("fp32", "fp16", "bf16"), default="fp32",
                       help="float format of --op fmul (default fp32)")
    if width_list:
        p.add_argument("--width", type=parse_widths, default="8",
                       help="operand width, 2..32, or a comma list of widths (8,12,16); default 8")
    else:
        p.add_argument("--width", type=int_in("--width", 2, 32), default=8,
                       help="operand width in bits, 2..32 (default 8)")
    p.add_argument("--frac-bits", type=int, default=None,
                   help="log-fraction bits kept, 0..width-1 (default width-1: no truncation)")
    p.add_argument("--signed", action="store_true", help="two's-complement operands")
    p.add_argument("--quotient-frac-bits", type=int, default=None,
                   help="divider output fraction bits (default width)")
    add_design_args(p)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")


def ep_text(ep, digits=6):
    """The error probability to ``digits`` places, or, when that would round it to 1, ``1 - x`` with ``x``
    to three significant digits (EP of Mitchell's 32-bit multiplier is 1 - 1.5e-8, not 1.000000)."""
    if ep is None or (isinstance(ep, float) and math.isnan(ep)):
        return "n/a"
    if ep < 1 and round(ep, digits) >= 1:
        return f"1 - {1 - ep:.3g}"
    return f"{ep:.{digits}f}"


def pct(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:+.4f} %"


def parse_widths(text):
    """``"8,12,16"`` to ``[8, 12, 16]``, each in 2..32 (also an argparse ``type``); a list passes through."""
    import argparse
    if isinstance(text, list):
        return text
    try:
        ws = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--width must be an int or a comma list like 8,12,16, got {text!r}") from None
    if not ws:
        raise argparse.ArgumentTypeError("--width needs at least one width")
    bad = [w for w in ws if not 2 <= w <= 32]
    if bad:
        raise argparse.ArgumentTypeError(f"--width must be in 2..32, got {bad[0]}")
    return ws


# -- argument checks: counts at parse time, output paths before any work ----------------------------------

SEED_MAX = 2**32 - 1


def int_in(option, lo, hi):
    """An argparse ``type``: an integer in ``lo..hi``; the error names ``option`` and the range."""
    import argparse

    def parse(text):
        try:
            v = int(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{option} must be an integer in {lo}..{hi}, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{option} must be in {lo}..{hi}, got {v}")
        return v
    parse.__name__ = option
    return parse


def seed_arg(p, help):
    p.add_argument("--seed", type=int_in("--seed", 0, SEED_MAX), default=0, help=f"{help} (0..2^32-1, default 0)")


def given(args):
    """Options the user typed (as ``--long-name``), filled in by ``main``; empty when called from Python."""
    return getattr(args, "_given", frozenset())


def refuse(args, options, why):
    """ValueError naming the typed ``options`` that do not apply (``why``: 'to --op fmul', ...)."""
    bad = list(dict.fromkeys(o for o in options if o in given(args)))      # in order, once each
    if bad:
        raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply {why}")


def check_config_options(args):
    """Refuse config options that the chosen ``--op`` does not use."""
    op = getattr(args, "op", None)
    if op == "fmul":
        refuse(args, ("--width", "--frac-bits", "--signed", "--quotient-frac-bits", "--design",
                      *design_params()), "to --op fmul (the float format sets them: --format)")
    else:
        refuse(args, ("--format",), f"to --op {op} (only to --op fmul)")
        if op == "mul":
            refuse(args, ("--quotient-frac-bits",), "to --op mul (only to the divider)")


def check_output_path(option, path, suffixes=None):
    """Check an output file before any work: its suffix, that it is not a folder, and that it can be written.

    Missing parent folders are created (the one behaviour of every output path).  Returns ``path``.
    """
    import os
    from pathlib import Path
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise ValueError(f"{option} must end in one of {', '.join(suffixes)}, got {str(path)!r}")
    if p.is_dir():
        raise ValueError(f"{option} {path}: is a folder, expected a file name")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(a for a in [p.parent, *p.parent.parents] if a.exists() and not a.is_dir())
        raise ValueError(f"{option} {path}: {blocker} is a file, not a folder") from None
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create its folder: {e.strerror or e}") from None
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass            # a real write probe: permissions, read-only and special file systems
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot write it: {e.strerror or e}") from None
    if not existed:
        os.unlink(p)
    return path


def cache_folder(args, attr, *sub, option="--cache-dir"):
    """The folder a command caches in: its ``option`` (``args.<attr>``) if given, else ``sub`` of the
    user cache (:mod:`pymodel.cache`); created and checked before any work, and printed on stderr."""
    from pymodel.cache import cache_path
    path = getattr(args, attr) or str(cache_path(*sub))
    check_output_dir(option, path)
    setattr(args, attr, path)
    print(f"cache: {path}", file=sys.stderr)
    return path


def cache_help(what, *sub):
    """Help of a command's own cache option."""
    return f"{what} (default: {'/'.join(sub)}/ in the user cache; `mitchell --cache-dir DIR` moves that)"


def check_output_dir(option, path):
    """Create folder ``path`` (and parents) before any work and check that it is a writable folder."""
    import tempfile
    from pathlib import Path
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"{option} {path}: exists and is not a folder") from None
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create the folder: {e.strerror or e}") from None
    if not p.is_dir():
        raise ValueError(f"{option} {path}: exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot write into the folder: {e.strerror or e}") from None
    return path
