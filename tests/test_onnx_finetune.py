"""Fine-tuning an imported ONNX model with the approximate multiplier in the loop (pymodel.nn.onnx_finetune,
``mitchell nn --onnx M --finetune E``): a degraded setting must improve, and the tuned file must give the same
float outputs in onnxruntime and the same accuracy through ``mitchell nn --onnx``."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from pymodel.nn.layers import FLOAT  # noqa: E402
from pymodel.nn.onnx_import import load_onnx  # noqa: E402
from pymodel.registry import make_design  # noqa: E402


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory):
    """The study's digits MLP (5 float epochs), exported to ONNX, and its training images as a .npz."""
    from pymodel.nn.onnx_export import export_onnx
    from pymodel.nn.study import float_model
    d = tmp_path_factory.mktemp("ft")
    net, (xtr, ytr, _, _), *_ = float_model(dataset="digits", model="mlp", epochs=5, seed=0, cache_dir=str(d))
    export_onnx(net, xtr.shape[1:], str(d / "mlp.onnx"))
    np.savez(d / "train.npz", x=xtr, y=ytr)
    return d


def test_finetune_recovers_a_degraded_setting_and_round_trips(digits_mlp):
    """3-bit Mitchell loses several points against float; two epochs of fine-tuning must win most back. The tuned
    file runs in onnxruntime with the tuned net's float outputs, re-imports with bit-identical weights, and
    OnnxStudy on the held-out images (stored ranges, no recalibration) gives the accuracy fine-tuning reported."""
    from pymodel.nn.onnx_eval import OnnxStudy
    from pymodel.nn.onnx_finetune import FineTune
    d = digits_mlp
    mult = make_design("mitchell", width=3, signed=True)
    ft = FineTune(str(d / "mlp.onnx"), str(d / "train.npz"), multiplier=mult, label="mitchell", epochs=2, lr=0.003,
                  batch=16, seed=0, optimizer="sgd")
    r = ft.run()
    assert r["before"]["float32"] - r["before"]["design"] >= 0.03        # the setting is degraded ...
    assert r["after"]["design"] >= r["before"]["design"] + 0.03          # ... and fine-tuning recovers
    tuned = ft.save(str(d / "tuned.onnx"), r)
    sess = ort.InferenceSession(tuned, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: ft.xv})[0]
    want = ft.net.logits(ft.xv, FLOAT)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    back = load_onnx(tuned)
    for a, b in zip(ft.net.mac_steps, back.mac_steps):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.bias, b.bias)
    # a tuned model tunes (and saves) again: its tuned weights are replaced, not duplicated
    again = FineTune(tuned, str(d / "train.npz"), multiplier=mult, epochs=1, seed=0)
    again.run()
    again.save(str(d / "again.onnx"))
    assert len(load_onnx(str(d / "again.onnx")).mac_steps) == len(ft.net.mac_steps)
    np.savez(d / "val.npz", x=ft.xv, y=ft.yv)
    res = OnnxStudy(tuned, str(d / "val.npz"), designs=[("mitchell", mult)], width=3).run()
    assert "stored" in res["calibration"]
    assert res["results"][2]["top1"] == r["after"]["design"]


def test_cli_finetune_then_evaluate(digits_mlp, tmp_path, capsys):
    from mitchell_cli import main
    from pymodel.nn.onnx_finetune import FineTune
    d = digits_mlp
    out = tmp_path / "t.onnx"
    args = ["nn", "--onnx", str(d / "mlp.onnx"), "--data", str(d / "train.npz"), "--design", "mitchell", "--width", "3",
            "--seed", "3"]
    assert main(args + ["--finetune", "1", "-o", str(out), "--json"]) == 0
    cap = capsys.readouterr()
    r = json.loads(cap.out)
    assert "seed: 3" in cap.err
    assert r["tuned"] == str(out) and len(r["history"]) == 1 and r["seed"] == 3
    # the same held-out images (the split is the seed's), evaluated by the tuned file
    ft = FineTune(str(d / "mlp.onnx"), str(d / "train.npz"), multiplier=make_design("mitchell", width=3, signed=True),
                  seed=3)
    np.savez(tmp_path / "val.npz", x=ft.xv, y=ft.yv)
    assert main(["nn", "--onnx", str(out), "--data", str(tmp_path / "val.npz"), "--design", "mitchell", "--width", "3",
                 "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["results"][2]["top1"] == r["after"]["design"]


@pytest.mark.parametrize("extra,message", [
    (["--finetune", "1"], "-o FILE.onnx"),
    (["--finetune", "1", "-o", "x.txt"], "-o must end in"),
    (["--finetune", "1", "-o", "x.onnx", "--lr", "2"], "--lr must be in (0, 1]"),
    (["--finetune", "1", "-o", "x.onnx", "--val-fraction", "1"], "--val-fraction must be in (0, 1)"),
    (["--finetune", "0", "-o", "x.onnx"], "--finetune must be in 1..1000"),
    (["--lr", "0.1"], "--lr does not apply without --finetune"),
    (["--finetune", "1", "-o", "x.onnx", "--momentum", "0.5"], "--momentum does not apply to --optimizer adam"),
])
def test_cli_finetune_refusals(digits_mlp, tmp_path, capsys, extra, message, monkeypatch):
    from mitchell_cli import main
    monkeypatch.chdir(tmp_path)
    rc = main(["nn", "--onnx", str(digits_mlp / "mlp.onnx"), "--data", str(digits_mlp / "train.npz"), "--json"] + extra)
    assert rc == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert message in err


def test_finetune_refuses_a_folder_of_test_data(digits_mlp, tmp_path):
    from pymodel.nn.onnx_finetune import FineTune
    with pytest.raises(ValueError, match="a .npz with the training images"):
        FineTune(str(digits_mlp / "mlp.onnx"), str(tmp_path), multiplier=make_design("mitchell", width=8, signed=True))
