"""``onellm-data mix RECIPE --corpus CORPUS``: preview a recipe's mix from the index alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def mix(
        recipe: Annotated[Path, typer.Argument(help="Recipe YAML.")],
        corpus: Annotated[Optional[Path], typer.Option(help="Corpus directory (default: the recipe's).")] = None,
        batches: Annotated[int, typer.Option(help="Global batches to simulate.")] = 1000,
        seed: Annotated[int, typer.Option(help="Loader seed.")] = 0,
        world_size: Annotated[int, typer.Option(help="Ranks (global batch = batch size × ranks).")] = 1,
    ) -> None:
        """Requested vs realised share of samples and answer tokens per source and modality, and epochs."""
        from onellm_data.index import read_table
        from onellm_data.loader.realised_mix import realised_mix
        from onellm_data.recipes import check_corpus, load_recipe

        spec = load_recipe(recipe)
        root = check_corpus(spec, corpus)
        df = realised_mix(spec, read_table(root, "samples").to_pandas(), batches, seed, world_size)
        table = Table(title=f"{spec.name}: {batches} global batches ({spec.data.sampling}) over {root}")
        for col in ("source", "modality", "requested", "samples", "answer tokens", "epochs"):
            table.add_column(col, justify="left" if col in ("source", "modality") else "right")
        for row in df.itertuples():
            table.add_row(row.source, row.modality, f"{row.requested_share:.1%}", f"{row.sample_share:.1%}",
                          f"{row.token_share:.1%}", f"{row.epochs:.3g}")
        console.print(table)
        _print_kept_out(spec, read_table(root, "samples"))


def _print_kept_out(spec, samples) -> None:
    """What the recipe's filters and exclude lists remove, per source (samples and answer tokens)."""
    from onellm_data.quality.exclude import kept_out_report

    rows = kept_out_report(spec, samples)
    if not rows:
        return
    table = Table(title="kept out of training (data.filters, data.exclude)")
    for col in ("source", "by", "samples", "answer tokens"):
        table.add_column(col, justify="left" if col in ("source", "by") else "right")
    for r in rows:
        table.add_row(r["source"], r["filter"], f"{r['samples']:,} of {r['of']:,}", f"{r['answer_tokens']:,}")
    console.print(table)
