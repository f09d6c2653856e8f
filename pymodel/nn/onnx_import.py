"""Import an ONNX model into the numpy executor (:class:`pymodel.nn.onnx_exec.OnnxNet`).

The ``onnx`` package only parses the file; the arithmetic is :mod:`pymodel.nn.onnx_ops`
and :mod:`pymodel.nn.onnx_exec`.  At import: initializers and ``Constant`` nodes become
constants, nodes whose inputs are all constant are evaluated once, BatchNormalization
right after a Conv or Gemm (sole consumer) is folded into its weights and bias, and
nodes that do not reach the output are dropped.  An operator, domain or attribute value
outside :data:`SUPPORTED_OPS` is refused with the node's name and op type, never run wrong.
"""

import os

import numpy as np

from . import onnx_ops as K
from .onnx_exec import ConvStep, DynMatMulStep, LinearStep, OnnxNet, Step

__all__ = ["load_onnx", "OnnxImportError", "SUPPORTED_OPS", "SHAPE_OPS"]

SUPPORTED_OPS = ("Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu", "MaxPool",
                 "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape", "Transpose",
                 "Concat", "Softmax", "Identity", "Dropout")
# shape plumbing that exporters emit around Reshape (e.g. PyTorch's x.view(x.size(0), -1))
SHAPE_OPS = ("Constant", "Shape", "Gather", "Unsqueeze", "Squeeze")


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

    def take(self, name, default=None):
        return self.values.pop(name, default)

    def refuse(self, what):
        raise OnnxImportError(f"node {self.node.name!r} ({self.node.op_type}): {what} is not supported")

    def done(self):
        if self.values:
            name, v = next(iter(self.values.items()))
            self.refuse(f"attribute {name}={v!r}")


def _float(a):
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.kind == "f" else a


def _node_name(node, i):
    return node.name or f"{node.op_type}_{i}"


def load_onnx(source):
    """An :class:`OnnxNet` from a ``.onnx`` path or an ``onnx.ModelProto``.

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
    data_inputs = [i for i in g.input if i.name not in consts]
    if len(data_inputs) != 1:
        raise OnnxImportError(f"{path}: the graph needs exactly one data input, it has "
                              f"{[i.name for i in data_inputs]}")
    if not g.output:
        raise OnnxImportError(f"{path}: the graph has no output")
    inp = data_inputs[0]
    dims = inp.type.tensor_type.shape.dim
    input_shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    output_name = g.output[0].name
    consumers = {}
    for node in g.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in g.output}

    def used(name):
        return bool(name) and (name in consumers or name in graph_outputs)

    steps = []
    for i, node in enumerate(g.node):
        if node.domain not in ("", "ai.onnx"):
            raise OnnxImportError(f"node {_node_name(node, i)!r} ({node.op_type}): operator domain "
                                  f"{node.domain!r} is not supported")
        if node.op_type not in SUPPORTED_OPS + SHAPE_OPS:
            raise OnnxImportError(f"node {_node_name(node, i)!r} ({node.op_type}): operator {node.op_type} is not "
                                  f"supported (supported: {', '.join(SUPPORTED_OPS)})")
        at = _Attrs(node)
        at.node.name = _node_name(node, i)
        step = _build(node, at, consts, opset, used)
        at.done()
        if step is None:
            continue
        if not isinstance(step, (ConvStep, LinearStep, DynMatMulStep)) and all(
                (not n) or n in consts for n in step.inputs):
            outs = step.run([consts[n] if n else None for n in step.inputs], None)
            consts.update({n: _float(v) for n, v in zip(step.outputs, outs) if n})
            continue
        steps.append(step)
    steps = _fold_batch_norm(steps, consts, graph_outputs)
    steps = _live(steps, output_name)
    if output_name not in consts and not any(output_name in s.outputs for s in steps) and output_name != inp.name:
        raise OnnxImportError(f"{path}: the graph output {output_name!r} is not computed by any node")
    return OnnxNet(steps=steps, consts=consts, input_name=inp.name, input_shape=input_shape,
                   output_name=output_name, opset=opset, source=path)


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


def _build(node, at, consts, opset, used):
    """A Step for ``node`` (None for Constant, which only adds a constant)."""
    op, name = node.op_type, node.name
    ins, outs = list(node.input), list(node.output)

    def step(fn, inputs=None, outputs=None):
        return Step(name, op, ins if inputs is None else inputs, outs[:1] if outputs is None else outputs, fn)

    def only_first_output(what):
        for extra in outs[1:]:
            if used(extra):
                at.refuse(f"the {what} output {extra!r}")

    if op == "Constant":
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            v = at.take(key)
            if v is not None:
                consts[outs[0]] = _float(np.asarray(v, np.float32 if "float" in key else None))
                return None
        at.refuse("a Constant without a value/value_float(s)/value_int(s)")
    if op == "Conv":
        W = _const(at, consts, ins[1], "weight")
        b = _const(at, consts, ins[2], "bias") if len(ins) > 2 and ins[2] else None
        if W.ndim not in (3, 4):
            at.refuse(f"a {W.ndim - 2}-D convolution (only 1-D and 2-D)")
        nd = W.ndim - 2
        ks = at.take("kernel_shape")
        if ks is not None and list(ks) != list(W.shape[2:]):
            at.refuse(f"kernel_shape={list(ks)} with weights of shape {W.shape}")
        group = int(at.take("group", 1))
        if group < 1 or W.shape[0] % group:
            at.refuse(f"group={group} with {W.shape[0]} output channels")
        kernel, strides, dil, pads, auto_pad = _geometry(at, nd, W.shape[2:])
        return ConvStep(name, ins[:1], outs, W[:, :, None, :] if nd == 1 else W, b, group=group, strides=strides,
                        dilations=dil, pads=pads, auto_pad=auto_pad, one_d=nd == 1)
    if op in ("Gemm", "MatMul"):
        alpha, beta = float(at.take("alpha", 1.0)), float(at.take("beta", 1.0))
        ta, tb = bool(at.take("transA", 0)), bool(at.take("transB", 0))
        if op == "Gemm":
            at.take("broadcast")           # opset < 7: numpy broadcasting of C is what it means
        bias = None
        if len(ins) > 2 and ins[2]:
            bias = (np.float64(beta) * _const(at, consts, ins[2], "C")).astype(np.float32)
        a_c, b_c = consts.get(ins[0]), consts.get(ins[1])
        if b_c is not None and b_c.ndim == 2 and a_c is None:
            W = (b_c if tb else b_c.T).astype(np.float64) * alpha
            return LinearStep(name, op, ins[:1], outs, W.astype(np.float32), bias, trans_a=ta)
        return DynMatMulStep(name, op, ins[:2], outs, const=(a_c, b_c), alpha=alpha, trans=(ta, tb), bias=bias)
    if op in ("Add", "Sub", "Mul", "Div"):
        if "axis" in at.values:
            at.refuse(f"legacy broadcast axis={at.values['axis']}")
        at.take("broadcast")
        at.take("consumed_inputs")
        if op == "Mul" and ins[0] not in consts and ins[1] not in consts:
            at.refuse("Mul of two computed tensors (only by a constant: a product outside the MAC array)")
        if op == "Div" and ins[1] not in consts:
            at.refuse("Div by a computed tensor (only by a constant)")
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
        return step(lambda a, b: fn(a, b).astype(np.result_type(a, b)))
    if op == "Relu":
        at.take("consumed_inputs")
        return step(lambda x: np.maximum(x, np.float32(0)))
    if op == "LeakyRelu":
        alpha = np.float32(at.take("alpha", 0.01))
        at.take("consumed_inputs")
        return step(lambda x: np.where(x >= 0, x, x * alpha))
    if op == "Clip":
        if opset < 11:
            lo, hi = at.take("min", -np.inf), at.take("max", np.inf)
            at.take("consumed_inputs")
            return step(lambda x: K.clip(x, lo, hi), inputs=ins[:1])
        return step(lambda x, lo=None, hi=None: K.clip(x, lo, hi))
    if op in ("MaxPool", "AveragePool"):
        ks = at.take("kernel_shape")
        if ks is None or len(ks) != 2:
            at.refuse(f"kernel_shape={ks} (only 2-D pooling)")
        ceil_mode = int(at.take("ceil_mode", 0))
        kernel, strides, dil, pads, auto_pad = _geometry(at, 2, ks)
        if op == "MaxPool":
            at.take("storage_order")       # only affects the Indices output, refused below
            only_first_output("Indices")
            return step(lambda x: K.max_pool(x, kernel, strides, dil, pads, auto_pad, ceil_mode))
        if ceil_mode:
            at.refuse("ceil_mode=1")
        cip = int(at.take("count_include_pad", 0))
        return step(lambda x: K.avg_pool(x, kernel, strides, dil, pads, auto_pad, cip))
    if op == "GlobalAveragePool":
        return step(lambda x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float32))
    if op == "BatchNormalization":
        eps = float(at.take("epsilon", 1e-5))
        at.take("momentum")
        at.take("is_test")
        at.take("consumed_inputs")
        if int(at.take("spatial", 1)) != 1:
            at.refuse("spatial=0")
        if int(at.take("training_mode", 0)) != 0:
            at.refuse("training_mode=1")
        only_first_output("training-statistics")
        params = [_const(at, consts, n, "scale/bias/mean/var") for n in ins[1:5]]
        s = step(lambda x: K.batch_norm(x, *params, eps), inputs=ins[:1])
        s.bn = (params, eps)
        return s
    if op == "Flatten":
        axis = int(at.take("axis", 1))
        return step(lambda x: K.flatten(x, axis))
    if op == "Reshape":
        allowzero = int(at.take("allowzero", 0))
        if opset < 5:
            shape = at.take("shape")
            return step(lambda x: K.reshape(x, shape, allowzero), inputs=ins[:1])
        return step(lambda x, shape: K.reshape(x, shape, allowzero))
    if op == "Transpose":
        perm = at.take("perm")
        return step(lambda x: np.transpose(x, perm))
    if op == "Concat":
        axis = at.take("axis")
        if axis is None:
            at.refuse("a Concat without axis")
        return step(lambda *xs: np.concatenate(xs, axis=int(axis)))
    if op == "Softmax":
        axis = int(at.take("axis", -1 if opset >= 13 else 1))
        return step(lambda x: K.softmax(x, axis, opset).astype(np.float32))
    if op in ("Identity", "Dropout"):
        if op == "Dropout":
            at.take("ratio")
            at.take("seed")
            if int(at.take("is_test", 1)) == 0 and opset < 7:
                at.refuse("is_test=0 (training)")
            if len(ins) > 2 and ins[2] and (ins[2] not in consts or bool(consts[ins[2]])):
                at.refuse(f"training_mode input {ins[2]!r} (only a constant false)")
            only_first_output("mask")
        return step(lambda x, *rest: x, inputs=ins[:1])
    if op == "Shape":
        start, end = at.take("start", 0), at.take("end")
        return step(lambda x: np.asarray(x.shape[start:end], np.int64))
    if op == "Gather":
        axis = int(at.take("axis", 0))
        return step(lambda x, idx: np.take(x, np.asarray(idx, np.int64), axis=axis))
    if op in ("Unsqueeze", "Squeeze"):
        axes = at.take("axes")
        fn = np.expand_dims if op == "Unsqueeze" else np.squeeze

        def sq(x, ax=None):
            ax = axes if ax is None else ax
            if ax is None:
                return np.squeeze(x)
            ax = [int(a) for a in np.atleast_1d(ax)]
            if op == "Unsqueeze":
                nd = x.ndim + len(ax)
                return np.expand_dims(x, tuple(sorted(a % nd for a in ax)))
            return fn(x, tuple(a % x.ndim for a in ax))
        return step(sq)
    raise AssertionError(op)


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


def _live(steps, output_name):
    """Only the steps the output depends on."""
    need = {output_name}
    keep = []
    for s in reversed(steps):
        if any(o in need for o in s.outputs):
            keep.append(s)
            need.update(n for n in s.inputs if n)
    return keep[::-1]
