"""A run records the format its recipe trained on (chat or caption) and eval/chat prompt with exactly the prefix
training used: the tokens before the first target of a training sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from model.evaluate import ModelAnswerer
from model.inference import load_inference
from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from model.train import RunOptions, run
from onellm_data.cli import app
from onellm_data.loader import make_loader
from onellm_data.loader.template import IGNORE_INDEX
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus
from tests.model_eval.coco_helpers import write_tiny_coco_captions

QUESTION = "What is shown?"  # the human turn of the jsonl corpus's image samples (after "<image>\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("fmt"), {"pics": (6, "image", False)})


def _train(root: Path, corpus: Path, fmt: str) -> tuple[Path, Path]:
    spec = {"name": f"kind_{fmt}", "format": fmt, "model": {"preset": "tiny"}, "trainable": ["upm", "llm"],
            "frozen": ["clip"], "tokenizer": str(DEMO_TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "pics"}], "seq_len": 48, "batch_size": 2},
            "optim": {"lr": 1e-3}, "schedule": {"max_steps": 2}}
    recipe = root / f"{fmt}.yaml"
    recipe.write_text(yaml.safe_dump(spec))
    out = root / f"out_{fmt}"
    run(recipe, RunOptions(out_dir=out, workers=0, log_every=1), log=lambda _: None)
    return recipe, out


@pytest.mark.parametrize("fmt", ["chat", "caption"])
def test_eval_feeds_the_prefix_training_used(tmp_path, corpus, fmt):
    recipe, out = _train(tmp_path, corpus, fmt)
    assert json.loads((out / "stage.json").read_text())["format"] == fmt
    loaded = load_inference(out, device="cpu")
    assert loaded.info.format == fmt
    batch = next(iter(make_loader(load_recipe(recipe), None, Tokenizer(DEMO_TOKENIZER), num_workers=0)))
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    first_target = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    answerer = ModelAnswerer(loaded.model, loaded.tokenizer, fmt=loaded.info.format)
    assert answerer.prompt_ids(QUESTION, "image") == ids[:first_target]
    if fmt == "chat":  # the template with its question; a caption model gets BOS alone
        assert first_target > 10
    else:
        assert first_target == 1


def test_eval_command_uses_the_recorded_format_unless_overridden(tmp_path, corpus):
    _, out = _train(tmp_path, corpus, "caption")
    ann, media = write_tiny_coco_captions(tmp_path / "coco", n=2)
    base = ["eval", "--weights", str(out), "--task", "caption", "--modality", "image", "--annotations", str(ann),
            "--media-root", str(media), "--max-new-tokens", "4", "--device", "cpu"]
    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "e1")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e1" / "metrics.json").read_text())["format"] == "caption"
    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "e2"), "--format", "chat"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e2" / "metrics.json").read_text())["format"] == "chat"
    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "e3"), "--format", "plain"])
    assert result.exit_code == 2 and "unknown training format 'plain'" in result.output
