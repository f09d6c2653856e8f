"""``mitchell`` command line: parses arguments and calls into pymodel / hdl / sim.

One module per subcommand, each with ``add_parser(sub)`` and its ``cmd_*``.
Every subcommand takes ``--json`` and then prints exactly one JSON object on stdout.
"""

import argparse
import json
import sys

from . import cost, demo, errors, nn, plot, sim, verilog

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (errors, verilog, sim, plot, nn, cost, demo)


def build_parser():
    ap = argparse.ArgumentParser(prog="mitchell", description="Logarithmic multipliers and dividers: "
                                 "golden models, error metrics, HDL and verification.")
    sub = ap.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
    except (ValueError, TypeError, ZeroDivisionError, FileNotFoundError, RuntimeError) as e:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(e)}))
        else:
            print(f"mitchell: error: {e}", file=sys.stderr)
        return 2
    return rc or 0
