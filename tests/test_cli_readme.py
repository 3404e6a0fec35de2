"""README.md's command reference and source table agree with the real command line and manifests.

Covers the sections "Use the corpus from other tools" up to "Training": every ``onellm-data …`` command shown
there names a real command and only real options (complete commands in code blocks also parse), each row of
the Commands table names only options of its own command, the table lists every command of the CLI, every
option has help text (``--help`` explains every option), and the Sources table lists every manifest in the
column of its stage, on the row of its modality.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onellm_data.manifests import load_manifests
from tests.test_docs_sources import FENCE, INLINE, _commands_in, check_command, resolve, root_command

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "## Use the corpus from other tools", "## Training"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(START)
    return text[start: text.index(END, start)]


def _plain(span: str) -> str:
    """A table cell's command as a shell line: optional parts unbracketed, ``\\|`` alternatives joined."""
    return span.replace("\\|", "/").replace("[", " ").replace("]", " ").replace("…", " ")


def section_commands() -> list[tuple[str, list[str], bool]]:
    text = section()
    out = [("code block", args, True) for block in FENCE.findall(text) for args in _commands_in(block, True)]
    without_fences = FENCE.sub("", text)
    out += [("inline", args, False) for span in INLINE.findall(without_fences)
            for args in _commands_in(_plain(span), False)]
    # `onellm-data --help` and `onellm-data COMMAND --help` name no particular command
    return [c for c in out if c[1] and not (c[1][0].startswith("-") or c[1][0].isupper())]


def command_rows() -> dict[str, str]:
    """Command path (``index merge``) → the whole row of the Commands table."""
    rows = {}
    for line in section().splitlines():
        match = re.match(r"\| `onellm-data ([a-z-]+(?: merge)?)\b", line)
        if match:
            assert match.group(1) not in rows, f"two rows for {match.group(1)}"
            rows[match.group(1)] = line
    return rows


def _leaf_commands(cmd=None, path=()):
    cmd = cmd or root_command()
    subs = getattr(cmd, "commands", None)
    if not subs:
        yield " ".join(path), cmd
        return
    for name, sub in subs.items():
        yield from _leaf_commands(sub, (*path, name))


def options_of(path: str, cmd) -> set[str]:
    """Option strings of a command; ``train`` hands its arguments to ``model.train``'s argparse parser."""
    if path == "train":
        from model.train import build_parser

        return {opt for action in build_parser()._actions for opt in action.option_strings}
    return {"--help", "-h"} | {opt for p in cmd.params if p.param_type_name == "option"
                               for opt in (*p.opts, *p.secondary_opts)}


def test_section_has_commands_to_check() -> None:
    found = {tuple(resolve(args)[0]) for _, args, _ in section_commands()}
    assert {("convert",), ("index", "merge"), ("verify",), ("energon",), ("sources",)} <= found


@pytest.mark.parametrize("where, args, complete", section_commands(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_commands_shown_are_real(where: str, args: list[str], complete: bool) -> None:
    if args[0] == "train":
        named = {a.split("=", 1)[0] for a in args if a.startswith("-")}
        assert named <= options_of("train", None), args
        return
    check_command(where, args, complete)


def test_commands_table_lists_every_command() -> None:
    assert set(command_rows()) == {path for path, _ in _leaf_commands()}


@pytest.mark.parametrize("path", sorted(command_rows()))
def test_options_named_in_a_row_belong_to_its_command(path: str) -> None:
    """``convert``'s row names ``--retry-rejects``, ``-j N``, ``--executor ray [--address A]`` …: all its own."""
    options = options_of(path, dict(_leaf_commands())[path])
    named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", " ".join(re.findall(r"`([^`]*)`", command_rows()[path]))))
    if path == "sources":
        named.discard("-o")  # "its `-o` options": the converter's options, passed to convert
    assert named <= options, f"{path}: {sorted(named - options)} are not options of it"


def test_every_option_and_argument_has_help() -> None:
    missing = [f"{path or 'onellm-data'} {p.name}" for path, cmd in _leaf_commands()
               for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert missing == []
    assert [path for path, cmd in _leaf_commands() if not (cmd.help or "").strip()] == []
    from model.train import build_parser  # `train` hands its arguments to this parser

    assert [a.dest for a in build_parser()._actions if not (a.help or "").strip()] == []


def test_sources_table_lists_every_manifest_by_stage_and_modality() -> None:
    text = section()
    table = text[text.index("| modality | instruction tuning | alignment |"):]
    table = table[: table.index("\n\n")]
    placed: dict[str, tuple[str, str]] = {}
    for line in table.splitlines()[2:]:
        modality, instruction, alignment = (c.strip() for c in line.strip().strip("|").split("|"))
        for column, cell in (("instruction", instruction), ("alignment", alignment)):
            for name in re.findall(r"`([a-z0-9_]+)`", re.sub(r"\([^)]*\)", "", cell)):
                assert name not in placed, f"{name} twice in the Sources table"
                placed[name] = (modality, column)
    manifests = load_manifests()
    assert set(placed) == set(manifests)
    for name, (modality, column) in placed.items():
        m = manifests[name]
        stage = "instruction" if m.stages == ("instruction",) else "alignment"
        assert column == stage, f"{name}: in the {column} column, manifest stages {m.stages}"
        expected = "all" if len(m.modalities) > 2 else m.modalities[0]
        assert expected in modality.replace("IMU", "imu").replace("fMRI", "fmri").split(" / "), name


def test_numbers_shown_as_optional_values_are_the_defaults() -> None:
    """``dedup CORPUS [--max-distance 3]``: an optional option shown with a number is shown with its default."""
    checked = 0
    for path, row in command_rows().items():
        for option, value in re.findall(r"\[(--[a-z-]+) (\d+(?:\.\d+)?)\]", row):
            param = next(p for p in dict(_leaf_commands())[path].params if option in p.opts)
            assert float(param.default) == float(value), f"{path} {option}: default {param.default}, README {value}"
            checked += 1
    assert checked
