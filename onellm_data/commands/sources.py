"""Commands that describe and fetch the corpus's sources: ``sources`` and ``download``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from rich.console import Console
from typer.core import TyperCommand
from rich.table import Table

console = Console(stderr=True)

Root = Annotated[Path, typer.Option("--root", help="Folder holding one raw folder per source.")]
LAYOUT_PATH = "(what the converter reads)"  # the report row of the converter's own layout check


def readiness(root: Path, name: str, corpus: Path | None = None) -> tuple[str, str]:
    """``(status, detail)`` of a source from its converter's declared layout: ``converted`` (committed partitions
    in ``corpus``), ``ready`` (everything the converter reads is there, archives or not), ``partial`` or
    ``missing``. The same declaration ``build`` checks before converting, so the two never disagree."""
    from onellm_data.converters import registry
    from onellm_data.converters._layout import check_layout

    if corpus is not None and any((corpus / "index" / "parts" / name).glob("*.commit.json")):
        return "converted", f"in {corpus}"
    converter = registry().get(name)
    if converter is None:
        return "missing", "no converter"
    check = check_layout(root / name, converter.layout)
    if check.ok:
        return "ready", ", ".join(str(p.relative_to(root / name)) or "." for _, p in check.present)
    return ("partial" if check.present else "missing"), check.message()


def _fmt_count(manifest) -> str:  # noqa: ANN001
    e = manifest.expected_items
    if e.total is None:
        return "-"
    return ("~" if e.approximate else "") + f"{e.total:,}"


def sources_command(
    name: Annotated[Optional[str], typer.Argument(help="A source: show its converter's layout and options.")] = None,
    root: Root = Path("raw"),
    corpus: Annotated[Path, typer.Option(help="Corpus whose converted sources show as converted.")] = Path("corpus"),
) -> None:
    """List every source: modality, stage, expected items, licence, access and local status under --root
    (from what its converter reads); with NAME, that converter's raw layout and ``-o`` options."""
    from onellm_data.manifests import load_manifests

    if name is not None:
        _describe(name, root)
        return
    table = Table(title=f"sources (local status under {root})")
    for col in ("source", "modality", "stage", "expected items", "licence", "access", "local"):
        table.add_column(col, justify="right" if col == "expected items" else "left", no_wrap=col != "licence")
    colours = {"missing": "red", "partial": "yellow", "ready": "green", "converted": "cyan"}
    for name, m in sorted(load_manifests().items()):
        status, _ = readiness(root, name, corpus)
        licence = m.licence if len(m.licence) <= 48 else m.licence[:47] + "…"
        table.add_row(name, ",".join(m.modalities), ",".join(m.stages), _fmt_count(m), licence, m.access,
                      f"[{colours[status]}]{status}[/]")
    out = Console()
    if not out.is_terminal:
        out = Console(width=200)  # a pipe or file gets whole rows, not an 80-column squeeze
    out.print(table)


def converter_epilog(name: str) -> Optional[str]:
    """What a converter reads and its ``-o`` options, as help text (None for an unknown name)."""
    from onellm_data.converters import registry
    from onellm_data.converters._options import COMMON

    converter = registry().get(name)
    if converter is None:
        return None
    options = (*converter.declared_options, *COMMON)
    return "\n\n".join([f"{name} reads: " + "; ".join(n.describe() for n in converter.layout) + ".",
                         f"Options of {name} (-o key=value): " + "; ".join(o.describe() for o in options) + "."])


class ConvertCommand(TyperCommand):
    """``convert SOURCE --help`` ends with SOURCE's layout and options (help is shown before SOURCE is parsed,
    so the source is read from the raw arguments)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a in ("--help", "-h") for a in args):
            self.epilog = converter_epilog(args[0]) if not args[0].startswith("-") else None
        return super().parse_args(ctx, args)


def _describe(name: str, root: Path) -> None:
    """A converter's modalities, the raw layout it reads (with what is present under ``root``) and its options."""
    from onellm_data.converters import registry
    from onellm_data.converters._layout import check_layout
    from onellm_data.converters._options import COMMON

    converter = registry().get(name)
    if converter is None:
        raise typer.BadParameter(f"unknown source {name!r}; known converters: {', '.join(sorted(registry()))}")
    out = Console(width=200) if not Console().is_terminal else Console()
    check = check_layout(root / name, converter.layout)
    out.print(f"[bold]{name}[/]: {', '.join(converter.modalities)}; raw folder {root / name}")
    for need in converter.layout:
        mark = "[green]present[/]" if any(n is need for n, _ in check.present) else "[red]missing[/]"
        out.print(f"  needs {need.describe()}  {mark}", soft_wrap=True)
    out.print("options (-o key=value):")
    for option in (*converter.declared_options, *COMMON):
        out.print(f"  {option.describe()}", soft_wrap=True, markup=False)


def download_command(
    sources: Annotated[list[str], typer.Argument(help="Source names (see `onellm-data sources`), or 'all'.")],
    root: Root = Path("raw"),
    check: Annotated[bool, typer.Option("--check", help="Verify files already in place (yours included).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel downloads.")] = 4,
    optional: Annotated[bool, typer.Option("--optional", help="Also fetch optional files (OneLLM's copies).")] = False,
    retries: Annotated[int, typer.Option(help="Retries per file on transient errors.")] = 5,
    hf_endpoint: Annotated[Optional[str], typer.Option(envvar="HF_ENDPOINT", help="Hugging Face Hub endpoint.")] = None,
    max_extract_gb: Annotated[Optional[float], typer.Option(
        help="Refuse an archive that expands past this many GB (default: no total cap).")] = None,
    max_extract_ratio: Annotated[float, typer.Option(
        help="Refuse an archive that expands past this many times its own size (beyond 64 MiB).")] = 100.0,
) -> None:
    """Fetch the public files of SOURCE(s) into ROOT/SOURCE/, or print how to get gated ones; --check verifies."""
    from onellm_data.download.extract import ExtractLimits
    from onellm_data.download.fetch import FetchOptions, check_source, download_sources
    from onellm_data.manifests import load_manifests

    manifests = load_manifests()
    names = sorted(manifests) if sources == ["all"] else sources
    unknown = [n for n in names if n not in manifests]
    if unknown:
        raise typer.BadParameter(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(manifests))}")
    chosen = [manifests[n] for n in names]
    outcomes = []
    if check:
        for m in chosen:
            checked = _with_layout(m.name, check_source(m, root), root)
            if m.instructions and any(o.status == "missing" for o in checked):
                _print_instructions(m, root)
            outcomes.extend(checked)
    else:
        for m in chosen:
            if m.instructions and (m.gated or m.manual_files):
                _print_instructions(m, root)
        limits = ExtractLimits(max_total_bytes=None if max_extract_gb is None else int(max_extract_gb * 1e9),
                               max_ratio=max_extract_ratio)
        opts = FetchOptions(root=root, jobs=jobs, retries=retries, hf_endpoint=hf_endpoint,
                            include_optional=optional, extract_limits=limits)
        if any(m.downloadable_files for m in chosen):
            outcomes.extend(download_sources(chosen, opts, console))
    _report(outcomes)
    if any(not o.ok for o in outcomes):
        raise typer.Exit(1)


def _with_layout(name: str, checked: list, root: Path) -> list:  # noqa: ANN001
    """The manifest's file checks judged by what the converter reads: when its declared layout is present
    (extracted data without the archives, or files the user placed), absent archives are not a failure."""
    from onellm_data.download.fetch import Outcome

    status, detail = readiness(root, name)
    if status != "ready":
        return [*checked, Outcome(name, LAYOUT_PATH, "missing", detail)]
    relaxed = [Outcome(o.source, o.path, "skipped", f"not needed: the converter's data is present ({o.message})")
               if o.status in ("missing", "unverified") else o for o in checked]
    return [*relaxed, Outcome(name, LAYOUT_PATH, "verified", f"ready to convert: {detail}")]


def _print_instructions(m, root: Path) -> None:  # noqa: ANN001
    header = "GATED" if m.gated else "needs files you place yourself"
    lines = [f"licence: {m.licence}", f"from: {m.homepage}",
             *m.instructions.replace("<root>", str(root)).splitlines()]
    for spec in m.manual_files:
        where = Path(root) / m.name / spec.path
        lines.append(f"expects: {where}" + (f" ({spec.glob}, at least {spec.min_files})" if spec.is_dir else "")
                     + ("" if spec.required else " (optional)"))
    console.print(f"\n[bold]{m.name}[/] — {header}")
    # Printed verbatim (no markup: rich's escaping doubled a trailing backslash); soft_wrap keeps commands on
    # one line so they can be copied.
    console.print("\n".join("  " + line for line in lines), soft_wrap=True, markup=False, highlight=False)


def _report(outcomes) -> None:  # noqa: ANN001
    if not outcomes:
        return
    table = Table(title="download report")
    for col in ("source", "file", "result", "detail"):
        table.add_column(col, overflow="fold")
    colours = {"failed": "red", "missing": "red", "unverified": "yellow", "skipped": "dim", "downloaded": "green",
               "extracted": "green", "verified": "green"}
    for o in outcomes:
        table.add_row(o.source, o.path, f"[{colours.get(o.status, 'white')}]{o.status}[/]", o.message)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("sources")(sources_command)
    app.command("download")(download_command)
