"""``mitchell`` command line: parses arguments and calls into pymodel / hdl / sim.

One module per subcommand, each with ``add_parser(sub)`` and its ``cmd_*``.
Every subcommand takes ``--json`` and then prints exactly one JSON object on stdout.
"""

import argparse
import json
import re
import sys

from . import compare, cost, demo, designs, errors, explore, nn, plot, report, sim, verify, verilog

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (designs, errors, verilog, sim, verify, plot, nn, cost, compare, explore, report, demo)


class ParseError(Exception):
    """An argument-parsing error, raised instead of argparse's print-and-exit so ``--json`` can answer it."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise :class:`ParseError` (subparsers inherit the class)."""

    def error(self, message):
        raise ParseError(self, message)


def build_parser():
    ap = Parser(prog="mitchell", description="Logarithmic multipliers and dividers: "
                "golden models, error metrics, HDL and verification.")
    # both read by _main before parsing: --version needs no subcommand, --json may come before it
    ap.add_argument("--version", action="store_true", help="print the version and exit")
    ap.add_argument("--json", action="store_true", dest="json_first", help="as the subcommand's --json")
    ap.add_argument("--design-module", metavar="MODULE:CLASS", action="append", default=[],
                    help="a design of your own (package.module:Class or path/file.py:Class), checked against the "
                         "design contract and then usable as --design NAME in every command (repeatable; installed "
                         "packages can list theirs under the entry-point group mitchell.designs)")
    ap.add_argument("--cache-dir", metavar="DIR", dest="cache_root", default=None,
                    help="the per-user cache (trained models, synthesis results, build folders); default "
                         "$MITCHELL_CACHE_DIR, else $XDG_CACHE_HOME/mitchell or ~/.cache/mitchell")
    sub = ap.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return ap


def version():
    """The installed package's version (pyproject.toml), ``unknown`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return dist_version("mitchell")
    except PackageNotFoundError:
        return "unknown"


def _leading_options(argv, commands):
    """``--json`` before the subcommand moved after it (``mitchell --json designs``); whether ``--version``
    came before it."""
    i, kept, lead = 0, [], set()
    while i < len(argv) and argv[i] not in commands:
        if argv[i] in ("--json", "--version"):
            lead.add(argv[i])
        elif argv[i] == "--cache-dir" and i + 1 < len(argv):       # a top-level option with its value: kept
            kept += argv[i:i + 2]
            i += 1
        else:
            break
        i += 1
    rest = argv[i:]
    if "--json" in lead and rest and rest[0] in commands:
        rest = [rest[0], "--json", *rest[1:]]
    elif "--json" in lead:
        rest = ["--json", *rest]
    return kept + rest, "--version" in lead


def _value_options(parser):
    """Option strings of the parser and its subparsers, mapped to their action."""
    out = {}
    for a in parser._actions:
        for o in a.option_strings:
            out[o] = a
        if isinstance(a, argparse._SubParsersAction):
            for p in a.choices.values():
                out.update(_value_options(p))
    return out


def _join_negative_values(argv, options):
    """``--a-range -5:10`` as ``--a-range=-5:10``: argparse takes a value starting with '-' for an option."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        a = options.get(tok)
        if (a is not None and a.nargs is None and a.option_strings and not isinstance(a, argparse._StoreConstAction)
                and i + 1 < len(argv) and re.match(r"-\d", argv[i + 1])):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def _given(subparser, argv):
    """The long option names the user typed (abbreviations resolved as argparse does), for ``common.refuse``."""
    longs = {}
    for a in subparser._actions:
        name = next((o for o in a.option_strings if o.startswith("--")), None)
        for o in a.option_strings:
            longs[o] = name or o
    given = set()
    for tok in argv:
        if tok == "--":
            break
        if tok.startswith("--"):
            key = tok.split("=", 1)[0]
            hits = [o for o in longs if o == key] or [o for o in longs if o.startswith(key)]
            if len({longs[o] for o in hits}) == 1:
                given.add(longs[hits[0]])
        elif tok.startswith("-") and len(tok) > 1 and not re.match(r"-\d", tok) and tok[:2] in longs:
            given.add(longs[tok[:2]])
    return frozenset(given)


def _option_names(message, subparser):
    """``width must be ...`` (a config field) as ``--width must be ...``: name the option the user typed."""
    m = re.match(r"(\w+)(?=[ =])", message)
    if m and subparser is not None:
        for a in subparser._actions:
            if a.dest == m.group(1) and a.option_strings:
                long = next((o for o in a.option_strings if o.startswith("--")), a.option_strings[0])
                return long + message[m.end():]
    return message


def _fail(want_json, message, usage=None, prog="mitchell", code=2, log=None):
    """Print the error (one ``{"error": ...}`` object with ``--json``, plus ``"log"`` for a tool failure)."""
    if want_json:
        print(json.dumps({"error": message, **({"log": log} if code == 3 else {})}))
    else:
        if usage:
            print(usage, end="", file=sys.stderr)
        print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def main(argv=None):
    """Run ``mitchell ARGV``; returns the exit code: 0 ok, 1 a check failed (a mismatch, a counterexample,
    a surviving mutant), 2 bad input, 3 a tool failed or did not finish (yosys, ABC, Icarus, Verilator)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader (``| head``) went away: stop quietly, without a traceback at exit
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _design_modules(argv):
    """``argv`` without its ``--design-module SPEC`` options (anywhere: before or after the subcommand), and the
    specs, in order."""
    out, specs, i = [], [], 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            out += argv[i:]
            break
        if tok == "--design-module":
            if i + 1 >= len(argv):
                raise ValueError("--design-module needs package.module:Class or path/file.py:Class")
            specs.append(argv[i + 1])
            i += 2
            continue
        if tok.startswith("--design-module="):
            specs.append(tok.split("=", 1)[1])
        else:
            out.append(tok)
        i += 1
    return out, specs


def _register_designs(specs):
    """Register each ``--design-module`` design (checked against the contract) before the options are built,
    and name them in the environment so the processes this one starts (the cocotb bench) know them too."""
    import os
    from pymodel.registry import ENV, register
    for spec in specs:
        register(spec)
    if specs:
        have = [x for x in os.environ.get(ENV, "").split(",") if x]
        os.environ[ENV] = ",".join(dict.fromkeys(have + [os.path.abspath(s.rpartition(":")[0]) + ":"
                                                         + s.rpartition(":")[2] if s.rpartition(":")[0].endswith(".py")
                                                         else s for s in specs]))


def _main(argv):
    want_json = "--json" in argv
    try:
        argv, specs = _design_modules(argv)
        _register_designs(specs)
    except (ValueError, TypeError, ImportError) as e:
        return _fail(want_json, str(e))
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    argv, want_version = _leading_options(argv, subs)
    if want_version:
        v = version()
        print(json.dumps({"version": v}) if want_json else f"mitchell {v}")
        return 0
    argv = _join_negative_values(argv, _value_options(parser))
    try:
        args, extra = parser.parse_known_args(argv)
    except ParseError as e:
        # "argument --seed: --seed must be ..." (our int_in types name the option themselves) -> "--seed must be ..."
        msg = re.sub(r"^argument ([^:]+): (?=\1 )", "", str(e))
        return _fail(want_json, msg, usage=e.parser.format_usage(), prog=e.parser.prog)
    sub = subs[args.command]
    if extra:
        # the subcommand's usage and options, not the top-level usage
        opts = sorted({o for a in sub._actions for o in a.option_strings if o.startswith("--") and o != "--help"
                       and a.help != argparse.SUPPRESS})
        return _fail(want_json, f"unrecognized arguments: {' '.join(extra)} ({sub.prog} takes {', '.join(opts)}; "
                                f"{sub.prog} -h explains them)", usage=sub.format_usage(), prog=sub.prog)
    args._given = _given(sub, argv[argv.index(args.command) + 1:] if args.command in argv else argv)
    try:
        if args.cache_root:
            _use_cache(args.cache_root)
        rc = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (ValueError, TypeError, ZeroDivisionError, RuntimeError, OSError, MemoryError) as e:
        return _error(args, sub, e)
    return rc or 0


def _use_cache(path):
    """``mitchell --cache-dir DIR``: checked, then the cache of this command and of the processes it starts."""
    import os
    from pymodel.cache import ENV
    from .common import check_output_dir
    check_output_dir("--cache-dir", path)
    os.environ[ENV] = os.path.abspath(path)


def _error(args, sub, e):
    """Exit code and message of an error past parsing: 3 for a tool failure, 2 otherwise."""
    if getattr(e, "exit_code", None) == 3:     # hdl.tools.ToolError / ToolMissing (not imported: no amaranth here)
        return _fail(args.json, str(e), code=3, log=getattr(e, "log", None))
    if isinstance(e, MemoryError):
        return _fail(args.json, "out of memory: ask for fewer samples or a smaller grid")
    if isinstance(e, OSError):
        # a file-system error past the up-front checks: name the path
        where = f" {e.filename}" if e.filename else ""
        return _fail(args.json, f"{e.strerror or type(e).__name__}:{where}" if e.strerror else str(e))
    return _fail(args.json, _option_names(str(e), sub))
