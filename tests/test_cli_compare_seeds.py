"""``mitchell compare --op div`` / ``--signed`` (the dividers side by side, signed operands) and
``mitchell nn --seeds`` (repeated runs, mean and spread of the accuracies)."""

import json

import numpy as np
import pytest

from mitchell_cli import main
from pymodel.registry import designs_with, make_design


def _brute_div(cfg):
    """MRED, min and max relative error of the divider over the pairs with a nonzero quotient, and the number
    of pairs with b != 0, from the golden model's scalar path."""
    lo, hi = cfg.operand_range
    res, n = [], 0
    for a in range(lo, hi + 1):
        for b in range(lo, hi + 1):
            if b == 0:
                continue
            n += 1
            if a:
                exact = a * 2 ** cfg.quotient_frac_bits / b
                res.append((cfg.div(a, b) - exact) / exact)
    res = np.array(res)
    return np.abs(res).mean(), res.min(), res.max(), n


@pytest.mark.parametrize("signed", [False, True])
def test_compare_dividers(capsys, signed):
    argv = ["compare", "--op", "div", "--width", "4", "--no-cost", "--json"] + (["--signed"] if signed else [])
    assert main(argv) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["op"] == "div" and obj["signed"] is signed
    assert [r["design"] for r in obj["rows"]] == designs_with("div") == ["mitchell", "inzed"]
    for r in obj["rows"]:
        assert r["signed"] is signed and "nn_mlp_int8" not in r       # no NN study for a divider
        mred, mn, mx, n = _brute_div(make_design(r["design"], width=4, signed=signed))
        assert r["pairs"] == n and r["exhaustive"]
        assert r["mred"] == pytest.approx(mred, rel=1e-12)
        assert r["min_re"] == pytest.approx(mn, abs=1e-12) and r["max_re"] == pytest.approx(mx, abs=1e-12)


def test_compare_signed_multipliers_and_checks(capsys):
    assert main(["compare", "--signed", "--designs", "mitchell", "--width", "4", "--no-cost", "--no-nn", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["rows"][0]
    cfg = make_design("mitchell", width=4, signed=True)
    lo, hi = cfg.operand_range
    res = [(cfg.mul(a, b) - a * b) / (a * b) for a in range(lo, hi + 1) for b in range(lo, hi + 1) if a * b]
    assert r["signed"] and r["pairs"] == 256 and r["min_re"] == pytest.approx(min(res), abs=1e-12)
    for argv, msg in ((["--op", "div", "--designs", "mbm"], "--designs mbm does not divide (it has --op mul only); "
                                                           "the designs that divide: mitchell, inzed"),
                      (["--op", "div", "--seed", "3"], "--seed does not apply to --op div")):
        assert main(["compare", *argv, "--json"]) == 2
        assert msg in json.loads(capsys.readouterr().out)["error"]


def test_nn_seeds_mean_and_spread(tmp_path, capsys):
    from pymodel.nn.study import run_study
    common = ["--epochs", "2", "--finetune-epochs", "0", "--cache-dir", str(tmp_path)]
    assert main(["nn", "--seeds", "3,4,5", *common, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["seeds"] == [3, 4, 5] and [r["seed"] for r in obj["runs"]] == [3, 4, 5]
    # each run is the study of its seed (same cache: the float models are reused, not retrained)
    accs = []
    for seed, run in zip((3, 4, 5), obj["runs"]):
        r = run_study(dataset="digits", model="mlp", width=8, epochs=2, finetune_epochs=0, seed=seed,
                      cache_dir=str(tmp_path), multiplier=make_design("mitchell", width=8, signed=True))
        assert r["cached_float_model"]
        assert run["accuracy"]["int8_mitchell"] == r["accuracy"]["int8_mitchell"]
        accs.append(r["accuracy"]["int8_mitchell"])
    s = obj["summary"]["mitchell"]["int8_mitchell"]
    assert s["n"] == 3 and s["mean"] == pytest.approx(np.mean(accs)) and s["std"] == pytest.approx(np.std(accs, ddof=1))
    assert (s["min"], s["max"]) == (min(accs), max(accs))
    assert len({a for a in accs}) > 1 or s["std"] == 0      # three seeds, three float models
    assert main(["nn", "--seeds", "3,4", *common]) == 0
    out = capsys.readouterr().out
    assert "over 2 seeds (3, 4): mean ± sample std" in out and "(one image is 0.28 pp)" in out
