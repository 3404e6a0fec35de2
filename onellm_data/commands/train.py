"""``onellm-data train RECIPE``: train the recipe's model on its corpus (single process; for several GPUs use
``torchrun --nproc_per_node N -m model.train RECIPE --out DIR``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        recipe: Annotated[Path, typer.Argument(help="Recipe YAML (recipes/*.yaml).")],
        out: Annotated[Optional[Path], typer.Option(help="Output directory (default out/train/<recipe name>).")] = None,
        corpus: Annotated[Optional[Path], typer.Option(help="Corpus directory (default: the recipe's).")] = None,
        max_steps: Annotated[Optional[int], typer.Option(help="Optimizer steps (default: the recipe's schedule).")] = None,
        resume: Annotated[bool, typer.Option(help="Continue from OUT/checkpoint.safetensors exactly where it stopped.")] = False,
        workers: Annotated[int, typer.Option("--workers", "-j", help="Loader worker processes.")] = 0,
        seed: Annotated[int, typer.Option(help="Seed of the fresh weights, the loader and the augmentations.")] = 0,
        log_every: Annotated[int, typer.Option(help="Optimizer steps between log lines.")] = 10,
        save_every: Annotated[int, typer.Option(help="Optimizer steps between checkpoints (0: at the end only).")] = 0,
        precision: Annotated[str, typer.Option(help="Autocast on GPU: bf16, fp16 or fp32.")] = "bf16",
    ) -> None:
        """Train on the shards: freezing per the recipe, AdamW + warmup/cosine, per-modality loss, exact resume."""
        from model.checkpoint import CheckpointError
        from model.train import RunOptions, run
        from onellm_data.errors import OnellmDataError
        from onellm_data.recipes import load_recipe

        try:
            out_dir = out or Path("out/train") / load_recipe(recipe).name
            summary = run(recipe, RunOptions(out_dir=out_dir, corpus=corpus, max_steps=max_steps, resume=resume,
                                             workers=workers, seed=seed, log_every=log_every, save_every=save_every,
                                             precision=precision), log=console.print)
        except (OnellmDataError, CheckpointError, FileNotFoundError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        first = " ".join(f"{m}={v:.3f}" for m, v in summary["first_loss"].items())
        last = " ".join(f"{m}={v:.3f}" for m, v in summary["last_loss"].items())
        console.print(f"[green]done[/green]: {summary['steps']} steps; loss {summary['first_loss_mean']:.3f} → "
                      f"{summary['last_loss_mean']:.3f}", markup=True)
        console.print(f"  per modality, first log window: {first}\n  per modality, last log window:  {last}", markup=False)
        console.print(f"model: {summary['model']}\ncheckpoint: {summary['checkpoint']}\n"
                      f"log: {Path(summary['out_dir']) / 'train_log.jsonl'}")
