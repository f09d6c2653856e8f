"""``mitchell verilog``: write the Verilog of a design."""

from .common import add_config_args, check_output_path, config, emit, int_in


def cmd_verilog(args):
    from hdl.verilog import generate, ports_of
    cfg = config(args)
    check_output_path("--output", args.output, suffixes=(".v", ".sv"))
    text, comp, name = generate(cfg, args.op, stages=args.stages, name=args.name)
    with open(args.output, "w") as f:
        f.write(text)
    ports = ports_of(comp)
    obj = {"file": args.output, "module": name, "op": args.op, "config": cfg.as_dict(),
           "stages": args.stages, "latency": comp.latency, "ports": ports}
    lines = [f"wrote {args.output}: module {name}, latency {comp.latency} cycle(s)"]
    lines += [f"  {p['direction']:<3} {'signed' if p['signed'] else 'unsigned':<8} [{p['width']:>2}] {p['name']}"
              for p in ports]
    emit(args, obj, "\n".join(lines))


def add_parser(sub):
    p = sub.add_parser("verilog", help="write the Verilog of a multiplier or divider")
    add_config_args(p)
    p.add_argument("--stages", type=int_in("--stages", 0, 8), default=0,
                   help="pipeline registers, 0..8 (0: combinational)")
    p.add_argument("--name", default=None, help="module name (default encodes the parameters; not a Verilog keyword)")
    p.add_argument("-o", "--output", required=True, help="output .v file (missing folders are created)")
    p.set_defaults(func=cmd_verilog)
