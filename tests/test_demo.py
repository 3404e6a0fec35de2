"""The README's main job end to end, and every shipped recipe's mix against the corpus it builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.recipes import check_corpus, load_recipe

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--steps", "40"])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.mark.slow
def test_demo_builds_trains_and_evaluates(demo_out):
    out, output = demo_out
    samples = (out / "corpus" / "index" / "samples.parquet")
    assert samples.is_file() and "OK:" in output
    stats = json.loads((out / "stats" / "stats.json").read_text())
    assert {m["modality"] for m in stats["modalities"]} == {"image", "video", "audio", "point", "depth", "normal",
                                                            "imu", "fmri", "text"}
    log = [json.loads(line) for line in (out / "train" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 40 and log[-1]["loss_mean"] < log[0]["loss_mean"]
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["task"] == "caption" and metrics["items"] >= 3 and "CIDEr" in metrics
    assert len(json.loads((out / "eval" / "predictions.json").read_text())) == metrics["items"]
    for name in ("model.pt", "checkpoint.pt", "stage.json"):
        assert (out / "train" / name).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_mix_fits_the_sample_corpus(demo_out, recipe):
    """Each stage's sources exist in the bundled sample corpus, so its mix previews from the index."""
    out, _ = demo_out
    spec = load_recipe(recipe)
    check_corpus(spec, out / "corpus")
    result = CliRunner().invoke(app, ["mix", str(recipe), "--corpus", str(out / "corpus"), "--batches", "50"])
    assert result.exit_code == 0, result.output
    for entry in spec.data.mix:
        assert (entry.source or entry.modality) in result.output
