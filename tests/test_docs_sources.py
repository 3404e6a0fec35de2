"""docs/sources.md agrees with the manifests and with the command line.

- every manifest source has exactly one section (``### `name` — title``) and no section names an unknown source;
- the summary table has one row per source whose modality, stage, expected items and access are the manifest's;
- each section names the files its manifest requires and shows how to download and convert the source;
- every ``onellm-data …`` command in the page (and in the manifests' instructions) names a real command and only
  real options, parses with the real CLI (``typer.main.get_command(onellm_data.cli.app)``), names real sources,
  and passes only converter options (``-o key=value``) that the converter documents.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import typer

from onellm_data.cli import app
from onellm_data.converters import registry
from onellm_data.manifests import load_manifests

DOC = Path(__file__).resolve().parents[1] / "docs" / "sources.md"
SECTION = re.compile(r"^### `([a-z0-9_]+)`", re.M)
FENCE = re.compile(r"^\s*```[^\n]*\n(.*?)^\s*```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]*onellm-data[^`\n]*)`")
# Shell operators between commands on one line (``a && b``, ``a; b``, ``a | b``, ``a &``).
OPERATOR = re.compile(r"(?:&&|\|\||[;|&])(?=\s|$)")


def count_cell(manifest: Any) -> str:
    """Expected items as `onellm-data sources` prints them: ``52,313``, ``~660,000`` (approximate) or ``-``."""
    e = manifest.expected_items
    return "-" if e.total is None else ("~" if e.approximate else "") + f"{e.total:,}"


@lru_cache(maxsize=1)
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def root_command() -> Any:
    """The click command tree of the CLI (typer may vendor click, so only its duck type is relied on)."""
    return typer.main.get_command(app)


def usage_errors() -> tuple[type[Exception], ...]:
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).UsageError)
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def sections() -> dict[str, str]:
    """Source name → the text of its section (up to the next heading of level 1-3)."""
    text = doc_text()
    out: dict[str, str] = {}
    matches = list(SECTION.finditer(text))
    for match in matches:
        rest = text[match.end():]
        nxt = re.search(r"^#{1,3} ", rest, re.M)
        body = rest[: nxt.start()] if nxt else rest
        assert match.group(1) not in out, f"two sections for {match.group(1)}"
        out[match.group(1)] = text[match.start(): match.end()] + body
    return out


def _commands_in(text: str, fenced: bool) -> list[list[str]]:
    """The argument lists (after ``onellm-data``) of every command in ``text``."""
    found = []
    text = text.replace("\\\n", " ")  # shell line continuations
    for line in text.splitlines():
        for segment in OPERATOR.split(line):
            if "onellm-data" not in segment:
                continue
            try:
                tokens = shlex.split(segment, comments=fenced)
            except ValueError as exc:  # an unbalanced quote is a broken example
                raise AssertionError(f"cannot parse {segment!r}: {exc}") from None
            if "onellm-data" in tokens:
                found.append(tokens[tokens.index("onellm-data") + 1:])
    return found


def doc_commands() -> list[tuple[str, list[str], bool]]:
    """``(where, args, complete)``: fenced lines are complete commands; inline spans may be fragments."""
    text = doc_text()
    out = [("code block", args, True) for block in FENCE.findall(text) for args in _commands_in(block, True)]
    without_fences = FENCE.sub("", text)
    out += [("inline", args, False) for span in INLINE.findall(without_fences) for args in _commands_in(span, False)]
    return out


def manifest_commands() -> list[tuple[str, list[str], bool]]:
    out = []
    for name, m in load_manifests().items():
        for span in INLINE.findall(m.instructions):
            out += [(f"manifests/{name}.yaml", args, False) for args in _commands_in(span, False)]
    return out


def resolve(args: list[str]) -> tuple[list[str], Any, list[str]]:
    """Walk command groups: ``(command path, command, remaining args)``; fails on an unknown command."""
    cmd = root_command()
    path: list[str] = []
    rest = list(args)
    while hasattr(cmd, "commands"):  # a group
        assert rest, f"`onellm-data {' '.join(path)}` needs a command: {args}"
        sub = cmd.commands.get(rest[0])
        assert sub is not None, f"`onellm-data {' '.join(path + rest[:1])}`: no such command (in {args})"
        path.append(rest.pop(0))
        cmd = sub
    return path, cmd, rest


def check_options(path: list[str], cmd: Any, rest: list[str]) -> None:
    """Every option-looking token is an option of ``cmd`` (values of value options are skipped)."""
    options = {opt: p for p in cmd.params if p.param_type_name == "option" for opt in (*p.opts, *p.secondary_opts)}
    i = 0
    while i < len(rest):
        token = rest[i]
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            param = options.get(name)
            assert param is not None, (f"`onellm-data {' '.join(path)}` has no option {name}; "
                                       f"real ones: {sorted(options)}")
            if not param.is_flag and not param.count and "=" not in token:
                i += 1  # its value
        i += 1


def converter_options(source: str) -> set[str]:
    """The option names a converter documents (``key`` in its module or class docstrings, incl. base classes)."""
    cls = registry()[source]
    docs = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("onellm_data.converters"):
            docs.append(inspect.getdoc(klass) or "")
            docs.append(inspect.getmodule(klass).__doc__ or "")
    return set(re.findall(r"``([a-z_]+)``", "\n".join(docs)))


def check_semantics(path: list[str], ctx: Any) -> None:
    """Sources named on the line exist; ``-o`` keys are documented options of the converter."""
    manifests = load_manifests()
    params = ctx.params
    if path == ["download"]:
        for name in params["sources"]:
            assert name == "all" or name in manifests, f"download: unknown source {name!r}"
    if path == ["convert"]:
        source = params["source"]
        assert source in registry(), f"convert: unknown converter {source!r}"
        documented = converter_options(source) | {"source"}
        for item in params["option"]:
            key = item.partition("=")[0]
            assert "=" in item, f"convert {source}: option {item!r} is not key=value"
            assert key in documented, f"convert {source}: -o {key} is not an option its converter documents"
    if path == ["build"] and params["sources"] != "all":
        for name in params["sources"].split(","):
            assert name in registry(), f"build: unknown source {name!r}"


def check_command(where: str, args: list[str], complete: bool) -> None:
    path, cmd, rest = resolve(args)
    check_options(path, cmd, rest)
    if not complete:
        return
    try:
        ctx = cmd.make_context(f"onellm-data {' '.join(path)}", list(rest), resilient_parsing=False)
    except usage_errors() as exc:
        raise AssertionError(f"{where}: `onellm-data {' '.join(args)}` does not parse: {exc.format_message()}") from None
    check_semantics(path, ctx)


def test_every_manifest_source_has_exactly_one_section() -> None:
    names = set(load_manifests())
    found = sections()
    assert set(found) == names, (f"missing sections: {sorted(names - set(found))}; "
                                 f"sections for unknown sources: {sorted(set(found) - names)}")


def test_every_documented_source_has_a_converter() -> None:
    for name, m in load_manifests().items():
        assert m.converter in registry(), f"{name}: no converter {m.converter!r} in onellm_data/converters/"


def test_summary_table_matches_the_manifests() -> None:
    rows = {}
    for line in doc_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"`[a-z0-9_]+`", cells[0]):
            name = cells[0].strip("`")
            assert name not in rows, f"two summary rows for {name}"
            rows[name] = cells
    manifests = load_manifests()
    assert set(rows) == set(manifests)
    for name, m in manifests.items():
        _, modality, stage, expected, _licence, access = rows[name]
        assert modality == ", ".join(m.modalities), name
        assert stage == ", ".join(m.stages), name
        assert expected == count_cell(m), name
        assert access == m.access, name


def test_each_section_names_its_required_files_and_commands() -> None:
    for name, body in sections().items():
        m = load_manifests()[name]
        assert f"onellm-data download {name}" in body, f"{name}: no download command"
        assert f"onellm-data convert {name}" in body or "onellm-data import-onellm" in body, f"{name}: no convert command"
        if m.gated or m.manual_files:
            assert "--check" in body, f"{name}: say how to check the files placed by hand"
        for spec in m.files:
            leaf = spec.path.rstrip("/").split("/")[-1]
            if spec.required and leaf not in ("", "."):
                assert leaf in body, f"{name}: the layout does not mention {spec.path}"


@pytest.mark.parametrize("where, args, complete", doc_commands() + manifest_commands(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_commands_are_real(where: str, args: list[str], complete: bool) -> None:
    check_command(where, args, complete)


def test_the_page_documents_the_key_workflows() -> None:
    commands = {tuple(resolve(args)[0]) for _, args, _ in doc_commands()}
    assert {("download",), ("convert",), ("build",), ("import-onellm",), ("index", "merge"), ("verify",)} <= commands
    text = doc_text()
    for flag in ("--partition", "--executor ray", "--address", "--retry-rejects", "--check"):
        assert flag in text, flag


@pytest.mark.parametrize("bad, message", [
    (["no-such-command"], "no such command"),
    (["convert", "coco_captions", "--raw", "r", "--out", "c", "--no-such-flag"], "has no option --no-such-flag"),
    (["index", "split", "corpus"], "no such command"),
    (["convert", "coco_captions", "--raw", "r", "--out", "c", "-o", "colour=red"], "not an option"),
    (["download", "no_such_source"], "unknown source"),
    (["convert", "coco_captions", "--out", "c"], "does not parse"),
])
def test_the_checker_catches_drift(bad: list[str], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_command("test", bad, True)
