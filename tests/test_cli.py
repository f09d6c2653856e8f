"""The ``mitchell`` command line: one JSON object with --json, clear errors."""

import json

import pytest

import mitchell_cli

from conftest import run_cli



def test_errors_json_is_one_object():
    rc, out, _ = run_cli("errors", "--op", "mul", "--width", "8", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert obj["min_re_exact"] == "-1/9" and obj["exhaustive"] is True
    assert round(obj["mred"] * 100, 3) == 3.788


def test_errors_table_and_seed_printed():
    rc, out, err = run_cli("errors", "--op", "div", "--width", "20", "--samples", "1000", "--seed", "5")
    assert rc == 0
    assert "MRED" in out and "sampled, seed 5" in out
    assert "seed: 5" in err


@pytest.mark.parametrize("args, msg", [
    (["errors", "--width", "40"], "--width must be in 2..32"),
    (["errors", "--width", "8", "--frac-bits", "9"], "--frac-bits must be in 0..7"),
    (["errors", "--width", "8", "--samples", "-3"], "--samples must be in 1..67108864"),
])
def test_bad_input_gives_clear_error(args, msg):
    rc, out, err = run_cli(*args)
    assert rc == 2 and msg in err
    rc, out, _ = run_cli(*args, "--json")
    assert rc == 2 and msg in json.loads(out)["error"]


def test_every_subcommand_has_json():
    parser = mitchell_cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert any("--json" in a.option_strings for a in p._actions), name
