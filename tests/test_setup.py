"""The two entry points and the set-up script they share, run against stub tools (nothing is installed): missing
system packages are installed only as root, torch is installed pinned before the project, and a stamp keyed on
pyproject.toml makes a second run do nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
# What the script needs besides bash builtins; ffmpeg, espeak-ng, java and chromium are left out on purpose.
TOOLS = ("dirname", "cat", "sha256sum", "cut", "rm", "touch")


def _stub(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def sandbox(tmp_path: Path):
    """A PATH of only the tools above plus stubs, and a venv whose python records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    log = tmp_path / "calls.log"
    _stub(bin_dir / "apt-get", f'echo "apt-get $*" >> {log}')
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _stub(venv / "bin" / "python", f'echo "python $*" >> {log}')

    def run(uid: int = 1000, **env: str) -> subprocess.CompletedProcess:
        _stub(bin_dir / "id", f"echo {uid}")
        full = {"PATH": str(bin_dir), "VENV": str(venv), "HOME": str(tmp_path), **env}
        return subprocess.run(["/bin/bash", str(SETUP)], env=full, capture_output=True, text=True, timeout=60)

    return run, log, venv


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_install_once_torch_pinned_first_then_a_stamp_keyed_on_pyproject(sandbox):
    run, log, venv = sandbox
    first = run()
    assert first.returncode == 0, first.stderr
    pip = [c for c in _calls(log) if c.startswith("python -m pip install")]
    assert pip == ["python -m pip install -q --upgrade pip", "python -m pip install -q torch==2.13.0",
                   "python -m pip install -q -e .[test,eval,ray]"]
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    assert [p.name for p in venv.glob(".installed-*")] == [f".installed-{key}-test_eval_ray"]
    log.unlink()
    second = run()
    assert second.returncode == 0 and "setup: ready" in second.stdout
    assert not [c for c in _calls(log) if "pip" in c]  # idempotent: nothing reinstalled


def test_a_stamp_of_another_pyproject_reinstalls_and_is_replaced(sandbox):
    run, log, venv = sandbox
    (venv / ".installed-0123456789abcdef-test_eval_ray").touch()
    assert run().returncode == 0
    assert "python -m pip install -q torch==2.13.0" in _calls(log)
    stamps = [p.name for p in venv.glob(".installed-*")]
    assert len(stamps) == 1 and stamps != [".installed-0123456789abcdef-test_eval_ray"]


def test_missing_system_packages_are_installed_only_as_root(sandbox):
    run, log, _ = sandbox
    user = run(uid=1000)
    assert user.returncode == 0
    assert "missing system packages (ffmpeg espeak-ng" in user.stderr and "run as root" in user.stderr
    assert not [c for c in _calls(log) if c.startswith("apt-get")]
    root = run(uid=0, WITH_CHROMIUM="1")
    assert root.returncode == 0, root.stderr
    install = [c for c in _calls(log) if c.startswith("apt-get") and " install " in c]
    assert len(install) == 1
    wanted = set(install[0].split())
    assert {"ffmpeg", "espeak-ng", "default-jre-headless", "chromium"} <= wanted, install
    log.unlink()
    assert run(uid=0).returncode == 0  # chromium only when asked for (`make test` asks)
    install = [c for c in _calls(log) if c.startswith("apt-get") and " install " in c]
    assert len(install) == 1 and "ffmpeg" in install[0].split() and "chromium" not in install[0].split()


def _dry_run(target: str) -> list[str]:
    """``make -n TARGET``'s commands, also when this suite itself runs under ``make test`` (a nested make would
    otherwise print "Entering directory" lines and inherit the outer make's flags)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", "-n", target], cwd=ROOT, capture_output=True, text=True,
                          check=True, env=env).stdout.splitlines()


def test_make_demo_and_make_test_set_up_first_and_test_runs_the_slow_tests_too():
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = _dry_run("demo")
    assert out == ["bash scripts/setup.sh", ".venv/bin/onellm-data demo --out out/demo"]
    out = _dry_run("test")
    assert out[0] == "WITH_CHROMIUM=1 bash scripts/setup.sh"
    assert "-m pytest" in out[1] and '-m "slow or not slow"' in out[1] and out[1].endswith(" tests")
