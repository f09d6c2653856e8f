"""ONNX import: float path against onnxruntime, the integer path against the golden model, the study's
own CNN exported and run back, unsupported input refused, data loaders, CLI."""

import gzip
import json
import pickle
import struct

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from conftest import run_cli  # noqa: E402
from pymodel import Mitchell  # noqa: E402
from pymodel.nn import ExactMultiplier  # noqa: E402
from pymodel.nn.data import DataFormatError, IDX_FILES, load_eval_data, normalise  # noqa: E402
from pymodel.nn.layers import FLOAT, Mode, quantize  # noqa: E402
from pymodel.nn.onnx_eval import fit_input  # noqa: E402
from pymodel.nn.onnx_import import OnnxImportError, load_onnx  # noqa: E402

MITCHELL8 = Mitchell(width=8, signed=True)
EXACT8 = ExactMultiplier(width=8, signed=True)


def model(nodes, inits, in_shape, opset=17, out="y", in_type=TensorProto.FLOAT):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", in_type, ["N", *in_shape])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8              # readable by every onnxruntime >= 1.17
    return m


def node(op, ins, outs="y", **attrs):
    return helper.make_node(op, ins, [outs] if isinstance(outs, str) else outs, name=f"n_{op}_{ins[0]}", **attrs)


def ort_run(m, x):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def rel_err(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


def f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def bn_params(rng, c, prefix):
    return {f"{prefix}g": rng.uniform(0.5, 1.5, c).astype(np.float32), f"{prefix}b": f32(rng, c, scale=0.1),
            f"{prefix}m": f32(rng, c, scale=0.1), f"{prefix}v": rng.uniform(0.5, 1.5, c).astype(np.float32)}


def bn_inputs(prefix):
    return [f"{prefix}{k}" for k in "gbmv"]


# ---- one graph per operator family --------------------------------------------------------------------------

def conv_cases(rng):
    yield "conv stride/pad/dilation", model(
        [node("Conv", ["x", "W", "B"], strides=[2, 1], pads=[1, 2, 0, 1], dilations=[1, 2])],
        {"W": f32(rng, 6, 3, 3, 3), "B": f32(rng, 6)}, (3, 11, 12)), f32(rng, 2, 3, 11, 12)
    yield "conv groups=2", model([node("Conv", ["x", "W"], group=2, pads=[1, 1, 1, 1])],
                                 {"W": f32(rng, 8, 2, 3, 3)}, (4, 7, 7)), f32(rng, 3, 4, 7, 7)
    yield "conv depthwise", model([node("Conv", ["x", "W", "B"], group=5, strides=[2, 2], auto_pad="SAME_UPPER")],
                                  {"W": f32(rng, 5, 1, 3, 3), "B": f32(rng, 5)}, (5, 9, 8)), f32(rng, 2, 5, 9, 8)
    yield "conv SAME_LOWER", model([node("Conv", ["x", "W"], strides=[2, 2], auto_pad="SAME_LOWER")],
                                   {"W": f32(rng, 4, 2, 2, 2)}, (2, 7, 7)), f32(rng, 2, 2, 7, 7)
    yield "conv VALID 1x1", model([node("Conv", ["x", "W"], auto_pad="VALID")],
                                  {"W": f32(rng, 3, 4, 1, 1)}, (4, 5, 5)), f32(rng, 2, 4, 5, 5)
    yield "conv 1-D", model([node("Conv", ["x", "W", "B"], strides=[2], pads=[2, 1], dilations=[2])],
                            {"W": f32(rng, 4, 3, 3), "B": f32(rng, 4)}, (3, 20)), f32(rng, 2, 3, 20)
    # one input channel per group and no padding: the NHWC view of the input has a size-1 channel axis whose
    # stride numpy ignores (im2col once read it and returned values up to 1e33)
    yield "conv LeNet first layer", model([node("Conv", ["x", "W", "B"])], {"W": f32(rng, 6, 1, 5, 5),
                                                                            "B": f32(rng, 6)}, (1, 28, 28)), \
        f32(rng, 3, 1, 28, 28)
    yield "conv one channel, strides, no pad", model([node("Conv", ["x", "W"], strides=[2, 2])],
                                                     {"W": f32(rng, 1, 1, 3, 3)}, (1, 7, 5)), f32(rng, 1, 1, 7, 5)
    yield "conv depthwise batch 1", model([node("Conv", ["x", "W"], group=4)], {"W": f32(rng, 8, 1, 3, 3)},
                                          (4, 9, 9)), f32(rng, 1, 4, 9, 9)
    yield "conv 1-D one channel", model([node("Conv", ["x", "W"], strides=[2])], {"W": f32(rng, 3, 1, 4)}, (1, 17)), \
        f32(rng, 2, 1, 17)


def gemm_cases(rng):
    yield "gemm transB", model([node("Gemm", ["x", "W", "C"], transB=1, alpha=0.5, beta=2.0)],
                               {"W": f32(rng, 5, 7), "C": f32(rng, 5)}, (7,)), f32(rng, 4, 7)
    yield "gemm transA, C 2-D", model([node("Gemm", ["x", "W", "C"], transA=1)],
                                      {"W": f32(rng, 6, 3), "C": f32(rng, 1, 3)}, (4,)), f32(rng, 6, 4)
    yield "matmul const 3-D input", model([node("MatMul", ["x", "W"])], {"W": f32(rng, 6, 5)}, (3, 6)), \
        f32(rng, 2, 3, 6)
    yield "gemm of two computed tensors", model([node("Gemm", ["x", "x", "C"], transB=1, alpha=0.5, beta=3.0)],
                                                {"C": f32(rng, 6)}, (6,)), f32(rng, 6, 6)
    yield "matmul dynamic", model([node("Transpose", ["x"], "t", perm=[0, 2, 1]), node("MatMul", ["x", "t"])],
                                  {}, (3, 4)), f32(rng, 2, 3, 4)


def elementwise_cases(rng):
    yield "add/sub/mul/div, relu", model(
        [node("Mul", ["x", "s"], "a"), node("Div", ["a", "d"], "b"), node("Add", ["c", "b"], "r"),
         node("Sub", ["r", "x"], "q"), node("Relu", ["q"])],
        {"s": f32(rng, 1, 3, 1, 1), "d": np.float32(1.5), "c": f32(rng, 3, 1, 1)}, (3, 4, 4)), \
        f32(rng, 2, 3, 4, 4)
    yield "leaky relu", model([node("LeakyRelu", ["x"], alpha=0.2)], {}, (5,)), f32(rng, 3, 5)
    yield "clip inputs (relu6)", model([node("Clip", ["x", "lo", "hi"])], {"lo": np.float32(0), "hi": np.float32(6)},
                                       (8,)), f32(rng, 3, 8, scale=5)
    yield "clip max only", model([node("Clip", ["x", "", "hi"])], {"hi": np.float32(0.5)}, (8,)), f32(rng, 3, 8)
    yield "clip attributes (opset 10)", model([node("Clip", ["x"], min=-0.5, max=1.0)], {}, (8,), opset=10), \
        f32(rng, 3, 8)


def pool_cases(rng):
    x = f32(rng, 2, 3, 9, 10)
    yield "maxpool pads", model([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
                                {}, (3, 9, 10)), x
    yield "maxpool ceil, dilation", model([node("MaxPool", ["x"], kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1,
                                                dilations=[1, 2])], {}, (3, 9, 10)), x
    yield "maxpool SAME_UPPER", model([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2],
                                            auto_pad="SAME_UPPER")], {}, (3, 9, 10)), x
    for cip in (0, 1):
        yield f"avgpool count_include_pad={cip}", model(
            [node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 1], pads=[1, 0, 1, 2], count_include_pad=cip)],
            {}, (3, 9, 10)), x
        yield f"avgpool ceil_mode, count_include_pad={cip}", model(
            [node("AveragePool", ["x"], kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 0, 1], ceil_mode=1,
                  count_include_pad=cip)], {}, (3, 9, 10)), x
    yield "global avgpool", model([node("GlobalAveragePool", ["x"])], {}, (3, 9, 10)), x


def shape_cases(rng):
    yield "bn standalone, flatten", model(
        [node("Relu", ["x"], "r"), node("BatchNormalization", ["r", *bn_inputs("bn")], "b", epsilon=1e-3),
         node("Flatten", ["b"], axis=2)], bn_params(rng, 3, "bn"), (3, 4, 5)), f32(rng, 2, 3, 4, 5)
    yield "reshape 0/-1, transpose, concat", model(
        [node("Reshape", ["x", "s"], "r"), node("Transpose", ["r"], "t", perm=[0, 2, 1]),
         node("Concat", ["t", "t"], axis=-1)], {"s": np.array([0, -1, 4], np.int64)}, (3, 4, 2)), f32(rng, 2, 3, 4, 2)
    yield "softmax opset 13", model([node("Softmax", ["x"], axis=1)], {}, (3, 4)), f32(rng, 2, 3, 4)
    yield "softmax opset 11 (coerced 2-D)", model([node("Softmax", ["x"], axis=1)], {}, (3, 4), opset=11), \
        f32(rng, 2, 3, 4)
    yield "identity, dropout", model([node("Identity", ["x"], "i"), node("Dropout", ["i"], ["y", ""], )], {},
                                     (6,)), f32(rng, 2, 6)
    yield "view(n, -1) plumbing", model(
        [node("Shape", ["x"], "sh"), node("Gather", ["sh", "zero"], "n", axis=0),
         node("Unsqueeze", ["n", "ax"], "nu"), node("Concat", ["nu", "m1"], "s", axis=0),
         node("Reshape", ["x", "s"])],
        {"zero": np.array(0, np.int64), "ax": np.array([0], np.int64), "m1": np.array([-1], np.int64)}, (3, 4, 4)), \
        f32(rng, 2, 3, 4, 4)


def resnet_block(rng, c=8):
    nodes = [node("Conv", ["x", "W1"], "c1", pads=[1, 1, 1, 1]),
             node("BatchNormalization", ["c1", *bn_inputs("a")], "b1"), node("Relu", ["b1"], "r1"),
             node("Conv", ["r1", "W2", "B2"], "c2", pads=[1, 1, 1, 1]),
             node("BatchNormalization", ["c2", *bn_inputs("b")], "b2"),
             node("Add", ["b2", "x"], "s"), node("Relu", ["s"], "r"), node("GlobalAveragePool", ["r"], "g"),
             node("Flatten", ["g"], "f"), node("Gemm", ["f", "Wf", "Bf"], "l", transB=1),
             node("BatchNormalization", ["l", *bn_inputs("c")], "y")]
    inits = {"W1": f32(rng, c, c, 3, 3, scale=0.3), "W2": f32(rng, c, c, 3, 3, scale=0.3), "B2": f32(rng, c),
             "Wf": f32(rng, 12, c), "Bf": f32(rng, 12), **bn_params(rng, c, "a"), **bn_params(rng, c, "b"),
             **bn_params(rng, 12, "c")}
    return model(nodes, inits, (c, 6, 6))


CASES = [*conv_cases(np.random.default_rng(1)), *gemm_cases(np.random.default_rng(2)),
         *elementwise_cases(np.random.default_rng(3)), *pool_cases(np.random.default_rng(4)),
         *shape_cases(np.random.default_rng(5)),
         ("resnet block (BN folded, residual Add)", resnet_block(np.random.default_rng(6)),
          f32(np.random.default_rng(7), 4, 8, 6, 6))]


@pytest.mark.parametrize("name,m,x", CASES, ids=[c[0] for c in CASES])
def test_float_path_matches_onnxruntime(name, m, x):
    net = load_onnx(m)
    assert rel_err(net.forward(x), ort_run(m, x)) <= 1e-4


def test_batch_norm_is_folded_and_a_wrong_fold_would_show():
    m = resnet_block(np.random.default_rng(6))
    net = load_onnx(m)
    assert [s.op for s in net.steps].count("BatchNormalization") == 0
    x = f32(np.random.default_rng(7), 4, 8, 6, 6)
    want = ort_run(m, x)
    conv = net.steps[0]
    conv.W2 = conv.W2 * np.float32(1.001)                # a 0.1 % error in one folded weight set is seen
    assert rel_err(net.forward(x), want) > 1e-4


def test_opset_4_reshape_attribute():
    m = model([node("Reshape", ["x"], shape=[0, -1])], {}, (2, 3), opset=4)
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    assert np.array_equal(load_onnx(m).forward(x), x.reshape(2, 6))


# ---- the integer path ---------------------------------------------------------------------------------------

def _dequantized_reference(m, net, x, weight_names):
    """The same graph in onnxruntime on dequantized operands: what an exact int path must give."""
    m = onnx.ModelProto.FromString(m.SerializeToString())
    step = net.mac_steps[0]
    s_x = max(step.calibrated_max[0], 1e-12) / 127
    xd = (quantize(x, s_x, 127) * s_x).astype(np.float32)
    for init in m.graph.initializer:
        if init.name in weight_names:
            w = numpy_helper.to_array(init)
            if weight_names[init.name] == "transB=0":      # Gemm/MatMul B is (K, N): channels are columns
                w2 = w.T
            else:
                w2 = w.reshape(w.shape[0], -1)
            s_w = (np.maximum(np.abs(w2).max(axis=1), 1e-12) / 127).astype(np.float32)
            wd = (quantize(w2, s_w[:, None], 127) * s_w[:, None]).astype(np.float32)
            wd = wd.T if weight_names[init.name] == "transB=0" else wd.reshape(w.shape)
            init.CopyFrom(numpy_helper.from_array(wd, init.name))
    return ort_run(m, xd)


INT_WEIGHTS = {"conv stride/pad/dilation": "rows", "conv groups=2": "rows", "conv depthwise": "rows",
               "gemm transB": "rows", "matmul const 3-D input": "transB=0", "conv LeNet first layer": "rows",
               "conv one channel, strides, no pad": "rows", "conv depthwise batch 1": "rows",
               "conv 1-D one channel": "rows"}
INT_CASES = [(n, m, x, {"W": INT_WEIGHTS[n]}) for n, m, x in CASES if n in INT_WEIGHTS]


@pytest.mark.parametrize("name,m,x,weights", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_int_path_exact_is_the_float_graph_on_quantized_operands(name, m, x, weights):
    net = load_onnx(m)
    net.calibrate(x)
    got = net.forward(x, Mode("int", EXACT8))
    assert rel_err(got, _dequantized_reference(m, net, x, weights)) <= 1e-5
    approx = net.forward(x, Mode("int", MITCHELL8))
    assert rel_err(approx, got) > 1e-4                 # the design is really in the loop


def test_int_path_products_are_the_golden_model(rng):
    """Gemm in int mode: every product ``Mitchell.mul`` of the quantized operands, summed exactly."""
    W, b = f32(rng, 3, 5), f32(rng, 3)
    m = model([node("Gemm", ["x", "W", "C"], transB=1)], {"W": W, "C": b}, (5,))
    x = f32(rng, 4, 5)
    net = load_onnx(m)
    net.calibrate(x)
    s_x = float(np.abs(x).max()) / 127
    xq = quantize(x, s_x, 127)
    s_w = np.abs(W).max(axis=1) / 127
    wq = quantize(W, s_w[:, None], 127)
    for mult in (MITCHELL8, Mitchell(width=6, signed=True, frac_bits=2)):
        q = (1 << (mult.width - 1)) - 1
        s_x, s_w = float(np.abs(x).max()) / q, np.abs(W).max(axis=1) / q
        xq, wq = quantize(x, s_x, q), quantize(W, s_w[:, None], q)
        acc = np.array([[sum(mult.mul(int(xq[i, k]), int(wq[j, k])) for k in range(5)) for j in range(3)]
                        for i in range(4)])
        assert np.allclose(net.forward(x, Mode("int", mult)), acc * s_x * s_w + b, rtol=1e-5, atol=1e-6)


def test_int_path_of_two_computed_operands(rng):
    """MatMul of two activations: both quantized per tensor, the exact run is their dequantized product."""
    m = model([node("Transpose", ["x"], "t", perm=[0, 2, 1]), node("MatMul", ["x", "t"])], {}, (3, 4))
    x = f32(rng, 2, 3, 4)
    net = load_onnx(m)
    net.calibrate(x)
    s = float(np.abs(x).max()) / 127
    xd = quantize(x, s, 127) * s
    got = net.forward(x, Mode("int", EXACT8))
    assert rel_err(got, (xd @ xd.transpose(0, 2, 1)).astype(np.float32)) <= 1e-6
    assert rel_err(net.forward(x, Mode("int", MITCHELL8)), got) > 1e-4


def test_resnet20_benchmark_graph_float_and_int(rng):
    from pymodel.nn.onnx_export import resnet20
    proto = resnet20(np.random.default_rng(0))
    net = load_onnx(proto)
    assert not [s for s in net.steps if s.op == "BatchNormalization"]
    x = rng.uniform(-2, 2, (2, 3, 32, 32)).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert rel_err(net.forward(x), sess.run(None, {"input": x})[0]) <= 1e-4
    assert 40e6 <= net.macs_per_forward() / 2 <= 42e6
    net.calibrate(x)
    exact, approx = net.forward(x, Mode("int", EXACT8)), net.forward(x, Mode("int", MITCHELL8))
    assert rel_err(exact, net.forward(x)) < 0.2 and 1e-4 < rel_err(approx, exact) < 0.5


def test_int_path_needs_calibration_and_a_signed_multiplier(rng):
    net = load_onnx(model([node("MatMul", ["x", "W"])], {"W": f32(rng, 4, 2)}, (4,)))
    with pytest.raises(RuntimeError, match="calibration"):
        net.forward(f32(rng, 1, 4), Mode("int", MITCHELL8))
    with pytest.raises(ValueError, match="signed"):
        Mode("int", Mitchell(width=8))


# ---- the study's own CNN, exported and run back ------------------------------------------------------------

@pytest.mark.slow
def test_exported_digits_cnn_matches_the_native_study(tmp_path, capsys):
    from pymodel.nn.data import load_digits_split
    from pymodel.nn.onnx_export import export_onnx
    from pymodel.nn.study import build_model, calibrate, run_study
    r = run_study(dataset="digits", model="cnn", epochs=2, finetune_epochs=0, cache_dir=str(tmp_path))
    xtr, ytr, xte, yte = load_digits_split()
    net = build_model("cnn", xtr.shape[1:], 10, np.random.default_rng(0))
    with np.load(r["cache_file"]) as f:
        net.load_state([f[f"p{i}"] for i in range(len(net.params))])
    calibrate(net, xtr)
    path = tmp_path / "cnn.onnx"
    export_onnx(net, xtr.shape[1:], path)
    imported = load_onnx(path)
    imported.calibrate(xtr)
    modes = {"float": FLOAT, "exact": Mode("int", EXACT8), "mitchell": Mode("int", MITCHELL8)}
    native = {}
    for key, mode in modes.items():
        native[key] = np.concatenate([net.forward(xte[i:i + 512], mode) for i in range(0, len(xte), 512)])
        assert np.array_equal(imported.logits(xte, mode).argmax(1), native[key].argmax(1))
    # with the native layers' calibrated ranges the integer path is the same arithmetic, bit for bit
    # (own calibration can differ in the last float bit: the im2col column order differs)
    for step, layer in zip(imported.mac_steps, [la for la in net.layers if hasattr(la, "calibrated_max")]):
        step.calibrated_max = [layer.calibrated_max]
    for key in ("exact", "mitchell"):
        assert np.array_equal(imported.logits(xte, modes[key]), native[key])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert rel_err(imported.logits(xte), sess.run(None, {"input": xte})[0]) <= 1e-4
    assert rel_err(imported.logits(xte), native["float"]) <= 1e-5
    # the command line on the same model and data gives the study's accuracies
    np.savez(tmp_path / "digits.npz", x=xte, y=yte, x_calib=xtr)
    from mitchell_cli import main
    assert main(["nn", "--onnx", str(path), "--data", str(tmp_path / "digits.npz"), "--calib", "100000", "--json"]) == 0
    res = {x["name"]: x["top1"] for x in json.loads(capsys.readouterr().out)["results"]}
    a = r["accuracy"]
    for key, native_key in (("float32", "float32"), ("int8 exact", "int8_exact"), ("int8 mitchell", "int8_mitchell")):
        assert abs(res[key] - a[native_key]) <= 1 / 360 + 1e-9, (key, res[key], a[native_key])


# ---- refused input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nodes,inits,match", [
    ([node("Sin", ["x"])], {}, r"'n_Sin_x' \(Sin\): operator Sin is not supported"),
    ([node("Conv", ["x", "W"])], {"W": np.ones((1, 3, 1, 1, 1), np.float32)}, r"\(Conv\): a 3-D convolution"),
    ([node("Dropout", ["x", "r", "t"])], {"r": np.float32(0.5), "t": np.array(True)},
     r"\(Dropout\): training_mode input 't' \(only a constant false\)"),
    ([node("MaxPool", ["x"], kernel_shape=[2, 2, 2, 2])], {}, r"only 1-D, 2-D and 3-D pooling"),
    ([node("Conv", ["x", "W"], auto_pad="WEIRD")], {"W": np.ones((1, 3, 1, 1), np.float32)}, r"auto_pad='WEIRD'"),
    ([node("Resize", ["x", "", "s"], mode="cubic")], {"s": np.array([1, 1, 2, 2], np.float32)},
     r"\(Resize\): mode='cubic' \(only nearest and linear\)"),
    ([node("Relu", ["x"], "r"), node("BatchNormalization", ["r", *bn_inputs("b")], "y", training_mode=1)],
     bn_params(np.random.default_rng(0), 3, "b"), r"training_mode=1"),
    ([node("Softmax", ["x"], foo=1)], {}, r"\(Softmax\): attribute foo=1 is not supported"),
])
def test_unsupported_is_refused_with_node_and_op(nodes, inits, match):
    with pytest.raises(OnnxImportError, match=match):
        load_onnx(model(nodes, inits, (3, 4, 4)))


def test_custom_domain_and_bad_files_are_refused(tmp_path):
    m = model([helper.make_node("Gelu", ["x"], ["y"], name="g", domain="com.microsoft")], {}, (3,))
    with pytest.raises(OnnxImportError, match=r"'g' \(Gelu\): operator domain 'com.microsoft'"):
        load_onnx(m)
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model")
    with pytest.raises(OnnxImportError, match="junk.onnx"):
        load_onnx(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        load_onnx(tmp_path / "nope.onnx")


# ---- data -------------------------------------------------------------------------------------------------

def write_idx(path, arr):
    data = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    with gzip.open(path, "wb") as f:
        f.write(data)


def write_cifar(path, x, y, key=b"labels"):
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"x", key: list(map(int, y)), b"data": x.reshape(len(x), -1)}, f, protocol=2)


def test_idx_cifar_npz_loaders(tmp_path, rng):
    idx = tmp_path / "mnist"
    idx.mkdir()
    xi = rng.integers(0, 256, (7, 5, 5), dtype=np.uint8)
    write_idx(idx / (IDX_FILES["test_images"] + ".gz"), xi)
    write_idx(idx / (IDX_FILES["test_labels"] + ".gz"), np.arange(7, dtype=np.uint8))
    d = load_eval_data(idx)
    assert d["format"] == "idx" and np.array_equal(d["x"][:, 0], xi) and d["x_calib"] is None
    c10 = tmp_path / "cifar-10-batches-py"
    c10.mkdir()
    xs = [rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8) for n in (4, 3, 2)]
    write_cifar(c10 / "data_batch_1", xs[0], range(4))
    write_cifar(c10 / "data_batch_2", xs[1], range(3))
    write_cifar(c10 / "test_batch", xs[2], [5, 9])
    d = load_eval_data(tmp_path)                      # finds the cifar-10-batches-py subfolder
    assert d["format"] == "cifar-10" and np.array_equal(d["x"], xs[2]) and d["y"].tolist() == [5, 9]
    assert np.array_equal(d["x_calib"], np.concatenate(xs[:2])) and d["calib_from"] == "data_batch_1, data_batch_2"
    c100 = tmp_path / "c100"
    c100.mkdir()
    write_cifar(c100 / "test", xs[1], [99, 0, 42], key=b"fine_labels")
    d = load_eval_data(c100)
    assert d["format"] == "cifar-100" and d["y"].tolist() == [99, 0, 42]
    np.savez(tmp_path / "d.npz", x=xs[0], y=np.arange(4))
    d = load_eval_data(tmp_path / "d.npz")
    assert d["format"] == "npz" and np.array_equal(d["x"], xs[0])
    x = normalise(xs[0], mean=[0.5, 0.4, 0.3], std=[0.2])
    assert np.allclose(x[:, 1], (xs[0][:, 1] / 255.0 - 0.4) / 0.2, atol=1e-6)
    assert np.allclose(normalise(np.ones((1, 2), np.float32), scale=2.0), 2.0)


def test_bad_data_is_named(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_eval_data(tmp_path / "missing.npz")
    np.savez(tmp_path / "noy.npz", x=np.zeros((2, 3)))
    with pytest.raises(DataFormatError, match=r"noy.npz: a .npz needs arrays 'x' and 'y'"):
        load_eval_data(tmp_path / "noy.npz")
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="test_batch: not a CIFAR python batch"):
        load_eval_data(tmp_path / "test_batch")

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("true",))
    (tmp_path / "evil").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataFormatError, match=r"evil: not a CIFAR batch \(pickle refers to"):
        load_eval_data(tmp_path / "evil")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x01\x02")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_eval_data(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09")
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte"):
        load_eval_data(tmp_path)
    with pytest.raises(ValueError, match="--mean needs 1 or 3 values"):
        normalise(np.zeros((1, 3, 2, 2), np.uint8), mean=[1, 2])
    with pytest.raises(ValueError, match=r"takes inputs of shape \('N', 5\)"):
        fit_input(np.zeros((1, 3, 2, 2), np.float32), ("N", 5))
    assert fit_input(np.zeros((2, 3, 4, 5)), (None, 4, 5, 3)).shape == (2, 4, 5, 3)


def test_calibration_split():
    from pymodel.nn.onnx_eval import split_calibration
    x, y = np.arange(20)[:, None], np.arange(20)
    xc, xe, ye, how = split_calibration({"x": x, "y": y, "x_calib": None}, 5, seed=3)
    assert len(xc) == 5 and len(xe) == 15 and not set(xc[:, 0]) & set(xe[:, 0]) and np.array_equal(xe[:, 0], ye)
    assert "left out of the evaluation" in how
    again = split_calibration({"x": x, "y": y, "x_calib": None}, 5, seed=3)[0]
    assert np.array_equal(xc, again)
    xc, xe, _, how = split_calibration({"x": x, "y": y, "x_calib": x + 100, "calib_from": "train"}, 50, seed=0)
    assert len(xc) == 20 and xc.min() >= 100 and len(xe) == 20 and how == "20 images of train"
    with pytest.raises(ValueError, match="--calib 20: the data has 20 images and no training part"):
        split_calibration({"x": x, "y": y, "x_calib": None}, 20, seed=0)


# ---- command line -----------------------------------------------------------------------------------------

def test_cli_onnx_json_and_errors(tmp_path, capsys):
    rng = np.random.default_rng(0)
    m = model([node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]), node("Relu", ["c"], "r"),
               node("GlobalAveragePool", ["r"], "g"), node("Flatten", ["g"], "f"),
               node("Gemm", ["f", "Wf"], "y", transB=1)],
              {"W": f32(rng, 8, 3, 3, 3), "B": f32(rng, 8), "Wf": f32(rng, 20, 8)}, (3, 32, 32))
    onnx.save(m, tmp_path / "m.onnx")
    c100 = tmp_path / "c100"
    c100.mkdir()
    write_cifar(c100 / "test", rng.integers(0, 256, (30, 3, 32, 32), dtype=np.uint8), rng.integers(0, 20, 30),
                key=b"fine_labels")
    write_cifar(c100 / "train", rng.integers(0, 256, (10, 3, 32, 32), dtype=np.uint8), rng.integers(0, 20, 10),
                key=b"fine_labels")
    rc, out, err = run_cli("nn", "--onnx", str(tmp_path / "m.onnx"), "--data", str(c100), "--limit", "25",
                           "--mean", "0.5", "0.5", "0.5", "--std", "0.25", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["images"] == 25 and r["classes"] == 20 and r["calibration_images"] == 10 and r["seed"] == 0
    assert [x["name"] for x in r["results"]] == ["float32", "int8 exact", "int8 mitchell"]
    assert all(0 <= x["top1"] <= x["top5"] <= 1 for x in r["results"])
    assert r["macs_per_image"] == 32 * 32 * 8 * 27 + 8 * 20
    assert r["gemm_path"] == {"mitchell": "log-add"}
    # the rest in-process (same main(), without a new interpreter each time)
    from mitchell_cli import main
    assert main(["nn", "--onnx", str(tmp_path / "m.onnx"), "--data", str(c100), "--width", "6", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "int6 mitchell" in out and "top-5" in out and "no approximation-aware fine-tuning" in out
    assert "approx_matmul kernels: mitchell log-add" in out
    onnx.save(model([node("Sin", ["x"])], {}, (3,)), tmp_path / "sin.onnx")
    for args, msg in [((), "--onnx needs --data"), (("--data", str(tmp_path / "none")), "none does not exist"),
                      (("--data", str(c100), "--limit", "0"), "--limit must be an int >= 1"),
                      (("--data", str(c100), "--design", "nosuch"), "nosuch"),
                      (("--data", str(c100), "--width", "20"), "--width must be in 2..16"),
                      (("--data", str(c100), "--mean", "1", "2"), "--mean needs 1 or 3 values"),
                      (("--data", str(c100), "--onnx", str(tmp_path / "sin.onnx")), "(Sin)")]:
        assert main(["nn", "--onnx", str(tmp_path / "m.onnx"), *args, "--json"]) == 2, args
        assert msg in json.loads(capsys.readouterr().out)["error"], args
