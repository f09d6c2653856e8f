"""One way of doing things across commands: --width lists, --json anywhere, a subcommand's own usage on a bad
option, --version, and ``mitchell designs NAME``."""

import json

import pytest

from mitchell_cli import main, version
from pymodel.registry import make_design


def test_explore_takes_width_and_still_reads_widths(tmp_path, capsys):
    assert main(["explore", "--designs", "mitchell", "--width", "6,40", "-o", str(tmp_path / "o"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == "--width must be in 2..32, got 40"
    # the old name: same check, plus a warning on stderr
    argv = ["explore", "--designs", "mitchell", "--widths", "3", "--param", "frac_bits=4", "-o", str(tmp_path / "o")]
    assert main([*argv, "--json"]) == 2
    cap = capsys.readouterr()
    assert "width 3 must be an int in 0..2, got 4" in json.loads(cap.out)["error"]
    assert "--widths is deprecated, use --width" in cap.err
    assert main(["explore", "--designs", "mitchell", "--widths", "6", "--width", "6", "-o", str(tmp_path / "o"),
                 "--json"]) == 2
    assert "give --width only" in json.loads(capsys.readouterr().out)["error"]
    assert not (tmp_path / "o").exists()


def test_sweep_command_uses_width():
    from mitchell_cli.explore import sweep_command
    from sim.explore import make_sweep
    cmd = sweep_command(make_sweep(designs=["mitchell"], widths=[6, 8], fmax=False), "out/x")
    assert " --width 6,8 " in cmd and "--widths" not in cmd


def test_unknown_option_gives_the_subcommand_usage(capsys):
    assert main(["demo", "--width", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mitchell demo ")
    assert "mitchell demo: error: unrecognized arguments: --width 16 (mitchell demo takes --json, --out, --seed" in err
    assert main(["demo", "--width", "16", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"].startswith("unrecognized arguments: --width 16")


def test_json_before_the_subcommand(capsys, tmp_path, monkeypatch):
    import os
    from pymodel.cache import ENV
    monkeypatch.setenv(ENV, os.environ.get(ENV, str(tmp_path / "cache")))   # restored after: --cache-dir sets it
    assert main(["--json", "designs"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["designs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == a and a["designs"][0]["name"] == "mitchell"
    for argv in (["--cache-dir", str(tmp_path / "c"), "--json", "designs"],
                 ["--json", "--cache-dir", str(tmp_path / "c"), "designs"]):
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == a
    assert main(["--json", "errors", "--width", "99"]) == 2
    assert "--width must be in 2..32" in json.loads(capsys.readouterr().out)["error"]


def test_version(capsys):
    import tomllib
    from pathlib import Path
    want = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]["version"]
    assert version() == want
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mitchell {want}\n"
    assert main(["--json", "--version"]) == 0
    assert json.loads(capsys.readouterr().out) == {"version": want}


def test_license_is_mit():
    from pathlib import Path
    import tomllib
    root = Path(__file__).resolve().parent.parent
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the mitchell authors" in text
    lic = tomllib.loads((root / "pyproject.toml").read_text())["project"]["license"]
    assert "MIT" in (lic if isinstance(lic, str) else lic.get("text", ""))


def _brute(cfg, op):
    """Min and max relative error and the pair count over every operand pair, from the golden model's scalar
    path (independent of pymodel.metrics)."""
    lo, hi = cfg.operand_range
    res, n = [], 0
    for a in range(lo, hi + 1):
        for b in range(lo, hi + 1):
            if op == "div":
                if b == 0:
                    continue
                n += 1
                if a == 0:
                    continue
                exact = a * 2 ** cfg.quotient_frac_bits / b
                res.append((cfg.div(a, b) - exact) / exact)
            else:
                n += 1
                if a * b:
                    res.append((cfg.mul(a, b) - a * b) / (a * b))
    return min(res), max(res), n


@pytest.mark.parametrize("name", ["mitchell"])         # both operators; the others take the same path
def test_designs_name_shows_one_design(capsys, name):
    assert main(["designs", name, "--width", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["design"]
    cfg = make_design(name, width=4)
    assert d["name"] == name and d["defaults_at"]["width"] == 4
    assert set(d["figures"]) == set(cfg.OPS)
    for p in cfg.PARAMS:
        assert d["defaults_at"][p.name] == getattr(cfg, p.name)
    for op, f in d["figures"].items():
        mn, mx, n = _brute(cfg, op)
        assert f["pairs"] == n and f["exhaustive"]
        assert f["min_re"] == pytest.approx(mn, abs=1e-12) and f["max_re"] == pytest.approx(mx, abs=1e-12)
    assert main(["designs", name, "--width", "4"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{name}: ") and "figures, unsigned 4-bit" in text


def test_designs_name_checks(capsys):
    assert main(["designs", "nope", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"].startswith("unknown design 'nope'; the designs are: mitchell")
    assert main(["designs", "--width", "4", "--json"]) == 2
    assert "--width does not apply without a design NAME" in json.loads(capsys.readouterr().out)["error"]
    assert main(["designs", "mbm", "--width", "20", "--json"]) == 2
    assert "--width must be in 2..16" in json.loads(capsys.readouterr().out)["error"]
