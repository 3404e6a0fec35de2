"""Installed, not only checked out: the wheel carries manifests/ and recipes/, and the CLI works from any directory.

The wheel is built from a copy of the project and installed with ``--no-deps`` into a fresh virtual
environment that sees the test environment's third-party packages through a ``.pth`` line (so nothing is
downloaded and the test stays fast); every command runs in another directory, away from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("onellm_data", "model", "manifests", "recipes", "pyproject.toml", "setup.py", "MANIFEST.in",
                 "README.md")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
          str(src)], tmp, env)
    wheel = next((tmp / "dist").glob("onellm_data-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Third-party packages from the test environment (a plain path line: its .pth hooks, including the
    # checkout's editable install, are not run).
    (site / "test_env_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], tmp, env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = tmp / "elsewhere"
    work.mkdir()
    return work, env


def test_package_is_imported_from_the_install(installed):
    work, env = installed
    out = _run(["python", "-c", "import onellm_data, model; print(onellm_data.__file__, model.__file__)"], work, env)
    assert str(ROOT) not in out.stdout and "site-packages" in out.stdout


def test_sources_convert_and_mix_from_another_directory(installed):
    work, env = installed
    sources = _run(["onellm-data", "sources"], work, env).stdout
    assert "coco_captions" in sources and "laion" in sources
    _run(["onellm-data", "build", "--sources", "laion", "--sample", "--raw-root", "raw", "--out", "corpus",
          "--workers", "1"], work, env)
    assert (work / "corpus" / "index" / "samples.parquet").is_file()
    mixed = _run(["onellm-data", "mix", "recipes/stage1_image.yaml", "--corpus", "corpus"], work, env).stdout
    assert "laion" in mixed
    assert not (work / "recipes").exists()  # the shipped recipe, not a file of this directory
