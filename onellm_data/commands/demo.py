"""The main job on the bundled sample data: build the sample corpus, verify it, report its statistics, train the
tiny model on it with ``recipes/demo.yaml``, evaluate captioning, and say where everything was written."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True, soft_wrap=True, highlight=False)
DEMO_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "demo.yaml"


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


def _evaluate(model_file: Path, tokenizer_file: Path, raw: Path, out: Path) -> dict:
    from model.checkpoint import load_model
    from model.evaluate import caption_items, model_answer_fn, run_eval
    from model.media import load_media
    from model.text_tokenizer import Tokenizer
    from onellm_data.errors import OnellmDataError

    coco = raw / "coco_captions"
    items, refs = caption_items(coco / "annotations" / "captions_train2017.json", "image", coco / "train2017")
    usable = []
    for item in items:  # the sample tree holds broken images on purpose: evaluate the ones that decode
        try:
            load_media(item.media)
        except OnellmDataError:
            continue
        if refs.get(item.item_id):
            usable.append(item)
    model = load_model(model_file).eval()
    answer = model_answer_fn(model, Tokenizer(tokenizer_file), max_new_tokens=24)
    return run_eval("caption", usable, answer, refs, out)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Where the demo writes raw data, corpus and reports.")] = Path("out/demo"),
        workers: Annotated[int, typer.Option("--workers", "-j", help="Conversion worker processes.")] = 2,
        steps: Annotated[int, typer.Option(help="Training steps (default: the demo recipe's).")] = 0,
    ) -> None:
        """Run the whole pipeline end to end on the bundled tiny sample of every source (no download)."""
        from model.train import RunOptions, run
        from onellm_data.pipeline import ShardSettings
        from onellm_data.commands.corpus import convert_sources, print_summary
        from onellm_data.recipes import load_recipe
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
        console.rule("4. statistics")
        reports = _stats(corpus, DEMO_RECIPE, out / "stats")
        console.rule("5. train the tiny preset (recipes/demo.yaml)")
        summary = run(DEMO_RECIPE, RunOptions(out_dir=out / "train", corpus=corpus, max_steps=steps or None,
                                              workers=1, log_every=25), log=console.print)
        console.print(f"loss {summary['first_loss_mean']:.3f} (first 25 steps) → {summary['last_loss_mean']:.3f} "
                      f"(last 25 steps)")
        console.rule("6. evaluate: image captioning on the COCO sample (BLEU, METEOR, ROUGE-L, CIDEr)")
        scores = _evaluate(Path(summary["model"]), load_recipe(DEMO_RECIPE).tokenizer, raw_root, out / "eval")
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in scores.items():
            table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
        console.print(table)
        console.rule("done")
        console.print(f"raw sources:  {raw_root}\ncorpus:       {corpus} (index: {corpus / 'index'})\n"
                      f"stats:        {', '.join(str(p) for p in reports.values())}\n"
                      f"training:     {summary['model']}, {summary['checkpoint']}, {out / 'train' / 'train_log.jsonl'}\n"
                      f"evaluation:   {out / 'eval' / 'predictions.json'}, {out / 'eval' / 'metrics.json'}\n"
                      f"{time.monotonic() - start:.0f} s")
