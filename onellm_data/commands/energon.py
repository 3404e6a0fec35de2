"""``onellm-data energon``: make each modality of a corpus a Megatron-Energon dataset (its ``.nv-meta/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def energon(
        corpus: Annotated[Path, typer.Argument(help="Corpus directory (with index/).")],
        modality: Annotated[Optional[list[str]], typer.Option(help="Only these modalities (repeatable).")] = None,
        workers: Annotated[int, typer.Option("--workers", "-j", help="Processes indexing shards.")] = 1,
    ) -> None:
        """Write CORPUS/<modality>/.nv-meta/ (Energon's index, split and a dataset.yaml with our sample loader)
        so get_train_dataset(CORPUS/<modality>, ..., task_encoder=OnellmTaskEncoder()) yields model tensors."""
        try:
            from onellm_data.interop.energon import write_energon_meta
        except ImportError as exc:
            console.print(f"[red]error:[/red] megatron-energon is not installed ({exc}); pip install megatron-energon")
            raise typer.Exit(2) from exc

        done = write_energon_meta(corpus, modality or None, workers)
        for name, count in done.items():
            console.print(f"{corpus / name}: {count} shards → {corpus / name / '.nv-meta'}")
