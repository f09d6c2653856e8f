"""Design-space exploration: a sweep of designs x widths x parameters x pipeline stages on dask.distributed.

A *sweep* (:func:`load_sweep`, :func:`make_sweep`) expands into configurations (:func:`expand`), each
``{"design", "op", "width", "signed", "stages", "params"}``.  Every configuration gives up to four
tasks, one per metric *kind*:

- ``errors``: :func:`pymodel.metrics.error_metrics` (exact at every width for the multipliers that
  have an exact method, an exhaustive sweep up to 16 bits, else ``samples`` seeded pairs);
- ``cost``: :func:`hdl.cost.cost` (cells, depth, iCE40 LUT4s, Fmax) with the exact baseline of the
  same widths;
- ``nn``: int8 accuracy of the digits MLP (and CNN) with the design's 8-bit signed multiplier;
- ``verify``: :func:`sim.prove.prove`, a yosys equivalence proof of the generated unit against the spec;
- ``power`` (``power = true``): :func:`sim.power.power`, energy per operation against exact on
  :data:`POWER_OPS` seeded uniform operand pairs (combinational units; a pipelined one is "n/a").

Tasks run on a dask ``Client`` (a ``LocalCluster`` or any running scheduler) or, with ``client=None``,
one after the other in this process.  Each task's result is cached under ``cache_dir/<kind>/<key>.json``,
``key`` = SHA-256 of the Verilog text of the unit the metric is about + the flow options + the tool
versions + the kind, so a rerun (or the rest of an interrupted sweep) computes only what is missing.
A task that raises or times out returns its error (not cached, so a rerun retries it); the sweep goes on.
"""

import functools
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

__all__ = ["KINDS", "load_sweep", "make_sweep", "expand", "run_task", "run_sweep", "pareto_flags",
           "write_results", "config_label", "reproduce_commands", "ROW_KEYS", "NotAvailable"]

KINDS = ("errors", "cost", "nn", "verify", "power")
POWER_OPS = 1 << 14        # operand pairs of the power task
CACHE_VERSION = 2          # 2: a pipelined unit's exact baseline is pipelined too (hdl.cost.exact_pipelined_mul)
NN_MODELS = ("mlp", "cnn")
SWEEP_KEYS = {"designs", "widths", "stages", "signed", "op", "params", "fmax", "abc", "nn", "nn_models", "verify",
              "samples", "seed", "timeout", "power"}
ERROR_KEYS = ("pairs", "exhaustive", "method", "mred", "bias", "min_re", "max_re", "mae", "wce", "nmed", "ep", "mse")
COST_KEYS = ("cells", "depth", "ice40_luts", "fmax_mhz")


class NotAvailable(Exception):
    """A task that cannot run for a configuration (no hardware specification to prove against): recorded
    with status ``"n/a"``, not as a failure."""


# -- the sweep ------------------------------------------------------------------------------------------------

def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def make_sweep(*, designs, widths, stages=(0,), signed=(False,), op="mul", params=None, fmax=True, abc="fast",
               nn=False, nn_models=("mlp",), verify=False, samples=1 << 20, seed=0, timeout=None, power=False):
    """A sweep dict, checked (:func:`check_sweep`): every option as a list where it can vary."""
    sw = {"designs": _as_list(designs), "widths": _as_list(widths), "stages": _as_list(stages),
          "signed": _as_list(signed), "op": op, "params": {k: _as_list(v) for k, v in (params or {}).items()},
          "fmax": bool(fmax), "abc": abc, "nn": bool(nn), "nn_models": _as_list(nn_models), "verify": bool(verify),
          "samples": samples, "seed": seed, "timeout": timeout, "power": bool(power)}
    check_sweep(sw, where="")
    return sw


def load_sweep(path):
    """The sweep of TOML file ``path`` (format in the README: ``designs``, ``widths``, ``stages``,
    ``signed``, ``op``, ``[params]`` NAME = [values], flow options); unknown keys are refused."""
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"--sweep {path}: not valid TOML: {e}") from None
    unknown = sorted(set(data) - SWEEP_KEYS)
    if unknown:
        raise ValueError(f"--sweep {path}: unknown key {unknown[0]!r}; the keys are: {', '.join(sorted(SWEEP_KEYS))}")
    if "designs" not in data or "widths" not in data:
        raise ValueError(f"--sweep {path}: needs 'designs' and 'widths'")
    if not isinstance(data.get("params", {}), dict):
        raise ValueError(f"--sweep {path}: [params] must be a table of NAME = [values]")
    try:
        return make_sweep(**data)
    except ValueError as e:
        raise ValueError(f"--sweep {path}: {e}") from None


def check_sweep(sw, where=""):
    """Every value against the registry and each design's :class:`Param`, before any work."""
    from pymodel.registry import DESIGNS, design_class
    if sw["op"] not in ("mul", "div"):
        raise ValueError(f"op must be 'mul' or 'div', got {sw['op']!r}")
    if not sw["designs"]:
        raise ValueError("designs: give at least one design")
    for d in sw["designs"]:
        if d not in DESIGNS:
            raise ValueError(f"designs: unknown design {d!r}; the designs are: {', '.join(DESIGNS)}")
        if sw["op"] not in design_class(d).OPS:
            raise ValueError(f"designs: {d!r} has no op {sw['op']!r} (it has {', '.join(design_class(d).OPS)})")
    for key, lo, hi in (("widths", 2, 32), ("stages", 0, 8)):
        for v in sw[key]:
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{key} must be integers in {lo}..{hi}, got {v!r}")
    for v in sw["signed"]:
        if not isinstance(v, bool):
            raise ValueError(f"signed must be true or false, got {v!r}")
    if sw["abc"] not in ("fast", "full"):
        raise ValueError(f"abc must be 'fast' or 'full', got {sw['abc']!r}")
    for m in sw["nn_models"]:
        if m not in NN_MODELS:
            raise ValueError(f"nn_models must be among {', '.join(NN_MODELS)}, got {m!r}")
    if sw["nn"] and sw["op"] != "mul":
        raise ValueError("nn needs op 'mul' (the networks multiply)")
    if sw["timeout"] is not None and (isinstance(sw["timeout"], bool) or not isinstance(sw["timeout"], (int, float))
                                      or sw["timeout"] <= 0):
        raise ValueError(f"timeout must be a number of seconds > 0, got {sw['timeout']!r}")
    for key in ("samples", "seed"):
        if isinstance(sw[key], bool) or not isinstance(sw[key], int) or sw[key] < (1 if key == "samples" else 0):
            raise ValueError(f"{key} must be an int >= {1 if key == 'samples' else 0}, got {sw[key]!r}")
    # parameters: each must belong to a chosen design, each value in its range at every width it applies to
    for name, values in sw["params"].items():
        owners = [d for d in sw["designs"] if name in design_class(d).param_names()]
        if not owners:
            have = sorted({p for d in sw["designs"] for p in design_class(d).param_names()})
            raise ValueError(f"param {name}: none of the designs {', '.join(sw['designs'])} has it "
                             f"(their parameters: {', '.join(have) or 'none'})")
        if not values:
            raise ValueError(f"param {name}: give at least one value")
        for d in owners:
            prm = next(p for p in design_class(d).PARAMS if p.name == name)
            for w in sw["widths"]:
                for v in values:
                    if prm.type is bool:
                        if not isinstance(v, bool):
                            raise ValueError(f"param {name} of {d} must be true or false, got {v!r}")
                        continue
                    lo, hi = prm.bounds(w)
                    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                        raise ValueError(f"param {name} of {d} at width {w} must be an int in {lo}..{hi}, got {v!r}")
    for d in sw["designs"]:
        cls = design_class(d)
        bad = [w for w in sw["widths"] if not cls.MIN_WIDTH <= w <= cls.MAX_WIDTH]
        if bad:
            raise ValueError(f"widths: {d} takes {cls.MIN_WIDTH}..{cls.MAX_WIDTH}, got {bad[0]}")
    return sw


def expand(sw):
    """The configurations of sweep ``sw``: design x width x signed x the design's own parameter values x stages."""
    from pymodel.registry import design_class
    out = []
    for d in sw["designs"]:
        own = [n for n in design_class(d).param_names() if n in sw["params"]]
        for w in sw["widths"]:
            for s in sw["signed"]:
                for combo in itertools.product(*(sw["params"][n] for n in own)):
                    for st in sw["stages"]:
                        out.append({"design": d, "op": sw["op"], "width": w, "signed": s, "stages": st,
                                    "params": dict(zip(own, combo))})
    return out


def config_label(c):
    """``mbm u8 f5 c6 s2``: short name of a configuration for figures."""
    ps = " ".join(f"{k}={v}" for k, v in c["params"].items())
    return f"{c['design']} {'s' if c['signed'] else 'u'}{c['width']}" + (f" {ps}" if ps else "") + \
        (f" st{c['stages']}" if c["stages"] else "")


def _cfg(c, width=None, signed=None):
    from pymodel.registry import make_design
    return make_design(c["design"], width=c["width"] if width is None else width,
                       signed=c["signed"] if signed is None else signed, **c["params"])


# -- one task -------------------------------------------------------------------------------------------------

def _flow(kind, c, sw):
    """What, besides the Verilog text and the tools, decides task ``kind``'s result."""
    if kind == "errors":
        return {"op": c["op"], "samples": sw["samples"], "seed": sw["seed"]}
    if kind == "cost":
        return {"op": c["op"], "stages": c["stages"], "fmax": sw["fmax"], "abc": sw["abc"]}
    if kind == "nn":
        return {"models": sw["nn_models"], "dataset": "digits", "width": 8, "seed": sw["seed"], "finetune_epochs": 0}
    if kind == "power":
        return {"op": c["op"], "stages": c["stages"], "stream": "uniform", "ops": POWER_OPS, "seed": sw["seed"],
                "abc": sw["abc"]}
    return {"op": c["op"], "stages": c["stages"], "method": "auto"}


def _tools(kind, sw):
    if kind == "cost":
        return _tool_versions(sw["fmax"])
    if kind in ("verify", "power"):
        return _tool_versions(False)
    import numba
    import numpy
    return {"numpy": numpy.__version__, "numba": numba.__version__}


@functools.lru_cache(maxsize=4)
def _tool_versions(fmax):
    """Once per worker process: asking yosys and nextpnr costs two process starts per task otherwise."""
    from hdl.cost import tool_versions
    return tool_versions(fmax)


def _unit_text(kind, c):
    """The Verilog text the metric is about (the 8-bit signed multiplier for ``nn``)."""
    if kind == "nn":
        c = {**c, "width": 8, "signed": True, "op": "mul", "stages": 0}
    elif kind == "errors":
        c = {**c, "stages": 0}
    return _verilog(json.dumps(c, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _verilog(config_json):
    """Generated once per worker process and unit (Amaranth's conversion takes about half a second)."""
    from hdl.verilog import generate
    c = json.loads(config_json)
    return generate(_cfg(c), c["op"], stages=c["stages"])[0]


def task_key(kind, c, sw):
    """Content address of a task: the unit's Verilog text, the flow, the tool versions, the kind."""
    blob = json.dumps([CACHE_VERSION, kind, _unit_text(kind, c), _flow(kind, c, sw), _tools(kind, sw)],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def compute(kind, c, sw, cache_dir):
    """Task ``kind`` of configuration ``c``, uncached: a dict of metrics.  What the task builds on its
    way (synthesis results, the trained float model, prover builds) goes to the user cache
    (:mod:`pymodel.cache`), shared with other sweeps and commands; ``cache_dir`` is not used for it."""
    cfg = _cfg(c)
    if kind == "errors":
        from pymodel.metrics import _pick_method, error_metrics
        # the library's own choice: exact (Mitchell's multiplier, any width), a sweep up to 16 bits, else sampled
        samples = sw["samples"] if _pick_method(cfg, c["op"], None, None) == "sample" else None
        m = error_metrics(cfg, c["op"], samples=samples, seed=sw["seed"])
        method = _pick_method(cfg, c["op"], samples, None)
        return {k: m[k] for k in ERROR_KEYS if k in m} | {"method": method, "seed": None if m["exhaustive"] else sw["seed"]}
    if kind == "cost":
        from hdl.cost import cost
        r = cost(cfg, c["op"], stages=c["stages"], fmax=sw["fmax"], abc=sw["abc"])
        out = {}
        for k in COST_KEYS:
            out[k], out[f"exact_{k}"], out[f"ratio_{k}"] = r["approx"][k], r["exact"][k], r["ratio"][k]
        out["cost_notes"] = "; ".join(f"{c['design'] if d == 'approx' else d}: {n}" for d, n in r["notes"].items()) \
            or None
        out["tools"] = r["tools"]
        return out
    if kind == "nn":
        from pymodel.nn.study import run_study
        mul = _cfg(c, width=8, signed=True)
        out = {}
        for model in sw["nn_models"]:
            r = run_study(dataset="digits", model=model, width=8, finetune_epochs=0, seed=sw["seed"],
                          multiplier=mul)
            out[f"nn_{model}_float32"] = r["accuracy"]["float32"]
            out[f"nn_{model}_int8_exact"] = r["accuracy"]["int8_exact"]
            out[f"nn_{model}_int8"] = r["accuracy"]["int8_mitchell"]
        return out
    if kind == "power":
        if c["stages"]:
            raise NotAvailable("energy is simulated on combinational units (stages 0)")
        from sim.power import power
        r = power(cfg, c["op"], stream="uniform", n=POWER_OPS, seed=sw["seed"], abc=sw["abc"])
        return {"energy_uniform": r["ratio"]["energy"], "edp_uniform": r["ratio"]["edp"],
                "switched_cap_uniform": r["approx"]["switched_cap"],
                "exact_switched_cap_uniform": r["exact"]["switched_cap"]}
    from hdl.spec import check_spec
    from sim.prove import prove
    try:
        check_spec(cfg, c["op"])
    except ValueError as e:
        raise NotAvailable(str(e).split(":")[0]) from None     # "no hardware specification for X yet (hdl/spec.py)"
    r = prove(cfg, c["op"], stages=c["stages"], timeout=sw["timeout"] or 600)
    return {"verify": r["result"], "verify_seconds": r["seconds"],
            "verify_counterexample": json.dumps(r["counterexample"]) if r["counterexample"] else None}


def _compute_in_subprocess(kind, c, sw, cache_dir, timeout):
    """:func:`compute` in a child Python, stopped (with its tools: its own process group) after ``timeout`` s."""
    payload = json.dumps({"kind": kind, "config": c, "sweep": sw, "cache_dir": cache_dir})
    p = subprocess.Popen([sys.executable, "-m", "sim.explore"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         cwd=os.getcwd(), env={**os.environ})
    try:
        out, err = p.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        import signal
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise TimeoutError(f"{kind} timed out after {timeout:g} s (--timeout)") from None
    if p.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RuntimeError(f"{kind} task process failed (exit {p.returncode}): {tail}")
    r = json.loads(out.strip().splitlines()[-1])
    if "not_available" in r:
        raise NotAvailable(r["not_available"])
    if "error" in r:
        raise RuntimeError(r["error"])
    return r["result"]


def run_task(kind, c, sw, cache_dir):
    """One task, through the cache: ``{"kind", "config", "status": "ok"|"error"|"n/a", "cached", "key",
    "result" | "error" | "reason", "seconds"}``.  Never raises: a failure is the result; a task that cannot
    run for the design (:class:`NotAvailable`) has status ``"n/a"`` and its reason."""
    t0 = time.perf_counter()
    base = {"kind": kind, "config": c}
    try:
        key = task_key(kind, c, sw)
        path = Path(cache_dir) / kind / f"{key}.json"
        if path.exists():
            return {**base, "status": "ok", "cached": True, "key": key, "result": json.loads(path.read_text()),
                    "seconds": round(time.perf_counter() - t0, 3)}
        if sw.get("timeout"):
            result = _compute_in_subprocess(kind, c, sw, cache_dir, sw["timeout"])
        else:
            result = compute(kind, c, sw, cache_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result, sort_keys=True))
        os.replace(tmp, path)          # atomic: an interrupted sweep never leaves half a result
        return {**base, "status": "ok", "cached": False, "key": key, "result": result,
                "seconds": round(time.perf_counter() - t0, 3)}
    except NotAvailable as e:
        return {**base, "status": "n/a", "cached": False, "reason": str(e), "seconds": round(time.perf_counter() - t0, 3)}
    except Exception as e:         # noqa: BLE001 -- every failure is recorded, the sweep goes on
        return {**base, "status": "error", "cached": False, "error": f"{type(e).__name__}: {e}",
                "seconds": round(time.perf_counter() - t0, 3)}


# -- the sweep on dask ----------------------------------------------------------------------------------------

def kinds_of(sw):
    return (["errors", "cost"] + (["nn"] if sw["nn"] else []) + (["verify"] if sw["verify"] else [])
            + (["power"] if sw.get("power") else []))


def run_sweep(sw, cache_dir, *, client=None, update=None):
    """Every task of sweep ``sw`` on dask ``client`` (``None``: here, in order); returns (rows, tasks).

    ``update(n)`` is called once per finished task (a progress bar)."""
    configs = expand(sw)
    jobs = [(k, c) for c in configs for k in kinds_of(sw)]
    cache_dir = os.path.abspath(cache_dir)
    tick = update or (lambda n=1: None)
    done = []
    if client is None:
        for k, c in jobs:
            done.append(run_task(k, c, sw, cache_dir))
            tick(1)
    else:
        from dask.distributed import as_completed
        # pure=False: the cache, not dask, decides what is recomputed; a rerun must look at the cache
        futures = {client.submit(run_task, k, c, sw, cache_dir, pure=False, key=f"{k}-{i}-{os.urandom(4).hex()}"):
                   (k, c) for i, (k, c) in enumerate(jobs)}
        for fut in as_completed(list(futures)):
            try:
                done.append(fut.result())
            except Exception as e:     # noqa: BLE001 -- a worker that died (KilledWorker, ...): that task failed
                k, c = futures[fut]
                done.append({"kind": k, "config": c, "status": "error", "cached": False,
                             "error": f"{type(e).__name__}: {e}", "seconds": None})
            tick(1)
    return build_rows(configs, done), done


def build_rows(configs, tasks):
    """One row per configuration, in sweep order: the config, every metric, the status of each task."""
    rows = []
    for i, c in enumerate(configs):
        row = {"id": i, "label": config_label(c), "design": c["design"], "op": c["op"], "width": c["width"],
               "signed": c["signed"], "stages": c["stages"], "params": dict(c["params"])}
        errs, na = {}, {}
        for t in tasks:
            if t["config"] != c:
                continue
            if t["status"] == "ok":
                row.update(t["result"])
            elif t["status"] == "n/a":
                na[t["kind"]] = t["reason"]
            else:
                errs[t["kind"]] = t["error"]
            row[f"{t['kind']}_status"] = t["status"]
        row["errors_of_tasks"] = errs or None
        row["not_available"] = na or None
        row["ok"] = not errs
        rows.append(row)
    return rows


# -- Pareto ---------------------------------------------------------------------------------------------------

def objectives(rows):
    """The objectives (all minimised) that every usable row has: accuracy and cost."""
    cand = [("mred", lambda r: r.get("mred")), ("abs_bias", lambda r: None if r.get("bias") is None else abs(r["bias"])),
            ("cells", lambda r: r.get("cells")), ("ice40_luts", lambda r: r.get("ice40_luts")),
            ("inv_fmax_ns", lambda r: None if not r.get("fmax_mhz") else 1e3 / r["fmax_mhz"]),
            ("energy", lambda r: r.get("energy_uniform"))]
    models = sorted({k[3:-5] for r in rows for k in r if k.startswith("nn_") and k.endswith("_int8")})
    cand += [(f"nn_{m}_loss", lambda r, m=m: None if r.get(f"nn_{m}_int8") is None else 1 - r[f"nn_{m}_int8"])
             for m in models]
    # an objective no row has (Fmax with --no-fmax) is left out; one some rows lack makes those rows ineligible
    return [(n, f) for n, f in cand if any(f(r) is not None for r in rows)]


def pareto_flags(rows):
    """Set ``row["pareto"]``: True for the non-dominated rows (per op) over :func:`objectives`.

    A row with a failed task (``ok`` false), a row missing an objective, and a row whose proof found a
    counterexample are not candidates: they are neither in the set nor dominate others.  A task that is
    not available (``"n/a"``: no spec to prove against) does not exclude a row.  Returns the objective names."""
    objs = objectives(rows)
    for op in {r["op"] for r in rows}:
        group = [r for r in rows if r["op"] == op]
        vecs = {}
        for r in group:
            v = [f(r) for _, f in objs]
            usable = r.get("ok", True) and r.get("verify") != "counterexample" and all(x is not None for x in v)
            vecs[r["id"]] = v if usable else None
        for r in group:
            v = vecs[r["id"]]
            if v is None:
                r["pareto"] = False
                continue
            r["pareto"] = not any(u is not None and all(a <= b for a, b in zip(u, v)) and any(a < b for a, b in zip(u, v))
                                  for u in vecs.values())
    return [n for n, _ in objs]


def front_2d(points):
    """Indices of the 2-D non-dominated points (both minimised), sorted by x."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    out, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            out.append(i)
            best = points[i][1]
    return out


def plot_pareto(rows, path, *, title=""):
    """Accuracy against cost, one panel per pair; filled markers: the Pareto set over every objective;
    the line: each panel's own 2-D front."""
    from matplotlib.figure import Figure
    from pymodel.plots import plain_log_axis
    panels = [("cells", "generic gates (cells)", "mred", "MRED (%)"),
              ("ice40_luts", "iCE40 LUT4", "mred", "MRED (%)"),
              ("cells", "generic gates (cells)", "abs_bias", "|bias| (%)")]
    if any(r.get("fmax_mhz") for r in rows):
        panels.append(("inv_fmax_ns", "1 / Fmax (ns, iCE40 HX8K)", "mred", "MRED (%)"))
    nn = sorted({k for r in rows for k in r if k.startswith("nn_") and k.endswith("_int8") and r[k] is not None})
    if nn:
        model = nn[0][len("nn_"):-len("_int8")].upper()      # nn_mlp_int8 -> MLP
        panels.append(("cells", "generic gates (cells)", nn[0],
                       f"digits {model}: int8 accuracy loss vs float32 (pp)"))
    if len(panels) == 3:
        panels.append(("ice40_luts", "iCE40 LUT4", "abs_bias", "|bias| (%)"))

    def val(r, k):
        if k == "abs_bias":
            return None if r.get("bias") is None else 100 * abs(r["bias"])
        if k == "inv_fmax_ns":
            return None if not r.get("fmax_mhz") else 1e3 / r["fmax_mhz"]
        if k == "mred":
            return None if r.get("mred") is None else 100 * r["mred"]
        if k.startswith("nn_"):
            f = r.get(k.replace("_int8", "_float32"))
            return None if r.get(k) is None or f is None else 100 * (f - r[k])
        return r.get(k)

    fig = Figure(figsize=(14, 10), dpi=100)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(2, 2).ravel()
    designs = list(dict.fromkeys(r["design"] for r in rows))
    markers = "osD^v<>phX*P"
    for ax, (xk, xl, yk, yl) in zip(axes, panels):
        pts = [(r, val(r, xk), val(r, yk)) for r in rows]
        pts = [p for p in pts if p[1] is not None and p[2] is not None]
        for r, x, y in pts:
            i = designs.index(r["design"])
            ax.plot([x], [y], markers[i % len(markers)], ms=9, color=f"C{i % 10}",
                    mfc=f"C{i % 10}" if r.get("pareto") else "none", mew=1.5)
            if r.get("pareto"):
                ax.annotate(r["label"], (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        if yk == "mred" and xk in ("cells", "ice40_luts"):
            # the exact operator of each width: MRED 0 at its cost
            for w in sorted({r["width"] for r in rows}):
                ex = next((r.get(f"exact_{xk}") for r in rows if r["width"] == w and r.get(f"exact_{xk}")), None)
                if ex:
                    ax.plot([ex], [0], "*", ms=14, color="k", mfc="gold")
                    ax.annotate(f"exact {w}-bit", (ex, 0), xytext=(4, 3), textcoords="offset points", fontsize=7)
        if pts:
            f = front_2d([(x, y) for _, x, y in pts])
            ax.step([pts[i][1] for i in f], [pts[i][2] for i in f], where="post", color="k", lw=1, alpha=0.6)
        if xk in ("cells", "ice40_luts") and pts and max(p[1] for p in pts) > 4 * max(1, min(p[1] for p in pts)):
            ax.set_xscale("log")
            plain_log_axis(ax.xaxis)           # plain numbers, not 2 x 10^2
        ax.set_xlabel(xl, fontsize=11)
        ax.set_ylabel(yl, fontsize=11)
        ax.grid(alpha=0.3, which="both")
    for i, d in enumerate(designs):
        axes[0].plot([], [], markers[i % len(markers)], color=f"C{i % 10}", label=d)
    axes[0].plot([], [], "o", color="gray", mfc="gray", label="Pareto set (all objectives)")
    axes[0].plot([], [], "o", color="gray", mfc="none", label="dominated")
    axes[0].plot([], [], "k-", label="2-D front of the panel")
    axes[0].plot([], [], "*", ms=12, color="k", mfc="gold", label="exact operator (MRED 0)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title or f"Design-space sweep: {len(rows)} configurations, accuracy against cost", fontsize=14)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return str(path)


# -- output ---------------------------------------------------------------------------------------------------

ROW_KEYS = ("id", "label", "design", "op", "width", "signed", "stages", "params", "ok", "pareto",
            *(f"{k}_status" for k in KINDS), "errors_of_tasks", "not_available",
            *ERROR_KEYS, "seed", *COST_KEYS, *(f"exact_{k}" for k in COST_KEYS), *(f"ratio_{k}" for k in COST_KEYS),
            "cost_notes", "verify", "verify_seconds", "verify_counterexample", "energy_uniform", "edp_uniform",
            "switched_cap_uniform", "exact_switched_cap_uniform")


def _columns(rows):
    cols = list(ROW_KEYS)
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def _csv_value(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return "" if v is None else v


def write_csv(rows, path, cols=None):
    import csv
    cols = cols or _columns(rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in cols})
    return str(path)


def write_results(obj, out_dir):
    """``results.json`` (everything), ``results.csv`` (one row per configuration), ``pareto.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False, allow_nan=False))
    os.replace(tmp, out / "results.json")
    cols = _columns(obj["rows"])        # one column order for both tables
    write_csv(obj["rows"], out / "results.csv", cols)
    write_csv([r for r in obj["rows"] if r.get("pareto")], out / "pareto.csv", cols)
    (out / "sweep.toml").write_text(sweep_toml(obj["sweep"]))
    return {"sweep": str(out / "sweep.toml"), "json": str(out / "results.json"), "csv": str(out / "results.csv"), "pareto_csv": str(out / "pareto.csv")}


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def sweep_toml(sw):
    """Sweep ``sw`` as the TOML that :func:`load_sweep` reads back."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in sw.items() if k != "params" and v is not None]
    lines += ["", "[params]"] + [f"{k} = {_toml_value(v)}" for k, v in sw["params"].items()]
    return "\n".join(lines) + "\n"


def reproduce_commands(row, sw):
    """The ``mitchell`` commands that reproduce each number of ``row``."""
    opts = f"--design {row['design']} --width {row['width']}" + (" --signed" if row["signed"] else "") + \
        "".join(f" --{k.replace('_', '-')} {str(v).lower() if isinstance(v, bool) else v}"
                for k, v in row["params"].items())
    op = "" if row["op"] == "mul" else f" --op {row['op']}"
    cmds = {"errors": f"mitchell errors{op} {opts}"
                      + ("" if row.get("exhaustive") or row.get("method") == "exact"
                         else f" --samples {sw['samples']} --seed {sw['seed']}"),
            "cost": f"mitchell cost{op} {opts} --stages {row['stages']} --abc {sw['abc']}"
                    + ("" if sw["fmax"] else " --no-fmax")}
    if sw["nn"]:
        nn_opts = f"--design {row['design']}" + "".join(
            f" --{k.replace('_', '-')} {str(v).lower() if isinstance(v, bool) else v}" for k, v in row["params"].items())
        cmds["nn"] = "; ".join(f"mitchell nn --dataset digits --model {m} --width 8 --finetune-epochs 0 "
                               f"--seed {sw['seed']} {nn_opts}" for m in sw["nn_models"])
    if sw["verify"]:
        cmds["verify"] = f"mitchell verify{op} {opts} --stages {row['stages']} --prove"
    if sw.get("power") and not row["stages"]:
        cmds["power"] = (f"mitchell cost{op} {opts} --abc {sw['abc']} --no-fmax --power --ops {POWER_OPS} "
                         f"--seed {sw['seed']}")
    return cmds


if __name__ == "__main__":
    # one task in a child process (run_task with a timeout): JSON in on stdin, JSON out on stdout
    req = json.loads(sys.stdin.read())
    try:
        res = {"result": compute(req["kind"], req["config"], req["sweep"], req["cache_dir"])}
    except NotAvailable as e:
        res = {"not_available": str(e)}
    except Exception as e:         # noqa: BLE001
        res = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(res))
