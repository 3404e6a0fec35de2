"""Train a recipe on the shards: ``onellm-data train RECIPE`` or
``torchrun --nproc_per_node N -m model.train RECIPE [options]``.

The recipe names the model preset, what the weights start from (a previous stage's output, OneLLM's release,
Meta or Hugging Face LLaMA-2, OpenAI CLIP), which parts train, the data mix and the optimiser. A run writes to
its output directory: ``checkpoint.safetensors`` (trainable weights, optimiser, loader state, RNG states, the
resolved recipe; atomic, no pickle), ``train_log.jsonl``, and at the end ``model.pt`` (the full model, what
eval, chat and the next stage read) with ``stage.json`` (which modalities are aligned so far).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model import checkpoint as ckpt
from model.checkpoint import CheckpointError, save_model
from model.config import ModelConfig, preset
from model.distributed import DistInfo, init_distributed, local_device, wrap_model
from model.full_state import gather_model_state, is_sharded
from model.onellm import OneLLM
from model.optim import OptimConfig
from model.run_files import CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE, MODEL_FILE, STAGE_FILE, TRAIN_LOG_FILE
from model.text_tokenizer import Tokenizer
from model.trainer import TrainConfig, Trainer
from model.weight_files import looks_like_release

from onellm_data.errors import OnellmDataError
from onellm_data.loader import make_loader
from onellm_data.loader.dataset import make_validation, recipe_modalities
from onellm_data.recipes import Recipe, RecipeError, check_corpus, load_recipe, recipe_error
from onellm_data.schema import MEDIA_MODALITIES
from onellm_data.shards.atomic import write_bytes_atomic
from onellm_data.typed_config import Reader


@dataclass
class RunOptions:
    out_dir: Path
    corpus: Path | None = None
    max_steps: int | None = None  # overrides the recipe's schedule
    resume: bool = False
    workers: int = 2
    seed: int = 0
    parallel: str = "ddp"  # under torchrun: ddp or fsdp
    log_every: int = 10
    save_every: int = 0
    precision: str = "bf16"
    record_keys: bool = False


def _init_kind(path: Path) -> tuple[str, Path]:
    """What ``init_from`` points at: our model file, OneLLM's release file, Meta or Hugging Face LLaMA."""
    if path.is_dir():
        if (path / MODEL_FILE).is_file():
            return "model", path / MODEL_FILE
        if looks_like_release(path):  # OneLLM's llma.* weights, sharded or not (its folder has params.json too)
            return "release", path
        if any(path.glob("consolidated.*.pth")) and (path / "params.json").is_file():
            return "meta", path
        if (path / "config.json").is_file() and (any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))):
            return "hf", path
        raise FileNotFoundError(f"init_from {path}: no {MODEL_FILE} (a previous stage), Meta LLaMA "
                                "(consolidated.*.pth + params.json) or Hugging Face LLaMA (config.json + weights)")
    if path.is_file():
        return ("model" if path.name == MODEL_FILE else "release"), path
    raise FileNotFoundError(f"init_from {path} does not exist")


def _previous_modalities(model_file: Path) -> set[str] | None:
    stage = model_file.parent / STAGE_FILE
    if stage.is_file():
        return set(json.loads(stage.read_text())["modalities"])
    return None


def recipe_model_config(recipe: Recipe) -> ModelConfig:
    """The recipe's preset with its overrides, each typed like its ModelConfig field; a wrong name, type or
    value is an error naming the recipe's file, line and key."""
    reader = Reader(recipe.path, recipe.key_lines, RecipeError)
    hints = typing.get_type_hints(ModelConfig)
    checked = {}
    for name, value in recipe.model.overrides.items():
        if name not in hints:
            raise recipe_error(recipe, f"model.overrides.{name}", f"unknown model field (known: {', '.join(hints)})")
        checked[name] = reader.value(hints[name], value, f"model.overrides.{name}")
    try:
        return preset(recipe.model.preset, **checked)
    except ValueError as exc:
        key = "model.preset" if "preset" in str(exc) else "model.overrides"
        raise recipe_error(recipe, key, str(exc)) from exc


def build_model(recipe: Recipe, corpus: Path, seed: int = 0, log: Callable[[str], None] = print
                ) -> tuple[OneLLM, set[str]]:
    """The recipe's model with its starting weights and trainable parts; returns it and the aligned modalities."""
    torch.manual_seed(seed)  # fresh weights are part of the run's reproducibility
    model = OneLLM(recipe_model_config(recipe))
    aligned: set[str] | None = set()
    if recipe.init_from is not None:
        kind, path = _init_kind(Path(recipe.init_from))
        if kind == "model":
            ckpt.load_model_into(model, path, "previous stage")  # its saved config must match the recipe's
            aligned = _previous_modalities(path)
        elif kind == "release":
            ckpt.load_onellm_release(model, path)
            aligned = set(MEDIA_MODALITIES)
        elif kind == "meta":
            ckpt.load_meta_llama(model, path)
        else:
            ckpt.load_hf_llama(model, path)
        log(f"initialised from {path} ({kind})")
    if recipe.init_clip is not None:
        ckpt.load_clip_visual(model, recipe.init_clip)
        log(f"CLIP vision tower from {recipe.init_clip}")
    current = recipe_modalities(recipe, corpus)
    source = recipe.init_new_modalities_from
    if source is not None:
        new = sorted(current - (aligned or set()) - {source})
        for modality in new:
            model.init_modality_from(source, modality)
        if new:
            log(f"new modalities start from {source}'s projections, tokens and tags (routers fresh): {', '.join(new)}")
    if recipe.init_experts_from_one:
        model.init_experts_from_first()
        log("UPM experts start as copies of one image projection (the paper's initialisation)")
    model.set_trainable(list(recipe.trainable))
    return model, (aligned or set()) | current


def planned_steps(recipe: Any, loader: Any, override: int | None) -> int:
    if override is not None:
        return override
    if recipe.schedule.max_steps is not None:
        return recipe.schedule.max_steps
    epoch = loader.epoch_length() if hasattr(loader, "epoch_length") else None
    if recipe.schedule.epochs is not None and epoch:
        return max(1, math.ceil(recipe.schedule.epochs * epoch / recipe.optim.accum_steps))
    raise ValueError(f"recipe {recipe.name}: set schedule.max_steps (or schedule.epochs with sampling: epoch)")


def run(recipe_path: Path, opts: RunOptions, info: DistInfo | None = None,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train; returns a summary (steps, first and last loss per modality, output paths)."""
    info = info or init_distributed()
    recipe = load_recipe(recipe_path)
    corpus = check_corpus(recipe, opts.corpus)
    if recipe.tokenizer is None:
        raise ValueError(f"recipe {recipe.name} names no tokenizer")
    tokenizer = Tokenizer(recipe.tokenizer)
    model, aligned = build_model(recipe, corpus, opts.seed, log if info.is_main else (lambda _: None))
    device = local_device(info)
    model.to(device)
    module = wrap_model(model, info, opts.parallel, device)
    loader = make_loader(recipe, corpus, tokenizer, info.rank, info.world_size, opts.workers, opts.seed,
                         pin_memory=device.type == "cuda")
    steps = planned_steps(recipe, loader, opts.max_steps)
    optim = OptimConfig.from_recipe(recipe.optim, recipe.schedule, steps)
    cfg = TrainConfig(out_dir=opts.out_dir, max_steps=steps, optim=optim,
                      log_every=opts.log_every, save_every=opts.save_every, precision=opts.precision, seed=opts.seed,
                      record_keys=opts.record_keys, validate_every=recipe.schedule.validate_every)
    snapshot = {**recipe.to_dict(), "corpus": str(corpus), "seed": opts.seed}
    held_out = make_validation(recipe, corpus, tokenizer, opts.seed)  # data.held_out: validation loss per modality
    trainer = Trainer(module, loader, cfg, device=device, info=info, snapshot=snapshot, log=log,
                      validation=held_out.validation_batches if held_out is not None else None)
    checkpoint = opts.out_dir / CHECKPOINT_FILE
    if opts.resume and (checkpoint.is_file() or (opts.out_dir / LEGACY_CHECKPOINT_FILE).is_file()):
        trainer.resume(opts.out_dir)  # refuses a pickled legacy checkpoint instead of running it
        log(f"resumed from {checkpoint} at step {trainer.step}")
    elif info.is_main and (opts.out_dir / TRAIN_LOG_FILE).exists():
        (opts.out_dir / TRAIN_LOG_FILE).unlink()  # a fresh run starts a fresh log
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"recipe {recipe.name}: {steps} steps, preset {recipe.model.preset}, trainable {list(recipe.trainable)} "
        f"({trainable:,} parameters), {info.world_size} process(es) on {device}")
    history = trainer.train()
    summary = {"recipe": recipe.name, "steps": trainer.step, "out_dir": str(opts.out_dir),
               "checkpoint": str(checkpoint), "model": str(opts.out_dir / MODEL_FILE),
               "first_loss": history[0]["loss"] if history else {}, "last_loss": history[-1]["loss"] if history else {},
               "first_loss_mean": history[0]["loss_mean"] if history else float("nan"),
               "last_loss_mean": history[-1]["loss_mean"] if history else float("nan")}
    # Under FSDP every rank takes part in gathering the whole weights; otherwise rank 0 saves its own state_dict
    # (torch.save copies one tensor at a time, never the whole model to host memory at once).
    weights = gather_model_state(model) if is_sharded(model) else None
    if info.is_main:
        save_model(model, opts.out_dir / MODEL_FILE, weights)
        write_bytes_atomic(opts.out_dir / STAGE_FILE, (json.dumps(
            {"recipe": recipe.name, "steps": trainer.step, "modalities": sorted(aligned), "format": recipe.format,
             "tokenizer": str(Path(recipe.tokenizer).resolve())}, indent=1) + "\n").encode())
    return summary


def build_parser(prog: str = "python -m model.train") -> argparse.ArgumentParser:
    """The one definition of the training options, used by ``onellm-data train`` and ``torchrun -m model.train``."""
    p = argparse.ArgumentParser(prog=prog, description="Train a recipe's model on its shards (one process, or one "
                                "per GPU under torchrun); writes model.pt, stage.json, train_log.jsonl and a "
                                "checkpoint to --out.")
    p.add_argument("recipe", type=Path, help="recipe YAML (recipes/*.yaml)")
    p.add_argument("--out", type=Path, help="output directory (default out/train/<recipe name>)")
    p.add_argument("--corpus", type=Path, help="corpus directory (default: the recipe's)")
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: the recipe's schedule)")
    p.add_argument("--resume", action="store_true", help="continue from OUT's checkpoint exactly where it stopped")
    p.add_argument("--workers", "-j", type=int, default=RunOptions.workers, help="loader worker processes per rank")
    p.add_argument("--seed", type=int, default=RunOptions.seed,
                   help="seed of the fresh weights, the loader and the augmentations")
    p.add_argument("--parallel", choices=("ddp", "fsdp"), default=RunOptions.parallel, help="under torchrun")
    p.add_argument("--log-every", type=int, default=RunOptions.log_every, help="optimizer steps between log lines")
    p.add_argument("--save-every", type=int, default=RunOptions.save_every,
                   help="optimizer steps between checkpoints (0: at the end only)")
    p.add_argument("--precision", choices=("bf16", "fp16", "fp32"), default=RunOptions.precision,
                   help="autocast on GPU (CPU runs fp32)")
    p.add_argument("--record-keys", action="store_true", help="write the sample keys each rank trained on")
    return p


def options_from_args(a: argparse.Namespace) -> RunOptions:
    out = a.out or Path("out/train") / load_recipe(a.recipe).name
    return RunOptions(out_dir=out, corpus=a.corpus, max_steps=a.max_steps, resume=a.resume, workers=a.workers,
                      seed=a.seed, parallel=a.parallel, log_every=a.log_every, save_every=a.save_every,
                      precision=a.precision, record_keys=a.record_keys)


def describe(summary: dict[str, Any]) -> str:
    """The closing lines of a run: loss first → last window, per modality, and the output paths."""
    first = " ".join(f"{m}={v:.3f}" for m, v in summary["first_loss"].items())
    last = " ".join(f"{m}={v:.3f}" for m, v in summary["last_loss"].items())
    return (f"done: {summary['steps']} steps; loss {summary['first_loss_mean']:.3f} → {summary['last_loss_mean']:.3f}\n"
            f"  per modality, first log window: {first}\n  per modality, last log window:  {last}\n"
            f"model: {summary['model']}\ncheckpoint: {summary['checkpoint']}\n"
            f"log: {Path(summary['out_dir']) / 'train_log.jsonl'}")


def main(argv: list[str] | None = None, prog: str = "python -m model.train") -> int:
    """Parse, train, print the summary; a bad recipe, corpus or checkpoint is one error line and exit code 2."""
    a = build_parser(prog).parse_args(argv)
    info = init_distributed()
    say = (lambda text: print(text, flush=True)) if info.is_main else (lambda _: None)
    try:
        summary = run(a.recipe, options_from_args(a), info, log=say)
    except (OnellmDataError, CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    say(describe(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
