"""``mitchell explore``: a design-space sweep on dask.distributed, its results table and Pareto set."""

import os
import shlex
import sys
import time

from .common import check_output_dir, emit, int_in, progress, refuse, seed_arg

__all__ = ["cmd_explore", "add_parser", "parse_param", "sweep_from_args"]


def _int_list(option, lo, hi):
    def parse(text):
        import argparse
        try:
            vs = [int(x) for x in str(text).split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a comma list of integers, got {text!r}") from None
        if not vs:
            raise argparse.ArgumentTypeError(f"{option} needs at least one value")
        bad = [v for v in vs if not lo <= v <= hi]
        if bad:
            raise argparse.ArgumentTypeError(f"{option} must be in {lo}..{hi}, got {bad[0]}")
        return vs
    return parse


def parse_param(text):
    """``NAME=V1,V2`` (``frac-bits`` or ``frac_bits``; values ints or true/false) to ``(name, [values])``."""
    import argparse
    name, sep, vals = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not vals.strip():
        raise argparse.ArgumentTypeError(f"--param must be NAME=V1,V2,..., got {text!r}")
    out = []
    for v in vals.split(","):
        v = v.strip().lower()
        if v in ("true", "false"):
            out.append(v == "true")
            continue
        try:
            out.append(int(v))
        except ValueError:
            raise argparse.ArgumentTypeError(f"--param {name}: values must be integers or true/false, got {v!r}") \
                from None
    return name, out


def sweep_from_args(args):
    """The sweep the options (or ``--sweep FILE``) describe, checked against the registry before any work."""
    from sim.explore import check_sweep, load_sweep, make_sweep
    if getattr(args, "widths_old", None) is not None:
        if "--width" in getattr(args, "_given", ()):
            raise ValueError("give --width only (--widths is its old name)")
        print("mitchell explore: --widths is deprecated, use --width", file=sys.stderr)
        args.widths = args.widths_old
    option_sweep = ("--designs", "--width", "--widths", "--stages", "--signed", "--param")
    if args.sweep:
        typed = [o for o in option_sweep if o in getattr(args, "_given", ())]
        if typed:
            raise ValueError(f"{typed[0]} does not apply with --sweep (the file gives the sweep)")
        sw = load_sweep(args.sweep)
        # flow options on the command line override the file's
        if args.no_fmax:
            sw["fmax"] = False
        if args.nn:
            sw["nn"] = True
        if args.verify:
            sw["verify"] = True
        if args.power:
            sw["power"] = True
        if args.timeout is not None:
            sw["timeout"] = args.timeout
        if "--nn-models" in getattr(args, "_given", ()):
            if not sw["nn"]:
                raise ValueError("--nn-models does not apply without --nn (nor nn = true in the sweep file)")
            sw["nn_models"] = args.nn_models.split(",")
            try:
                check_sweep(sw, where="")
            except ValueError as e:
                raise ValueError(str(e).replace("nn_models", "--nn-models", 1)) from None
        return sw
    if not args.designs:
        raise ValueError("--designs is required (or --sweep FILE)")
    if not args.nn:
        refuse(args, ("--nn-models",), "without --nn (the models of the NN accuracy task)")
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    params = {}
    for name, vals in args.param or []:
        params.setdefault(name, []).extend(vals)
    try:
        return make_sweep(designs=designs, widths=args.widths, stages=args.stages, signed=[bool(args.signed)],
                          op=args.op, params=params, fmax=not args.no_fmax, abc=args.abc, nn=args.nn,
                          verify=args.verify, samples=args.samples, seed=args.seed, timeout=args.timeout,
                          nn_models=args.nn_models.split(","), power=args.power)
    except ValueError as e:
        msg = str(e)
        for key, opt in (("designs", "--designs"), ("widths", "--width"), ("stages", "--stages"),
                         ("param ", "--param "), ("nn_models", "--nn-models"), ("op ", "--op "),
                         ("timeout", "--timeout")):
            if msg.startswith(key):
                msg = opt + msg[len(key):]
                break
        raise ValueError(msg) from None


def _client(args):
    """A dask Client: on ``--scheduler`` ADDRESS, or a new LocalCluster of ``--workers`` processes."""
    from dask.distributed import Client, LocalCluster
    if args.scheduler:
        try:
            return Client(args.scheduler, timeout=args.connect_timeout), None
        except (OSError, TimeoutError) as e:
            raise ValueError(f"--scheduler {args.scheduler}: cannot connect: {e}") from None
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    return Client(cluster), cluster


def explore(args, sw):
    from sim.explore import expand, kinds_of, pareto_flags, plot_pareto, run_sweep, write_results
    from hdl.cost import tool_versions
    out = args.output
    cache = os.path.join(out, "cache")
    n_tasks = len(expand(sw)) * len(kinds_of(sw))
    t0 = time.perf_counter()
    client = cluster = None
    try:
        if args.workers == 0 and not args.scheduler:
            engine = "in-process"
        else:
            client, cluster = _client(args)
            engine = args.scheduler or f"LocalCluster({args.workers} workers)"
        t_start = time.perf_counter() - t0
        with progress(args, total=n_tasks, desc="explore (tasks)", unit="task") as update:
            rows, tasks = run_sweep(sw, cache, client=client, update=update)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - t0
    objs = pareto_flags(rows)
    failed = [{"kind": t["kind"], "config": t["config"], "error": t["error"]} for t in tasks if t["status"] == "error"]
    na = [{"kind": t["kind"], "config": t["config"], "reason": t["reason"]} for t in tasks if t["status"] == "n/a"]
    hits = sum(t["cached"] for t in tasks)
    obj = {"command": sweep_command(sw, out),
           "sweep": sw, "engine": engine, "configurations": len(rows), "tasks": len(tasks),
           "cache": {"dir": cache, "hits": hits, "computed": len(tasks) - hits - len(failed) - len(na)},
           "failed": failed, "not_available": na, "wall_seconds": round(wall, 2), "cluster_start_seconds": round(t_start, 2),
           "load_average": list(os.getloadavg()), "tools": tool_versions(sw["fmax"]), "objectives": objs,
           "rows": rows}
    obj["files"] = write_results(obj, out)
    if any(r.get("pareto") for r in rows) or rows:
        obj["files"]["pareto_png"] = plot_pareto(rows, os.path.join(out, "pareto.png"))
        write_results(obj, out)
    return obj


def sweep_command(sw, out):
    """The ``mitchell explore`` command line of sweep ``sw`` (its flow options included)."""
    parts = ["mitchell", "explore", "--designs", ",".join(sw["designs"]), "--width", ",".join(map(str, sw["widths"])),
             "--stages", ",".join(map(str, sw["stages"]))]
    if sw["signed"] not in ([False], [True]):
        return None             # both signednesses: only a sweep file (DIR/sweep.toml) says that
    if sw["signed"] == [True]:
        parts.append("--signed")
    if sw["op"] != "mul":
        parts += ["--op", sw["op"]]
    for k, vs in sw["params"].items():
        parts += ["--param", f"{k}=" + ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in vs)]
    if not sw["fmax"]:
        parts.append("--no-fmax")
    if sw["abc"] != "fast":
        parts += ["--abc", sw["abc"]]
    if sw["nn"]:
        parts += ["--nn", "--nn-models", ",".join(sw["nn_models"])]
    if sw["verify"]:
        parts.append("--verify")
    if sw.get("power"):
        parts.append("--power")
    parts += ["--samples", str(sw["samples"]), "--seed", str(sw["seed"])]
    if sw["timeout"]:
        parts += ["--timeout", f"{sw['timeout']:g}"]
    return " ".join(shlex.quote(p) for p in parts + ["-o", out])


def _table(obj):
    energy = any("energy_uniform" in r for r in obj["rows"])
    lines = [f"{'configuration':<32} {'MRED':>9} {'bias':>9} {'cells':>6} {'exact':>6} {'LUT4':>5} {'Fmax':>6}"
             + (f" {'energy':>6}" if energy else "") + "  pareto"]
    for r in obj["rows"]:
        def f(k, fmt):
            return "-" if r.get(k) is None else fmt.format(r[k])
        lines.append(f"{r['label'][:32]:<32} {f('mred', '{:.3%}'):>9} {f('bias', '{:+.3%}'):>9} {f('cells', '{}'):>6} "
                     f"{f('exact_cells', '{}'):>6} {f('ice40_luts', '{}'):>5} {f('fmax_mhz', '{:.1f}'):>6}"
                     + (f" {f('energy_uniform', '{:.0%}'):>6}" if energy else "") + "  "
                     f"{'FAILED' if not r['ok'] else ('*' if r.get('pareto') else '')}")
    for t in obj["failed"]:
        lines.append(f"failed: {t['kind']} of {t['config']['design']} w{t['config']['width']}: {t['error'].splitlines()[0]}")
    for t in obj.get("not_available", []):
        lines.append(f"not available: {t['kind']} of {t['config']['design']} w{t['config']['width']}: {t['reason']}")
    c = obj["cache"]
    na = len(obj.get("not_available", []))
    lines.append(f"{obj['configurations']} configurations, {obj['tasks']} tasks on {obj['engine']}: {c['hits']} from the "
                 f"cache, {c['computed']} computed, {len(obj['failed'])} failed" + (f", {na} not available" if na else "")
                 + f"; {obj['wall_seconds']} s")
    lines.append("written: " + ", ".join(obj["files"].values()))
    return "\n".join(lines)


def cmd_explore(args):
    sw = sweep_from_args(args)            # every value checked before a cluster starts
    if args.scheduler and "--workers" in getattr(args, "_given", ()):
        raise ValueError("--workers does not apply with --scheduler (the cluster has its workers)")
    check_output_dir("-o", args.output)
    print(f"seed: {sw['seed']}", file=sys.stderr)
    obj = explore(args, sw)
    emit(args, obj, _table(obj))
    return 0


def add_parser(sub):
    p = sub.add_parser("explore", help="design-space sweep on dask: errors, cost, NN, verification; Pareto set")
    p.add_argument("--sweep", metavar="FILE", default=None, help="the sweep as a TOML file (docs/exploration.md: sweep file format)")
    p.add_argument("--designs", default=None, metavar="NAME[,NAME]", help="designs, a comma list")
    p.add_argument("--width", type=_int_list("--width", 2, 32), default=[8], dest="widths",
                   help="widths, a comma list, 2..32 (default 8)")
    # the old name, still read (with a warning): every other command takes --width
    p.add_argument("--widths", type=_int_list("--widths", 2, 32), default=None, dest="widths_old",
                   help=argparse_suppress())
    p.add_argument("--stages", type=_int_list("--stages", 0, 8), default=[0],
                   help="pipeline stages, a comma list, 0..8 (default 0)")
    p.add_argument("--signed", action="store_true", help="two's-complement operands")
    p.add_argument("--op", choices=("mul", "div"), default="mul", help="operator (default mul)")
    p.add_argument("--param", type=parse_param, action="append", metavar="NAME=V1,V2",
                   help="sweep a design parameter (`mitchell designs` lists them); repeatable")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="results, figures and the cache go here")
    p.add_argument("--no-fmax", action="store_true", help="skip place-and-route (Fmax)")
    p.add_argument("--abc", choices=("fast", "full"), default="fast", help="ABC script (default fast)")
    p.add_argument("--nn", action="store_true", help="also the int8 digits NN accuracy (8-bit signed multiplier)")
    p.add_argument("--nn-models", default="mlp", help="NN models, a comma list of mlp,cnn (default mlp)")
    p.add_argument("--verify", action="store_true", help="also the verification status (yosys equivalence proof)")
    p.add_argument("--power", action="store_true",
                   help="also the energy per operation against exact (16384 seeded uniform pairs; combinational units)")
    p.add_argument("--samples", type=int_in("--samples", 1, 1 << 30), default=1 << 20,
                   help="sampled pairs where no exact or exhaustive error method applies (default 2^20)")
    seed_arg(p, "seed of the sampled errors, the NN training and --power's operands")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="stop a task after S seconds (it is recorded as failed); each task then runs in its own process")
    p.add_argument("--workers", type=int_in("--workers", 0, 256), default=2,
                   help="worker processes of the LocalCluster (default 2; 0: no dask, in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running dask scheduler (tcp://host:8786) instead of a LocalCluster")
    p.add_argument("--connect-timeout", type=float, default=30, help=argparse_suppress())
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_explore)


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS
