"""ONNX operators one by one against onnxruntime: integer tensors keep their dtype and semantics, several data
inputs, and the operators of mobile CNNs and transformer encoders; plus the errors a user sees."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pymodel.nn.onnx_import import SUPPORTED_OPS, OnnxImportError, load_onnx  # noqa: E402


def graph(nodes, inputs, outputs, inits=None, opset=17):
    """A model from ``inputs``/``outputs`` given as ``{name: (numpy dtype, shape)}``."""
    def info(name, dt, shape):
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), shape)
    g = helper.make_graph(nodes, "t", [info(k, *v) for k, v in inputs.items()],
                          [info(k, *v) for k, v in outputs.items()],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def ort_all(m, feeds):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def same(got, want):
    """Identical values and dtype (integer results must be exact)."""
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want), (got, want)


# ---- integer tensors ----------------------------------------------------------------------------------------

INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def int_operands(dt, rng, shape=(3, 7)):
    info = np.iinfo(dt)
    lo, hi = max(info.min, -100), min(info.max, 100)
    a = rng.integers(lo, hi + 1, shape).astype(dt)
    b = rng.integers(lo, hi + 1, shape).astype(dt)
    b[b == 0] = 3
    return a, b


@pytest.mark.parametrize("dt", INT_TYPES, ids=[np.dtype(t).name for t in INT_TYPES])
@pytest.mark.parametrize("op", ["Div", "Add", "Sub", "Mul"])
def test_integer_arithmetic_keeps_dtype_and_truncates_like_onnxruntime(op, dt, rng):
    """Div truncates toward zero (-7 / 2 = -3); nothing comes back as float.  A constant operand too."""
    a, b = int_operands(dt, rng)
    m = graph([helper.make_node(op, ["x", "c"], ["t"]), helper.make_node(op, ["t", "k"], ["y"])],
              {"x": (dt, [3, 7])}, {"y": (dt, [3, 7])}, {"c": b, "k": np.array(2, dt)})
    want = ort_all(m, {"x": a})[0]
    same(load_onnx(m).forward(a), want)


def test_integer_div_of_negatives_is_truncation(rng):
    a = np.array([-7, 7, -7, 7, -1, 0, -128, 127], np.int8)
    b = np.array([2, -2, -2, 2, 3, -5, 3, -4], np.int8)
    m = graph([helper.make_node("Div", ["x", "c"], ["y"])], {"x": (np.int8, [8])}, {"y": (np.int8, [8])}, {"c": b})
    got = load_onnx(m).forward(a)
    same(got, ort_all(m, {"x": a})[0])
    assert got.tolist() == [-3, -3, 3, 3, 0, 0, -42, -31]


@pytest.mark.parametrize("dt", [np.int8, np.int32, np.int64, np.uint8])
def test_integer_clip_relu_maxpool_keep_dtype(dt, rng):
    info = np.iinfo(dt)
    x = rng.integers(max(info.min, -50), min(info.max, 50) + 1, (2, 3, 6, 5)).astype(dt)
    bounds = {"lo": np.array(max(info.min, -20), dt), "hi": np.array(30, dt)}
    m = graph([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"x": (dt, [2, 3, 6, 5])}, {"y": (dt, None)},
              bounds, opset=13)
    same(load_onnx(m).forward(x), ort_all(m, {"x": x})[0])
    if dt in (np.int8, np.uint8):        # onnxruntime's integer MaxPool
        m = graph([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1],
                                    pads=[1, 0, 1, 1])], {"x": (dt, [2, 3, 6, 5])}, {"y": (dt, None)}, opset=13)
        same(load_onnx(m).forward(x), ort_all(m, {"x": x})[0])
    if dt in (np.int8, np.int32):       # Relu of signed integers (opset 14) as onnxruntime implements it
        m = graph([helper.make_node("Relu", ["x"], ["y"])], {"x": (dt, [2, 3, 6, 5])}, {"y": (dt, None)}, opset=14)
        same(load_onnx(m).forward(x), ort_all(m, {"x": x})[0])


def test_clip_attributes_opset_6_on_integers_without_bounds(rng):
    x = rng.integers(-9, 9, (4, 5)).astype(np.int32)
    m = graph([helper.make_node("Clip", ["x"], ["y"], min=-3.0)], {"x": (np.float32, [4, 5])},
              {"y": (np.float32, None)}, opset=6)
    got = load_onnx(m).forward(x.astype(np.float32))
    same(got, ort_all(m, {"x": x.astype(np.float32)})[0])


def test_integer_input_refuses_fractions_and_out_of_range():
    m = graph([helper.make_node("Add", ["x", "x"], ["y"])], {"x": (np.int8, [2])}, {"y": (np.int8, [2])})
    net = load_onnx(m)
    with pytest.raises(ValueError, match=r"input 'x'.*int8.*fractional"):
        net.forward(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match=r"input 'x': values 0..300 do not fit the model's int8 \(-128..127\)"):
        net.forward(np.array([0, 300]))
    with pytest.raises(ValueError, match=r"input 'x': <U3 data"):
        net.forward(np.array(["1.5", "2"]))
    same(net.forward(np.array([100.0, -3.0])), np.array([-56, -6], np.int8))     # int8 wraps, as onnxruntime


# ---- messages -----------------------------------------------------------------------------------------------

def test_runtime_error_names_the_node_once(rng):
    m = graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="MatMul")], {"x": (np.float32, ["N", 4])},
              {"y": (np.float32, None)}, {"W": rng.standard_normal((4, 3)).astype(np.float32)})
    with pytest.raises(ValueError) as e:
        load_onnx(m).forward(np.ones((2, 5), np.float32))
    assert str(e.value).count("node 'MatMul' (MatMul)") == 1, str(e.value)
    assert "input has 5 features, the weights expect 4" in str(e.value)


def test_supported_list_is_every_operator_the_importer_builds():
    m = graph([helper.make_node("Sin", ["x"], ["y"], name="s")], {"x": (np.float32, [2])}, {"y": (np.float32, None)})
    with pytest.raises(OnnxImportError) as e:
        load_onnx(m)
    listed = str(e.value).split("(supported: ")[1].rstrip(")").split(", ")
    assert listed == list(SUPPORTED_OPS)
    for op in ("Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Conv", "Gemm", "MatMul"):
        assert op in listed


@pytest.mark.parametrize("bad,what", [(np.array([["1.5", "2"], ["3", "4"]]), "strings"),
                                      (np.ones((2, 2), np.complex64), "complex numbers")])
def test_data_npz_of_strings_or_complex_is_refused_by_name(tmp_path, bad, what, capsys):
    from mitchell_cli import main
    from pymodel.nn.data import DataFormatError, load_eval_data
    np.savez(tmp_path / "d.npz", x=bad, y=np.arange(2))
    with pytest.raises(DataFormatError, match=rf"d.npz: 'x' must hold numbers \(int or float\), it holds .* \({what}\)"):
        load_eval_data(tmp_path / "d.npz")
    np.savez(tmp_path / "c.npz", x=np.ones((2, 2), np.float32), y=np.arange(2), x_calib=bad)
    with pytest.raises(DataFormatError, match=rf"'x_calib' must hold numbers .*\({what}\)"):
        load_eval_data(tmp_path / "c.npz")
    m = graph([helper.make_node("Relu", ["x"], ["y"])], {"x": (np.float32, ["N", 2])}, {"y": (np.float32, None)})
    onnx.save(m, tmp_path / "m.onnx")
    assert main(["nn", "--onnx", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "d.npz"), "--json"]) == 2
    assert what in json.loads(capsys.readouterr().out)["error"]
