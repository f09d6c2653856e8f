"""onnx's own node test cases run through the importer's float path: per operator, cases passed and refused.

``onnx.backend.test.case.node.collect_testcases()`` generates every node test case of the installed
``onnx`` (model, input arrays, expected outputs; nothing is downloaded).  A case is *claimed* when every
operator in its graph is one the importer builds (:data:`pymodel.nn.onnx_import.SUPPORTED_OPS`, default
domain).  Each claimed case must either pass (every output within ``rtol`` of the expected one, same shape,
integer and bool outputs exactly and in the same dtype; where onnx writes its expected values rounded, within
the case's own tolerance and ``rtol`` of onnxruntime) or be *refused*: an ``OnnxImportError`` at import, or
a ``ValueError`` naming the node at run time.  Anything else is a defect: *wrong* (a number differs) or
*crashed* (another exception).

Run ``python -m pymodel.nn.onnx_conformance`` for the table (``--json`` for the records, ``--op NAME`` for
one operator, ``--show refused`` to list the reasons).
"""

import argparse
import json
import re
import sys
import warnings

import numpy as np

from .onnx_import import SUPPORTED_OPS, OnnxImportError, load_onnx

__all__ = ["collect_cases", "claimed", "run_case", "run_conformance", "summary_table", "OUTCOMES"]

OUTCOMES = ("passed", "refused", "wrong", "crashed")


def collect_cases():
    """Every node test case of the installed onnx (about 10 s: onnx builds each case's model and data)."""
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return list(collect_testcases())


def _graph_ops(graph):
    """(domain, op_type) of every node, subgraphs included."""
    import onnx
    ops = set()
    for node in graph.node:
        ops.add((node.domain or "", node.op_type))
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                ops |= _graph_ops(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for sub in a.graphs:
                    ops |= _graph_ops(sub)
    return ops


def claimed(case):
    """Whether every operator of the case's graph is one the importer accepts."""
    return all(d in ("", "ai.onnx") and op in SUPPORTED_OPS for d, op in _graph_ops(case.model.graph))


def operator_of(case, by_name):
    """The operator a case tests: its single node's, or for an ``_expanded`` case (a function spelled out as
    several nodes), the operator of the case it expands."""
    nodes = case.model.graph.node
    base = re.sub(r"_expanded.*$", "", case.name)
    if base != case.name and base in by_name:
        op = by_name[base]
        # a function op the importer does not build itself, run as the nodes it expands to
        return op if op in SUPPORTED_OPS else f"{op} (expanded)"
    return nodes[0].op_type if nodes else "(none)"


def _close(got, want, rtol):
    """``None`` when ``got`` matches ``want``, else what differs."""
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "biu" or got.dtype.kind in "biu":
        if got.dtype != want.dtype:
            return f"dtype {got.dtype}, expected {want.dtype}"
        if not np.array_equal(got, want):
            return f"{int((got != want).sum())} of {want.size} values differ"
        return None
    if want.dtype.kind != "f" or got.dtype.kind != "f":
        return f"dtype {got.dtype}, expected {want.dtype}"
    # the float path computes float16 in float32: compare at float16's precision there
    tol = max(rtol, 1e-3) if want.dtype.itemsize < 4 else rtol
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if (nan_g != nan_w).any():
        return f"NaN at {int((nan_g != nan_w).sum())} positions where the other has a number"
    ok = ~nan_w
    g, w = g[ok], w[ok]
    inf = np.isinf(w)
    if (g[inf] != w[inf]).any():
        return "infinities differ"
    g, w = g[~inf], w[~inf]
    if not w.size:
        return None
    scale = max(float(np.abs(w).max()), 1.0)
    err = np.abs(g - w)
    bad = err > tol * np.abs(w) + tol * 1e-2 * scale
    if bad.any():
        return f"max error {float(err.max()):.3g} (largest expected value {float(np.abs(w).max()):.3g})"
    return None


def _array(value):
    """A case's input or output as a numpy array (TensorProtos converted; bfloat16 and float8, which numpy
    lacks, as float32), or None for a sequence, map or optional."""
    import onnx
    if isinstance(value, onnx.TensorProto):
        value = onnx.numpy_helper.to_array(value)
    if not isinstance(value, (np.ndarray, np.generic)):
        return None
    value = np.asarray(value)
    if value.dtype.kind not in "biufUSO":          # ml_dtypes' bfloat16, float8, int4 ...
        value = value.astype(np.float32)
    return value


def run_case(case, rtol=1e-4):
    """``(outcome, detail)`` for one claimed case, ``outcome`` one of :data:`OUTCOMES`."""
    try:
        net = load_onnx(case.model)
    except OnnxImportError as e:
        return "refused", str(e)
    except Exception as e:          # noqa: BLE001 - any other exception is the defect being counted
        return "crashed", f"import: {type(e).__name__}: {e}"
    names = [n for n, _, _ in net.inputs]
    graph_inputs = [i.name for i in case.model.graph.input]
    for inputs, outputs in case.data_sets:
        feeds = {}
        for name, value in zip(graph_inputs, inputs):
            if name in names:
                value = _array(value)
                if value is None:
                    return "refused", f"input {name!r} is not a tensor"
                feeds[name] = value
        try:
            with np.errstate(all="ignore"):
                got = net.run_all(feeds)
        except ValueError as e:
            if str(e).startswith("node ") or str(e).startswith("input "):
                return "refused", str(e)
            return "crashed", f"ValueError: {e}"
        except Exception as e:      # noqa: BLE001
            return "crashed", f"{type(e).__name__}: {e}"
        if len(got) != len(outputs):
            return "wrong", f"{len(got)} outputs, expected {len(outputs)}"
        note = ""
        for i, (g, w) in enumerate(zip(got, outputs)):
            w = _array(w)
            if w is None:
                return "refused", f"output {i} is not a tensor"
            diff = _close(g, w, rtol)
            if diff is not None and _close(g, w, max(rtol, case.rtol)) is None:
                # within the case's own tolerance: some expected values are written out rounded (to 4
                # decimals); onnxruntime, an independent implementation, settles it at ``rtol``
                ort = _onnxruntime_output(case, feeds, i)
                if ort is not None and _close(g, ort, rtol) is None:
                    diff, note = None, "expected values rounded; matches onnxruntime"
            if diff is not None:
                return "wrong", f"output {case.model.graph.output[i].name!r}: {diff}"
    return "passed", note


def _onnxruntime_output(case, feeds, i):
    """Output ``i`` of the case's model in onnxruntime (None when it is not installed or cannot run it)."""
    try:
        import onnxruntime
        sess = onnxruntime.InferenceSession(case.model.SerializeToString(), providers=["CPUExecutionProvider"])
        return np.asarray(sess.run(None, feeds)[i])
    except Exception:       # noqa: BLE001 - no second opinion: the case stays wrong
        return None


def run_conformance(cases=None, op=None, rtol=1e-4):
    """A record ``{"case", "operator", "outcome", "detail"}`` per claimed case (of ``op`` only if given)."""
    cases = collect_cases() if cases is None else cases
    by_name = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    records = []
    for case in cases:
        if not claimed(case):
            continue
        operator = operator_of(case, by_name)
        if op is not None and operator != op:
            continue
        outcome, detail = run_case(case, rtol)
        records.append({"case": case.name, "operator": operator, "outcome": outcome, "detail": detail})
    return records


def summary_table(records, markdown=False):
    """Per operator: claimed cases, passed, refused (and wrong, crashed when any)."""
    ops = sorted({r["operator"] for r in records})
    counts = {op: {k: 0 for k in OUTCOMES} for op in ops}
    for r in records:
        counts[r["operator"]][r["outcome"]] += 1
    total = {k: sum(c[k] for c in counts.values()) for k in OUTCOMES}
    cols = ["passed", "refused"] + [k for k in ("wrong", "crashed") if total[k]]
    rows = [(op, sum(c.values()), *[c[k] for k in cols]) for op, c in counts.items()]
    rows.append(("total", len(records), *[total[k] for k in cols]))
    head = ("operator", "cases", *cols)
    if markdown:            # three operators a line, to keep the table short
        per, k = len(head), 3
        body = rows[:-1]
        n_lines = -(-len(body) // k)
        lines = ["| " + " | ".join(head * k) + " |", "|" + ("---|" + "---:|" * (per - 1)) * k]
        for i in range(n_lines):
            cells = []
            for j in range(k):
                r = body[j * n_lines + i] if j * n_lines + i < len(body) else ("",) * per
                cells += [str(v) for v in r]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("| " + " | ".join(f"**{v}**" for v in rows[-1]) + " |" + " |" * (per * (k - 1)))
    else:
        lines = [f"{head[0]:<34}" + "".join(f"{h:>9}" for h in head[1:])]
        lines += [f"{r[0]:<34}" + "".join(f"{v:>9}" for v in r[1:]) for r in rows]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m pymodel.nn.onnx_conformance", description=__doc__.split("\n")[0])
    p.add_argument("--op", default=None, help="one operator only (e.g. Conv)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    p.add_argument("--show", choices=OUTCOMES, action="append", default=None,
                   help="also list the cases with this outcome and why (repeatable)")
    p.add_argument("--markdown", action="store_true", help="the table in Markdown")
    p.add_argument("--json", action="store_true", help="print one JSON object with every record")
    args = p.parse_args(argv)
    if not 0 < args.rtol < 1:
        p.error(f"--rtol must be in (0, 1), got {args.rtol}")
    cases = collect_cases()
    if args.op is not None and args.op not in SUPPORTED_OPS:
        p.error(f"--op {args.op!r} is not an operator the importer supports ({', '.join(SUPPORTED_OPS)})")
    records = run_conformance(cases, op=args.op, rtol=args.rtol)
    if args.json:
        print(json.dumps({"onnx_cases": len(cases), "claimed": len(records), "records": records}, indent=1))
    else:
        import onnx
        print(f"onnx {onnx.__version__}: {len(cases)} node test cases, {len(records)} claimed "
              "(every operator supported)")
        print(summary_table(records, markdown=args.markdown))
        for r in records:
            if args.show and r["outcome"] in args.show:
                print(f"{r['outcome']:>8} {r['case']}: {r['detail']}")
    bad = [r for r in records if r["outcome"] in ("wrong", "crashed")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
