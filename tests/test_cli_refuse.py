"""Options that do not apply are refused by name, before any work (README: "an option that does not apply is
refused"), and designs that do not multiply are refused where a multiplier is needed."""

import json

import pytest

from mitchell_cli import main


@pytest.mark.parametrize("argv, message", [
    (["nn", "--model", "mlp", "--limit", "5", "--calib", "5", "--batch", "3", "--mean", "0.5", "--scale", "2"],
     "--limit, --calib, --mean, --scale, --batch do not apply without --onnx"),
    (["nn", "--std", "0.2"], "--std does not apply without --onnx"),
    (["nn", "--data", "x.npz"], "--data does not apply without --onnx"),
    (["explore", "--designs", "mitchell", "--nn-models", "mlp", "-o", "{tmp}/o"],
     "--nn-models does not apply without --nn"),
    (["compare", "--no-nn", "--seed", "4"], "--seed does not apply with --no-nn"),
    (["compare", "--no-nn", "--nn-cache", "{tmp}/nn"], "--nn-cache does not apply with --no-nn"),
    (["compare", "--no-cost", "--no-fmax"], "--no-fmax does not apply with --no-cost"),
    (["errors", "--width", "8", "--seed", "5"], "--seed does not apply to --method exact"),
    (["errors", "--design", "mbm", "--width", "6", "--method", "sweep", "--seed", "5"],
     "--seed does not apply to --method sweep"),
    (["verify", "--exhaustive", "--seed", "3"], "--seed does not apply without --mutate"),
    (["verify", "--prove", "--vectors", "3"], "--vectors does not apply without --mutate"),
    (["verify", "--exhaustive", "--timeout", "30"], "--timeout does not apply without --prove or --protocol"),
])
def test_option_that_does_not_apply_is_refused(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, "--json"]) == 2
    out = capsys.readouterr().out
    assert message in json.loads(out)["error"], out
    assert not list(tmp_path.iterdir())          # refused before any folder is made


def test_seed_still_applies_where_it_samples(capsys, monkeypatch):
    def reached(cfg, op, *, samples, seed, progress, method):
        raise RuntimeError(f"reached error_metrics: {method}, seed {seed}")
    monkeypatch.setattr("pymodel.metrics.error_metrics", reached)        # the sampling itself is tested elsewhere
    for argv, want in ((["--samples", "500", "--seed", "5"], "sample, seed 5"),
                       (["--method", "sample", "--seed", "6"], "sample, seed 6")):
        assert main(["errors", "--width", "8", *argv, "--json"]) == 2
        assert json.loads(capsys.readouterr().out)["error"] == f"reached error_metrics: {want}"


@pytest.mark.parametrize("argv, message", [
    (["nn", "--design", "inzed"], "--design inzed does not multiply (it has --op div only); the designs that "
                                  "multiply: mitchell, mbm, ilm"),
    (["nn", "--design", "mbm,inzed"], "--design inzed does not multiply"),
    (["compare", "--designs", "mbm,inzed"], "--designs inzed does not multiply (it has --op div only)"),
    (["compare", "--designs", "nope"], "--designs: unknown design 'nope'; the designs are: mitchell"),
])
def test_divider_refused_where_a_multiplier_is_needed(capsys, argv, message):
    from pymodel.registry import designs_with
    assert main([*argv, "--json"]) == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert message in err
    if "does not multiply" in err:       # every multiplier listed, from the registry
        assert err.endswith(", ".join(designs_with("mul")))


def test_explore_nn_models_with_a_sweep_file(tmp_path, capsys):
    from mitchell_cli import build_parser
    from mitchell_cli.explore import sweep_from_args
    f = tmp_path / "s.toml"
    f.write_text('designs = ["mitchell"]\nwidths = [6]\nnn = false\n')
    assert main(["explore", "--sweep", str(f), "--nn-models", "cnn", "-o", str(tmp_path / "o"), "--json"]) == 2
    assert "--nn-models does not apply without --nn" in json.loads(capsys.readouterr().out)["error"]
    # with --nn (or nn = true in the file) it overrides the file's models, checked like the file's
    for argv, models in ((["--nn", "--nn-models", "cnn,mlp"], ["cnn", "mlp"]), (["--nn"], ["mlp"])):
        args = build_parser().parse_args(["explore", "--sweep", str(f), *argv, "-o", str(tmp_path / "o")])
        args._given = frozenset(a for a in argv if a.startswith("--"))
        assert sweep_from_args(args)["nn_models"] == models
    assert main(["explore", "--sweep", str(f), "--nn", "--nn-models", "vgg", "-o", str(tmp_path / "o"), "--json"]) == 2
    assert "--nn-models must be among mlp, cnn, got 'vgg'" in json.loads(capsys.readouterr().out)["error"]
    assert not (tmp_path / "o").exists()
