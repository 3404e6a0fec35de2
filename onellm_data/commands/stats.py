"""``onellm-data stats``: the statistics report of a corpus, from its index."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def stats(
        corpus: Annotated[Path, typer.Argument(help="Corpus directory (with index/).")],
        recipe: Annotated[Optional[Path], typer.Option(help="Recipe YAML: add its requested vs realised mix.")] = None,
        out: Annotated[Optional[Path], typer.Option(help="Report directory (default: CORPUS/stats).")] = None,
        deep: Annotated[bool, typer.Option(help="Also open every tar and check member names and sizes against "
                                                "the index (exit 1 on a problem).")] = False,
        mix_batches: Annotated[int, typer.Option(help="Global batches simulated for the realised mix.")] = 1000,
    ) -> None:
        """Write stats.json, stats.md and report.html (figures from the index; tars only with --deep)."""
        from onellm_data.progress import Progress
        from onellm_data.stats import compute_stats, write_reports

        with (Progress("stats --deep", unit="shards", words=("samples", "problems")) if deep
              else contextlib.nullcontext()) as progress:
            figures = compute_stats(corpus, recipe, deep=deep, mix_batches=mix_batches, progress=progress)
        paths = write_reports(figures, out or corpus / "stats")
        t = figures["totals"]
        console.print(f"{t['items']} samples in {t['shards']} shards, {t['sources']} sources, "
                      f"{t['rejects']} rejects")
        quality = figures.get("quality") or {}
        if quality.get("dedup"):
            d = quality["dedup"]
            console.print(f"duplicates: {d['groups']} groups, {d['excluded']} samples on quality/dedup_exclude.txt")
        if quality.get("contamination"):
            console.print(f"contamination: {quality['contamination']['samples_flagged']} training samples overlap "
                          "evaluation sets (quality/contamination.md)")
        for note in figures["notes"]:
            console.print(f"[yellow]note:[/yellow] {note}")
        if figures["deep"] is not None and figures["deep"]["problem_count"]:
            console.print(f"[red]deep check: {figures['deep']['problem_count']} problem(s)[/red]")
        for path in paths.values():
            console.print(f"wrote {path}")
        if figures["deep"] is not None and figures["deep"]["problem_count"]:
            raise typer.Exit(1)
