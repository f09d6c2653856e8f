"""Transformers through the ONNX path: MatMul between two activations on the approximate path (against the
golden model, product by product), the per-layer error report, and a small ViT-style encoder (float path
against onnxruntime, every multiplying design of the registry through the int path)."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pymodel.nn import ExactMultiplier  # noqa: E402
from pymodel.nn.layers import FLOAT, Mode, quantize  # noqa: E402
from pymodel.nn.onnx_exec import LayerErrors  # noqa: E402
from pymodel.nn.onnx_import import load_onnx  # noqa: E402
from pymodel.registry import design_class, designs_with, make_design  # noqa: E402

EXACT8 = ExactMultiplier(width=8, signed=True)
DESIGNS8 = [(name, make_design(name, width=8, signed=True)) for name in designs_with("mul")]


def graph(nodes, inits, in_shape, opset=17):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def node(op, ins, out, **attrs):
    return helper.make_node(op, ins, [out], name=f"{op}_{out}", **attrs)


def golden_matmul(aq, bq, mult):
    """``sum_k mult.mul(a[..., i, k], b[..., k, j])`` with the design's scalar reference ``mul`` on Python
    ints (cached per operand pair), batched dims broadcast as numpy.matmul."""
    lead = np.broadcast_shapes(aq.shape[:-2], bq.shape[:-2])
    a3 = np.broadcast_to(aq, lead + aq.shape[-2:]).reshape((-1,) + aq.shape[-2:])
    b3 = np.broadcast_to(bq, lead + bq.shape[-2:]).reshape((-1,) + bq.shape[-2:])
    table = {}

    def mul(x, y):
        key = (int(x), int(y))
        if key not in table:
            table[key] = mult.mul(*key)
        return table[key]
    acc = np.array([[[sum(mul(a3[j, i, t], b3[j, t, k]) for t in range(a3.shape[2])) for k in range(b3.shape[2])]
                     for i in range(a3.shape[1])] for j in range(len(a3))], np.int64)
    return acc.reshape(lead + acc.shape[1:])


def per_tensor(v, qmax=127):
    s = float(np.abs(v).max()) / qmax
    return quantize(v, s, qmax), s


# ---- MatMul between two activations (and batched constants) against the golden model ----------------------

def act_act_cases(rng):
    """(name, model, x, fn(x) -> (a, b, a_scale_axis, b_scale_axis[, alpha, C])): a and b the float operands of
    the one MatMul (or Gemm), the scale axes None for per tensor (computed operands), else the axis a constant
    one is quantized over (per output channel); a Gemm's alpha and constant C."""
    x = rng.standard_normal((2, 4, 6)).astype(np.float32)
    # attention scores: heads split by Reshape + Transpose, Q (here ReLU of the heads) @ K^T, 4-D
    yield "scores 4-D", graph(
        [node("Reshape", ["x", "shp"], "r"), node("Transpose", ["r"], "h", perm=[0, 2, 1, 3]),
         node("Relu", ["h"], "q"), node("Transpose", ["h"], "kt", perm=[0, 1, 3, 2]), node("MatMul", ["q", "kt"], "y")],
        {"shp": np.array([0, 4, 2, 3], np.int64)}, (4, 6)), x, lambda x: (
            np.maximum(x.reshape(2, 4, 2, 3).transpose(0, 2, 1, 3), 0), x.reshape(2, 4, 2, 3).transpose(0, 2, 3, 1),
            None, None)
    xv = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    # attention-weighted values: P (non-negative) @ V, 4-D
    yield "values 4-D", graph([node("Relu", ["x"], "p"), node("MatMul", ["p", "x"], "y")], {}, (2, 4, 4)), xv, \
        lambda x: (np.maximum(x, 0), x, None, None)
    # 3-D activations by a computed 2-D matrix: one GEMM for the whole batch
    yield "3-D by computed 2-D", graph(
        [node("Reshape", ["x", "shp"], "f"), node("Transpose", ["f"], "ft", perm=[1, 0]),
         node("MatMul", ["x", "ft"], "y")],
        {"shp": np.array([-1, 3], np.int64)}, (4, 3)), x[:, :, :3].copy(), lambda x: (x, x.reshape(-1, 3).T, None, None)
    W = rng.standard_normal((2, 3, 5)).astype(np.float32) * np.array([0.1, 1, 10, 3, 0.5], np.float32)
    # a constant 3-D B broadcast over the batch: per output column of each matrix
    yield "by constant 3-D B", graph(
        [node("Reshape", ["x", "shp"], "r"), node("MatMul", ["r", "W"], "y")],
        {"shp": np.array([0, 1, 4, 3], np.int64), "W": W}, (4, 3)), x[:, :, :3].copy(), \
        lambda x: (x.reshape(2, 1, 4, 3), W, None, -2)
    A = rng.standard_normal((5, 4)).astype(np.float32) * np.array([[0.1], [1], [10], [3], [0.5]], np.float32)
    # a constant A times activations: per row of A
    yield "constant A", graph([node("MatMul", ["A", "x"], "y")], {"A": A}, (4, 6)), x, lambda x: (A, x, -1, None)
    # Gemm of two activations with transB, alpha and a constant C: y = 0.5 * x @ relu(x)^T + 0.25
    yield "Gemm transB alpha C", graph(
        [node("Relu", ["x"], "r"), node("Gemm", ["x", "r", "C"], "y", transB=1, alpha=0.5)],
        {"C": np.array([0.25], np.float32)}, (6,)), x[0], lambda x: (x, np.maximum(x, 0).T, None, None, 0.5, 0.25)


def _quantized(v, axis):
    if axis is None:
        return per_tensor(v)
    s = np.maximum(np.abs(v).max(axis=axis, keepdims=True), 1e-12) / 127
    return quantize(v, s, 127), s.astype(np.float32)


@pytest.mark.parametrize("group", ["auto", 1, 3])
@pytest.mark.parametrize("case", range(6))
def test_activation_matmul_int_path_is_the_golden_model(case, group, monkeypatch):
    """``group``: how many of a batch's small matrix products share one approx_matmul call (diagonal blocks of
    a bigger product): the executor's choice, one per call, or 3 (a batch of 4 leaves a remainder)."""
    if group != "auto":
        from pymodel.nn import onnx_exec
        monkeypatch.setattr(onnx_exec, "_group_size", lambda count, *mnk: min(count, group))
    name, m, x, operands = list(act_act_cases(np.random.default_rng(case)))[case]
    net = load_onnx(m)
    assert [s.arithmetic for s in net.mac_steps] == ["approx_matmul"]
    net.calibrate(x)                          # the calibration images are x itself: scales from max |operand|
    a, b, ax_a, ax_b, *gemm = operands(x)
    alpha, c = gemm or (1.0, 0.0)                 # Gemm's alpha and C, applied in float after the product
    (aq, s_a), (bq, s_b) = _quantized(a, ax_a), _quantized(b, ax_b)
    # exact int8: the integer product of the quantized operands
    exact = net.forward(x, Mode("int", EXACT8))
    want = (np.matmul(aq, bq) * (s_a * s_b)).astype(np.float32) * np.float32(alpha) + np.float32(c)
    np.testing.assert_allclose(exact, want, rtol=1e-6, atol=1e-7)
    for dname, mult in DESIGNS8:
        got = net.forward(x, Mode("int", mult))
        want = (golden_matmul(aq, bq, mult) * (s_a * s_b)).astype(np.float32) * np.float32(alpha) + np.float32(c)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=f"{name}, {dname}")
        if dname == "mitchell":
            assert np.abs(got - exact).max() > 1e-3 * np.abs(exact).max()       # the design is in the loop


# ---- the per-layer report ----------------------------------------------------------------------------------

def _rel(got, want):
    return float(np.sqrt(np.sum((np.float64(got) - want) ** 2) / np.sum(np.float64(want) ** 2)))


def test_layer_errors_by_hand():
    """Gemm -> Relu -> Gemm at exact int6, over several batches: the first node's own and accumulated errors
    are the same (its input is the graph's), the second's own error is against its float output on the int
    run's own ReLU output, its accumulated one against the float network; figures from numpy by hand."""
    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = (rng.standard_normal(s).astype(np.float32) for s in ((8, 5), (8,), (3, 8), (3,)))
    m = graph([node("Gemm", ["x", "W1", "b1"], "h", transB=1), node("Relu", ["h"], "r"),
               node("Gemm", ["r", "W2", "b2"], "y", transB=1)], {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, (5,))
    x = rng.standard_normal((7, 5)).astype(np.float32)
    net = load_onnx(m)
    net.calibrate(x)
    mult = ExactMultiplier(width=6, signed=True)
    q = 31

    def deq(v, s):
        return quantize(v, s, q) * s

    def wdeq(W):
        s = np.abs(W).max(axis=1, keepdims=True) / q
        return deq(W, s)
    h_f = x @ W1.T + b1
    r_f = np.maximum(h_f, 0)
    y_f = r_f @ W2.T + b2
    h_i = deq(x, np.abs(x).max() / q) @ wdeq(W1).T + b1
    r_i = np.maximum(h_i, 0)
    y_i = deq(r_i, np.abs(r_f).max() / q) @ wdeq(W2).T + b2
    errors = LayerErrors()
    logits = net.logits(x, Mode("int", mult), batch=3, layers=errors)
    np.testing.assert_allclose(logits, y_i, rtol=1e-5, atol=1e-5)
    rows = errors.rows()
    assert [(r["name"], r["op"]) for r in rows] == [("Gemm_h", "Gemm"), ("Gemm_y", "Gemm"), ("(output)", "")]
    want = [(_rel(h_i, h_f), _rel(h_i, h_f)), (_rel(y_i, r_i @ W2.T + b2), _rel(y_i, y_f)), (None, _rel(y_i, y_f))]
    for r, (own, acc) in zip(rows, want):
        assert r["accumulated_rel_rms"] == pytest.approx(acc, rel=1e-3), r
        assert r["accumulated_snr_db"] == pytest.approx(-20 * np.log10(acc), rel=1e-3), r
        if own is None:
            assert r["rel_rms"] is None and r["snr_db"] is None
        else:
            assert r["rel_rms"] == pytest.approx(own, rel=1e-3), r
            assert r["snr_db"] == pytest.approx(-20 * np.log10(own), rel=1e-3), r
    assert rows[1]["rel_rms"] < 0.8 * rows[1]["accumulated_rel_rms"]     # the first layer's error carries on
    # the float path and calibration are untouched by the report: a float run records nothing
    errors = LayerErrors()
    net.logits(x, FLOAT, layers=errors)
    assert [r["name"] for r in errors.rows()] == ["(output)"]


def attention_graph(rng, d=6, t=4, classes=3):
    """One attention head on (N, t, d) inputs: Q, K by weights, softmax(Q K^T) V (V the input), a Gemm head."""
    W = {k: rng.standard_normal((d, d)).astype(np.float32) / np.sqrt(d) for k in ("Wq", "Wk")}
    W["Wh"] = rng.standard_normal((classes, t * d)).astype(np.float32)
    W["shp"] = np.array([0, -1], np.int64)
    return graph([node("MatMul", ["x", "Wq"], "q"), node("MatMul", ["x", "Wk"], "k"),
                  node("Transpose", ["k"], "kt", perm=[0, 2, 1]), node("MatMul", ["q", "kt"], "s"),
                  node("Softmax", ["s"], "p", axis=-1), node("MatMul", ["p", "x"], "o"),
                  node("Reshape", ["o", "shp"], "f"), node("Gemm", ["f", "Wh"], "y", transB=1)], W, (t, d))


def test_cli_layers_report(tmp_path, capsys):
    from mitchell_cli import main
    rng = np.random.default_rng(2)
    onnx.save(attention_graph(rng), tmp_path / "att.onnx")
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((20, 4, 6)).astype(np.float32), y=rng.integers(0, 3, 20),
             x_calib=rng.standard_normal((8, 4, 6)).astype(np.float32))
    args = ["nn", "--onnx", str(tmp_path / "att.onnx"), "--data", str(tmp_path / "d.npz"), "--calib", "8"]
    assert main(args + ["--design", "mitchell", "ilm", "--layers", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [(n["name"], n["arithmetic"]) for n in r["nodes"]] == [
        ("MatMul_q", "approx_matmul"), ("MatMul_k", "approx_matmul"), ("Transpose_kt", "float32"),
        ("MatMul_s", "approx_matmul"), ("Softmax_p", "float32"), ("MatMul_o", "approx_matmul"),
        ("Reshape_f", "float32"), ("Gemm_y", "approx_matmul")]
    assert r["nodes"][3]["quantization"] == "A per tensor, B per tensor"
    assert r["nodes"][3]["macs_per_image"] == 4 * 4 * 6
    assert "layers" not in r["results"][0]                                  # float32: nothing to compare
    for run in r["results"][1:]:
        names = [x["name"] for x in run["layers"]]
        assert names == ["MatMul_q", "MatMul_k", "MatMul_s", "MatMul_o", "Gemm_y", "(output)"], run["name"]
        assert all(0 < x["accumulated_rel_rms"] < 1 and x["accumulated_snr_db"] > 0 for x in run["layers"])
    exact, mitchell = r["results"][1]["layers"], r["results"][2]["layers"]
    assert mitchell[0]["rel_rms"] > 1.2 * exact[0]["rel_rms"]         # Mitchell's products add to quantization
    assert main(args + ["--layers"]) == 0
    out = capsys.readouterr().out
    assert "per-layer error against the float path" in out and "int8 mitchell (mitchell s8)" in out
    worst = max(mitchell[:-1], key=lambda x: x["rel_rms"])
    assert f"largest own error: {worst['name']} ({worst['op']}), relative RMS {worst['rel_rms']:.2e}" in out
    assert ("float32 in every run (not quantized):\n  Transpose x1: Transpose_kt\n  Softmax x1: Softmax_p\n"
            "  Reshape x1: Reshape_f") in out
    assert main(args) == 0
    assert "approximate (approx_matmul): MatMul x4, Gemm x1; float32: Transpose x1, Softmax x1, Reshape x1" in \
        capsys.readouterr().out
    assert main(["nn", "--layers", "--json"]) == 2
    assert "--layers does not apply without --onnx" in json.loads(capsys.readouterr().out)["error"]


# ---- a small ViT-style encoder -----------------------------------------------------------------------------

VIT_MACS = (["patch_embed"] + [f"b{b}_{n}" for b in range(2) for n in ("qkv", "scores", "attn_v", "proj", "fc1", "fc2")]
            + ["head"])


@pytest.fixture(scope="module")
def vit():
    from pymodel.nn.onnx_export import vit_tiny
    return vit_tiny(np.random.default_rng(0))


def _mac_names(net):
    """The MAC steps' node names without vit_tiny's numbering (``b0_qkv_12`` -> ``b0_qkv``)."""
    return [_base(s.name) for s in net.mac_steps]


def _base(name):
    return name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_vit_float_path_matches_onnxruntime(vit, pool):
    """Mean pooling (the fixture) and a class token Expanded to the batch, as PyTorch exports one."""
    if pool == "cls":
        from pymodel.nn.onnx_export import vit_tiny
        vit = vit_tiny(np.random.default_rng(0), pool="cls")
    x = np.random.default_rng(1).standard_normal((6, 3, 16, 16)).astype(np.float32)
    net = load_onnx(vit)
    sess = ort.InferenceSession(vit.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    got = net.forward(x)
    assert got.shape == want.shape == (6, 10)
    assert float(np.abs(got - want).max() / np.abs(want).max()) <= 1e-4
    # every product of the encoder is a MAC node: the patch embedding, per block Q/K/V, Q K^T, P V, the output
    # projection and the MLP, and the head
    assert _mac_names(net) == VIT_MACS
    kinds = {_base(s.name): type(s).__name__ for s in net.mac_steps}
    assert kinds["b0_scores"] == kinds["b1_attn_v"] == "DynMatMulStep"
    assert kinds["b0_qkv"] == "LinearStep" and kinds["patch_embed"] == "ConvStep"
    net.forward(x[:1])
    t = 16 if pool == "mean" else 17           # tokens: 16 patches (+ the class token)
    # patch Conv; per block QKV, Q K^T and P V over 2 heads of 16, projection, MLP 32-64-32; head
    assert net.macs_per_forward() == 16 * 32 * 48 + 2 * (t * 32 * 96 + 2 * 2 * t * t * 16 + t * 32 * 32
                                                         + 2 * t * 32 * 64) + 32 * 10
    # what stays float32: normalisation, softmax, GELU (its erf and product), residual adds, head split/merge
    flt = {s.op for s in net.steps if s.arithmetic == "float32"}
    assert {"LayerNormalization", "Softmax", "Erf", "Mul", "Add", "Transpose", "Reshape"} <= flt
    assert {"ReduceMean"} <= flt if pool == "mean" else {"Shape", "Expand", "Concat"} <= flt


def test_vit_every_design_through_the_int_path_with_the_layer_report(vit, tmp_path, capsys):
    """``mitchell nn --onnx`` on the ViT with every multiplying design of the registry at 8 bits, --layers:
    each int run reports every MAC node, its figures agree with the logits, and the run is not garbage."""
    from mitchell_cli import main
    rng = np.random.default_rng(3)
    onnx.save(vit, tmp_path / "vit.onnx")
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((16, 3, 16, 16)).astype(np.float32),
             y=rng.integers(0, 10, 16), x_calib=rng.standard_normal((32, 3, 16, 16)).astype(np.float32))
    assert main(["nn", "--onnx", str(tmp_path / "vit.onnx"), "--data", str(tmp_path / "d.npz"), "--calib", "32",
                 "--design", *designs_with("mul"), "--layers", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [x["name"] for x in r["results"]] == ["float32", "int8 exact"] + [f"int8 {d}" for d in designs_with("mul")]
    approx = [n for n in r["nodes"] if n["arithmetic"] == "approx_matmul"]
    assert [_base(n["name"]) for n in approx] == VIT_MACS
    out_rel = {}
    for run in r["results"][1:]:
        rows = run["layers"]
        assert [_base(x["name"]) for x in rows] == VIT_MACS + ["(output)"], run["name"]
        for x in rows[:-1]:
            assert 0 < x["rel_rms"] < 0.5 and 0 < x["accumulated_rel_rms"] < 1, (run["name"], x)
            assert x["snr_db"] == pytest.approx(-20 * np.log10(x["rel_rms"]), abs=1e-9)
        out_rel[run["name"]] = rows[-1]["accumulated_rel_rms"]
    assert out_rel["int8 exact"] < 0.1                          # 8-bit quantization alone: small
    assert all(v < 0.6 for v in out_rel.values()), out_rel      # every design: damaged, not garbage
    assert out_rel["int8 mitchell"] > out_rel["int8 exact"]


@pytest.mark.parametrize("width", [4, 12, 16])
def test_activation_matmul_other_widths(width):
    """The attention-scores graph at other widths: every design that has the width against its scalar ``mul``."""
    name, m, x, operands = next(act_act_cases(np.random.default_rng(0)))
    net = load_onnx(m)
    net.calibrate(x)
    q = (1 << (width - 1)) - 1
    a, b = operands(x)[:2]
    (aq, s_a), (bq, s_b) = per_tensor(a, q), per_tensor(b, q)
    mults = [ExactMultiplier(width=width, signed=True)] + [
        make_design(n, width=width, signed=True) for n in designs_with("mul")
        if design_class(n).MIN_WIDTH <= width]
    assert len(mults) >= 5
    for mult in mults:
        want = (golden_matmul(aq, bq, mult) * (s_a * s_b)).astype(np.float32)
        np.testing.assert_allclose(net.forward(x, Mode("int", mult)), want, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{mult.describe()}")


def test_layers_table_zero_error_and_zero_reference():
    """An exactly zero error prints SNR inf (JSON null); an all-zero float reference prints n/a, not a number."""
    from mitchell_cli.onnx import layers_table
    row = {"op": "MatMul", "accumulated_rel_rms": 0.0, "accumulated_snr_db": None}
    r = {"nodes": [{"name": n, "op": "MatMul", "arithmetic": "approx_matmul", "quantization": "q"} for n in "ab"],
         "results": [{"name": "int8 exact", "multiplier": "exact s8", "layers": [
             {**row, "name": "a", "rel_rms": 0.0, "snr_db": None},
             {**row, "name": "b", "rel_rms": None, "snr_db": None},
             {"name": "(output)", "op": "", "rel_rms": None, "snr_db": None, "accumulated_rel_rms": 0.01,
              "accumulated_snr_db": 40.0}]}]}
    lines = layers_table(r).splitlines()
    assert lines[3].split() == ["a", "MatMul", "0.00e+00", "inf", "0.00e+00", "inf", "q"]
    assert lines[4].split() == ["b", "MatMul", "n/a", "n/a", "0.00e+00", "inf", "q"]
    assert lines[5].split() == ["(output)", "1.00e-02", "40.0"]
    assert lines[6] == "  largest own error: a (MatMul), relative RMS 0.00e+00"
    errors = LayerErrors()
    assert errors._figures(0.0, 0.0) == (0.0, None) and errors._figures(0.0, 1.0) == (None, None)
    assert errors._figures(100.0, 1.0) == (pytest.approx(0.1), pytest.approx(20.0))
