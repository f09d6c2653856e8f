"""``mitchell report``: one self-contained HTML page for a sweep directory, or for one design."""

import json
import os
import shlex
import time
from pathlib import Path

from .common import cache_folder, cache_help, check_output_path, emit, int_in, progress
from .explore import parse_param

__all__ = ["cmd_report", "add_parser"]


def _one_design(args):
    """Run the single-design sweep in this process (cached under ``--cache-dir``); return results like explore's."""
    from hdl.cost import tool_versions
    from sim.explore import kinds_of, make_sweep, pareto_flags, plot_pareto, run_sweep
    params = {}
    for name, vals in args.param or []:
        if len(vals) != 1:
            raise ValueError(f"--param {name}: one value per parameter for one design (a sweep: mitchell explore)")
        params[name] = vals
    try:
        sw = make_sweep(designs=[args.design], widths=[args.width], stages=[args.stages], signed=[args.signed],
                        op=args.op, params=params, fmax=not args.no_fmax, nn=args.nn, verify=args.verify,
                        seed=args.seed, power=args.power)
    except ValueError as e:
        msg = str(e)
        for key, opt in (("designs", "--design"), ("widths", "--width"), ("param ", "--param "), ("op ", "--op ")):
            if msg.startswith(key):
                msg = opt + msg[len(key):]
                break
        raise ValueError(msg) from None
    cache_folder(args, "cache_dir", "explore")
    t0 = time.perf_counter()
    with progress(args, total=len(kinds_of(sw)), desc="report (tasks)", unit="task") as update:
        rows, tasks = run_sweep(sw, args.cache_dir, client=None, update=update)
    objs = pareto_flags(rows)
    hits = sum(t["cached"] for t in tasks)
    failed = [{"kind": t["kind"], "config": t["config"], "error": t["error"]} for t in tasks if t["status"] == "error"]
    na = [{"kind": t["kind"], "config": t["config"], "reason": t["reason"]} for t in tasks if t["status"] == "n/a"]
    obj = {"sweep": sw, "rows": rows, "engine": "in-process", "tasks": len(tasks), "failed": failed, "not_available": na,
           "cache": {"dir": args.cache_dir, "hits": hits, "computed": len(tasks) - hits - len(failed) - len(na)},
           "wall_seconds": round(time.perf_counter() - t0, 2), "load_average": list(os.getloadavg()),
           "tools": tool_versions(sw["fmax"]), "objectives": objs, "command": None}
    return obj, plot_pareto


def cmd_report(args):
    from sim.report import write_report
    if args.dir is None and args.design is None:
        raise ValueError("give a sweep folder (mitchell report DIR) or --design NAME")
    if args.dir is not None and args.design is not None:
        raise ValueError("give a sweep folder (mitchell report DIR) or --design NAME, not both")
    if args.dir is not None:
        for opt in ("--width", "--signed", "--stages", "--param", "--op", "--no-fmax", "--nn", "--verify", "--power",
                    "--cache-dir", "--seed"):
            if opt in getattr(args, "_given", ()):
                raise ValueError(f"{opt} does not apply to a sweep folder (only with --design)")
        res = Path(args.dir) / "results.json"
        if not res.exists():
            raise ValueError(f"{args.dir}: no results.json (run mitchell explore -o {args.dir} first)")
    check_output_path("-o", args.output, suffixes=(".html", ".htm"))
    if args.dir is not None:
        obj = json.loads(res.read_text())
        png = obj.get("files", {}).get("pareto_png") or str(Path(args.dir) / "pareto.png")
        cmd = f"mitchell report {shlex.quote(args.dir)} -o {shlex.quote(args.output)}"
        title = f"Design-space sweep: {args.dir}"
    else:
        obj, plot_pareto = _one_design(args)
        import tempfile
        tmp = tempfile.mkdtemp()
        png = plot_pareto(obj["rows"], os.path.join(tmp, "pareto.png"),
                          title=f"{obj['rows'][0]['label']}: accuracy against cost")
        r = obj["rows"][0]
        cmd = (f"mitchell report --design {r['design']} --width {r['width']} --stages {r['stages']}"
               + (" --signed" if r["signed"] else "") + "".join(
                   f" --param {k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in r["params"].items())
               + ("" if obj["sweep"]["fmax"] else " --no-fmax") + (" --nn" if args.nn else "")
               + (" --verify" if args.verify else "") + f" -o {shlex.quote(args.output)}")
        title = f"Design report: {r['label']}"
    path = write_report(obj, args.output, pareto_png=png, title=title, report_command=cmd)
    if args.design is not None:
        import shutil
        shutil.rmtree(os.path.dirname(png), ignore_errors=True)
    failed = len(obj.get("failed") or [])
    emit(args, {"report": path, "configurations": len(obj["rows"]), "failed": failed, "command": cmd},
         f"report: {path} ({len(obj['rows'])} configuration(s), {failed} failed task(s))")
    return 0


def add_parser(sub):
    p = sub.add_parser("report", help="one self-contained HTML page for a sweep folder or one design")
    p.add_argument("dir", nargs="?", default=None, metavar="DIR", help="a folder written by mitchell explore -o DIR")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the page (.html)")
    p.add_argument("--design", default=None, metavar="NAME", help="one design instead of a sweep folder")
    p.add_argument("--width", type=int_in("--width", 2, 32), default=8, help="with --design: width (default 8)")
    p.add_argument("--signed", action="store_true", help="with --design: two's-complement operands")
    p.add_argument("--stages", type=int_in("--stages", 0, 8), default=0, help="with --design: pipeline stages")
    p.add_argument("--op", choices=("mul", "div"), default="mul", help="with --design: operator (default mul)")
    p.add_argument("--param", type=parse_param, action="append", metavar="NAME=V",
                   help="with --design: a design parameter; repeatable")
    p.add_argument("--no-fmax", action="store_true", help="with --design: skip place-and-route (Fmax)")
    p.add_argument("--nn", action="store_true", help="with --design: also the int8 digits MLP accuracy")
    p.add_argument("--verify", action="store_true", help="with --design: also the yosys equivalence proof")
    p.add_argument("--power", action="store_true",
                   help="with --design: also the energy per operation against exact (seeded uniform operands)")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help=cache_help("with --design: result cache",
                                                                              "explore"))
    p.add_argument("--seed", type=int_in("--seed", 0, 2**32 - 1), default=0, help="with --design: seed (default 0)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_report)
