"""The CLI entry: version, -h as --help on every command, and the one error handler (one line, exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from onellm_data.cli import ERROR_EXIT, app, package_version

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onellm_data.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])


def test_version_flag_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"onellm-data {package_version()}"
    assert package_version()[0].isdigit()


@pytest.mark.parametrize("command", COMMANDS)
def test_short_help_works_on_every_command(command: str) -> None:
    result = CliRunner().invoke(app, [command, "-h"])
    assert result.exit_code == 0, result.output
    assert "usage:" in result.output.lower()


def test_user_error_is_one_line_and_exit_2_without_traceback(tmp_path: Path) -> None:
    result = run_cli("stats", str(tmp_path / "no-such-corpus"))
    assert result.returncode == ERROR_EXIT
    assert "Traceback" not in result.stderr + result.stdout
    assert "error:" in result.stderr + result.stdout
    assert str(tmp_path / "no-such-corpus") in (result.stderr + result.stdout).replace("\n", "")
