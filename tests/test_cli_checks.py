"""The command line as a careful user meets it: parse errors, bad counts, output paths, options that do not
apply, option names in messages, broken pipes.  Each runs ``mitchell`` in a subprocess and stops before any
long work, so these tests are quick."""

import json
import os
import subprocess
import sys

import pytest

from conftest import run_cli


def one_json_error(*args):
    """Run with --json; require exit 2 and exactly one {"error": ...} object on stdout, no traceback."""
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err, err
    obj = json.loads(out)
    assert list(obj) == ["error"], obj
    return obj["error"]


# -- item 3: argparse errors answer in JSON when --json is anywhere on the line -----------------------------
@pytest.mark.parametrize("args, want", [
    (["errors", "--width", "abc", "--json"], "--width"),
    (["errors", "--json", "--seed", "1.5"], "--seed"),
    (["plot", "--kind", "bogus", "--json"], "--kind"),
    (["errors", "--op", "fmul", "--format", "fp64", "--json"], "--format"),
    (["plot", "--json", "--kind", "heatmap"], "-o/--output"),
    (["nosuchcommand", "--json"], "invalid choice"),
])
def test_parse_errors_honour_json(args, want):
    assert want in one_json_error(*args)


def test_parse_errors_without_json_print_usage():
    rc, out, err = run_cli("errors", "--width", "abc")
    assert rc == 2 and out == ""
    assert err.startswith("usage: mitchell errors") and "--width must be an integer in 2..32" in err


# -- item 6: counts checked at parse time against a documented range, naming the option ------------------------
@pytest.mark.parametrize("args, want", [
    (["plot", "--kind", "histogram", "--samples", "0", "-o", "x.png"], "--samples must be in 1..16777216, got 0"),
    (["plot", "--kind", "histogram", "--samples", "-3", "-o", "x.png"], "--samples must be in 1..16777216, got -3"),
    (["plot", "--kind", "histogram", "--samples", "100000000000", "-o", "x.png"], "--samples must be in 1..16777216"),
    (["errors", "--seed", "-1"], "--seed must be in 0..4294967295, got -1"),
    (["errors", "--samples", "100000000000000"], "--samples must be in 1..67108864"),
    (["sim", "--vectors", "-1"], "--vectors must be in 0..10000000, got -1"),
    (["sim", "--vectors", "100000000000"], "--vectors must be in 0..10000000"),
    (["sim", "--stages", "9"], "--stages must be in 0..8, got 9"),
    (["sim", "--simulator", "xsim"], "argument --simulator: invalid choice: 'xsim' (choose from 'icarus', 'verilator')"),
    (["verilog", "--stages", "-1", "-o", "x.v"], "--stages must be in 0..8, got -1"),
    (["nn", "--epochs", "0"], "--epochs must be in 1..1000, got 0"),
    (["nn", "--finetune-epochs", "-2"], "--finetune-epochs must be in 0..1000, got -2"),
    (["nn", "--width", "40"], "--width must be in 2..32, got 40"),
    (["cost", "--width", "8,40"], "--width must be in 2..32, got 40"),
])
def test_counts_checked_at_parse_time(args, want):
    assert want in one_json_error(*args, "--json")


def test_count_errors_without_json_go_to_stderr():
    rc, out, err = run_cli("sim", "--vectors", "-1")
    assert rc == 2 and out == "" and "--vectors must be in 0..10000000, got -1" in err and "Traceback" not in err


# -- item 15: messages name the option as typed, not the config field -------------------------------------------
@pytest.mark.parametrize("args, want", [
    (["errors", "--width", "8", "--frac-bits", "9"], "--frac-bits must be in 0..7"),
    (["verilog", "--op", "div", "--quotient-frac-bits", "99", "-o", "x.v"], "--quotient-frac-bits must be in"),
    (["verilog", "--name", "9bad", "-o", "x.v"], "--name must be a Verilog identifier"),
])
def test_errors_name_the_option(args, want):
    assert one_json_error(*args, "--json").startswith(want)


# -- item 2 (and 5, 7): file-system errors, checked before any work, one behaviour for folders -------------------
def _unwritable_dir(tmp_path):
    """A folder this process cannot write into: /sys (sysfs refuses new files, even to root), else a read-only
    folder (which root could still write)."""
    if os.path.isdir("/sys"):
        return "/sys"
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    return str(d)


@pytest.fixture
def paths(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    d = tmp_path / "folder.v"
    d.mkdir()
    return {"file": str(f), "dir": str(d), "ro": _unwritable_dir(tmp_path), "tmp": tmp_path}


@pytest.mark.parametrize("case", [
    ("verilog", "-o", "{ro}/x.v"),
    ("verilog", "-o", "{dir}"),
    ("verilog", "-o", "{file}/x.v"),
    ("plot", "--kind", "fraction", "-o", "{ro}/a.png"),
    ("plot", "--kind", "fraction", "-o", "{file}/a.png"),
    ("sim", "--build-dir", "{ro}/foo"),
    ("sim", "--build-dir", "{file}"),
    ("cost", "--no-fmax", "--cache-dir", "{ro}/cc"),
    ("cost", "--no-fmax", "--cache-dir", "{file}"),
    ("nn", "--frac-sweep", "{ro}/sw.png"),
    ("nn", "--cache-dir", "{file}"),
    ("demo", "--out", "{file}"),
])
def test_file_system_errors_name_option_and_path(case, paths):
    args = [a.format(**paths) for a in case]
    option = case[-2]
    path = args[-1]
    msg = one_json_error(*args, "--json")
    assert msg.startswith(f"{option} {path}") or msg.startswith(f"--output {path}"), msg
    rc, out, err = run_cli(*args)
    assert rc == 2 and "Traceback" not in err and path in err


@pytest.mark.parametrize("args, option", [
    (["nn", "--frac-sweep", "sw.jpg"], "--frac-sweep"),
    (["cost", "--plot", "p.jpg"], "--plot"),
    (["plot", "--kind", "fraction", "-o", "f.jpg"], "--output"),
    (["verilog", "-o", "m.txt"], "--output"),
])
def test_output_suffix_checked_before_work(args, option):
    assert one_json_error(*args, "--json").startswith(f"{option} must end in one of")


def test_missing_output_folders_are_created(tmp_path):
    v = tmp_path / "new" / "deeper" / "m.v"
    rc, out, _ = run_cli("verilog", "-o", str(v), "--json")
    assert rc == 0 and v.exists() and json.loads(out)["file"] == str(v)
    png = tmp_path / "other" / "f.png"
    rc, out, _ = run_cli("plot", "--kind", "fraction", "-o", str(png), "--json")
    assert rc == 0 and png.exists()


# -- item 5: options that do not apply are refused, naming them; signed ranges in both spellings ------------------
@pytest.mark.parametrize("args, want", [
    (["errors", "--op", "fmul", "--width", "12", "--frac-bits", "3", "--signed"],
     "--width, --frac-bits, --signed do not apply to --op fmul"),
    (["verilog", "--op", "fmul", "--width", "12", "-o", "x.v"], "--width does not apply to --op fmul"),
    (["errors", "--op", "mul", "--quotient-frac-bits", "4"], "--quotient-frac-bits does not apply to --op mul"),
    (["errors", "--format", "bf16"], "--format does not apply to --op mul"),
    (["plot", "--op", "fmul", "--kind", "compare", "-o", "c.png"], "--op does not apply to --kind compare"),
    (["plot", "--kind", "compare", "--op", "div", "--frac-bits", "3", "-o", "c.png"],
     "--op, --frac-bits do not apply to --kind compare"),
    (["plot", "--kind", "fraction", "--a-range", "1:10", "--cdf", "--log2", "-o", "f.png"],
     "--a-range, --log2, --cdf do not apply to --kind fraction"),
    (["plot", "--kind", "heatmap", "--signed", "--log2", "--a-range", "-5:10", "-o", "h.png"],
     "--log2 plots positive operands only; --a-range starts at -5"),
    (["nn", "--curves", "c.png"], "--curves does not apply without --train-multiplier"),
    (["nn", "--train-multiplier", "float-mitchell-bf16", "--frac-sweep", "s.png"],
     "--frac-sweep does not apply with --train-multiplier"),
    (["sim", "--exhaustive", "--vectors", "10"], "--vectors does not apply with --exhaustive"),
    (["cost", "--seed", "3"], "--seed does not apply without --plot"),
])
def test_inapplicable_options_are_refused(args, want):
    assert one_json_error(*args, "--json").startswith(want)


@pytest.mark.parametrize("spelling", [["--a-range", "-5:10"], ["--a-range=-5:10"]])
def test_signed_ranges_in_both_spellings(spelling, tmp_path):
    out_png = tmp_path / "h.png"
    rc, out, err = run_cli("plot", "--kind", "heatmap", "--signed", *spelling, "--b-range", "-3:3",
                           "-o", str(out_png), "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["grid"] == [16, 7]                     # -5..10 by -3..3: the negatives are plotted
    assert r["argmin"] == [-3, -3] or r["argmin"][0] < 0 or r["argmin"][1] < 0


def test_abbreviated_options_count_as_given():
    assert one_json_error("errors", "--op", "fmul", "--wid", "12", "--json").startswith("--width does not apply")


# -- item 10: help texts mention only the command's own options ------------------------------------------------
def test_cost_help_does_not_mention_compare():
    rc, out, _ = run_cli("cost", "--help")
    assert rc == 0 and "compare" not in out and "--width" in out


# -- item 15: piping into head ----------------------------------------------------------------------------------
def test_broken_pipe_is_quiet(tmp_path):
    # stdout is a pipe whose reader is gone (``| head`` that exited): no BrokenPipeError traceback
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "verilog", "-o", str(tmp_path / "m.v"), "--json"],
                       stdout=w, stderr=subprocess.PIPE, text=True)
    os.close(w)
    assert "Traceback" not in p.stderr and "BrokenPipeError" not in p.stderr, p.stderr
    assert p.returncode == 1
