"""``mitchell designs``: every design with its operators, reference and parameters."""

from .common import emit, int_in, refuse


def cmd_designs(args):
    from pymodel.nn import gemm_path
    from pymodel.registry import design_class, designs_info, make_design
    if args.name:
        cls = design_class(args.name)          # an unknown name: the error lists the designs
        if not cls.MIN_WIDTH <= args.width <= min(cls.MAX_WIDTH, 16):
            raise ValueError(f"--width of {args.name} must be in {cls.MIN_WIDTH}..{min(cls.MAX_WIDTH, 16)} here "
                             f"(its figures visit every pair), got {args.width}")
        return cmd_one_design(args)
    refuse(args, ("--width",), "without a design NAME (the list shows every width range)")
    info = designs_info()
    lines = []
    for d in info:
        # the approx_matmul kernel at 16 bits signed (a design's form holds up to there; README, NN section)
        d["gemm_path_s16"] = gemm_path(make_design(d["name"], width=16, signed=True)) if "mul" in d["ops"] else None
        after = " (after the paper: derived from its published description)" if d["derived_from_description"] else ""
        lines.append(f"{d['name']:<12} {', '.join(d['ops']):<8} {d['title']}{after}")
        lines.append(f"{'':<12} {d['reference']}")
        lines.append(f"{'':<12} --width {d['width']['range']} (default 8), --signed"
                     + (f"; approx_matmul kernel at 16 bits signed: {d['gemm_path_s16']}" if d["gemm_path_s16"] else ""))
        for p in d["params"]:
            opt = "--" + p["name"].replace("_", "-")
            lines.append(f"{'':<12} {opt} {p['range']} (default {p['default']}): {p['meaning']}")
    emit(args, {"designs": info}, "\n".join(lines))


def one_design(name, width=8):
    """Design ``name``: its entry of :func:`pymodel.registry.designs_info`, its parameters resolved at
    ``width`` bits, and its error figures there (unsigned, default parameters; every pair)."""
    from pymodel.metrics import error_metrics
    from pymodel.nn import gemm_path
    from pymodel.registry import designs_info, make_design
    d = next(x for x in designs_info() if x["name"] == name)
    cfg = make_design(name, width=width)
    d["defaults_at"] = {"width": width, **{k: v for k, v in cfg.as_dict().items() if k not in ("width", "signed")}}
    d["gemm_path_s16"] = gemm_path(make_design(name, width=16, signed=True)) if "mul" in d["ops"] else None
    d["figures"] = {}
    for op in d["ops"]:
        m = error_metrics(cfg, op, samples=None)        # every pair (width <= 16)
        d["figures"][op] = {k: m[k] for k in ("width", "pairs", "exhaustive", "mred", "bias", "min_re", "max_re", "ep")}
        d["figures"][op]["method"] = m.get("method")
    opts = " ".join(f"--{k.replace('_', '-')} {str(v).lower() if isinstance(v, bool) else v}"
                    for k, v in d["defaults_at"].items() if k != "width")
    d["commands"] = {"errors": f"mitchell errors --design {name} --width {width}",
                     "cost": f"mitchell cost --design {name} --width {width}",
                     "verilog": f"mitchell verilog --design {name} --width {width} {opts} -o {name}.v".replace("  ", " ")}
    if "mul" in d["ops"]:
        d["commands"]["nn"] = f"mitchell nn --design {name}"
    return d


def cmd_one_design(args):
    from .common import ep_text, pct
    d = one_design(args.name, args.width)
    after = " (after the paper: derived from its published description)" if d["derived_from_description"] else ""
    lines = [f"{d['name']}: {d['title']}{after}", f"  reference: {d['reference']}",
             f"  operators: {', '.join('--op ' + o for o in d['ops'])}",
             f"  --width {d['width']['range']} (default 8), --signed (default unsigned)"]
    for p in d["params"]:
        opt = "--" + p["name"].replace("_", "-")
        lines.append(f"  {opt} {p['range']} (default {p['default']}): {p['meaning']}")
    w = d["defaults_at"]["width"]
    lines.append(f"  at {w} bits the defaults are: "
                 + (", ".join(f"{k}={v}" for k, v in d["defaults_at"].items() if k != "width") or "no parameters"))
    if d["gemm_path_s16"]:
        lines.append(f"  approx_matmul kernel at 16 bits signed: {d['gemm_path_s16']}")
    lines.append(f"  figures, unsigned {w}-bit, default parameters, every pair:")
    for op, f in d["figures"].items():
        lines.append(f"    {op}: MRED {pct(f['mred']).lstrip('+')}, bias {pct(f['bias'])}, min/max relative error "
                     f"{pct(f['min_re'])} / {pct(f['max_re'])}, EP {ep_text(f['ep'], 4)} ({f['pairs']} pairs, "
                     f"method {f['method']})")
    lines.append("  more: " + "; ".join(d["commands"].values()))
    emit(args, {"design": d}, "\n".join(lines))


def add_parser(sub):
    p = sub.add_parser("designs", help="list the designs and each one's parameters (or one design: its figures)")
    p.add_argument("name", nargs="?", default=None, metavar="NAME",
                   help="one design: its parameters, defaults and error figures at --width bits")
    p.add_argument("--width", type=int_in("--width", 2, 16), default=8,
                   help="with NAME: the width of its figures, 2..16 (default 8)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_designs)
