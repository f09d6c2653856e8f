"""Short real runs of the commands (issue 13): the waves file, vectors counted once, the bench's assertion
rewriting, progress bars on a zero-size pseudo-terminal, NN keys and quantization at wide widths, and the
messages of the Python API."""

import json
import os
import subprocess
import sys

import pytest

from pymodel import Mitchell

from conftest import run_cli


def test_sim_reports_the_waves_file_and_counts_each_vector_once(tmp_path):
    env = {**os.environ, "WAVES": "1"}
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "sim", "--op", "mul", "--width", "8", "--stages", "2",
                        "--vectors", "100", "--build-dir", str(tmp_path), "--json"], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["waves"] and s["waves"].endswith(f"{s['module']}.fst") and os.path.getsize(s["waves"]) > 0
    assert s["checked"] + s["lost_to_reset"] == s["vectors"]     # each vector once (the reset drops a few)
    assert s["rechecked"] == min(256, s["vectors"])      # phase 1's latency run, reported on its own
    assert s["mismatches"] == 0


def test_run_bench_rewrites_only_the_bench_asserts(monkeypatch, tmp_path):
    """cocotb's default rewrites every imported module (numpy, numba ...), about 7 s per start here."""
    import cocotb_tools.runner as r

    from sim.runner import run_bench
    seen = {}

    def fake_test(self, **kw):
        seen.update(kw.get("extra_env") or {})
    monkeypatch.setattr(r.Icarus, "test", fake_test)
    with pytest.raises(RuntimeError, match="no summary"):
        run_bench(Mitchell(width=4), "mul", build_root=tmp_path)
    assert seen["COCOTB_REWRITE_ASSERTION_FILES"] == "bench.py"


def test_progress_bar_on_a_zero_size_terminal(tmp_path):
    """``script -qc`` gives a pseudo-terminal of 0 x 0: the bar must still show, with its total."""
    cmd = (f"{sys.executable} -m mitchell_cli sim --op mul --width 4 --vectors 10 "
           f"--build-dir {tmp_path}")
    p = subprocess.run(["script", "-qc", cmd, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    out = p.stdout.replace("\r", "\n")
    assert "vectors checked" in out
    assert "0/3" in out and "3/3" in out, out


def test_error_sweep_shows_a_bar_with_its_total():
    """Issue 24, item 9: a long error sweep shows a bar with its total on a terminal (also a 0 x 0 one),
    and none with --json."""
    import re
    cmd = f"{sys.executable} -m mitchell_cli errors --width 10"      # the exact form: its total comes at its start
    p = subprocess.run(["script", "-qc", cmd, "/dev/null"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    out = p.stdout.replace("\r", "\n")
    assert "MRED" in out and re.search(r"mul mitchell u10 \(exact\): .*\| *\d+/\d+ \[", out), out
    p = subprocess.run(["script", "-qc", cmd + " --json", "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert "(exact)" not in p.stdout and '"mred"' in p.stdout


@pytest.mark.slow
def test_nn_wide_widths_and_keys_named_after_the_width(tmp_path):
    # width 26: the quantizer used to produce +2^25, one past the signed range, after training
    rc, out, err = run_cli("nn", "--width", "26", "--epochs", "1", "--finetune-epochs", "0",
                           "--cache-dir", str(tmp_path), "--json")
    assert rc == 0, out + err
    r = json.loads(out)
    assert set(r["accuracy"]) == {"float32", "int26_exact", "int26_mitchell", "int26_mitchell_finetuned"}
    assert r["gemm_path"] == "general"                    # past the log-add kernel's 16 bits, and it says so
    rc, out, err = run_cli("nn", "--width", "4", "--epochs", "1", "--finetune-epochs", "0",
                           "--cache-dir", str(tmp_path))
    assert rc == 0, err
    assert "int4 exact" in out and "int8" not in out
    assert "mitchell s4 [log-add]" in out


def test_mlp_lists_no_max_pool_among_remaining_multiplications():
    from pymodel.nn.study import REMAINING, run_mfree_study
    r = run_mfree_study(model="mlp", train_multipliers=("float-mitchell-bf16",), epochs=1)
    assert r["remaining_multiplications"] and not any("max-pool" in m for m in r["remaining_multiplications"])
    assert any("max-pool" in m for m in REMAINING)        # the CNN keeps it


def test_scalar_division_by_zero_names_on_zero():
    with pytest.raises(ZeroDivisionError, match="on_zero='saturate'"):
        Mitchell(width=8).div(1, 0)
    with pytest.raises(ZeroDivisionError, match="on_zero='saturate'"):
        Mitchell(width=8, signed=True).div(-3, 0)
