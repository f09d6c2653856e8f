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
    with pytest.raises(DataFormatError,
                       match=rf"d.npz: 'x' must hold numbers \(int or float\), it holds .* \({what}\)"):
        load_eval_data(tmp_path / "d.npz")
    np.savez(tmp_path / "c.npz", x=np.ones((2, 2), np.float32), y=np.arange(2), x_calib=bad)
    with pytest.raises(DataFormatError, match=rf"'x_calib' must hold numbers .*\({what}\)"):
        load_eval_data(tmp_path / "c.npz")
    m = graph([helper.make_node("Relu", ["x"], ["y"])], {"x": (np.float32, ["N", 2])}, {"y": (np.float32, None)})
    onnx.save(m, tmp_path / "m.onnx")
    assert main(["nn", "--onnx", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "d.npz"), "--json"]) == 2
    assert what in json.loads(capsys.readouterr().out)["error"]


# ---- networks people bring ------------------------------------------------------------------------------------

def rel_err(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30))


def f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def test_skl2onnx_mlp_classifier_loads_as_written(rng):
    """skl2onnx's MLP: Cast, MatMul, Add, Relu, Softmax, ArgMax; its label goes through ai.onnx.ml's
    ArrayFeatureExtractor, refused by name, with the way to the probabilities in the message."""
    import warnings
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPClassifier

    from pymodel import Mitchell
    from pymodel.nn import ExactMultiplier
    from pymodel.nn.layers import Mode
    x = rng.uniform(0, 1, (120, 12)).astype(np.float32)
    y = (x[:, :4].sum(1) > 2).astype(int) + (x[:, 4] > 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(x, y)
    m = skl2onnx.to_onnx(clf, x[:1], options={"zipmap": False})
    ops = [nd.op_type for nd in m.graph.node]
    assert "Cast" in ops and "ArgMax" in ops
    with pytest.raises(OnnxImportError, match=r"\(ArrayFeatureExtractor\): operator domain 'ai.onnx.ml' is not "
                                              r"supported; it computes label, which the outputs probabilities"):
        load_onnx(m)
    net = load_onnx(m, outputs=["probabilities"])
    want = ort_all(m, {"X": x})[1]
    got = net.forward(x)
    assert rel_err(got, want) <= 1e-5
    net.calibrate(x)
    exact = net.forward(x, Mode("int", ExactMultiplier(width=8, signed=True)))
    approx = net.forward(x, Mode("int", Mitchell(width=8, signed=True)))
    assert rel_err(exact, want) < 0.05 and 1e-4 < rel_err(approx, exact) < 0.2


def test_mobile_cnn_block_matches_onnxruntime(rng):
    """Stem Conv, HardSwish, depthwise Conv + ReLU6 (Clip), squeeze-excite (GlobalAveragePool, 1x1 Convs,
    HardSigmoid, Mul), Sigmoid, reflect Pad, nearest Resize (x2), Concat with a strided branch."""
    c = 8
    nodes = [helper.make_node("Conv", ["x", "W0", "B0"], ["c0"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("HardSwish", ["c0"], ["h0"]),
             helper.make_node("Conv", ["h0", "Wd"], ["d"], group=c, pads=[1, 1, 1, 1]),
             helper.make_node("Clip", ["d", "lo", "hi"], ["d6"]),
             helper.make_node("GlobalAveragePool", ["d6"], ["g"]),
             helper.make_node("Conv", ["g", "Ws1"], ["s1"]), helper.make_node("Relu", ["s1"], ["s1r"]),
             helper.make_node("Conv", ["s1r", "Ws2"], ["s2"]),
             helper.make_node("HardSigmoid", ["s2"], ["gate"], alpha=0.2, beta=0.5),
             helper.make_node("Mul", ["d6", "gate"], ["se"]),
             helper.make_node("Conv", ["se", "Wp"], ["p"]), helper.make_node("Sigmoid", ["p"], ["ps"]),
             helper.make_node("Pad", ["ps", "pads"], ["pp"], mode="reflect"),
             helper.make_node("Resize", ["pp", "", "scales"], ["up"], mode="nearest"),
             helper.make_node("MaxPool", ["x"], ["xm"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["xm", "Wq"], ["q"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["q", "", "", "sizes"], ["qu"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Concat", ["up", "qu"], ["y"], axis=1)]
    inits = {"W0": f32(rng, c, 3, 3, 3, scale=0.4), "B0": f32(rng, c), "Wd": f32(rng, c, 1, 3, 3, scale=0.4),
             "lo": np.float32(0), "hi": np.float32(6), "Ws1": f32(rng, 4, c, 1, 1), "Ws2": f32(rng, c, 4, 1, 1),
             "Wp": f32(rng, 6, c, 1, 1, scale=0.3), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
             "scales": np.array([1, 1, 2, 2], np.float32), "Wq": f32(rng, 2, 3, 3, 3),
             "sizes": np.array([2, 2, 16, 16], np.int64)}
    m = graph(nodes, {"x": (np.float32, [2, 3, 12, 12])}, {"y": (np.float32, None)}, inits, opset=18)
    x = f32(rng, 2, 3, 12, 12)
    want = ort_all(m, {"x": x})[0]
    assert want.shape == (2, 8, 16, 16)
    net = load_onnx(m)
    assert rel_err(net.forward(x), want) <= 1e-5
    from pymodel import Mitchell
    from pymodel.nn.layers import Mode
    net.calibrate(x)
    assert 1e-4 < rel_err(net.forward(x, Mode("int", Mitchell(width=8, signed=True))), want) < 0.3


def encoder_graph(rng, t=6, d=16, heads=2, vocab=11, opset=17):
    """A BERT-style encoder layer from token ids: Gather embeddings, position embeddings, attention with a
    padding mask (Equal, Where, Cast, Unsqueeze, Expand), one fused QKV MatMul Split into three, heads by
    Reshape/Transpose, batched MatMuls, Softmax, LayerNormalization; an MLP with GELU spelled with Erf and a
    second norm spelled with ReduceMean/Pow/Sqrt/Div; then the first token (Slice), Tanh pooler, ArgMax."""
    dh = d // heads
    H = helper.make_node

    def ln_decomposed(x, g, b, out):
        return [H("ReduceMean", [x], [out + "_m"], axes=[-1]), H("Sub", [x, out + "_m"], [out + "_c"]),
                H("Pow", [out + "_c", "two"], [out + "_p"]), H("ReduceMean", [out + "_p"], [out + "_v"], axes=[-1]),
                H("Add", [out + "_v", "eps"], [out + "_ve"]), H("Sqrt", [out + "_ve"], [out + "_s"]),
                H("Div", [out + "_c", out + "_s"], [out + "_n"]), H("Mul", [out + "_n", g], [out + "_g"]),
                H("Add", [out + "_g", b], [out])]
    nodes = [H("Gather", ["tok_emb", "ids"], ["e"]), H("Add", ["e", "pos_emb"], ["e2"]),
             H("LayerNormalization", ["e2", "g0", "b0"], ["h0"], axis=-1, epsilon=1e-5),
             # padding mask: ids == 0 -> -1e4 added to the scores of that key
             H("Equal", ["ids", "zero_i"], ["pad"]), H("Cast", ["pad"], ["padf"], to=TensorProto.FLOAT),
             H("Where", ["pad", "neg", "zero_f"], ["bias"]), H("Unsqueeze", ["bias", "ax12"], ["bias4"]),
             H("Shape", ["bias4"], ["bs"]), H("ConstantOfShape", ["bs"], ["ones"],
                                               value=numpy_helper.from_array(np.ones(1, np.float32))),
             H("Mul", ["bias4", "ones"], ["bias4b"]), H("Expand", ["bias4b", "mask_shape"], ["mask"]),
             H("MatMul", ["h0", "Wqkv"], ["qkv"]), H("Split", ["qkv", "split3"], ["q", "k", "v"], axis=-1)]
    for name in "qkv":
        nodes += [H("Reshape", [name, "heads_shape"], [name + "r"]),
                  H("Transpose", [name + "r"], [name + "t"], perm=[0, 2, 3, 1] if name == "k" else [0, 2, 1, 3])]
    nodes += [H("MatMul", ["qt", "kt"], ["sc"]), H("Div", ["sc", "sqrt_dh"], ["scs"]),
              H("Add", ["scs", "mask"], ["scm"]),
              H("Softmax", ["scm"], ["att"], axis=-1), H("MatMul", ["att", "vt"], ["ctx"]),
              H("Transpose", ["ctx"], ["ctxt"], perm=[0, 2, 1, 3]), H("Reshape", ["ctxt", "merge_shape"], ["ctxm"]),
              H("MatMul", ["ctxm", "Wo"], ["o"]), H("Add", ["o", "h0"], ["r1"]),
              H("LayerNormalization", ["r1", "g1", "b1"], ["h1"], axis=-1),
              H("MatMul", ["h1", "W1"], ["f1"]), H("Add", ["f1", "c1"], ["f1b"]),
              H("Div", ["f1b", "sqrt2"], ["gd"]), H("Erf", ["gd"], ["ge"]), H("Add", ["ge", "one"], ["g1p"]),
              H("Mul", ["f1b", "g1p"], ["gm"]), H("Mul", ["gm", "half"], ["gelu"]),
              H("MatMul", ["gelu", "W2"], ["f2"]), H("Add", ["f2", "h1"], ["r2"])]
    nodes += ln_decomposed("r2", "g2", "b2", "h2")
    nodes += [H("Slice", ["h2", "s0", "s1", "s_ax"], ["cls"]), H("Squeeze", ["cls", "ax1"], ["cls2"]),
              H("Gemm", ["cls2", "Wp", "bp"], ["pool"], transB=1), H("Tanh", ["pool"], ["poolt"]),
              H("Gemm", ["poolt", "Wc"], ["logits"]), H("ReduceMean", ["h2"], ["meanh"], axes=[1], keepdims=0),
              H("Add", ["logits", "meanh_proj"], ["y"]), H("ArgMax", ["y"], ["label"], axis=1, keepdims=0)]
    # meanh feeds a second head through a MatMul by a constant
    nodes.insert(-1, H("MatMul", ["meanh", "Wm"], ["meanh_proj"]))
    inits = {"tok_emb": f32(rng, vocab, d), "pos_emb": f32(rng, t, d, scale=0.1), "g0": 1 + f32(rng, d, scale=0.1),
             "b0": f32(rng, d, scale=0.1), "zero_i": np.array(0, np.int64), "neg": np.float32(-1e4),
             "zero_f": np.float32(0), "ax12": np.array([1, 2], np.int64),
             "mask_shape": np.array([1, heads, t, t], np.int64), "Wqkv": f32(rng, d, 3 * d, scale=0.3),
             "split3": np.array([d, d, d], np.int64), "heads_shape": np.array([0, t, heads, dh], np.int64),
             "sqrt_dh": np.sqrt(np.float32(dh)), "merge_shape": np.array([0, t, d], np.int64),
             "Wo": f32(rng, d, d, scale=0.3), "g1": 1 + f32(rng, d, scale=0.1), "b1": f32(rng, d, scale=0.1),
             "W1": f32(rng, d, 2 * d, scale=0.3), "c1": f32(rng, 2 * d, scale=0.1), "sqrt2": np.float32(np.sqrt(2)),
             "one": np.float32(1), "half": np.float32(0.5), "W2": f32(rng, 2 * d, d, scale=0.3),
             "g2": 1 + f32(rng, d, scale=0.1), "b2": f32(rng, d, scale=0.1), "two": np.float32(2),
             "eps": np.float32(1e-5), "s0": np.array([0], np.int64), "s1": np.array([1], np.int64),
             "s_ax": np.array([1], np.int64), "ax1": np.array([1], np.int64), "Wp": f32(rng, d, d, scale=0.3),
             "bp": f32(rng, d, scale=0.1), "Wc": f32(rng, d, 3), "Wm": f32(rng, d, 3)}
    return graph(nodes, {"ids": (np.int64, ["N", t])}, {"y": (np.float32, None), "label": (np.int64, None)},
                 inits, opset=opset)


def test_transformer_encoder_layer_matches_onnxruntime(rng):
    m = encoder_graph(rng)
    ids = rng.integers(0, 11, (4, 6)).astype(np.int64)
    ids[:, -2:] = 0                      # padding at the end
    want_y, want_label = ort_all(m, {"ids": ids})
    net = load_onnx(m)
    y, label = net.run_all({"ids": ids})
    assert rel_err(y, want_y) <= 1e-4
    same(label, want_label)
    assert np.array_equal(net.forward(ids), y)
    with pytest.raises(ValueError, match=r"Gather indices 0..11 out of range"):
        net.forward(np.array([[0, 1, 2, 3, 4, 11]]))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_opset_20_and_layer_norm_outputs(approximate, rng):
    m = graph([helper.make_node("Gelu", ["x"], ["g"], approximate=approximate),
               helper.make_node("LayerNormalization", ["g", "s", "b"], ["y", "mean", "inv"], axis=1, epsilon=1e-3),
               helper.make_node("Softmax", ["y"], ["p"], axis=0)],
              {"x": (np.float32, [3, 4, 5])}, {"p": (np.float32, None), "mean": (np.float32, None),
                                               "inv": (np.float32, None)},
              {"s": f32(rng, 4, 5), "b": f32(rng, 4, 5)}, opset=20)
    x = f32(rng, 3, 4, 5, scale=2)
    for got, want in zip(load_onnx(m).run_all(x), ort_all(m, {"x": x})):
        assert rel_err(got, want) <= 1e-5


# ---- the study (mitchell nn --onnx) with several inputs and a chosen output ------------------------------------

def test_cli_model_with_two_inputs_and_a_chosen_output(tmp_path, rng, capsys):
    from mitchell_cli import main
    nodes = [helper.make_node("MatMul", ["img", "W"], ["s"]), helper.make_node("Gather", ["emb", "tag"], ["e"]),
             helper.make_node("Add", ["s", "e"], ["scores"]),
             helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0)]
    m = graph(nodes, {"img": (np.float32, ["N", 6]), "tag": (np.int64, ["N"])},
              {"label": (np.int64, None), "scores": (np.float32, None)},
              {"W": f32(rng, 6, 4), "emb": f32(rng, 3, 4)})
    onnx.save(m, tmp_path / "two.onnx")
    img, tag = f32(rng, 40, 6), rng.integers(0, 3, 40)
    want = ort_all(m, {"img": img, "tag": tag})[1]
    y = want.argmax(1)
    np.savez(tmp_path / "two.npz", img=img, tag=tag, y=y, img_calib=img[:8], tag_calib=tag[:8])
    args = ["nn", "--onnx", str(tmp_path / "two.onnx"), "--data", str(tmp_path / "two.npz"), "--json"]
    # the first output is the label: refused before any work, with the way out
    assert main(args) == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert "'label' (int64, 1 value(s) per image) is not class scores; choose the scores with --output" in err
    assert main(args + ["--output", "scores"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["results"][0]["name"] == "float32" and r["results"][0]["top1"] == 1.0     # the labels are ORT's argmax
    assert r["calibration_images"] == 8 and r["images"] == 40
    for extra, msg in [(["--output", "nope"], "outputs ['nope'] are not graph outputs"),
                       (["--output", "scores", "--mean", "0.5"], "--scale/--mean/--std normalise one float image input")]:
        assert main(args + extra) == 2
        assert msg in json.loads(capsys.readouterr().out)["error"]
    np.savez(tmp_path / "bad.npz", img=img, y=y)
    assert main(["nn", "--onnx", str(tmp_path / "two.onnx"), "--data", str(tmp_path / "bad.npz"), "--output", "scores",
                 "--json"]) == 2
    assert "one array per model input ['img', 'tag'] and 'y'; missing ['tag']" in \
        json.loads(capsys.readouterr().out)["error"]


def test_graph_reading_an_undefined_tensor_or_in_a_cycle_is_refused():
    H = helper.make_node
    m = graph([H("Relu", ["x"], ["a"]), H("Add", ["a", "ghost"], ["y"])], {"x": (np.float32, [2])},
              {"y": (np.float32, None)})
    with pytest.raises(OnnxImportError, match=r"\(Add\) reads 'ghost', which no node, initializer or graph input"):
        load_onnx(m)
    m = graph([H("Add", ["x", "b"], ["a"], name="first"), H("Relu", ["a"], ["b"]), H("Relu", ["a"], ["y"])],
              {"x": (np.float32, [2])}, {"y": (np.float32, None)})
    with pytest.raises(OnnxImportError, match=r"node 'first' \(Add\) is in a cycle"):
        load_onnx(m)


def test_elementwise_reduce_and_index_operators_match_onnxruntime(rng):
    """The operators the two networks above do not use, on one graph with several outputs (ties, halves,
    negative values: the cases where semantics differ)."""
    H = helper.make_node
    nodes = [H("Round", ["x"], ["r"]), H("Floor", ["x"], ["fl"]), H("Ceil", ["x"], ["ce"]), H("Abs", ["x"], ["ab"]),
             H("Neg", ["x"], ["ng"]), H("Sign", ["x"], ["sg"]), H("Exp", ["x"], ["ex"]), H("Log", ["ab"], ["lg"]),
             H("Reciprocal", ["ex"], ["rc"]), H("Max", ["r", "fl", "lg"], ["mx"]), H("Min", ["ce", "ng"], ["mn"]),
             H("Sum", ["mx", "mn", "rc"], ["sm"]), H("Mean", ["sm", "sg"], ["mean"]),
             H("LogSoftmax", ["mean"], ["ls"], axis=1), H("ReduceSum", ["ls", "ax1"], ["rs"], keepdims=0),
             H("ReduceMax", ["x"], ["rmax"], axes=[0, 2], keepdims=1), H("ReduceMin", ["x"], ["rmin"], axes=[1]),
             H("ReduceL2", ["x"], ["rl2"], axes=[2]), H("ReduceProd", ["r"], ["rp"], axes=[1]),
             H("ArgMin", ["r"], ["am"], axis=2, select_last_index=1),
             H("Greater", ["x", "half"], ["gt"]), H("LessOrEqual", ["x", "zero"], ["le"]),
             H("Xor", ["gt", "le"], ["xo"]), H("Not", ["xo"], ["nt"]), H("Or", ["nt", "gt"], ["orr"]),
             H("CastLike", ["orr", "like"], ["oi"]), H("Cast", ["x"], ["xi"], to=TensorProto.INT32),
             H("Tile", ["xi", "reps"], ["ti"]), H("Shape", ["ti"], ["tsh"]), H("Size", ["ti"], ["tsz"]),
             H("Range", ["zero_i", "tsz", "three"], ["rg"]), H("Add", ["oi", "rmax"], ["y"])]
    inits = {"ax1": np.array([1], np.int64), "half": np.float32(0.5), "zero": np.float32(0),
             "like": np.zeros(1, np.float32), "reps": np.array([1, 2, 1], np.int64), "zero_i": np.int64(0),
             "three": np.int64(3)}
    outs = {k: (dt, None) for k, dt in [("y", np.float32), ("ls", np.float32), ("rs", np.float32),
                                        ("rmin", np.float32), ("rl2", np.float32), ("rp", np.float32),
                                        ("am", np.int64), ("ti", np.int32), ("tsh", np.int64), ("rg", np.int64)]}
    m = graph(nodes, {"x": (np.float32, [2, 3, 4])}, outs, inits, opset=17)
    x = (rng.integers(-8, 9, (2, 3, 4)) / 2).astype(np.float32)      # halves: Round ties to even, as ONNX
    x[0, 0, 0] = 0.0
    want = ort_all(m, {"x": x})
    for name, got, w in zip(outs, load_onnx(m).run_all(x), want):
        if w.dtype.kind == "f":
            assert got.dtype == w.dtype and rel_err(got, w) <= 1e-5, name
        else:
            same(got, w)


@pytest.mark.parametrize("scales", [[1, 1, 2, 3], [1, 1, 0.6, 1.7], [1, 1, 0.3, 2.5]])
def test_resize_opset_10_nearest_as_onnxruntime(scales):
    """Resize-10 (Upsample's rule): asymmetric coordinates, floor when enlarging and ceil when shrinking."""
    m = graph([helper.make_node("Resize", ["x", "s"], ["y"], mode="nearest")], {"x": (np.float32, [1, 2, 5, 7])},
              {"y": (np.float32, None)}, {"s": np.array(scales, np.float32)}, opset=10)
    x = np.arange(70, dtype=np.float32).reshape(1, 2, 5, 7)
    same(load_onnx(m).forward(x), ort_all(m, {"x": x})[0])


def test_integer_matmul_is_exact_and_stays_integer(rng):
    """An integer product (int32 values past float32's 24-bit mantissa) is not a layer: exact, in its dtype;
    the second operand's type known only from shape inference (after a Relu).  onnxruntime has no integer
    Gemm: that one against numpy's int64 product."""
    w = rng.integers(-9, 10, (3, 4)).astype(np.int32)
    m = graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("MatMul", ["r", "w"], ["y"])],
              {"x": (np.int32, ["N", 3])}, {"y": (np.int32, None)}, {"w": w}, opset=14)
    x = rng.integers(-2 ** 26, 2 ** 26, (5, 3)).astype(np.int32)
    same(load_onnx(m).forward(x), ort_all(m, {"x": x})[0])
    m = graph([helper.make_node("MatMul", ["x", "v"], ["y"])], {"x": (np.int32, ["N", 3]), "v": (np.int32, [3, 4])},
              {"y": (np.int32, None)}, opset=14)
    same(load_onnx(m).run_all({"x": x, "v": w})[0], ort_all(m, {"x": x, "v": w})[0])
    m = graph([helper.make_node("Gemm", ["x", "wt", "c"], ["y"], transB=1)], {"x": (np.int32, ["N", 3])},
              {"y": (np.int32, None)}, {"wt": np.ascontiguousarray(w.T), "c": np.arange(4, dtype=np.int32)}, opset=13)
    same(load_onnx(m).forward(x), (x.astype(np.int64) @ w.astype(np.int64) + np.arange(4)).astype(np.int32))


def test_conv_with_computed_weights_runs_the_approximate_path_like_constant_weights(rng):
    """Weights given as a graph input are quantized per output channel like initializers: the int8 results of
    the two graphs are identical, for the exact multiplier and Mitchell's."""
    from pymodel import Mitchell
    from pymodel.nn import ExactMultiplier
    from pymodel.nn.layers import Mode
    w, x = f32(rng, 4, 1, 3, 3), f32(rng, 2, 1, 8, 8)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 1], kernel_shape=[3, 3])
    const = load_onnx(graph([conv], {"x": (np.float32, ["N", 1, 8, 8])}, {"y": (np.float32, None)}, {"w": w}))
    dyn = load_onnx(graph([conv], {"x": (np.float32, ["N", 1, 8, 8]), "w": (np.float32, [4, 1, 3, 3])},
                          {"y": (np.float32, None)}))
    feeds = {"x": x, "w": w}
    assert np.array_equal(dyn.forward(feeds), const.forward(x))
    const.calibrate(x)
    dyn.calibrate(feeds)
    for mult in (ExactMultiplier(width=8, signed=True), Mitchell(width=8, signed=True)):
        a, b = const.forward(x, Mode("int", mult)), dyn.forward(feeds, Mode("int", mult))
        assert np.array_equal(a, b)
    w2 = w * np.float32(2)           # new weights on the next call are quantized again
    assert np.allclose(dyn.forward({"x": x, "w": w2}, Mode("int", mult)), 2 * b, rtol=1e-5, atol=1e-6)


def test_cli_encoder_on_token_ids(tmp_path, rng, capsys):
    """Token ids (uint8 in the file) go in as they are, not scaled as pixels; the score output is chosen."""
    from mitchell_cli import main
    m = encoder_graph(rng)
    onnx.save(m, tmp_path / "enc.onnx")
    ids = rng.integers(1, 11, (24, 6)).astype(np.uint8)
    want = ort_all(m, {"ids": ids.astype(np.int64)})[0]
    np.savez(tmp_path / "ids.npz", x=ids, y=want.argmax(1), x_calib=ids[:8])
    args = ["nn", "--onnx", str(tmp_path / "enc.onnx"), "--data", str(tmp_path / "ids.npz"), "--output", "y", "--json"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["results"][0]["top1"] == 1.0 and r["images"] == 24 and len(r["results"]) == 3
    assert main(args + ["--scale", "2"]) == 2
    assert "ids (int64)" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize("ctm", ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"])
@pytest.mark.parametrize("sizes", [[2, 3, 11, 4], [2, 3, 3, 9]])
def test_resize_linear_matches_onnxruntime(ctm, sizes, rng):
    m = graph([helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear",
                                coordinate_transformation_mode=ctm)], {"x": (np.float32, [2, 3, 5, 6])},
              {"y": (np.float32, None)}, {"sz": np.array(sizes, np.int64)}, opset=13)
    x = f32(rng, 2, 3, 5, 6)
    assert rel_err(load_onnx(m).forward(x), ort_all(m, {"x": x})[0]) <= 1e-6


def test_resize_align_corners_with_a_fractional_length_is_refused(rng):
    """onnx's spec divides by in * scale - 1, onnxruntime by the whole output length - 1: no answer given."""
    m = graph([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear",
                                coordinate_transformation_mode="align_corners")],
              {"x": (np.float32, [1, 1, 2, 4])}, {"y": (np.float32, None)},
              {"s": np.array([1, 1, 0.6, 0.6], np.float32)}, opset=13)
    with pytest.raises(ValueError, match=r"\(Resize\): align_corners with scale 0.6 on an axis of 2 is not supported"):
        load_onnx(m).forward(np.ones((1, 1, 2, 4), np.float32))


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pooling_1d_and_3d_match_onnxruntime(op, rng):
    for shape, attrs in (((2, 3, 17), dict(kernel_shape=[3], strides=[2], pads=[1, 0], ceil_mode=1)),
                         ((2, 2, 6, 7, 5), dict(kernel_shape=[3, 2, 2], strides=[2, 2, 1], pads=[1, 0, 1, 0, 1, 1],
                                                ceil_mode=1))):
        if op == "AveragePool":
            attrs = {**attrs, "count_include_pad": 1}
        m = graph([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": (np.float32, list(shape))},
                  {"y": (np.float32, None)}, opset=19)
        x = f32(rng, *shape)
        assert rel_err(load_onnx(m).forward(x), ort_all(m, {"x": x})[0]) <= 1e-6


@pytest.mark.parametrize("order", [0, 1])
def test_maxpool_indices_match_onnxruntime(order, rng):
    """The Indices output: flat positions in the input (row- or column-major), the first of tied maxima."""
    x = rng.integers(-3, 4, (2, 3, 7, 6)).astype(np.float32)          # small integers: many ties
    m = graph([helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 2], strides=[2, 2],
                                pads=[1, 0, 1, 1], storage_order=order)], {"x": (np.float32, [2, 3, 7, 6])},
              {"y": (np.float32, None), "i": (np.int64, None)}, opset=12)
    got, want = load_onnx(m).run_all(x), ort_all(m, {"x": x})
    same(got[0], want[0])
    same(got[1], want[1])
