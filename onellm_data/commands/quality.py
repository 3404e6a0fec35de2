"""``onellm-data dedup`` and ``onellm-data contamination``: media duplicates across sources, and overlap with the
paper's evaluation sets (results under ``CORPUS/quality/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True, soft_wrap=True, highlight=False)
DISTANCE_HELP = "Near duplicate: at most this many differing bits of the 64-bit perceptual hash (0-31)."


def print_contamination(summary: dict, out: Console = console) -> None:
    table = Table(title="evaluation contamination")
    for col in ("source", "eval set", "samples", "id", "exact", "near", "caption", "question"):
        table.add_column(col, justify="left" if col in ("source", "eval set") else "right")
    for p in summary["pairs"]:
        table.add_row(p["source"], p["eval_set"], f"{p['samples']}/{p['source_samples']}",
                      *(str(p["by_method"][m]) for m in ("id", "exact", "near", "caption", "question")))
    out.print(table)
    found = ", ".join(f"{s['eval_set']} {s['items_found']}/{s['items']}" for s in summary["eval_sets"])
    out.print(f"{summary['samples_flagged']} training samples flagged; eval items found in training: {found}")
    for note in summary["notes"]:
        out.print(f"[yellow]note:[/yellow] {note}")


def register(app: typer.Typer) -> None:
    @app.command()
    def dedup(
        corpus: Annotated[Path, typer.Argument(help="Corpus directory (with index/).")],
        max_distance: Annotated[int, typer.Option(help=DISTANCE_HELP)] = 3,
        prefer: Annotated[str, typer.Option(help="Comma-separated sources whose captions are kept first.")] = "",
        workers: Annotated[int, typer.Option("--workers", "-j", help="Processes hashing shards.")] = 1,
    ) -> None:
        """Exact and near-duplicate media across sources → quality/duplicates.parquet + quality/dedup_exclude.txt."""
        from onellm_data.quality import dedup_corpus

        result, (table, exclude) = dedup_corpus(corpus, max_distance,
                                                tuple(s for s in prefer.split(",") if s), workers)
        m = result.members
        console.print(f"{result.groups} duplicate groups ({result.exact_groups} exact), {len(m)} samples in them, "
                      f"{len(result.excluded)} excluded")
        for (source, reason), n in m[m["excluded"]].groupby(["source", "reason"]).size().items():
            console.print(f"  {source}: {n} × {reason}")
        console.print(f"wrote {table}\nwrote {exclude} (a recipe reads it with data.exclude: [{exclude}])",
                      markup=False)

    @app.command()
    def contamination(
        corpus: Annotated[Path, typer.Argument(help="Corpus directory (with index/).")],
        eval_sets: Annotated[list[str], typer.Option(
            "--eval", help="NAME=ANNOTATIONS[,MEDIA_ROOT] of an eval set `onellm-data eval --dataset` knows "
                           "(coco, nocaps, flickr30k, msvd_qa, clotho, clotho_aqa, pointllm, ego4d_imu, nsd), or the "
                           "held-out split of audiocaps (test.csv) or msrvtt (test_videodatainfo.json); "
                           "repeat for several; MEDIA_ROOT defaults to the annotations' folder.")],
        max_distance: Annotated[int, typer.Option(help=DISTANCE_HELP)] = 3,
        workers: Annotated[int, typer.Option("--workers", "-j", help="Processes hashing shards.")] = 1,
    ) -> None:
        """Training samples that overlap evaluation sets (id, media hash, near hash, caption/question text)."""
        # model.eval_sets (torch) is imported when the command runs so that `onellm-data --help` stays fast.
        from model.eval_sets import read_eval_set
        from onellm_data.errors import SettingError
        from onellm_data.quality import check_contamination

        evals = []
        for spec in eval_sets:
            name, sep, rest = spec.partition("=")
            if not sep or not rest:
                raise SettingError(f"--eval {spec!r}: expected NAME=ANNOTATIONS[,MEDIA_ROOT]")
            ann, _, media = rest.partition(",")
            evals.append((name, Path(ann), Path(media) if media else Path(ann).parent))
        summary, paths = check_contamination(corpus, evals, max_distance, workers, read_eval_set)
        print_contamination(summary)
        for path in paths.values():
            console.print(f"wrote {path}", markup=False)
