"""``onellm-data eval``: a trained model (or OneLLM's release) on a caption / QA / multiple-choice set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from onellm_data.commands._model_options import Device, Dtype, Preset, Seed, TokenizerFile, Weights
from onellm_data.errors import OnellmDataError

console = Console(stderr=True)
out_console = Console()
MODALITY_NAMES = "image, video, audio, point, depth, normal, imu, fmri"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def metrics_table(result: dict[str, Any], title: str, paper: str | None = None):
    """The scores as a rich table (metric, value); per-subset caption scores as extra rows."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), min_width=48)
    table.add_column("metric")
    table.add_column("value", justify="right")
    skip = {"task", "dataset", "modality", "prompt", "weights", "format", "decoding", "by_group", "skipped_items"}
    for key, value in result.items():
        if key not in skip:
            table.add_row(escape(key), _fmt(value))
    for group, scores in (result.get("by_group") or {}).items():
        for key in ("items", "CIDEr", "BLEU-4", "ROUGE-L"):
            if key in scores:
                table.add_row(escape(f"{key} ({group})"), _fmt(scores[key]))
    if paper:
        table.caption = escape(f"OneLLM-7B in the paper: {paper}")
    return table


def _load_set(dataset: str | None, task: str | None, modality: str | None, annotations: Path, media_root: Path,
              prompt: str | None):
    """(EvalSet, paper numbers or None) from a named set or the generic formats of model/evaluate.py."""
    from model.eval_sets import EVAL_SETS, EvalSet, EvalSetError, read_eval_set  # torch-heavy: at run time
    from model.evaluate import TASKS, caption_items, qa_items

    if dataset is not None:
        if dataset not in EVAL_SETS:
            raise EvalSetError(f"unknown --dataset {dataset!r}; known: {', '.join(EVAL_SETS)}")
        spec = EVAL_SETS[dataset]
        for flag, given, wanted in (("--task", task, spec.task), ("--modality", modality, spec.modality)):
            if given is not None and given != wanted:
                raise EvalSetError(f"--dataset {dataset} is a {spec.task} set on {spec.modality}; {flag} {given} "
                                   "contradicts it (leave it out)")
        return read_eval_set(dataset, annotations, media_root, prompt), spec.paper
    if task is None or modality is None:
        raise EvalSetError("give --task and --modality (or --dataset for one of the paper's sets)")
    if task not in TASKS:
        raise EvalSetError(f"unknown --task {task!r}: use caption, qa or mc")
    if not annotations.is_file():
        raise EvalSetError(f"annotation file not found: {annotations}")
    try:
        if task == "caption":
            items, refs = caption_items(annotations, modality, media_root, prompt)
            return EvalSet(f"{task}-{modality}", task, modality, items, refs), None
        if prompt is not None:
            raise EvalSetError("--prompt overrides caption prompts; qa/mc prompts come from each question")
        return EvalSet(f"{task}-{modality}", task, modality, qa_items(annotations, modality, media_root,
                                                                       multiple_choice=task == "mc")), None
    except (KeyError, TypeError, ValueError) as exc:
        raise EvalSetError(f"{annotations}: not in the generic {task} format ({type(exc).__name__}: {exc}); "
                           "see model/evaluate.py") from exc


def register(app: typer.Typer) -> None:
    @app.command(name="eval")
    def eval_(
        weights: Weights,
        annotations: Annotated[Path, typer.Option(help="The eval set's annotation file (official layout with "
                                                       "--dataset; see model/eval_sets.py).")],
        media_root: Annotated[Path, typer.Option(help="Folder the annotations' media paths are relative to.")],
        dataset: Annotated[Optional[str], typer.Option(
            help="One of the paper's sets, read in its official layout with its task, modality and prompt: "
                 "coco, nocaps, flickr30k, msvd_qa, clotho, clotho_aqa, pointllm, ego4d_imu, nsd.")] = None,
        task: Annotated[Optional[str], typer.Option(help="caption, qa or mc (implied by --dataset).")] = None,
        modality: Annotated[Optional[str], typer.Option(help=f"{MODALITY_NAMES} (implied by --dataset).")] = None,
        tokenizer: TokenizerFile = None,
        preset: Preset = None,
        out: Annotated[Optional[Path], typer.Option(help="Output directory (default out/eval/<set>).")] = None,
        limit: Annotated[Optional[int], typer.Option(min=1, help="Evaluate the first N items only.")] = None,
        max_new_tokens: Annotated[int, typer.Option(min=1, help="Answer length limit in tokens.")] = 64,
        prompt: Annotated[Optional[str], typer.Option(help="Override a caption set's prompt (Table 11's "
                                                           "by default).")] = None,
        batch_size: Annotated[int, typer.Option(min=1, help="Items decoded together (same prompt length).")] = 1,
        temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy (default); the paper used 0.1.")] = 0.0,
        top_p: Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus mass when sampling (paper: 0.75).")
        ] = 1.0,
        seed: Seed = 0,
        device: Device = "auto",
        dtype: Dtype = "auto",
        onellm_compat: Annotated[bool, typer.Option(
            help="Decode as OneLLM did for its published numbers: temperature 0.1, top-p 0.75, fp16 on GPU.")
        ] = False,
        prompt_format: Annotated[str, typer.Option(
            "--format", help="auto (the format the weights trained on, from stage.json; OneLLM's release: chat), "
                             "chat (conversation template) or caption (BOS alone, as alignment stages train).")
        ] = "auto",
        skip_missing: Annotated[bool, typer.Option(help="Leave out (and list) items whose media cannot be "
                                                        "read instead of stopping.")] = False,
    ) -> None:
        """Score a model on a caption, QA or multiple-choice set; writes predictions.json and metrics.json.

        Captions: BLEU-1..4, METEOR, ROUGE-L, CIDEr (pycocoevalcap, Java). QA: exact match and OneLLM's lenient
        match. MC: option-letter accuracy. --dataset reads one of the paper's sets in its official layout.
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # The model side pulls in torch: imported when the command runs so that `onellm-data --help` stays fast.
        from model.evaluate import DecodeSettings, ModelAnswerer, compat_dtype, run_eval
        from model.inference import load_inference

        evalset, paper = _load_set(dataset, task, modality, annotations, media_root, prompt)
        evalset = evalset.limit(limit)
        settings = DecodeSettings.choose(max_new_tokens, temperature, top_p, seed, onellm_compat=onellm_compat)
        dtype = compat_dtype(dtype, device, onellm_compat)
        loaded = load_inference(weights, preset=preset, tokenizer=tokenizer, device=device, dtype=dtype)
        info = loaded.info
        fmt = info.format if prompt_format == "auto" else prompt_format
        console.print(f"{evalset.name}: {len(evalset.items)} {evalset.task} items on {evalset.modality}; "
                      f"{info.kind} {info.path} on {info.device} ({str(info.dtype).removeprefix('torch.')}), "
                      f"tokenizer {info.tokenizer}, {fmt} format")
        answerer = ModelAnswerer(loaded.model, loaded.tokenizer, settings, batch_size, fmt)
        out_dir = out or Path("out") / "eval" / evalset.name
        meta = {"dataset": evalset.name, "modality": evalset.modality,
                "prompt": evalset.items[0].prompt if evalset.task == "caption" else None,
                "weights": str(info.path), "format": fmt, "decoding": settings.to_dict()}
        meta = {k: v for k, v in meta.items() if v is not None}
        try:
            with Progress(TextColumn("answering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                job = bar.add_task("eval", total=len(evalset.items))
                result = run_eval(evalset.task, evalset.items, answerer, evalset.references, out_dir,
                                  groups=evalset.groups, info=meta, skip_errors=skip_missing,
                                  progress=lambda n: bar.advance(job, n))
        except (OnellmDataError, KeyError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        out_console.print(metrics_table(result, f"{evalset.name} ({evalset.task}, {evalset.modality})", paper))
        if result.get("skipped"):
            console.print(f"[yellow]skipped {result['skipped']} item(s) whose media could not be read "
                          f"(listed in metrics.json)[/yellow]")
        console.print(f"wrote {out_dir / 'predictions.json'} and {out_dir / 'metrics.json'}")
