"""The main job on the bundled sample data: build the sample corpus, verify it, report, train, evaluate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Where the demo writes raw data, corpus and reports.")] = Path("out/demo"),
        workers: Annotated[int, typer.Option("--workers", "-j", help="Conversion worker processes.")] = 2,
    ) -> None:
        """Run the whole pipeline end to end on the bundled tiny sample of every source (no download)."""
        from onellm_data.build import ShardSettings
        from onellm_data.commands.corpus import convert_sources, print_summary
        from onellm_data.samples import generate_sample_raw
        from onellm_data.verify import verify

        start = time.monotonic()
        raw_root, corpus = out / "raw", out / "corpus"
        console.rule("1. bundled sample sources (official layouts, real codecs)")
        raws = generate_sample_raw(raw_root)
        console.print(f"{len(raws)} sources under {raw_root}")
        console.rule("2. convert → shards + index")
        settings = ShardSettings(max_count=64, partition_size=64)
        print_summary(convert_sources(sorted(raws.items()), corpus, settings, workers))
        console.rule("3. verify")
        report = verify(corpus)
        for kind, shard, detail in report.problems:
            console.print(f"[red]{kind}[/red] {shard}: {detail}")
        if not report.ok:
            raise typer.Exit(1)
        console.print(f"[green]OK[/green]: {report.shards_checked} shards, {report.samples_checked} samples")
        console.rule("done")
        console.print(f"corpus: {corpus}\nindex: {corpus / 'index'}\n{time.monotonic() - start:.0f} s")
