"""Every command that `download` prints for the user to run is valid shell, as printed.

The steps are captured as the download command prints them (its printer, for every source with instructions;
and the whole command for a gated source). A command is a line whose first word is a program users run (with its
backslash-continued lines), or a `backticked` span starting with one; each must parse with `bash -n` and
shlex, and no line may end in a doubled backslash (which breaks copy-paste).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.commands.sources import _print_instructions as print_instructions
from onellm_data.manifests import load_manifests

PROGRAMS = {"hf", "img2dataset", "onellm-data", "cd", "zip", "unzip", "sed", "wget", "curl", "aws", "git", "tar",
            "mkdir", "mv", "python", "pip"}
WITH_INSTRUCTIONS = sorted(name for name, m in load_manifests().items() if m.instructions)


def _printed(name: str, root: Path, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    print_instructions(load_manifests()[name], root)
    captured = capsys.readouterr()
    return captured.out + captured.err


def commands(text: str) -> list[str]:
    """Command lines (continuations joined) and backticked commands found in printed instructions."""
    found: list[str] = []
    lines = [line.strip() for line in text.splitlines()]
    i = 0
    while i < len(lines):
        words = lines[i].split()
        if words and words[0] in PROGRAMS:
            block = [lines[i]]
            while block[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                block.append(lines[i])
            found.append("\n".join(block))
        i += 1
    found += [span for span in re.findall(r"`([^`]+)`", text) if span.split()[0] in PROGRAMS]
    return found


@pytest.mark.parametrize("name", WITH_INSTRUCTIONS)
def test_printed_commands_parse_as_shell(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = _printed(name, tmp_path, capsys)
    assert f"{name} — " in text, text  # the steps were printed
    assert not [line for line in text.splitlines() if line.rstrip().endswith("\\\\")]
    assert "huggingface-cli" not in text  # huggingface_hub 1.x ships `hf`
    found = commands(text)
    assert found, f"no command found in the steps of {name}"
    bash = shutil.which("bash")
    for command in found:
        shlex.split(command.replace("\\\n", " "))
        if bash:
            check = subprocess.run([bash, "-n", "-c", command], capture_output=True, text=True)
            assert check.returncode == 0, f"{name}: {command!r}: {check.stderr}"


def test_gated_source_prints_hf_steps_through_the_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["download", "nsd_fmri", "--check", "--root", str(tmp_path)])
    assert "hf download pscotti/naturalscenesdataset" in result.output
    assert not [line for line in result.output.splitlines() if line.rstrip().endswith("\\\\")]


def test_the_check_catches_a_broken_command() -> None:
    """The parser used above fails on what copy-paste would break (so the test above can fail)."""
    bash = shutil.which("bash")
    broken = 'hf download repo --include "a*" \\\\\n  --local-dir x'
    assert commands(broken)
    if bash:
        assert subprocess.run([bash, "-n", "-c", 'cd "x && ls'], capture_output=True).returncode != 0
    with pytest.raises(ValueError):
        shlex.split('hf download "unclosed')
