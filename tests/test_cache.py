"""The per-user cache (issue 24, item 10): one folder wherever a command runs, moved by MITCHELL_CACHE_DIR
or ``mitchell --cache-dir``, printed by the commands that use it; the tests run in a temporary one."""

import os
import subprocess
import sys
from pathlib import Path

from pymodel import cache

from conftest import run_cli


def test_the_tests_use_a_temporary_cache(user_cache):
    assert cache.cache_dir() == Path(user_cache).resolve() and Path(user_cache).name.startswith("mitchell-cache")


def test_platform_default_and_overrides(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "mitchell"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")               # ignored, as the XDG spec says
    assert cache.cache_dir() == Path.home() / ".cache" / "mitchell"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "mitchell"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache.cache_dir() == Path.home() / "Library" / "Caches" / "mitchell"
    monkeypatch.setenv(cache.ENV, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine" and cache.cache_path("nn") == tmp_path / "mine" / "nn"


def test_clear_removes_only_what_the_package_wrote(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "c"))
    (tmp_path / "c" / "nn").mkdir(parents=True)
    (tmp_path / "c" / "nn" / "m.npz").write_bytes(b"x")
    (tmp_path / "c" / "build" / "verify").mkdir(parents=True)
    (tmp_path / "c" / "notes.txt").write_text("mine")
    gone = cache.clear()
    assert sorted(Path(g).name for g in gone) == ["build", "nn"]
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine"
    (tmp_path / "c" / "notes.txt").unlink()
    assert cache.clear() == [str(tmp_path / "c")] and not (tmp_path / "c").exists()


def test_library_defaults_follow_the_cache(monkeypatch, tmp_path):
    """The build folders of every flow and the cost cache resolve under the cache at call time."""
    import hdl.cost
    import sim.exhaustive
    import sim.mutate
    import sim.protocol
    import sim.prove
    import sim.runner
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    for mod in (sim.runner, sim.exhaustive, sim.mutate, sim.prove, sim.protocol):
        assert not mod.DEFAULT_BUILD_ROOT.is_absolute()
        assert cache.cache_path(mod.DEFAULT_BUILD_ROOT).parent == tmp_path / "build"
    assert hdl.cost._default_cache(None) == str(tmp_path / "cost") and hdl.cost._default_cache("") == ""


def test_global_option_moves_the_cache_and_commands_print_it(tmp_path):
    """``mitchell --cache-dir DIR`` (run from another folder) caches there and says so; nothing lands in
    the current folder."""
    d = tmp_path / "c"
    p = subprocess.run([sys.executable, "-m", "mitchell_cli", "--cache-dir", str(d), "nn", "--model", "mlp",
                        "--epochs", "1", "--finetune-epochs", "0"],
                       capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert p.returncode == 0, p.stderr
    assert f"cache: {d / 'nn'}" in p.stderr
    assert [x.parent for x in d.rglob("*.npz")] == [d / "nn"] and str(d / "nn") in p.stdout
    assert [x.name for x in tmp_path.iterdir()] == ["c"]          # no out/ or build/ in the current folder
    rc, out, err = run_cli("--cache-dir", "/proc/no/such", "designs", "--json")
    assert rc == 2 and "--cache-dir /proc/no/such: cannot create the folder" in out
