"""``onellm-data train`` / ``model.train`` on real shards: freezing, stage chaining, exact resume, torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open
from typer.testing import CliRunner

from model.config import ModelConfig
from model.release_layout import release_keys
from model.train import RunOptions, build_model, run
from model.train_state import load_checkpoint
from onellm_data.pipeline import ShardSettings
from onellm_data.cli import app
from onellm_data.commands.corpus import convert_sources
from onellm_data.recipes import load_recipe
from onellm_data.samples import generate_sample_raw
from tests.loader.corpus_helpers import build_corpus

TOKENIZER = Path(__file__).resolve().parents[2] / "model" / "assets" / "demo_tokenizer.model"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Image captions and text chats (jsonl) plus Ego4D IMU windows through the real converter."""
    root = tmp_path_factory.mktemp("train_corpus")
    corpus = build_corpus(root, {"img": (12, "image", False), "chat": (8, "text", False)})
    raws = generate_sample_raw(root / "samples", ["ego4d_imu"])
    convert_sources(sorted(raws.items()), corpus, ShardSettings(max_count=8, partition_size=8), 1)
    return corpus


def recipe(path: Path, corpus: Path, mix: list[dict], *, trainable=("tokenizers", "upm", "llm"), steps: int = 8,
           **extra) -> Path:
    spec = {"name": path.stem, "model": {"preset": "tiny"}, "trainable": list(trainable), "frozen": ["clip"],
            "tokenizer": str(TOKENIZER),
            "data": {"corpus": str(corpus), "mix": mix, "seq_len": 48, "batch_size": 2},
            "optim": {"lr": 3e-3, "min_lr": 3e-4, "weight_decay": 0.1, "clip_grad": 1.0},
            "schedule": {"warmup_steps": 2, "total_steps": steps, "max_steps": steps}, **extra}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def losses(out: Path) -> list[tuple[int, dict[str, float]]]:
    lines = (out / "train_log.jsonl").read_text().splitlines()
    return [(r["step"], r["loss"]) for r in map(json.loads, lines)]


ALL = [{"source": "img", "weight": 1.0}, {"source": "chat", "weight": 1.0}, {"source": "ego4d_imu", "weight": 1.0}]


def test_train_command_writes_model_log_and_loss_falls(tmp_path, corpus):
    path = recipe(tmp_path / "r.yaml", corpus, ALL, steps=40)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["train", str(path), "--out", str(out), "--log-every", "10"])
    assert result.exit_code == 0, result.output
    assert "done: 40 steps" in result.output
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [10, 20, 30, 40]
    assert log[-1]["loss_mean"] < log[0]["loss_mean"] - 0.5
    assert {"samples_per_s", "tokens_per_s", "data_wait_frac", "lr", "grad_norm"} <= set(log[0])
    stage = json.loads((out / "stage.json").read_text())
    assert stage == {"recipe": "r", "steps": 40, "modalities": ["image", "imu"], "format": "chat",
                     "tokenizer": str(TOKENIZER)}
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["config"]["dim"] == 64 and "llma.output.weight" in saved["model"]
    assert set(saved["model"]) == set(release_keys(ModelConfig(**saved["config"])))  # the full model, release keys
    ckpt = load_checkpoint(out)
    assert ckpt["step"] == 40 and ckpt["recipe"]["name"] == "r" and ckpt["loader"]["schedule"]
    # The checkpoint: safetensors (no pickle) with the trainable weights only, optimiser moments, RNG states and
    # the model config.
    with safe_open(str(out / "checkpoint.safetensors"), framework="pt") as reader:
        assert reader.metadata()["format"] == "onellm-train-state/1"
    assert ckpt["model"] and not any(k.startswith("llma.clip.") for k in ckpt["model"])
    assert "llma.layers.0.attention.wq.weight" in ckpt["model"]
    optimizer = ckpt["optimizer"]
    assert sum(len(g["params"]) for g in optimizer["param_groups"]) == len(ckpt["model"])  # one per trainable
    assert optimizer["state"] and all({"exp_avg", "exp_avg_sq"} <= set(s) for s in optimizer["state"].values())
    assert {"python", "numpy", "torch"} <= set(ckpt["rng"]) and ckpt["model_config"] == saved["config"]


def test_run_outputs_are_published_whole(tmp_path, corpus, monkeypatch):
    """model.pt, stage.json and the checkpoint each appear by one rename of a complete file, never written in
    place (a crash mid-write would leave a torn file that eval, chat or the next stage then reads)."""
    from onellm_data.shards import atomic

    published: list[str] = []
    real = atomic.commit

    def recording(tmp: Path, final: Path) -> None:
        published.append(final.name)
        real(tmp, final)

    monkeypatch.setattr(atomic, "commit", recording)
    run(recipe(tmp_path / "r.yaml", corpus, ALL[:1], steps=2), RunOptions(out_dir=tmp_path / "out", log_every=1),
        log=lambda _: None)
    assert {"model.pt", "stage.json", "checkpoint.safetensors"} <= set(published)


def test_frozen_parts_do_not_change(tmp_path, corpus):
    path = recipe(tmp_path / "align.yaml", corpus, ALL[:1], trainable=("tokenizers", "upm"), steps=4,
                  frozen=["clip", "llm"])
    out = tmp_path / "out"
    run(path, RunOptions(out_dir=out, log_every=1), log=lambda _: None)
    fresh, _ = build_model(load_recipe(path), corpus, seed=0)
    trained = torch.load(out / "model.pt", weights_only=True)["model"]
    own = fresh.state_dict()
    for key in ("llma.layers.0.attention.wq.weight", "llma.tok_embeddings.weight", "llma.clip.visual.conv1.weight"):
        assert torch.equal(trained[key], own[key]), key
    changed = [k for k in own if k.startswith("llma.resample_layers.") and not torch.equal(trained[k], own[k])]
    assert changed, "the UPM should have trained"
    grads = {n for n, p in fresh.named_parameters() if p.requires_grad}
    assert grads and not any(n.startswith(("llma.layers.", "llma.clip.")) for n in grads)


def test_resume_gives_identical_losses(tmp_path, corpus):
    path = recipe(tmp_path / "r.yaml", corpus, ALL, steps=8)
    full, part = tmp_path / "full", tmp_path / "part"
    run(path, RunOptions(out_dir=full, log_every=1), log=lambda _: None)
    run(path, RunOptions(out_dir=part, log_every=1, max_steps=4), log=lambda _: None)
    run(path, RunOptions(out_dir=part, log_every=1, max_steps=8, resume=True), log=lambda _: None)
    assert losses(part) == losses(full)
    assert len(losses(full)) == 8


def test_stage_chaining_starts_new_modalities_from_image(tmp_path, corpus):
    first = recipe(tmp_path / "stage1.yaml", corpus, ALL[:1], trainable=("tokenizers", "upm"), steps=3,
                   frozen=["clip", "llm"])
    run(first, RunOptions(out_dir=tmp_path / "stage1", log_every=1), log=lambda _: None)
    second = recipe(tmp_path / "stage2.yaml", corpus, [ALL[0], ALL[2]], trainable=("tokenizers", "upm"), steps=2,
                    frozen=["clip", "llm"], init_from=str(tmp_path / "stage1"), init_new_modalities_from="image")
    model, aligned = build_model(load_recipe(second), corpus, seed=1)
    assert aligned == {"image", "imu"}
    core = model.llma
    assert torch.equal(core.resample_tokens["imu"], core.resample_tokens["image"])
    assert not torch.equal(core.routers["imu"].fc1.weight, core.routers["image"].fc1.weight)  # OneLLM: no copy
    stage1 = torch.load(tmp_path / "stage1" / "model.pt", weights_only=True)["model"]
    assert torch.equal(core.resample_tokens["image"], stage1["llma.resample_tokens.image"])
    assert not torch.equal(core.resample_tokens["audio"], core.resample_tokens["image"])  # not in this stage


def test_bad_init_from_is_a_clear_error(tmp_path, corpus):
    path = recipe(tmp_path / "r.yaml", corpus, ALL[:1], init_from=str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nowhere" in result.output and "does not exist" in result.output


@pytest.mark.slow
def test_torchrun_two_processes_ddp(tmp_path, corpus):
    # 12 image samples = 3 steps × 2 ranks × batch 2: one pass, so the ranks' keys must be disjoint and cover all
    path = recipe(tmp_path / "r.yaml", corpus, ALL[:1], steps=3)
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "model.train", str(path),
                           "--out", str(tmp_path / "out"), "--workers", "0", "--log-every", "1", "--record-keys"],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    log = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert (tmp_path / "out" / "model.pt").is_file()
    seen = [[line.split("\t")[1] for line in (tmp_path / "out" / f"seen_keys.rank{r}.txt").read_text().splitlines()]
            for r in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 6 and not set(seen[0]) & set(seen[1])
    assert len(set(seen[0]) | set(seen[1])) == 12
