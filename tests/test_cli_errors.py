"""User errors go through the CLI entry's one handler: each command raises, the entry prints ``error: ...`` on one
line and exits 2. No command keeps its own copy of that block for exceptions the handler already covers."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.weight_files import CheckpointError
from onellm_data import errors
from onellm_data.cli import ERROR_EXIT, USER_ERRORS, app

COMMANDS_DIR = Path(__file__).resolve().parents[1] / "onellm_data" / "commands"
KNOWN = {**{n: getattr(builtins, n) for n in dir(builtins)}, **vars(errors), "CheckpointError": CheckpointError}


def _caught(handler: ast.ExceptHandler) -> list[type | None]:
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = [n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else None for n in nodes]
    return [KNOWN.get(name) if name else None for name in names]


def _exits(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(n, ast.Raise) and "Exit" in ast.unparse(n.exc or ast.Constant(None))
               for n in ast.walk(handler))


def copied_error_blocks(directory: Path = COMMANDS_DIR) -> list[str]:
    found = []
    for path in sorted(directory.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None and _exits(node):
                caught = _caught(node)
                if all(isinstance(c, type) and issubclass(c, USER_ERRORS) for c in caught):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_command_copies_the_entry_error_handler() -> None:
    assert copied_error_blocks() == []


def test_the_scan_finds_a_copied_block_and_keeps_narrower_ones(tmp_path: Path) -> None:
    (tmp_path / "copy.py").write_text(
        "try:\n    run()\nexcept (CorpusError, FileNotFoundError) as exc:\n    raise typer.Exit(2) from exc\n"
        "try:\n    import energon\nexcept ImportError as exc:\n    raise typer.Exit(2) from exc\n")
    assert copied_error_blocks(tmp_path) == ["copy.py:3"]


@pytest.mark.parametrize("args,message", [
    (["verify", "{tmp}"], "no index table"),
    (["mix", "{tmp}/missing.yaml"], "missing.yaml"),
    (["contamination", "{tmp}", "--eval", "coco"], "expected NAME=ANNOTATIONS[,MEDIA_ROOT]"),
    (["import-onellm", "{tmp}/nothing.json", "--out", "{tmp}/c"], "nothing.json does not exist"),
    (["chat", "-", "hi", "--modality", "text", "--weights", "{tmp}/none.pt"], "none.pt"),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == ERROR_EXIT, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in result.output.replace("\n", ""), result.output
