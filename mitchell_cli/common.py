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
    from tqdm import tqdm
    with tqdm(leave=False, file=sys.stderr, **bar) as b:
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


def config(args):
    from pymodel import FloatMitchell, Mitchell
    if args.op == "fmul":
        return FloatMitchell(args.format)
    kw = {"width": args.width, "frac_bits": args.frac_bits, "signed": args.signed}
    if getattr(args, "quotient_frac_bits", None) is not None:
        kw["quotient_frac_bits"] = args.quotient_frac_bits
    return Mitchell(**kw)


def add_config_args(p, op_choices=("mul", "div", "fmul"), width_list=False):
    p.add_argument("--op", choices=op_choices, default="mul",
                   help="operator (default mul)" + ("; fmul: float Mitchell, see --format" if "fmul" in op_choices else ""))
    if "fmul" in op_choices:
        p.add_argument("--format", choices=("fp32", "fp16", "bf16"), default="fp32",
                       help="float format of --op fmul (default fp32)")
    if width_list:
        p.add_argument("--width", default="8", help="operand width, 2..32; a comma list (8,12,16) for --kind compare")
    else:
        p.add_argument("--width", type=int, default=8, help="operand width in bits, 2..32 (default 8)")
    p.add_argument("--frac-bits", type=int, default=None,
                   help="log-fraction bits kept, 0..width-1 (default width-1: no truncation)")
    p.add_argument("--signed", action="store_true", help="two's-complement operands")
    p.add_argument("--quotient-frac-bits", type=int, default=None,
                   help="divider output fraction bits (default width)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")


def pct(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:+.4f} %"


def parse_widths(text):
    try:
        ws = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--width must be an int or a comma list like 8,12,16, got {text!r}") from None
    if not ws:
        raise ValueError("--width needs at least one width")
    return ws
