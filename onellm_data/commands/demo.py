"""The main job on the bundled sample data: build the sample corpus, verify it, report its statistics, train the
tiny model on it with ``recipes/demo.yaml``, evaluate captioning (image and audio; held-in and held-out items)
before and after training, and say where everything was written."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from model.run_files import TRAIN_LOG_FILE
from onellm_data.bundled import data_dir
from onellm_data.shards.atomic import write_bytes_atomic

console = Console(stderr=True, soft_wrap=True, highlight=False)
DEMO_RECIPE = data_dir("recipes") / "demo.yaml"
# (modality, split, source): held-in sources are in the demo recipe's mix, held-out ones are not.
EVAL_SOURCES = (("image", "held_in", "coco_captions"), ("image", "held_out", "cc3m"),
                ("audio", "held_in", "audiocaps"), ("audio", "held_out", "wavcaps"))


def _stats(corpus: Path, recipe: Path, out: Path) -> dict[str, Path]:
    from onellm_data.stats import compute_stats, write_reports

    figures = compute_stats(corpus, recipe)
    table = Table(title="sample corpus")
    for col in ("modality", "samples", "sources"):
        table.add_column(col, justify="left" if col == "modality" else "right")
    for row in figures["modalities"]:
        table.add_row(row["modality"], str(row["items"]), ", ".join(row["sources"]))
    console.print(table)
    t = figures["totals"]
    console.print(f"{t['items']} samples, {t['shards']} shards, {t['sources']} sources, {t['rejects']} rejects "
                  "(each with its reason in index/rejects.parquet)")
    return write_reports(figures, out)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Where the demo writes raw data, corpus and reports.")] = Path("out/demo"),
        workers: Annotated[int, typer.Option("--workers", "-j", help="Conversion worker processes.")] = 2,
        steps: Annotated[int, typer.Option(help="Training steps (default: the demo recipe's).")] = 0,
    ) -> None:
        """Run the whole pipeline end to end on the bundled tiny sample of every source (no download)."""
        # The model side pulls in torch: imported when the command runs so that `onellm-data --help` stays fast.
        from model.inference import load_inference
        from model.text_tokenizer import Tokenizer
        from model.train import RunOptions, build_model, run
        from onellm_data.commands._demo_eval import EXPLANATION, corpus_caption_set, metrics_document, score, \
            side_by_side
        from onellm_data.pipeline import ShardSettings
        from onellm_data.commands.corpus import convert_sources, print_summary
        from onellm_data.recipes import load_recipe
        from onellm_data.samples import generate_sample_raw
        from onellm_data.verify import verify
        from onellm_data.verify_decode import verify_decode

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
        decoded = verify_decode(corpus, workers)  # every sample through the loader's decode, as `verify --decode`
        for problem in decoded.problems:
            console.print(f"[red]undecodable[/red] {problem.key} ({problem.source}): {problem.reason} {problem.detail}")
        if not decoded.ok:
            raise typer.Exit(1)
        console.print(f"[green]OK[/green]: {sum(decoded.checked.values())} media samples decode to their exact shapes")
        console.rule("4. data quality: duplicates across sources, overlap with evaluation sets")
        from onellm_data.commands._demo_quality import demo_quality

        demo_quality(raw_root, corpus, out / "eval_sets", console)
        console.rule("4b. statistics")
        reports = _stats(corpus, DEMO_RECIPE, out / "stats")
        console.rule("5. evaluate the starting weights (captioning, held-in and held-out)")
        recipe = load_recipe(DEMO_RECIPE)
        sets = [corpus_caption_set(corpus, source, split, out / "eval" / "media")
                for _, split, source in EVAL_SOURCES]
        fresh, _ = build_model(recipe, corpus, seed=0, log=lambda _: None)  # the run's exact starting weights
        before = score(fresh, Tokenizer(recipe.tokenizer), recipe.format, sets, out / "eval" / "before")
        del fresh
        console.rule("6. train the tiny preset (recipes/demo.yaml)")
        summary = run(DEMO_RECIPE, RunOptions(out_dir=out / "train", corpus=corpus, max_steps=steps or None,
                                              workers=1, log_every=25), log=console.print)
        console.print(f"loss {summary['first_loss_mean']:.3f} (first 25 steps) → {summary['last_loss_mean']:.3f} "
                      f"(last 25 steps)")
        console.rule("7. evaluate the trained model: before → after")
        loaded = load_inference(out / "train", device="cpu")
        after = score(loaded.model, loaded.tokenizer, loaded.info.format, sets, out / "eval" / "after")
        table = Table()
        for col in ("set", "metric", "before", "after"):
            table.add_column(col, justify="left" if col in ("set", "metric") else "right")
        side_by_side(sets, before, after, table.add_row)
        console.print(table)
        console.print(EXPLANATION)
        write_bytes_atomic(out / "eval" / "metrics.json",
                           (json.dumps(metrics_document(sets, before, after), indent=1) + "\n").encode())
        console.rule("done")
        console.print(f"raw sources:  {raw_root}\ncorpus:       {corpus} (index: {corpus / 'index'})\n"
                      f"stats:        {', '.join(str(p) for p in reports.values())}\n"
                      f"training:     {summary['model']}, {summary['checkpoint']}, {out / 'train' / TRAIN_LOG_FILE}\n"
                      f"evaluation:   {out / 'eval' / 'metrics.json'} (predictions under {out / 'eval'}/before, "
                      f"/after)\n"
                      f"{time.monotonic() - start:.0f} s")
