"""``mitchell designs``: every design with its operators, reference and parameters."""

from .common import emit


def cmd_designs(args):
    from pymodel.nn import gemm_path
    from pymodel.registry import designs_info, make_design
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


def add_parser(sub):
    p = sub.add_parser("designs", help="list the designs and each one's parameters")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=cmd_designs)
