"""How a model is wrapped for torchrun: DDP on CPU or GPU, FSDP on GPUs only (a clear error on CPU)."""

from __future__ import annotations

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


def test_fsdp_on_cpu_and_unknown_modes_are_clear_errors() -> None:
    two = DistInfo(rank=0, world_size=2)
    with pytest.raises(ValueError, match="--parallel fsdp needs one GPU per process; on CPU use --parallel ddp"):
        wrap_model(torch.nn.Linear(2, 2), two, "fsdp", torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown parallel mode 'zero3'"):
        wrap_model(torch.nn.Linear(2, 2), two, "zero3", torch.device("cpu"))


@pytest.mark.slow
def test_torchrun_fsdp_on_cpu_stops_with_one_error_line(tmp_path) -> None:
    corpus = build_corpus(tmp_path, {"img": (4, "image", False)})
    spec = {"name": "r", "model": {"preset": "tiny"}, "trainable": ["upm"], "frozen": ["clip", "llm"],
            "tokenizer": str(DEMO_TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "img"}], "seq_len": 48, "batch_size": 1},
            "optim": {"lr": 1e-3}, "schedule": {"max_steps": 1}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(spec))
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "model.train",
                           str(tmp_path / "r.yaml"), "--out", str(tmp_path / "out"), "--workers", "0",
                           "--parallel", "fsdp"], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode != 0
    assert "error: --parallel fsdp needs one GPU per process" in proc.stderr
    assert "FSDP needs a non-CPU accelerator" not in proc.stderr  # not torch's traceback
