"""Training under torchrun: DDP, and FSDP (torch's ``fully_shard``, which runs on CPU with gloo as on GPUs).

Under FSDP every rank holds a shard of each weight: the saved model and checkpoint must hold the whole tensors
(gathered from every rank), train to the same weights as DDP, and resume exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from model.distributed import DistInfo, wrap_model
from model.text_tokenizer import DEMO_TOKENIZER
from tests.loader.corpus_helpers import build_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_one_process_trains_the_bare_model() -> None:
    model = torch.nn.Linear(2, 2)
    for parallel in ("ddp", "fsdp"):
        assert wrap_model(model, DistInfo(), parallel, torch.device("cpu")) is model


def test_unknown_modes_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown parallel mode 'zero3'"):
        wrap_model(torch.nn.Linear(2, 2), DistInfo(rank=0, world_size=2), "zero3", torch.device("cpu"))


def _torchrun(recipe: Path, out: Path, parallel: str, steps: int, *extra: str) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "model.train", str(recipe),
                           "--out", str(out), "--workers", "0", "--parallel", parallel, "--max-steps", str(steps),
                           "--log-every", "1", *extra], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "model.pt", weights_only=True)["model"]


def _losses(out: Path) -> list[dict[str, float]]:
    return [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_fsdp_saves_whole_weights_matches_ddp_and_resumes_exactly(tmp_path) -> None:
    from safetensors import safe_open

    from model.inference import load_inference
    from model.onellm import OneLLM
    from model.config import preset

    # Images and text-only chats: a text step leaves the media tokenizers and UPM unused on every rank. An epoch
    # of 5 images and 3 chats at 2 per rank ends each lane with a tail batch rank 1 has no share of: it must take
    # that step with a stand-in (before, it went on to the next batch and the ranks' collectives parted).
    corpus = build_corpus(tmp_path, {"img": (5, "image", False), "chat": (3, "text", False)})
    spec = {"name": "r", "model": {"preset": "tiny"}, "trainable": ["upm", "llm"], "frozen": ["clip"],
            "tokenizer": str(DEMO_TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "img"}, {"source": "chat"}], "seq_len": 48,
                     "batch_size": 2, "sampling": "epoch"},
            "optim": {"lr": 1e-3}, "schedule": {"max_steps": 6, "total_steps": 6}}
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(spec))
    fsdp, ddp, part = tmp_path / "fsdp", tmp_path / "ddp", tmp_path / "part"
    _torchrun(recipe, fsdp, "fsdp", 6)
    _torchrun(recipe, ddp, "ddp", 6)

    # Whole tensors, in the release's names and shapes: the file loads strictly for inference.
    whole = OneLLM(preset("tiny")).state_dict()
    saved = _weights(fsdp)
    assert {k: tuple(v.shape) for k, v in saved.items()} == {k: tuple(v.shape) for k, v in whole.items()}
    load_inference(fsdp, device="cpu")
    with safe_open(str(fsdp / "checkpoint.safetensors"), "pt") as ckpt:
        shapes = {k.removeprefix("/model/"): tuple(ckpt.get_tensor(k).shape) for k in ckpt.keys()
                  if k.startswith("/model/")}
    assert shapes and all(shapes[k] == tuple(whole[k].shape) for k in shapes)

    # The same training as DDP, to float rounding.
    reference = _weights(ddp)
    assert max(float((saved[k] - reference[k]).abs().max()) for k in saved) < 1e-5
    assert [set(r) for r in _losses(fsdp)] == [set(r) for r in _losses(ddp)]

    # Stopped at step 3 and resumed: the same weights and losses as the uninterrupted run.
    _torchrun(recipe, part, "fsdp", 3)
    _torchrun(recipe, part, "fsdp", 6, "--resume")
    assert _losses(part) == _losses(fsdp)
    assert all(torch.equal(saved[k], _weights(part)[k]) for k in saved)


def test_a_checkpoint_resumes_only_under_the_parallel_mode_it_was_written_with() -> None:
    from model.full_state import BY_NAME, BY_POSITION, load_optimizer_state

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    with pytest.raises(ValueError, match="written with --parallel fsdp: resume it the same way"):
        load_optimizer_state(model, optimizer, BY_NAME, {"state": {}, "param_groups": []})
    load_optimizer_state(model, optimizer, BY_POSITION, optimizer.state_dict())  # an unsharded one loads
