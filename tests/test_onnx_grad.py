"""Backward passes of the imported ONNX graph (pymodel.nn.onnx_grad) against central finite differences in
float64, on tiny graphs; the straight-through estimator of the int mode against the float product of the
quantized operands (computed by the float forward pass, not by the backward's formula)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pymodel.nn.layers import FLOAT, Mode  # noqa: E402
from pymodel.nn.onnx_grad import NotDifferentiable, Tape, softmax_xent  # noqa: E402
from pymodel.nn.onnx_import import load_onnx  # noqa: E402

D = TensorProto.DOUBLE


def _model(nodes, in_shape, inits=(), out="y", opset=17):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", D, list(in_shape))],
                          [helper.make_tensor_value_info(out, D, None)],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _loss(net, x, r):
    return float((np.asarray(net.forward(x), np.float64) * r).sum())


def _check_input_grad(model, x, rng, eps=1e-6, tol=1e-5):
    net = load_onnx(model)
    tape = Tape(net, params=[], wrt_input=True)
    y = np.asarray(tape.forward(x, FLOAT), np.float64)
    r = rng.standard_normal(y.shape)
    g = tape.backward(r)["input"]
    assert g is not None and g.shape == x.shape
    num = np.zeros(x.size)
    for i in range(x.size):
        d = np.zeros(x.size)
        d[i] = eps
        num[i] = (_loss(net, x + d.reshape(x.shape), r) - _loss(net, x - d.reshape(x.shape), r)) / (2 * eps)
    scale = max(np.abs(num).max(), 1e-3)
    assert np.abs(g.ravel() - num).max() <= tol * scale, (g.ravel(), num)


def _unary(op, **attrs):
    return [helper.make_node(op, ["x"], ["y"], name="n0", **attrs)]


UNARY = [("Relu", {}), ("LeakyRelu", {"alpha": 0.1}), ("Sigmoid", {}), ("Tanh", {}), ("Erf", {}), ("Exp", {}),
         ("Abs", {}), ("Neg", {}), ("Gelu", {}), ("Gelu", {"approximate": "tanh"}), ("HardSigmoid", {}),
         ("HardSwish", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": -1}), ("LogSoftmax", {"axis": 1}),
         ("Flatten", {"axis": 2}), ("Transpose", {"perm": [2, 0, 1]}), ("ReduceMax", {"axes": [1]}),
         ("ReduceMin", {"axes": [2], "keepdims": 0}), ("ReduceSumSquare", {"axes": [1]}), ("ReduceL2", {"axes": [2]})]


@pytest.mark.parametrize("op,attrs", UNARY, ids=[f"{o}{i}" for i, (o, _) in enumerate(UNARY)])
def test_unary_backward_matches_finite_differences(op, attrs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)) * 1.5
    x[np.abs(x) < 0.05] += 0.2           # away from the kinks of Relu/Abs
    opset = 18 if op.startswith("Reduce") else 20 if op == "Gelu" else 17
    if op.startswith("Reduce"):
        nodes = [helper.make_node(op, ["x", "ax"], ["y"], name="n0", keepdims=attrs.get("keepdims", 1))]
        _check_input_grad(_model(nodes, x.shape, [("ax", np.array(attrs["axes"], np.int64))], opset=opset), x, rng)
    else:
        _check_input_grad(_model(_unary(op, **attrs), x.shape, opset=opset), x, rng)


def test_positive_domain_ops():
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 2.0, (2, 5))
    for op in ("Sqrt", "Log", "Reciprocal"):
        _check_input_grad(_model(_unary(op), x.shape), x, rng)
    c = rng.uniform(0.5, 2.0, (1, 5))
    for op in ("Div", "Pow"):
        for ins in (["x", "c"], ["c", "x"]):
            _check_input_grad(_model([helper.make_node(op, ins, ["y"], name="n0")], x.shape, [("c", c)]), x, rng)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_broadcast_and_both_sides(op):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 1.5, (2, 3, 4))
    c = rng.uniform(0.5, 1.5, (3, 1))
    # x op c, and x op f(x) so that both operands carry a gradient
    nodes = [helper.make_node("Tanh", ["x"], ["t"], name="t"), helper.make_node(op, ["x", "c"], ["u"], name="n0"),
             helper.make_node(op, ["u", "t"], ["y"], name="n1")]
    _check_input_grad(_model(nodes, x.shape, [("c", c)]), x, rng)


def test_clip_where_max_mean_cast():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4))
    x[np.abs(np.abs(x) - 0.5) < 0.05] += 0.2
    lo, hi = np.array(-0.5), np.array(0.5)
    nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["c"], name="clip"),
             helper.make_node("Tanh", ["x"], ["t"], name="t"),
             helper.make_node("Greater", ["x", "z"], ["m"], name="gt"),
             helper.make_node("Where", ["m", "c", "t"], ["w"], name="where"),
             helper.make_node("Max", ["w", "t", "c"], ["mx"], name="max"),
             helper.make_node("Mean", ["mx", "x"], ["me"], name="mean"),
             helper.make_node("Cast", ["me"], ["y"], name="cast", to=D)]
    _check_input_grad(_model(nodes, x.shape, [("lo", lo), ("hi", hi), ("z", np.array(0.0))]), x, rng)


def test_shape_ops_concat_split_slice_reshape_pad_gather():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 3))
    i64 = np.int64
    nodes = [helper.make_node("Split", ["x", "sp"], ["a", "b"], name="split", axis=1),
             helper.make_node("Mul", ["a", "a"], ["a2"], name="sq"),
             helper.make_node("Concat", ["b", "a2", "x"], ["c"], name="cat", axis=1),
             helper.make_node("Slice", ["c", "st", "en", "axs", "stp"], ["s"], name="slice"),
             helper.make_node("Reshape", ["s", "shp"], ["r"], name="reshape"),
             helper.make_node("Pad", ["r", "pads", "pv"], ["p"], name="pad", mode="constant"),
             helper.make_node("Gather", ["p", "idx"], ["gth"], name="gather", axis=1),
             helper.make_node("Unsqueeze", ["gth", "uax"], ["u"], name="unsq"),
             helper.make_node("Expand", ["u", "eshape"], ["e"], name="expand"),
             helper.make_node("Tile", ["e", "reps"], ["y"], name="tile")]
    inits = [("sp", np.array([2, 4], i64)), ("st", np.array([1], i64)), ("en", np.array([11], i64)),
             ("axs", np.array([1], i64)), ("stp", np.array([2], i64)), ("shp", np.array([2, -1], i64)),
             ("pads", np.array([0, 1, 0, 2], i64)), ("pv", np.array(2.0)), ("idx", np.array([0, 3, 3, 17], i64)),
             ("uax", np.array([1], i64)), ("eshape", np.array([1, 2, 1], i64)), ("reps", np.array([1, 1, 2], i64))]
    _check_input_grad(_model(nodes, x.shape, inits, opset=18), x, rng)


@pytest.mark.parametrize("attrs", [dict(kernel_shape=[2, 2], strides=[2, 2]),
                                   dict(kernel_shape=[3, 3], strides=[2, 1], pads=[1, 1, 1, 0]),
                                   dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
                                   dict(kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1)])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pools(op, attrs):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 5, 5))
    if op == "MaxPool":
        attrs = {k: v for k, v in attrs.items() if k != "count_include_pad"}
    # AveragePool sums in float32 even for float64 data; it is linear, so a large step has no truncation error
    _check_input_grad(_model([helper.make_node(op, ["x"], ["y"], name="p", **attrs)], x.shape), x, rng,
                      eps=0.5 if op == "AveragePool" else 1e-6)


def test_global_pool_batchnorm_layernorm_reduce_mean():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 2, 2))
    c = 3
    bn = [("g", rng.uniform(0.5, 1.5, c)), ("b", rng.standard_normal(c)), ("m", rng.standard_normal(c)),
          ("v", rng.uniform(0.5, 1.5, c))]
    # a standalone BN (not after a Conv, so not folded) computes in float32: affine, so a large step
    _check_input_grad(_model([helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn")],
                             x.shape, bn), x, rng, eps=0.5)
    nodes = [helper.make_node("LayerNormalization", ["x", "s", "o"], ["l"], name="ln", axis=2),
             helper.make_node("ReduceMean", ["l", "rax"], ["rm"], name="rm", keepdims=1),
             helper.make_node("Add", ["rm", "l"], ["a"], name="add"),
             helper.make_node("ReduceMean", ["a", "gax"], ["y"], name="gap", keepdims=0)]
    inits = [("s", rng.uniform(0.5, 1.5, (2, 2))), ("o", rng.standard_normal((2, 2))),
                  ("rax", np.array([1], np.int64)), ("gax", np.array([2, 3], np.int64))]
    _check_input_grad(_model(nodes, x.shape, inits, opset=18), x, rng)


def test_global_average_pool():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 3, 4))
    # GlobalAveragePool sums in float32: linear, so a large step
    _check_input_grad(_model(_unary("GlobalAveragePool"), x.shape), x, rng, eps=0.5)


def test_attention_block_batched_matmul():
    """Q K^T softmax V with batched MatMuls of two activations, Transpose, Div, Softmax on the last axis."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4))
    inits = [("wq", rng.standard_normal((4, 4)) * 0.5), ("wk", rng.standard_normal((4, 4)) * 0.5),
             ("wv", rng.standard_normal((4, 4)) * 0.5), ("d", np.array(2.0))]
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"], name="q"),
             helper.make_node("MatMul", ["x", "wk"], ["k"], name="k"),
             helper.make_node("MatMul", ["x", "wv"], ["v"], name="v"),
             helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
             helper.make_node("Div", ["s", "d"], ["sd"], name="div"),
             helper.make_node("Softmax", ["sd"], ["p"], name="sm", axis=-1),
             helper.make_node("MatMul", ["p", "v"], ["y"], name="pv")]
    # a MatMul of two activations rounds to float32: a step that keeps that rounding small against the change
    _check_input_grad(_model(nodes, x.shape, inits), x, rng, eps=1e-3, tol=2e-3)


def _param_fd(net, step, x, rng, eps=1e-6):
    """Gradients of the trainable step's W and bias against finite differences (weights held in float64)."""
    step.W = np.asarray(step.W, np.float64)
    if hasattr(step, "W2"):
        step.W2 = np.ascontiguousarray(step.W.transpose(0, 2, 3, 1).reshape(step.W.shape[0], -1))
    step.bias = np.asarray(step.bias, np.float64)
    tape = Tape(net, params=[step])
    y = np.asarray(tape.forward(x, FLOAT), np.float64)
    r = rng.standard_normal(y.shape)
    gW, gb = tape.backward(r)[step]
    for name, g in (("W", gW), ("bias", gb)):
        p = getattr(step, name)
        flat = p.reshape(-1)
        for i in rng.choice(flat.size, min(flat.size, 12), replace=False):
            old = flat[i]
            flat[i] = old + eps
            if hasattr(step, "W2"):
                step.W2 = np.ascontiguousarray(step.W.transpose(0, 2, 3, 1).reshape(step.W.shape[0], -1))
            up = _loss(net, x, r)
            flat[i] = old - eps
            if hasattr(step, "W2"):
                step.W2 = np.ascontiguousarray(step.W.transpose(0, 2, 3, 1).reshape(step.W.shape[0], -1))
            down = _loss(net, x, r)
            flat[i] = old
            num = (up - down) / (2 * eps)
            assert abs(g.reshape(-1)[i] - num) <= 1e-5 * max(1.0, abs(num)), (name, i, g.reshape(-1)[i], num)


@pytest.mark.parametrize("conv", [dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                                  dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 0, 1], dilations=[1, 2]),
                                  dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2),
                                  dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER", strides=[2, 2], group=4)])
def test_conv_backward_input_weights_bias(conv):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 5, 6))
    g = conv.get("group", 1)
    w = rng.standard_normal((4, 4 // g) + tuple(conv["kernel_shape"]))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", **conv),
             helper.make_node("Tanh", ["c"], ["y"], name="t")]
    model = _model(nodes, x.shape, [("w", w), ("b", rng.standard_normal(4))])
    _check_input_grad(model, x, rng)
    net = load_onnx(model)
    _param_fd(net, net.steps[0], x, rng)


def test_conv1d_gemm_matmul_params():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 7))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3], pads=[1, 1]),
             helper.make_node("Flatten", ["c"], ["f"], name="f"),
             helper.make_node("Gemm", ["f", "g", "gb"], ["h"], name="gemm", alpha=0.5, beta=2.0),
             helper.make_node("Sigmoid", ["h"], ["s"], name="s"),
             helper.make_node("MatMul", ["s", "m"], ["y0"], name="mm"),
             helper.make_node("Add", ["y0", "mb"], ["y"], name="addb")]
    inits = [("w", rng.standard_normal((2, 3, 3))), ("b", rng.standard_normal(2)),
             ("g", rng.standard_normal((14, 5))), ("gb", rng.standard_normal(5)),
             ("m", rng.standard_normal((5, 3))), ("mb", rng.standard_normal(3))]
    model = _model(nodes, x.shape, inits)
    _check_input_grad(model, x, rng)
    for i in (0, 2):
        net = load_onnx(model)
        step = net.steps[i]
        if step.bias is None:
            step.bias = np.zeros(step.W.shape[0])
        _param_fd(net, step, x, rng)


def test_int_mode_straight_through():
    """In the int mode the forward is the executor's int forward, bit for bit; the weight gradient is that
    of the float product of the quantized operands: checked against the float forward of a copy whose
    weights and input are the dequantized ones (linear in W, so no finite-difference error)."""
    from pymodel import registry
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1] * 4)]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "w"),
                           numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    net = load_onnx(model)
    net.calibrate(x * 0.8)          # some inputs clip
    mult = registry.make_design("mitchell", width=6, signed=True)
    mode = Mode("int", mult)
    tape = Tape(net, wrt_input=True)
    y = tape.forward(x, mode)
    assert np.array_equal(y, net.forward(x, mode))
    r = rng.standard_normal(y.shape)
    grads = tape.backward(r)
    gW, gb = grads[net.steps[0]]
    step = net.steps[0]
    q, s = step.act_quant(0, x, mode)
    xd = q.astype(np.float64) * s
    from pymodel.nn.onnx_exec import _weight_q
    wq, s_w = _weight_q(step.W2, mode.qmax)
    ref = load_onnx(model)
    V = rng.standard_normal(step.W.shape)
    ref.steps[0].set_weights(V)
    ref.steps[0].bias = None
    # <gW, V> = sum(r * conv(x_deq, V)) since the product is linear in W
    assert np.isclose((gW * V).sum(), (r * ref.forward(xd.astype(np.float32))).sum(), rtol=1e-4)
    assert np.allclose(gb, r.sum(axis=(0, 2, 3)))
    # input gradient: <gx, v> = sum(r * conv(v, W_deq)) on the unclipped inputs, zero where clipped
    Wd = (wq * s_w[:, None]).reshape(3, 3, 3, 2).transpose(0, 3, 1, 2)
    ref.steps[0].set_weights(Wd)
    v = rng.standard_normal(x.shape)
    mask = np.abs(x) <= step.calibrated_max[0]
    assert (~mask).any() and mask.any()
    gx = grads["input"]
    assert np.all(gx[~mask] == 0)
    assert np.isclose((gx * v).sum(), (r * ref.forward((v * mask).astype(np.float32))).sum(), rtol=1e-4)


def test_softmax_xent_gradient():
    rng = np.random.default_rng(12)
    z, y = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    loss, g = softmax_xent(z, y)
    eps = 1e-6
    for i in range(z.size):
        d = np.zeros(z.size)
        d[i] = eps
        num = (softmax_xent(z + d.reshape(z.shape), y)[0] - softmax_xent(z - d.reshape(z.shape), y)[0]) / (2 * eps)
        assert abs(g.ravel()[i] - num) < 1e-7


def test_refuses_an_operator_without_backward_naming_the_node():
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], name="fc", transB=1),
             helper.make_node("Resize", ["h", "", "sc"], ["y"], name="up", mode="nearest")]
    model = _model(nodes, (2, 3), [("w", rng.standard_normal((4, 3))), ("sc", np.array([1.0, 2.0]))])
    net = load_onnx(model)
    Tape(net)       # Resize (nearest) selects elements: it has a backward
    nodes[1] = helper.make_node("Floor", ["h"], ["f"], name="fl")
    nodes.append(helper.make_node("Mod", ["f", "f"], ["y"], name="mod"))
    with pytest.raises(Exception, match="Mod"):
        Tape(load_onnx(_model(nodes, (2, 3), [("w", rng.standard_normal((4, 3)))])))
    with pytest.raises(NotDifferentiable, match="no Conv, Gemm or MatMul"):
        Tape(load_onnx(_model(_unary("Relu"), (2, 3))))
