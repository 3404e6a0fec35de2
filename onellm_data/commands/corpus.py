"""Commands that make and check a corpus: convert, build, verify, index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from onellm_data.pipeline import ConversionSummary, ShardSettings, run_conversion
from onellm_data.pipeline.executors import make_executor
from onellm_data.converters import make_converter
from onellm_data.commands._outcome import DEFAULT_MAX_REJECT_SHARE, judge, preflight
from onellm_data.commands.sources import ConvertCommand
from onellm_data.progress import Progress as JobProgress

console = Console(stderr=True)

Workers = Annotated[int, typer.Option("--workers", "-j", help="Worker processes (1 = in this process).")]
MaxRejectShare = Annotated[float, typer.Option(help="Exit 1 when a source rejects more than this share of its "
                                                    "records (a run that writes no sample always fails).")]
SAMPLE_MAX_REJECT_SHARE = 0.9  # the bundled samples hold about as many bad items as good ones, on purpose


def check_outcomes(summaries: list[ConversionSummary], max_reject_share: float) -> None:
    """Exit 1, naming the source and its top reject reasons, when a run wrote nothing or rejected too much."""
    failed = [o for o in (judge(s, max_reject_share) for s in summaries) if not o.ok]
    for outcome in failed:
        console.print(f"[red]error:[/red] {outcome.source}: {outcome.problem}")
    if failed:
        raise typer.Exit(1)


def _parse_options(options: list[str]) -> dict[str, str]:
    out = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--option expects key=value, got {item!r}")
        out[key] = value
    return out


def _parse_shard_of(value: Optional[str]) -> tuple[int, int] | None:
    if value is None:
        return None
    i, sep, n = value.partition("/")
    if not sep or not i.isdigit() or not n.isdigit() or not int(i) < int(n):
        raise typer.BadParameter(f"--partition expects i/n with 0 <= i < n, got {value!r}")
    return int(i), int(n)


def print_summary(summaries: list[ConversionSummary]) -> None:
    table = Table(title="conversion summary")
    for col in ("source", "records", "samples", "rejected", "partitions run/skipped"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for s in summaries:
        records = str(s.records) if s.covered == s.records else f"{s.covered} of {s.records}"  # --partition i/n
        table.add_row(s.source, records, str(s.samples), str(sum(s.rejects.values())),
                      f"{s.partitions_done}/{s.partitions_skipped}")
    console.print(table)
    reasons = Table(title="rejects by reason")
    for col in ("source", "reason", "count"):
        reasons.add_column(col)
    for s in summaries:
        for reason, n in sorted(s.rejects.items(), key=lambda kv: -kv[1]):
            reasons.add_row(s.source, reason, str(n))
    if reasons.row_count:
        console.print(reasons)


def convert_sources(
    sources: list[tuple[str, Path]],
    out: Path,
    settings: ShardSettings,
    workers: int,
    executor: str = "local",
    address: str | None = None,
    shard_of: tuple[int, int] | None = None,
    retry_rejects: bool = False,
    overwrite: bool = False,
    options: dict[str, str] | None = None,
) -> list[ConversionSummary]:
    """Convert each (source, raw dir) into ``out`` with live progress; returns the summaries."""
    backend = make_executor(executor, workers, address)
    summaries = []
    for source, raw in sources:
        conv = make_converter(source, raw, **(options or {}))
        with JobProgress(f"convert {conv.source}") as progress:
            summaries.append(run_conversion(conv, out, settings, backend, shard_of=shard_of,
                                            retry_rejects=retry_rejects, overwrite=overwrite, progress=progress))
    return summaries


def register(app: typer.Typer) -> None:
    @app.command(cls=ConvertCommand)
    def convert(
        source: Annotated[str, typer.Argument(help="Converter name (see `onellm-data sources`); `convert SOURCE "
                                                   "--help` lists its options.")],
        raw: Annotated[Path, typer.Option(help="The source's raw directory, in its official layout.")],
        out: Annotated[Path, typer.Option(help="Corpus directory to write shards and index into.")],
        workers: Workers = 2,
        executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
        address: Annotated[Optional[str], typer.Option(help="Ray cluster address (with --executor ray).")] = None,
        partition: Annotated[Optional[str], typer.Option(help="Convert only partitions p with p % n == i (i/n).")] = None,
        max_count: Annotated[int, typer.Option(help="Samples per shard.")] = 10_000,
        max_bytes: Annotated[int, typer.Option(help="Bytes per shard.")] = 1 << 30,
        partition_size: Annotated[int, typer.Option(help="Records per partition (the unit of resume).")] = 10_000,
        tokenizer: Annotated[Optional[Path], typer.Option(help="SentencePiece model to count tokens into the index.")] = None,
        retry_rejects: Annotated[bool, typer.Option(help="Redo partitions that recorded rejects.")] = False,
        overwrite: Annotated[bool, typer.Option(help="Replace this source's earlier output (made with these or "
                                                "other settings): convert every partition again.")] = False,
        option: Annotated[list[str], typer.Option("--option", "-o", help="Converter option key=value (repeatable); "
                                                  "`onellm-data sources SOURCE` lists a converter's options.")] = [],
        name: Annotated[Optional[str], typer.Option(help="Output source name (generic converters such as jsonl).")] = None,
        max_reject_share: MaxRejectShare = DEFAULT_MAX_REJECT_SHARE,
    ) -> None:
        """Convert one source from its official layout into shards + index (resumable: rerun to continue)."""
        settings = ShardSettings(max_count, max_bytes, partition_size, str(tokenizer) if tokenizer else None)
        summaries = convert_sources([(source, raw)], out, settings, workers, executor, address,
                                    _parse_shard_of(partition), retry_rejects, overwrite,
                                    {**_parse_options(option), **({"source": name} if name else {})})
        print_summary(summaries)
        check_outcomes(summaries, max_reject_share)

    @app.command()
    def build(
        out: Annotated[Path, typer.Option(help="Corpus directory.")],
        sources: Annotated[str, typer.Option(help="Comma-separated source names, or 'all' (all sample sources).")] = "all",
        raw_root: Annotated[Path, typer.Option(help="Directory holding raw/<source>/ trees.")] = Path("raw"),
        sample: Annotated[bool, typer.Option(help="First generate the bundled tiny sample of each source.")] = False,
        workers: Workers = 2,
        executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
        address: Annotated[Optional[str], typer.Option(help="Ray cluster address (with --executor ray).")] = None,
        max_count: Annotated[int, typer.Option(help="Samples per shard.")] = 10_000,
        partition_size: Annotated[int, typer.Option(help="Records per partition.")] = 10_000,
        tokenizer: Annotated[Optional[Path], typer.Option(help="SentencePiece model to count tokens.")] = None,
        retry_rejects: Annotated[bool, typer.Option(help="Redo partitions that recorded rejects.")] = False,
        max_reject_share: Annotated[Optional[float], typer.Option(
            help=f"Exit 1 when a source rejects more than this share of its records (default "
                 f"{DEFAULT_MAX_REJECT_SHARE:g}; {SAMPLE_MAX_REJECT_SHARE:g} with --sample).")] = None,
    ) -> None:
        """Convert several sources into one corpus (with --sample: the bundled sample of every source).

        Every source name and raw folder is checked before anything is converted."""
        from onellm_data.samples import generate_sample_raw, sample_sources

        names = sorted(sample_sources()) if sources == "all" else [s for s in sources.split(",") if s]
        if sample:
            generate_sample_raw(raw_root, names)
        problems = preflight([(n, raw_root / n) for n in names])
        for problem in problems:
            console.print(f"[red]error:[/red] {problem}")
        if problems:
            raise typer.Exit(2)
        settings = ShardSettings(max_count, 1 << 30, partition_size, str(tokenizer) if tokenizer else None)
        summaries = convert_sources([(n, raw_root / n) for n in names], out, settings, workers, executor,
                                    address, retry_rejects=retry_rejects)
        print_summary(summaries)
        share = max_reject_share if max_reject_share is not None else (
            SAMPLE_MAX_REJECT_SHARE if sample else DEFAULT_MAX_REJECT_SHARE)
        check_outcomes(summaries, share)

    @app.command()
    def verify(
        corpus: Annotated[Path, typer.Argument(help="Corpus directory.")],
        rebuild_index: Annotated[bool, typer.Option(help="Recreate the index from the tars first.")] = False,
        decode: Annotated[bool, typer.Option(help="Also decode every sample as the loader does (eval mode): it must "
                                                  "give the modality's exact shape with finite values.")] = False,
        workers: Workers = 4,
    ) -> None:
        """Check every shard's sha256, sample count, member names, offsets and sizes against the index; exit 1 on
        any problem. With --decode, also decode every sample and list failures per source."""
        from onellm_data.verify import rebuild_index as rebuild
        from onellm_data.verify import verify as run_verify

        if rebuild_index:
            with JobProgress("rebuild", unit="partitions", words=("samples", "problems")) as progress:
                rebuilt = rebuild(corpus, progress)
            console.print(f"rebuilt index: {rebuilt.counts['samples']} samples in {rebuilt.counts['shards']} shards "
                          f"of {rebuilt.partitions} committed partitions")
            for source, partition in rebuilt.uncommitted:
                console.print(f"[yellow]uncommitted[/yellow] partition {partition} of {source}: shards on disk but "
                              "no commit marker (an unfinished conversion); left out: rerun convert to redo it")
        with JobProgress("verify", unit="samples", words=("checked", "problems")) as progress:
            report = run_verify(corpus, workers, progress)
        decoded = _verify_decode(corpus, workers) if decode else None
        for kind, shard, detail in report.problems:
            console.print(f"[red]{kind}[/red] {shard}: {detail}")
        status = "[green]OK[/green]" if report.ok else f"[red]{len(report.problems)} problem(s)[/red]"
        console.print(f"verify {corpus}: {report.shards_checked} shards, {report.samples_checked} samples: {status}")
        if not report.ok or (decoded is not None and not decoded.ok):
            raise typer.Exit(1)

    def _verify_decode(corpus: Path, workers: int):
        from onellm_data.verify_decode import verify_decode

        with JobProgress("decode", unit="samples", words=("decoded", "failures")) as progress:
            decoded = verify_decode(corpus, workers, progress)
        for source, problems in decoded.by_source().items():
            console.print(f"[red]{source}[/red]: {len(problems)} sample(s) fail the load-side decode")
            for p in problems:
                console.print(f"  {p.key} ({p.shard}): {p.reason}{': ' + p.detail if p.detail else ''}")
        total = sum(decoded.checked.values())
        status = "[green]OK[/green]" if decoded.ok else f"[red]{len(decoded.problems)} failure(s)[/red]"
        console.print(f"decode {corpus}: {total} samples decoded: {status}")
        return decoded

    index_app = typer.Typer(help="Index maintenance.", no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @index_app.command("merge")
    def index_merge(corpus: Annotated[Path, typer.Argument(help="Corpus directory.")]) -> None:
        """Merge committed partitions' index parts (after partitioned or multi-machine conversion)."""
        from onellm_data.index import finalize

        counts = finalize(corpus)
        console.print(f"merged: {counts['samples']} samples, {counts['shards']} shards, {counts['rejects']} rejects")
