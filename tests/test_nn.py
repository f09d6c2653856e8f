"""NN study: approx_matmul bit-exactness, layers, quantization, data loading, targets, CLI."""

import gzip
import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from pymodel import Mitchell
from pymodel.nn import ExactMultiplier, approx_matmul
from pymodel.nn.data import IDX_FILES, load_idx_dataset, read_idx
from pymodel.nn.layers import FLOAT, Conv2d, Dense, MaxPool2d, Mode, softmax_cross_entropy
from pymodel.nn.study import build_model, run_study


def reference_matmul(a, b, mult):
    """sum_k mult.mul(a_ik, b_kj), one model call per scalar product."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = sum(mult.mul(int(a[i, k]), int(b[k, j])) for k in range(a.shape[1]))
    return out


@pytest.mark.parametrize("kw", [dict(width=8, signed=True), dict(width=8), dict(width=6, signed=True, frac_bits=2),
                                dict(width=16, signed=True), dict(width=12, frac_bits=4)])
@pytest.mark.parametrize("shape", [(5, 7, 3), (1, 1, 1), (4, 1, 6), (3, 40, 2)])
def test_approx_matmul_is_the_sum_of_model_products(kw, shape, rng):
    mult = Mitchell(**kw)
    lo, hi = mult.operand_range
    m, k, n = shape
    a = rng.integers(lo, hi, (m, k), endpoint=True)
    b = rng.integers(lo, hi, (k, n), endpoint=True)
    a[0, 0] = 0
    got = approx_matmul(a, b, mult)
    assert got.dtype == np.int64
    assert (got.astype(object) == reference_matmul(a, b, mult)).all()


def test_approx_matmul_non_contiguous_and_empty(rng):
    mult = Mitchell(width=8, signed=True)
    big = rng.integers(-128, 128, (12, 18))
    a = big[::2, ::3]              # strided views: (6, 6) and (6, 4)
    b = big[:6, 1::2][:, :4]
    assert not a.flags.c_contiguous
    assert (approx_matmul(a, b, mult).astype(object) == reference_matmul(a, b, mult)).all()
    assert approx_matmul(np.zeros((0, 4), np.int8), np.zeros((4, 3), np.int8), mult).shape == (0, 3)
    assert (approx_matmul(np.zeros((2, 0), np.int8), np.zeros((0, 3), np.int8), mult) == 0).all()


def test_approx_matmul_differs_from_exact_and_exact_is_exact(rng):
    a = rng.integers(-127, 128, (20, 30))
    b = rng.integers(-127, 128, (30, 10))
    exact = approx_matmul(a, b, ExactMultiplier(width=8, signed=True))
    assert (exact == a @ b).all()
    assert (approx_matmul(a, b, Mitchell(width=8, signed=True)) != exact).any()


def test_approx_matmul_bad_input():
    m = Mitchell(width=8, signed=True)
    with pytest.raises(TypeError, match="operand a must be"):
        approx_matmul(np.ones((2, 2)), np.ones((2, 2), np.int8), m)
    with pytest.raises(ValueError, match="operand b holds 200"):
        approx_matmul(np.ones((2, 2), np.int64), np.full((2, 2), 200), m)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        approx_matmul(np.ones((2, 3), np.int8), np.ones((2, 2), np.int8), m)
    with pytest.raises(ValueError, match="must be 2-D"):
        approx_matmul(np.ones(3, np.int8), np.ones((3, 2), np.int8), m)
    with pytest.raises(TypeError, match="multiplier must be"):
        approx_matmul(np.ones((2, 2), np.int8), np.ones((2, 2), np.int8), "mitchell")
    with pytest.raises(ValueError, match="can exceed int64"):
        approx_matmul(np.ones((1, 8), np.int64), np.ones((8, 1), np.int64), Mitchell(width=32))
    with pytest.raises(ValueError, match="width must be in 2..32"):
        ExactMultiplier(width=40)


def _numeric_grad_check(layer, x, rng, eps=1e-3):
    layer.W = layer.W.astype(np.float64)
    layer.b = layer.b.astype(np.float64)
    y = layer.forward(x, FLOAT)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    f = lambda: float((layer.forward(x, FLOAT) * dy).sum())
    for arr, grad in ((layer.W, layer.dW), (x, dx)):
        for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(5)]:
            old = arr[idx]
            arr[idx] = old + eps
            up = f()
            arr[idx] = old - eps
            down = f()
            arr[idx] = old
            assert grad[idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-6)


def test_dense_and_conv_gradients(rng):
    _numeric_grad_check(Dense(6, 4, rng), rng.standard_normal((3, 6)), rng)
    _numeric_grad_check(Conv2d(2, 3, 3, 1, rng), rng.standard_normal((2, 2, 5, 5)), rng)


def test_maxpool_and_softmax_gradients(rng):
    p = MaxPool2d()
    x = rng.standard_normal((2, 3, 4, 4))
    y = p.forward(x, FLOAT)
    assert y.shape == (2, 3, 2, 2) and y[0, 0, 0, 0] == x[0, 0, :2, :2].max()
    dx = p.backward(np.ones_like(y))
    assert dx.sum() == pytest.approx(y.size)
    logits = rng.standard_normal((4, 5))
    labels = np.array([0, 1, 2, 3])
    loss, d = softmax_cross_entropy(logits.copy(), labels)
    eps = 1e-4
    logits2 = logits.copy()
    logits2[1, 3] += eps
    assert d[1, 3] == pytest.approx((softmax_cross_entropy(logits2, labels)[0] - loss) / eps, rel=1e-2)


def test_int_forward_uses_the_multiplier(rng):
    layer = Dense(16, 4, rng)
    x = rng.random((8, 16)).astype(np.float32)
    layer.calibrated_max = float(np.abs(x).max())
    exact = layer.forward(x, Mode("int", ExactMultiplier(width=8, signed=True)))
    approx = layer.forward(x, Mode("int", Mitchell(width=8, signed=True)))
    assert np.abs(exact - x @ layer.W.T).max() < 0.05 * np.abs(exact).max()     # int8 is close to float
    assert not np.allclose(exact, approx)
    # the int path is exactly: quantize, approx_matmul, rescale
    s_x = layer.calibrated_max / 127
    xq = np.clip(np.rint(x / s_x), -127, 127).astype(np.int64)
    wq, s_w = layer.weight_q(127)
    want = approx_matmul(xq, wq.T, Mitchell(width=8, signed=True)) * (s_x * s_w) + layer.b
    assert np.allclose(approx, want, rtol=1e-6)
    with pytest.raises(ValueError, match="signed multiplier"):
        Mode("int", Mitchell(width=8))


def test_int_forward_needs_calibration(rng):
    with pytest.raises(RuntimeError, match="calibration"):
        Dense(4, 2, rng).forward(np.ones((1, 4), np.float32), Mode("int", Mitchell(width=8, signed=True)))


def write_idx(path, arr, gz=False):
    code = {np.dtype(np.uint8): 0x08}[arr.dtype]
    data = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def make_mnist_like(folder, rng, n_train=60, n_test=20, gz=True):
    """Tiny IDX files of two separable classes (bright top half vs bright bottom half)."""
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(0, 2, n).astype(np.uint8)
        x = (rng.random((n, 8, 8)) * 60).astype(np.uint8)
        for i in range(n):
            x[i, (0 if y[i] else 4):(4 if y[i] else 8)] += 150
        stem_x = IDX_FILES[f"{split}_images"] + (".gz" if gz else "")
        stem_y = IDX_FILES[f"{split}_labels"] + (".gz" if gz else "")
        write_idx(folder / stem_x, x, gz)
        write_idx(folder / stem_y, y, gz)


def test_idx_loader_on_written_files(tmp_path, rng):
    make_mnist_like(tmp_path, rng)
    xtr, ytr, xte, yte = load_idx_dataset(str(tmp_path))
    assert xtr.shape == (60, 1, 8, 8) and xte.shape == (20, 1, 8, 8) and xtr.max() <= 1.0
    assert set(ytr.tolist()) <= {0, 1}
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


def test_missing_dataset_says_which_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_idx_dataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="--data-dir is required"):
        load_idx_dataset(None)


def test_study_on_an_idx_dataset(tmp_path, rng):
    make_mnist_like(tmp_path, rng)
    r = run_study(dataset="mnist", data_dir=str(tmp_path), model="cnn", epochs=5, finetune_epochs=1,
                  cache_dir=str(tmp_path / "cache"))
    assert r["test_samples"] == 20 and r["accuracy"]["float32"] >= 0.9
    again = run_study(dataset="mnist", data_dir=str(tmp_path), model="cnn", epochs=5, finetune_epochs=1,
                      cache_dir=str(tmp_path / "cache"))
    assert again["cached_float_model"] is True and again["accuracy"] == r["accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_digits_targets(model, tmp_path):
    r = run_study(dataset="digits", model=model, cache_dir=str(tmp_path))
    a = r["accuracy"]
    assert r["test_samples"] == 360
    assert a["float32"] >= 0.95
    assert abs(a["int8_exact"] - a["float32"]) <= 0.005 + 1e-9
    assert a["int8_exact"] - a["int8_mitchell"] <= 0.01 + 1e-9
    assert a["int8_exact"] - a["int8_mitchell_finetuned"] <= 0.003 + 1e-9


def test_build_model_errors(rng):
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("rnn", (1, 8, 8), 10, rng)
    with pytest.raises(ValueError, match="epochs must be an int >= 0"):
        run_study(epochs=-1)


def test_cli_nn_json(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "nn", "--model", "mlp", "--epochs", "3",
                        "--finetune-epochs", "1", "--cache-dir", str(tmp_path), "--json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert set(obj["accuracy"]) == {"float32", "int8_exact", "int8_mitchell", "int8_mitchell_finetuned"}
    assert obj["dataset"] == "digits" and obj["model"] == "mlp" and obj["test_samples"] == 360
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "nn", "--dataset", "mnist", "--data-dir",
                        str(tmp_path), "--json"], capture_output=True, text=True)
    assert p.returncode == 2 and "missing in" in json.loads(p.stdout)["error"]


def test_fm_matmul_is_float_mitchell_products_summed_in_float32(rng):
    from pymodel import FloatMitchell
    from pymodel.nn.mfree import FloatMitchellOps, fm_matmul, round_to_bf16
    a = rng.standard_normal((4, 37)).astype(np.float32)
    b = rng.standard_normal((37, 3)).astype(np.float32)
    a[0, 0], b[1, 0], a[1, 2] = 0.0, np.inf, 1e-40
    f = FloatMitchell("fp32")
    got = fm_matmul(a, b)
    for i in range(4):
        for j in range(3):
            acc = np.float32(0)
            for k in range(37):
                acc = np.float32(acc + f.mul(a[i, k], b[k, j]))
            assert np.array_equal(got[i, j], acc, equal_nan=True), (i, j)
    # bf16: operands rounded to bf16, then the fp32 kernel is exactly bf16 Mitchell
    x, y = round_to_bf16(a), round_to_bf16(b[:, :1].T.repeat(4, 0))
    assert np.array_equal(FloatMitchellOps("bf16").mul(x, y), FloatMitchell("bf16").mul(x, y), equal_nan=True)
    assert round_to_bf16(np.float32(1.0 + 2 ** -8)) == 1.0          # ties to even
    assert round_to_bf16(np.float32(1.0 + 3 * 2 ** -8)) == np.float32(1.0 + 2 ** -6)
    with pytest.raises(ValueError, match="needs \\(M, K\\) @ \\(K, N\\)"):
        fm_matmul(a, a)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_multiplication_free_training_targets(model):
    from pymodel.nn.study import run_mfree_study
    r = run_mfree_study(model=model)
    acc = r["accuracy"]
    assert acc["float32"] >= 0.95
    for k in ("float_mitchell_fp32", "float_mitchell_bf16"):
        assert acc["float32"] - acc[k] <= 0.01 + 1e-9, (k, acc)
        assert len(r["curves"][k]) == r["epochs"]
    assert r["remaining_multiplications"]


def test_cli_nn_train_multiplier_json(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "nn", "--train-multiplier", "float-mitchell-bf16",
                        "--epochs", "2", "--curves", str(tmp_path / "c.png"), "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert set(obj["accuracy"]) == {"float32", "float_mitchell_bf16"} and len(obj["curves"]["float32"]) == 2
    assert (tmp_path / "c.png").stat().st_size > 10_000
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "nn", "--train-multiplier", "float-mitchell-fp8",
                        "--epochs", "1"], capture_output=True, text=True)
    assert p.returncode == 2 and "train multiplier must be one of" in p.stderr


def test_mfree_elementwise_kernel_matches_the_model_on_every_class():
    from pymodel import FloatMitchell
    from pymodel.nn.mfree import FloatMitchellOps
    from pymodel.vectors import float_vectors
    f = FloatMitchell("fp32")
    a1, b1 = float_vectors(f, "directed")
    a2, b2 = float_vectors(f, "random", n=100_000, seed=4)
    a = np.concatenate([a1, a2]).astype(np.uint32)
    b = np.concatenate([b1, b2]).astype(np.uint32)
    got = FloatMitchellOps("fp32").mul(a.view(np.float32), b.view(np.float32)).view(np.uint32)
    assert np.array_equal(got, f.mul_bits(a, b))
