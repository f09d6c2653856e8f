"""Import an ONNX model into the numpy executor (:class:`pymodel.nn.onnx_exec.OnnxNet`).

The ``onnx`` package only parses the file; the arithmetic is :mod:`pymodel.nn.onnx_ops`
and :mod:`pymodel.nn.onnx_exec`.  At import: only the nodes the graph outputs need are kept, in
dependency order; initializers and ``Constant`` nodes become constants, nodes whose inputs are all
constant are evaluated once, BatchNormalization right after a Conv or Gemm (sole consumer) is folded
into its weights and bias.  Each operator has one builder in a table; its keys are
:data:`SUPPORTED_OPS`.  An operator, domain, tensor type or attribute value outside them is refused
with the node's name and op type, never run wrong.
"""

import os

import numpy as np

from . import onnx_ops as K
from .onnx_exec import ConvStep, DynConvStep, DynMatMulStep, LinearStep, OnnxNet, Step, _MacStep

__all__ = ["load_onnx", "OnnxImportError", "SUPPORTED_OPS"]


class OnnxImportError(ValueError):
    """The model uses something the importer does not support (or is not a valid ONNX file)."""


class _Attrs:
    """A node's attributes; ``take`` each known one, ``done`` refuses the rest."""

    def __init__(self, node):
        import onnx
        self.node = node
        self.values = {}
        for a in node.attribute:
            v = onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, onnx.TensorProto):
                v = onnx.numpy_helper.to_array(v)
            self.values[a.name] = v
        self.given = dict(self.values)      # every attribute as given (the backward pass reads them)

    def take(self, name, default=None):
        return self.values.pop(name, default)

    def refuse(self, what):
        raise OnnxImportError(f"node {self.node.name!r} ({self.node.op_type}): {what} is not supported")

    def done(self):
        if self.values:
            name, v = next(iter(self.values.items()))
            self.refuse(f"attribute {name}={v!r}")


def _float(a):
    """Constants as the executor holds them: float16 (and other narrow floats) as float32; every other
    dtype (float32, float64, integers, bool) as it is."""
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.kind == "f" and a.dtype.itemsize < 4 else a


_TENSOR_TYPES = {"BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
                 "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
                 "FLOAT16": np.float32, "BFLOAT16": np.float32, "FLOAT": np.float32, "DOUBLE": np.float64}


def _np_dtype(elem_type, what):
    """The numpy dtype the executor uses for an ONNX tensor type (float16 and bfloat16 compute as float32;
    no float8, 4-bit, string or complex tensors)."""
    import onnx
    if elem_type == onnx.TensorProto.UNDEFINED:
        return np.dtype(np.float32)
    name = onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() \
        else str(elem_type)
    if name not in _TENSOR_TYPES:
        raise OnnxImportError(f"{what}: tensor type {name} is not supported (only bool, integers, float16, "
                              "bfloat16, float32, float64)")
    return np.dtype(_TENSOR_TYPES[name])


def _node_name(node, i):
    return node.name or f"{node.op_type}_{i}"


def load_onnx(source, outputs=None):
    """An :class:`OnnxNet` from a ``.onnx`` path or an ``onnx.ModelProto``.

    Parameters
    ----------
    source : path of a .onnx file, or an ``onnx.ModelProto``
    outputs : names of the graph outputs to compute (default all, the first being what ``forward``
        returns); only the nodes they need are imported, so an output computed by an unsupported
        operator (e.g. a label through ``ai.onnx.ml``) can be left out

    Raises ``OnnxImportError`` naming the node and op type for anything unsupported,
    ``FileNotFoundError`` for a missing file.
    """
    import onnx
    from onnx import numpy_helper
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ONNX model {path} does not exist or is not a file")
        try:
            model = onnx.load(path)
        except Exception as e:        # protobuf's DecodeError and friends
            raise OnnxImportError(f"{path} is not a readable ONNX model: {e}") from None
        if not model.graph.node:
            raise OnnxImportError(f"{path} is not an ONNX model (no graph nodes)")
    else:
        model, path = source, "<model>"
    g = model.graph
    opset = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
    if opset is None:
        raise OnnxImportError(f"{path}: no default-domain opset in the model")
    consts = {t.name: _float(numpy_helper.to_array(t)) for t in g.initializer}
    if not g.output:
        raise OnnxImportError(f"{path}: the graph has no output")
    all_outputs = [o.name for o in g.output]
    if outputs is not None:
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        unknown = [o for o in outputs if o not in all_outputs]
        if unknown or not outputs:
            raise OnnxImportError(f"{path}: outputs {unknown or outputs} are not graph outputs (the graph's "
                                  f"outputs: {', '.join(all_outputs)})")
    selected = [o for o in g.output if outputs is None or o.name in outputs]
    if outputs is not None:
        selected.sort(key=lambda o: outputs.index(o.name))
    needs = {o.name: _needed_nodes(g, [o.name]) for o in g.output}
    needed = set().union(*(needs[o.name] for o in selected))
    fed = {name for i in needed for name in g.node[i].input} | {o.name for o in selected}
    data_inputs = [i for i in g.input if i.name not in consts and i.name in fed]
    for v in list(data_inputs) + list(selected):
        if not v.type.HasField("tensor_type"):
            raise OnnxImportError(f"{path}: {'input' if v in data_inputs else 'output'} {v.name!r} is a "
                                  f"{v.type.WhichOneof('value')}, which is not supported (only tensors)")
    inputs = []
    for inp in data_inputs:
        dims = inp.type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        inputs.append((inp.name, shape, _np_dtype(inp.type.tensor_type.elem_type, f"{path}: input {inp.name!r}")))
    for out in selected:
        _np_dtype(out.type.tensor_type.elem_type, f"{path}: output {out.name!r}")
    output_name = selected[0].name
    # element types (float16/bfloat16 tensors are held as float32: CastLike needs the declaration; an integer
    # MatMul stays integer) and ranks, as declared or as onnx's shape inference finds them
    value_info = list(g.value_info)
    try:
        value_info += list(onnx.shape_inference.infer_shapes(model).graph.value_info)
    except Exception:       # noqa: BLE001 - inference is a help, not a requirement
        pass
    declared = [v for v in list(g.input) + value_info + list(g.output) if v.type.HasField("tensor_type")]
    types = {v.name: v.type.tensor_type.elem_type for v in declared if v.type.tensor_type.elem_type}
    types.update({t.name: t.data_type for t in g.initializer})
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in declared if v.type.tensor_type.HasField("shape")}
    consumers = {}
    for node in (g.node[i] for i in needed):
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in selected}

    def used(name):
        return bool(name) and (name in consumers or name in graph_outputs)

    steps = []
    for i in _topological(g, needed, set(consts) | {v.name for v in data_inputs}, path):
        node = g.node[i]
        try:
            if node.domain not in ("", "ai.onnx"):
                raise OnnxImportError(f"node {_node_name(node, i)!r} ({node.op_type}): operator domain "
                                      f"{node.domain!r} is not supported")
            if node.op_type not in _BUILDERS:
                raise OnnxImportError(f"node {_node_name(node, i)!r} ({node.op_type}): operator {node.op_type} is "
                                      f"not supported (supported: {', '.join(SUPPORTED_OPS)})")
            at = _Attrs(node)
            at.node.name = _node_name(node, i)
            try:
                built = _BUILDERS[node.op_type](_Node(node, at, consts, opset, used, types, ranks))
            except (ValueError, TypeError, IndexError, KeyError) as e:     # a malformed attribute or input
                if isinstance(e, OnnxImportError):
                    raise
                raise OnnxImportError(f"node {at.node.name!r} ({node.op_type}): cannot import it, "
                                      f"{type(e).__name__}: {e}") from None
            at.done()
        except OnnxImportError as e:
            others = [o.name for o in selected if i not in needs[o.name]]
            if not others:
                raise
            mine = [o.name for o in selected if i in needs[o.name]]
            raise OnnxImportError(f"{e}; it computes {', '.join(mine)}, which the outputs {', '.join(others)} "
                                  f"do not need: load those alone (load_onnx(..., outputs=[...]), "
                                  f"--output on the command line)") from None
        for step in built if isinstance(built, list) else [] if built is None else [built]:
            if not isinstance(step, _MacStep) and all((not n) or n in consts for n in step.inputs):
                try:
                    outs = step.run([consts[n] if n else None for n in step.inputs], None)
                except (ValueError, IndexError) as e:
                    raise OnnxImportError(f"node {step.name!r} ({step.op}): {e}") from None
                consts.update({n: _float(v) for n, v in zip(step.outputs, outs) if n})
                continue
            steps.append(step)
    steps = _fold_batch_norm(steps, consts, graph_outputs)
    output_names = [o.name for o in selected]
    steps = _live(steps, output_names)
    computed = {o for s in steps for o in s.outputs} | set(consts) | {i.name for i in data_inputs}
    for name in output_names:
        if name not in computed:
            raise OnnxImportError(f"{path}: the graph output {name!r} is not computed by any node")
    first = inputs[0] if inputs else (None, (), np.dtype(np.float32))
    net = OnnxNet(steps=steps, consts=consts, input_name=first[0], input_shape=first[1], input_dtype=first[2],
                   inputs=inputs, output_names=output_names,
                   output_name=output_name, opset=opset, source=path)
    net.metadata = {p.key: p.value for p in model.metadata_props}      # e.g. stored activation ranges
    return net


def _topological(g, needed, available, path):
    """The ``needed`` node indices in an order where every input is computed before it is used (the file's
    order when it already is one, as ONNX requires; exporters do not always keep it)."""
    producer = {}
    for i in needed:
        for o in g.node[i].output:
            if o:
                producer[o] = i
    waiting = {i: {producer[n] for n in g.node[i].input if n and n not in available and n in producer}
               for i in needed}
    for i in sorted(needed):
        for n in g.node[i].input:
            if n and n not in available and n not in producer:
                raise OnnxImportError(f"{path}: node {_node_name(g.node[i], i)!r} ({g.node[i].op_type}) reads "
                                      f"{n!r}, which no node, initializer or graph input provides")
    users = {}
    for i, deps in waiting.items():
        for d in deps:
            users.setdefault(d, []).append(i)
    import heapq
    ready = [i for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users.get(i, ()):
            waiting[u].discard(i)
            if not waiting[u]:
                heapq.heappush(ready, u)
    if len(order) != len(needed):
        stuck = sorted(set(needed) - set(order))[0]
        raise OnnxImportError(f"{path}: node {_node_name(g.node[stuck], stuck)!r} ({g.node[stuck].op_type}) is "
                              "in a cycle of the graph")
    return order


def _needed_nodes(g, names):
    """Indices of the nodes that ``names`` depend on."""
    producer = {o: i for i, node in enumerate(g.node) for o in node.output if o}
    todo, out = list(names), set()
    while todo:
        i = producer.get(todo.pop())
        if i is not None and i not in out:
            out.add(i)
            todo.extend(n for n in g.node[i].input if n)
    return out


def _const(at, consts, name, what):
    if name not in consts:
        at.refuse(f"a computed (non-constant) {what} input {name!r}")
    return consts[name]


def _ints(v, n, default):
    return [default] * n if v is None else [int(x) for x in v]


def _geometry(at, nd, kernel, *, dilations=True):
    """strides, dilations, pads and auto_pad, as 2-D lists (a 1-D op gets height 1)."""
    auto_pad = at.take("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        at.refuse(f"auto_pad={auto_pad!r}")
    strides = _ints(at.take("strides"), nd, 1)
    dil = _ints(at.take("dilations") if dilations else None, nd, 1)
    pads = _ints(at.take("pads"), 2 * nd, 0)
    if len(strides) != nd or len(dil) != nd or len(pads) != 2 * nd:
        at.refuse(f"strides/dilations/pads lengths {len(strides)}/{len(dil)}/{len(pads)} for a {nd}-D kernel")
    if min(strides + dil) < 1 or min(pads) < 0:
        at.refuse(f"strides {strides}, dilations {dil}, pads {pads}")
    if nd == 1:
        strides, dil, pads, kernel = [1] + strides, [1] + dil, [0, pads[0], 0, pads[1]], [1] + list(kernel)
    return list(kernel), strides, dil, pads, auto_pad


class _Node:
    """What a builder sees of one node: its attributes (``at``), inputs, outputs and the constants so far."""

    def __init__(self, node, at, consts, opset, used, types=None, ranks=None):
        self.node, self.at, self.consts, self.opset, self.used = node, at, consts, opset, used
        self.types = types or {}          # declared ONNX element type of the tensors whose type the graph states
        self.ranks = ranks or {}          # and their declared rank
        self.op, self.name = node.op_type, node.name
        self.ins, self.outs = list(node.input), list(node.output)

    def step(self, fn, inputs=None, outputs=None):
        s = Step(self.name, self.op, self.ins if inputs is None else inputs,
                 self.outs[:1] if outputs is None else outputs, fn)
        s.attrs, s.opset = self.at.given, self.opset       # for pymodel.nn.onnx_grad
        return s

    def refuse(self, what):
        self.at.refuse(what)

    def const(self, i, what):
        """Input ``i``, which must be a constant (initializer, Constant or folded)."""
        return _const(self.at, self.consts, self.ins[i], what)

    def has(self, i):
        return len(self.ins) > i and bool(self.ins[i])

    def only_first_output(self, what):
        for extra in self.outs[1:]:
            if self.used(extra):
                self.refuse(f"the {what} output {extra!r}")


# op type -> builder(_Node) returning a Step, or None for a node that only adds constants.  The operators the
# importer accepts are exactly this table's keys (SUPPORTED_OPS, and the "supported:" list of the error).
_BUILDERS = {}


def _op(*names):
    def register(fn):
        for name in names:
            _BUILDERS[name] = fn
        return fn
    return register


@_op("Constant")
def _constant(n):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        v = n.at.take(key)
        if v is not None:
            n.consts[n.outs[0]] = _float(np.asarray(v, np.float32 if "float" in key else np.int64 if "int" in key
                                                    else None))
            return None
    n.refuse("a Constant without a value/value_float(s)/value_int(s)")


@_op("Conv")
def _conv(n):
    if n.ins[1] not in n.consts or (n.has(2) and n.ins[2] not in n.consts):
        return _dyn_conv(n)
    W = n.const(1, "weight")
    b = n.const(2, "bias") if n.has(2) else None
    if W.ndim not in (3, 4):
        n.refuse(f"a {W.ndim - 2}-D convolution (only 1-D and 2-D)")
    nd = W.ndim - 2
    ks = n.at.take("kernel_shape")
    if ks is not None and list(ks) != list(W.shape[2:]):
        n.refuse(f"kernel_shape={list(ks)} with weights of shape {W.shape}")
    group = int(n.at.take("group", 1))
    if group < 1 or W.shape[0] % group:
        n.refuse(f"group={group} with {W.shape[0]} output channels")
    kernel, strides, dil, pads, auto_pad = _geometry(n.at, nd, W.shape[2:])
    return ConvStep(n.name, n.ins[:1], n.outs, W[:, :, None, :] if nd == 1 else W, b, group=group, strides=strides,
                    dilations=dil, pads=pads, auto_pad=auto_pad, one_d=nd == 1)


def _dyn_conv(n):
    """Conv whose weights (or bias) are computed tensors: the kernel rank from kernel_shape or the
    declared rank of the weights."""
    ks = n.at.take("kernel_shape")
    rank = n.ranks.get(n.ins[1])
    nd = len(ks) if ks is not None else rank - 2 if rank else None
    if nd not in (1, 2):
        n.refuse(f"computed weights {n.ins[1]!r} of a {nd}-D convolution" if nd else
                 f"computed weights {n.ins[1]!r} without kernel_shape or a declared rank")
    group = int(n.at.take("group", 1))
    if group < 1:
        n.refuse(f"group={group}")
    kernel, strides, dil, pads, auto_pad = _geometry(n.at, nd, ks if ks is not None else [1] * nd)
    return DynConvStep(n.name, n.ins[:3], n.outs, kernel_shape=None if ks is None else list(ks), group=group,
                       strides=strides, dilations=dil, pads=pads, auto_pad=auto_pad, one_d=nd == 1)


def _is_int(n, name):
    """Whether tensor ``name`` is known to be an integer tensor (a constant, or by its declared type)."""
    import onnx
    if name in n.consts:
        return n.consts[name].dtype.kind in "iu"
    return n.types.get(name) in (onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32,
                                 onnx.TensorProto.INT64, onnx.TensorProto.UINT8, onnx.TensorProto.UINT16,
                                 onnx.TensorProto.UINT32, onnx.TensorProto.UINT64)


@_op("Gemm", "MatMul")
def _gemm(n):
    at, consts, ins = n.at, n.consts, n.ins
    alpha, beta = float(at.take("alpha", 1.0)), float(at.take("beta", 1.0))
    ta, tb = bool(at.take("transA", 0)), bool(at.take("transB", 0))
    if n.op == "Gemm":
        at.take("broadcast")           # opset < 7: numpy broadcasting of C is what it means
    if _is_int(n, ins[0]) or _is_int(n, ins[1]):
        # an integer product (index arithmetic, not a layer): exact in its own dtype, never quantized
        if alpha != 1 or beta != 1:
            n.refuse(f"an integer {n.op} with alpha={alpha}, beta={beta}")

        def int_product(a, b, c=None):
            y = np.matmul(a.T if ta else a, b.T if tb else b)
            return y if c is None else y + c
        return n.step(int_product, inputs=ins[:3])
    bias, outs, after = None, n.outs, []
    if n.has(2) and ins[2] in consts:
        bias = (np.float64(beta) * consts[ins[2]]).astype(np.float32)
    elif n.has(2):        # a computed C: added by a float step after the product
        outs = [f"{n.outs[0]}::product"]
        after = [Step(f"{n.name}+C", "Add", [outs[0], ins[2]], n.outs[:1],
                      lambda y, c: (y + np.float32(beta) * c).astype(y.dtype))]
    a_c, b_c = consts.get(ins[0]), consts.get(ins[1])
    if b_c is not None and b_c.ndim == 2 and a_c is None:
        W = (b_c if tb else b_c.T).astype(np.float64) * alpha
        return [LinearStep(n.name, n.op, ins[:1], outs, W.astype(np.float32), bias, trans_a=ta)] + after
    return [DynMatMulStep(n.name, n.op, ins[:2], outs, const=(a_c, b_c), alpha=alpha, trans=(ta, tb),
                          bias=bias)] + after


@_op("Add", "Sub", "Mul", "Div")
def _arith(n):
    if "axis" in n.at.values:
        n.refuse(f"legacy broadcast axis={n.at.values['axis']}")
    n.at.take("broadcast")
    n.at.take("consumed_inputs")
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": K.div}[n.op]
    return n.step(lambda a, b: np.asarray(fn(a, b)))


@_op("Relu")
def _relu(n):
    n.at.take("consumed_inputs")
    return n.step(lambda x: np.maximum(x, x.dtype.type(0)))


@_op("LeakyRelu")
def _leaky_relu(n):
    alpha = n.at.take("alpha", 0.01)
    n.at.take("consumed_inputs")
    return n.step(lambda x: np.where(x >= 0, x, x * x.dtype.type(alpha)))


@_op("Clip")
def _clip(n):
    if n.opset < 11:
        lo, hi = n.at.take("min"), n.at.take("max")
        n.at.take("consumed_inputs")
        return n.step(lambda x: K.clip(x, lo, hi), inputs=n.ins[:1])
    return n.step(lambda x, lo=None, hi=None: K.clip(x, lo, hi))


@_op("MaxPool", "AveragePool")
def _pool(n):
    at = n.at
    ks = at.take("kernel_shape")
    if ks is None or len(ks) not in (1, 2, 3):
        n.refuse(f"kernel_shape={ks} (only 1-D, 2-D and 3-D pooling)")
    ceil_mode = int(at.take("ceil_mode", 0))
    kernel, strides, dil, pads, auto_pad = _geometry(at, len(ks), ks)
    one_d = len(ks) == 1

    def in_2d(fn):          # 1-D pooling as height 1, as Conv
        if not one_d:
            return fn

        def run(x):
            out = fn(x[:, :, None, :])
            return tuple(o[:, :, 0, :] for o in out) if isinstance(out, tuple) else out[:, :, 0, :]
        return run
    if n.op == "MaxPool":
        order = int(at.take("storage_order", 0))
        if len(n.outs) > 1 and n.used(n.outs[1]):
            return n.step(in_2d(lambda x: K.max_pool_indices(x, kernel, strides, dil, pads, auto_pad, ceil_mode,
                                                             order)), outputs=n.outs[:2])
        return n.step(in_2d(lambda x: K.max_pool(x, kernel, strides, dil, pads, auto_pad, ceil_mode)))
    cip = int(at.take("count_include_pad", 0))
    return n.step(in_2d(lambda x: K.avg_pool(x, kernel, strides, dil, pads, auto_pad, cip, ceil_mode)))


@_op("GlobalAveragePool")
def _global_avg_pool(n):
    return n.step(lambda x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float32).astype(x.dtype))


@_op("BatchNormalization")
def _batch_norm(n):
    at = n.at
    eps = float(at.take("epsilon", 1e-5))
    at.take("momentum")
    at.take("is_test")
    at.take("consumed_inputs")
    if int(at.take("spatial", 1)) != 1:
        n.refuse("spatial=0")
    if int(at.take("training_mode", 0)) != 0:
        n.refuse("training_mode=1")
    n.only_first_output("training-statistics")
    if not all(name in n.consts for name in n.ins[1:5]):       # computed statistics: a float op, not folded
        return n.step(lambda x, *p: K.batch_norm(x, *p, eps), inputs=n.ins[:5])
    params = [n.const(i, "scale/bias/mean/var") for i in range(1, 5)]
    s = n.step(lambda x: K.batch_norm(x, *params, eps), inputs=n.ins[:1])
    s.bn = (params, eps)
    return s


@_op("Flatten")
def _flatten(n):
    axis = int(n.at.take("axis", 1))
    return n.step(lambda x: K.flatten(x, axis))


@_op("Reshape")
def _reshape(n):
    allowzero = int(n.at.take("allowzero", 0))
    if n.opset < 5:
        shape = n.at.take("shape")
        return n.step(lambda x: K.reshape(x, shape, allowzero), inputs=n.ins[:1])
    return n.step(lambda x, shape: K.reshape(x, shape, allowzero))


@_op("Transpose")
def _transpose(n):
    perm = n.at.take("perm")
    return n.step(lambda x: np.transpose(x, perm))


@_op("Concat")
def _concat(n):
    axis = n.at.take("axis")
    if axis is None:
        n.refuse("a Concat without axis")
    return n.step(lambda *xs: np.concatenate(xs, axis=int(axis)))


@_op("Softmax")
def _softmax(n):
    axis = int(n.at.take("axis", -1 if n.opset >= 13 else 1))
    return n.step(lambda x: K.softmax(x, axis, n.opset).astype(x.dtype))


@_op("Identity", "Dropout")
def _identity(n):
    if n.op == "Dropout":
        n.at.take("ratio")
        n.at.take("seed")
        if int(n.at.take("is_test", 1)) == 0 and n.opset < 7:
            n.refuse("is_test=0 (training)")
        if n.has(2) and (n.ins[2] not in n.consts or bool(n.consts[n.ins[2]])):
            n.refuse(f"training_mode input {n.ins[2]!r} (only a constant false)")
        if len(n.outs) > 1 and n.used(n.outs[1]):        # inference: nothing dropped, the mask is all true
            return n.step(lambda x: (x, np.ones(x.shape, bool)), inputs=n.ins[:1], outputs=n.outs[:2])
    return n.step(lambda x, *rest: x, inputs=n.ins[:1])


@_op("Shape")
def _shape(n):
    start, end = n.at.take("start", 0), n.at.take("end")
    return n.step(lambda x: np.asarray(x.shape[start:end], np.int64))


@_op("Gather")
def _gather(n):
    axis = int(n.at.take("axis", 0))
    return n.step(lambda x, idx: K.gather(x, idx, axis))


@_op("Unsqueeze", "Squeeze")
def _squeeze(n):
    axes = n.at.take("axes")
    unsqueeze = n.op == "Unsqueeze"

    def sq(x, ax=None):
        ax = axes if ax is None else ax
        if ax is None:
            if unsqueeze:
                raise ValueError("Unsqueeze needs axes")
            return np.squeeze(x)
        ax = [int(a) for a in np.atleast_1d(ax)]
        if unsqueeze:
            nd = x.ndim + len(ax)
            return np.expand_dims(x, tuple(sorted(a % nd for a in ax)))
        return np.squeeze(x, tuple(a % x.ndim for a in ax))
    return n.step(sq)


# ---- elementwise -----------------------------------------------------------------------------------------------

def _float_only(fn):
    """An elementwise function of float tensors (refused at run time for integers, as ONNX's type rules)."""
    def run(x):
        if x.dtype.kind != "f":
            raise ValueError(f"input of dtype {x.dtype}: only float tensors are supported")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):    # inf and NaN as IEEE (and ORT)
            return fn(x)
    return run


_UNARY = {
    "Sigmoid": _float_only(K.sigmoid), "Tanh": _float_only(np.tanh), "Erf": _float_only(K.erf),
    "Sqrt": _float_only(np.sqrt), "Exp": _float_only(np.exp), "Log": _float_only(np.log),
    "Reciprocal": _float_only(lambda x: np.divide(x.dtype.type(1), x)), "Floor": _float_only(np.floor),
    "Ceil": _float_only(np.ceil), "Round": _float_only(np.round), "Abs": np.abs, "Neg": np.negative,
    "Sign": np.sign, "Not": np.logical_not,
}


@_op(*_UNARY)
def _unary(n):
    n.at.take("consumed_inputs")
    fn = _UNARY[n.op]
    return n.step(lambda x: fn(x))


@_op("Gelu")
def _gelu(n):
    approximate = n.at.take("approximate", "none")
    if approximate not in ("none", "tanh"):
        n.refuse(f"approximate={approximate!r}")
    return n.step(_float_only(lambda x: K.gelu(x, approximate)))


@_op("HardSigmoid", "HardSwish")
def _hard_sigmoid(n):
    alpha, beta = (n.at.take("alpha", 0.2), n.at.take("beta", 0.5)) if n.op == "HardSigmoid" else (1 / 6, 0.5)

    def hs(x):
        y = np.clip(x.astype(np.float64) * alpha + beta, 0, 1)
        return (y * x if n.op == "HardSwish" else y).astype(x.dtype)
    return n.step(_float_only(hs))


@_op("Pow")
def _pow(n):
    return n.step(K.power)


_COMPARE = {"Equal": np.equal, "Greater": np.greater, "Less": np.less, "GreaterOrEqual": np.greater_equal,
            "LessOrEqual": np.less_equal, "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor}


@_op(*_COMPARE)
def _compare(n):
    fn = _COMPARE[n.op]
    return n.step(lambda a, b: fn(a, b))


@_op("Where")
def _where(n):
    return n.step(lambda c, a, b: np.where(np.asarray(c, bool), a, b))


@_op("Max", "Min", "Sum", "Mean")
def _variadic(n):
    fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[n.op]

    def run(*xs):
        y = xs[0]
        for x in xs[1:]:
            y = fn(y, x)
        return (y / y.dtype.type(len(xs))).astype(y.dtype) if n.op == "Mean" else y
    return n.step(run)


# ---- normalisation and reductions ------------------------------------------------------------------------------

@_op("LayerNormalization")
def _layer_norm(n):
    axis, eps = int(n.at.take("axis", -1)), float(n.at.take("epsilon", 1e-5))
    n.at.take("stash_type")             # float32 or float64 statistics: computed in float64 here
    outs = n.outs[:3]

    def ln(x, scale, bias=None):
        y, mean, inv_std = K.layer_norm(x, scale, bias, axis, eps)
        return (y, mean, inv_std)[:len(outs)]
    return n.step(ln, outputs=outs)


@_op("LogSoftmax")
def _log_softmax(n):
    axis = int(n.at.take("axis", -1 if n.opset >= 13 else 1))

    def run(x):
        s = K.softmax(x.astype(np.float64), axis, n.opset)
        return np.log(s).astype(x.dtype)
    return n.step(_float_only(run))


_REDUCE = {
    "ReduceMean": lambda x, ax, kd: x.mean(axis=ax, keepdims=kd, dtype=np.float64).astype(x.dtype)
    if x.size else np.full(np.sum(x, axis=ax, keepdims=kd).shape, np.nan, x.dtype),
    "ReduceSum": lambda x, ax, kd: np.sum(x, axis=ax, keepdims=kd, dtype=x.dtype),
    "ReduceMax": lambda x, ax, kd: np.max(x, axis=ax, keepdims=kd, initial=_lowest(x.dtype)),
    "ReduceMin": lambda x, ax, kd: np.min(x, axis=ax, keepdims=kd, initial=_highest(x.dtype)),
    "ReduceProd": lambda x, ax, kd: np.prod(x, axis=ax, keepdims=kd, dtype=x.dtype),
    "ReduceSumSquare": lambda x, ax, kd: np.sum(x * x, axis=ax, keepdims=kd, dtype=x.dtype),
    "ReduceL1": lambda x, ax, kd: np.sum(np.abs(x), axis=ax, keepdims=kd, dtype=x.dtype),
    "ReduceL2": lambda x, ax, kd: np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=ax, keepdims=kd)).astype(x.dtype),
}


def _lowest(dt):
    return -np.inf if dt.kind == "f" else np.iinfo(dt).min if dt.kind in "iu" else False


def _highest(dt):
    return np.inf if dt.kind == "f" else np.iinfo(dt).max if dt.kind in "iu" else True


@_op(*_REDUCE)
def _reduce(n):
    keepdims, noop = int(n.at.take("keepdims", 1)), int(n.at.take("noop_with_empty_axes", 0))
    fn = _REDUCE[n.op]
    axes_attr = n.at.take("axes")
    if axes_attr is not None:
        return n.step(lambda x: K.reduce(fn, x, axes_attr, keepdims, noop), inputs=n.ins[:1])
    return n.step(lambda x, axes=None: K.reduce(fn, x, axes, keepdims, noop))


@_op("ArgMax", "ArgMin")
def _argmax(n):
    axis, keepdims = int(n.at.take("axis", 0)), int(n.at.take("keepdims", 1))
    last = int(n.at.take("select_last_index", 0))
    fn = np.argmax if n.op == "ArgMax" else np.argmin

    def run(x):
        ax = axis % x.ndim
        if last:        # the last of equal extremes: search the reversed axis
            i = x.shape[ax] - 1 - fn(np.flip(x, ax), axis=ax)
        else:
            i = fn(x, axis=ax)
        i = i.astype(np.int64)
        return np.expand_dims(i, ax) if keepdims else i
    return n.step(run)


# ---- shape and indexing ----------------------------------------------------------------------------------------

@_op("Split")
def _split(n):
    axis = int(n.at.take("axis", 0))
    split_attr, num_outputs = n.at.take("split"), n.at.take("num_outputs")
    k = len(n.outs)

    def run(x, split=None):
        split = split_attr if split is None else split
        d = x.shape[axis]
        if split is None or len(np.atleast_1d(split)) == 0:
            parts = int(num_outputs) if num_outputs is not None else k
            size = -(-d // parts)           # the last part may be smaller (opset 18)
            split = [size] * (d // size) + ([d % size] if d % size else [])
        split = [int(s) for s in np.atleast_1d(split)]
        if sum(split) != d or len(split) != k:
            raise ValueError(f"Split of {d} into {split} for {k} outputs")
        return tuple(np.split(x, np.cumsum(split)[:-1], axis=axis))
    return n.step(run, outputs=n.outs)


@_op("Slice")
def _slice(n):
    if n.opset < 10:
        starts, ends, axes = n.at.take("starts"), n.at.take("ends"), n.at.take("axes")
        return n.step(lambda x: K.slice_nd(x, starts, ends, axes), inputs=n.ins[:1])
    return n.step(lambda x, starts, ends, axes=None, steps=None: K.slice_nd(x, starts, ends, axes, steps))


@_op("Expand")
def _expand(n):
    return n.step(lambda x, shape: np.array(np.broadcast_to(
        x, np.broadcast_shapes(x.shape, tuple(int(s) for s in shape)))))


@_op("Tile")
def _tile(n):
    return n.step(lambda x, reps: np.tile(x, [int(r) for r in reps]))


@_op("Range")
def _range(n):
    def run(start, limit, delta):
        dt = np.asarray(start).dtype
        count = max(int(np.ceil((float(limit) - float(start)) / float(delta))), 0)
        return (np.asarray(start) + np.arange(count, dtype=np.float64 if dt.kind == "f" else np.int64)
                * np.asarray(delta)).astype(dt)
    return n.step(run)


@_op("Size")
def _size(n):
    return n.step(lambda x: np.asarray(x.size, np.int64))


@_op("ConstantOfShape")
def _constant_of_shape(n):
    value = n.at.take("value")
    value = np.zeros(1, np.float32) if value is None else _float(np.asarray(value)).reshape(-1)
    return n.step(lambda shape: np.full(tuple(int(s) for s in shape), value[0], value.dtype))


@_op("Cast", "CastLike")
def _cast(n):
    import onnx
    n.at.take("saturate")               # float8 targets only, which are refused
    if n.op == "CastLike":
        narrow = {onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.BFLOAT16: "bfloat16"}.get(
            n.types.get(n.ins[1]))
        return n.step(lambda x, like: _cast_to(x, like.dtype, narrow))
    to = n.at.take("to")
    if to is None:
        n.refuse("a Cast without 'to'")
    if isinstance(to, str):         # Cast-1 names the type
        if to.upper() not in onnx.TensorProto.DataType.keys():
            n.refuse(f"to={to!r}")
        to = onnx.TensorProto.DataType.Value(to.upper())
    to = int(to)
    dt = _np_dtype(to, f"node {n.name!r} (Cast): to")
    narrow = {onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.BFLOAT16: "bfloat16"}.get(to)
    return n.step(lambda x: _cast_to(x, dt, narrow))


def _cast_to(x, dt, narrow=None):
    """``x`` as ``dt``; float16 and bfloat16 targets are held as float32 rounded to their values."""
    if x.dtype.kind == "f" and dt.kind in "iu":
        with np.errstate(invalid="ignore"):
            return np.trunc(x).astype(dt)
    y = x.astype(dt)
    if narrow == "float16":
        with np.errstate(over="ignore"):
            return y.astype(np.float16).astype(dt)
    if narrow == "bfloat16":          # round to nearest even on the upper 16 bits of the float32
        bits = np.ascontiguousarray(y, np.float32).view(np.uint32).astype(np.uint64)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        out = bits.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(y), y, out).astype(dt)
    return y


@_op("Pad")
def _pad(n):
    mode = n.at.take("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        n.refuse(f"mode={mode!r}")
    if n.opset < 11:
        pads, value = n.at.take("pads", n.at.take("paddings")), float(n.at.take("value", 0.0))
        return n.step(lambda x: K.pad_nd(x, pads, mode, value), inputs=n.ins[:1])
    return n.step(lambda x, pads, value=None, axes=None: K.pad_nd(x, pads, mode, 0 if value is None else value,
                                                                   axes))


@_op("Resize")
def _resize(n):
    at = n.at
    mode = at.take("mode", "nearest")
    if mode not in ("nearest", "linear"):
        n.refuse(f"mode={mode!r} (only nearest and linear)")
    ctm = at.take("coordinate_transformation_mode", "half_pixel" if n.opset >= 11 else "asymmetric")
    if ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                   "half_pixel_symmetric"):
        n.refuse(f"coordinate_transformation_mode={ctm!r}")
    nearest = at.take("nearest_mode", "round_prefer_floor")
    if nearest not in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        n.refuse(f"nearest_mode={nearest!r}")
    at.take("cubic_coeff_a")
    if int(at.take("exclude_outside", 0)):
        n.refuse("exclude_outside=1")
    at.take("extrapolation_value")      # tf_crop_and_resize only, which is refused
    if int(at.take("antialias", 0)) and mode == "linear":
        n.refuse("antialias=1")           # no effect on nearest
    axes_attr = at.take("axes")
    policy = at.take("keep_aspect_ratio_policy", "stretch")
    if policy != "stretch":
        n.refuse(f"keep_aspect_ratio_policy={policy!r}")
    if n.opset < 11:        # Resize-10: asymmetric coordinates, onnxruntime's legacy rounding
        return n.step(lambda x, scales: _resize_run(x, scales, None, axes_attr, "asymmetric",
                                                    "simple" if mode == "nearest" else None), inputs=n.ins[:2])

    def run(x, roi=None, scales=None, sizes=None):
        return _resize_run(x, scales, sizes, axes_attr, ctm, nearest if mode == "nearest" else None)
    return n.step(run)


def _resize_run(x, scales, sizes, axes, ctm, nearest):
    """Output shape from ``scales`` or ``sizes``, then nearest (``nearest`` a nearest_mode) or linear
    (``nearest`` None) interpolation."""
    axes = list(range(x.ndim)) if axes is None else [int(a) % x.ndim for a in axes]
    out = list(x.shape)
    if sizes is not None and np.asarray(sizes).size:
        for a, s in zip(axes, np.asarray(sizes).reshape(-1)):
            out[a] = int(s)
    elif scales is not None and np.asarray(scales).size:
        sc = np.asarray(scales, np.float64).reshape(-1)
        if sc.size != len(axes) or (sc <= 0).any():
            raise ValueError(f"Resize scales {sc.tolist()} for {len(axes)} axes")
        for a, s in zip(axes, sc):
            out[a] = int(np.floor(x.shape[a] * s))
    else:
        raise ValueError("Resize needs scales or sizes")
    scale_of = {}
    if sizes is None or not np.asarray(sizes).size:
        scale_of = {a: float(s) for a, s in zip(axes, np.asarray(scales, np.float64).reshape(-1))}
        for a, sc in scale_of.items():
            length = x.shape[a] * sc
            if ctm == "align_corners" and sc != 1 and abs(length - round(length)) > 1e-6:
                # the spec divides by length - 1 with this fractional length, onnxruntime (and PyTorch) by the
                # whole output length: two different answers, so neither is given
                raise ValueError(f"align_corners with scale {sc:g} on an axis of {x.shape[a]} is not supported: "
                                 f"the output length {length:g} is not whole, where onnx's spec and onnxruntime "
                                 "disagree; export with sizes instead of scales")
    if nearest is None:
        if x.dtype.kind != "f":
            raise ValueError(f"linear Resize of a {x.dtype} tensor (only float)")
        return K.resize_linear(x, out, ctm, scale_of)
    return K.resize_nearest(x, out, ctm, nearest, scale_of)


SUPPORTED_OPS = tuple(sorted(_BUILDERS))


def _fold_batch_norm(steps, consts, graph_outputs):
    """BatchNormalization whose input comes only from a Conv or Gemm: scale the weights per output
    channel and fold the shift into the bias (float64 arithmetic, float32 result)."""
    producer = {o: s for s in steps for o in s.outputs if o}
    n_consumers = {}
    for s in steps:
        for n in s.inputs:
            n_consumers[n] = n_consumers.get(n, 0) + 1
    out = []
    for s in steps:
        if getattr(s, "bn", None) is None:
            out.append(s)
            continue
        p = producer.get(s.inputs[0])
        (gamma, beta, mean, var), eps = s.bn
        ok = (p is not None and n_consumers.get(s.inputs[0]) == 1 and s.inputs[0] not in graph_outputs
              and (isinstance(p, ConvStep) or (isinstance(p, LinearStep) and p.op == "Gemm")))
        if ok:
            m = p.W.shape[0]
            bias = np.zeros(m) if p.bias is None else p.bias.astype(np.float64)
            ok = gamma.size == m and (bias.size in (1, m)) and (bias.ndim <= 1 or bias.shape[-1] == m)
        if not ok:
            out.append(s)
            continue
        a = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
        shape = (-1,) + (1,) * (p.W.ndim - 1)
        W = (p.W.astype(np.float64) * a.reshape(shape)).astype(np.float32)
        if isinstance(p, ConvStep):
            p.set_weights(W)
        else:
            p.W = W
        p.bias = ((np.broadcast_to(bias.reshape(-1), (m,)) - mean) * a + beta).astype(np.float32)
        p.outputs = [s.outputs[0]] + p.outputs[1:]
        p.name = f"{p.name}+{s.name}"
    return out


def _live(steps, output_names):
    """Only the steps the outputs depend on."""
    need = set(output_names)
    keep = []
    for s in reversed(steps):
        if any(o in need for o in s.outputs):
            keep.append(s)
            need.update(n for n in s.inputs if n)
    return keep[::-1]
