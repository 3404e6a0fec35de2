"""Files a user can swap (training checkpoints, model files, published weights, point clouds) never run code.

Each crafted file holds a pickle whose loading would call ``open(marker, "w")``: the load must fail with a clear
error, and the marker must never appear.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from model.checkpoint import CheckpointError, read_model_file, read_state_dict
from model.inference import load_inference
from model.run_files import CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE
from model.train_state import TrainStateError, load_checkpoint
from onellm_data.cli import app
from onellm_data.codecs.point import prepare_point
from onellm_data.errors import RejectError
from tests.loader.corpus_helpers import build_corpus

TOKENIZER = Path(__file__).resolve().parents[2] / "model" / "assets" / "demo_tokenizer.model"


class _CreatesFile:
    """Unpickling this calls ``open(path, "w")``: the file's existence proves code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _torch_pickle(path: Path, marker: Path) -> Path:
    torch.save({"step": 1, "model": {"w": torch.zeros(2)}, "evil": _CreatesFile(marker)}, path)
    return path


def _plain_pickle(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"step": 1, "evil": _CreatesFile(marker)}))
    return path


def test_the_crafted_pickle_does_run_code_when_unpickled(tmp_path):
    """The attack is real: an unrestricted load creates the marker (so the tests below can fail)."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_CreatesFile(marker))).close()
    assert marker.exists()


@pytest.mark.parametrize("name", [LEGACY_CHECKPOINT_FILE, CHECKPOINT_FILE])
@pytest.mark.parametrize("writer", [_torch_pickle, _plain_pickle])
def test_training_checkpoint_pickle_is_refused(tmp_path, name, writer):
    marker = tmp_path / "pwned"
    writer(tmp_path / name, marker)
    with pytest.raises(TrainStateError) as err:
        load_checkpoint(tmp_path)
    assert str(tmp_path / name) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("writer", [_torch_pickle, _plain_pickle])
def test_weight_files_with_code_are_refused(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = writer(tmp_path / "consolidated.00-of-01.pth", marker)
    with pytest.raises(CheckpointError):
        read_state_dict(path)
    with pytest.raises(CheckpointError):
        read_model_file(path)
    with pytest.raises(CheckpointError):
        load_inference(path, preset="tiny")
    assert not marker.exists()


def test_point_cloud_files_with_code_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    pth = _torch_pickle(tmp_path / "cloud.pth", marker)
    npy = tmp_path / "cloud.npy"
    np.save(npy, np.array([_CreatesFile(marker)], dtype=object), allow_pickle=True)
    for path in (pth, npy):
        with pytest.raises((RejectError, ValueError, pickle.UnpicklingError, RuntimeError)):
            prepare_point(path)
    assert not marker.exists()


def test_train_resume_refuses_a_crafted_checkpoint(tmp_path):
    """The real command: `train --resume` over a folder holding a crafted pickle stops with an error."""
    corpus = build_corpus(tmp_path / "c", {"img": (4, "image", False)})
    spec = {"name": "r", "model": {"preset": "tiny"}, "trainable": ["upm"], "frozen": ["clip"],
            "tokenizer": str(TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "img", "weight": 1.0}], "seq_len": 48,
                     "batch_size": 2},
            "optim": {"lr": 1e-3}, "schedule": {"warmup_steps": 0, "total_steps": 2, "max_steps": 2}}
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "pwned"
    _torch_pickle(out / LEGACY_CHECKPOINT_FILE, marker)
    result = CliRunner().invoke(app, ["train", str(recipe), "--out", str(out), "--resume", "--workers", "0"])
    assert result.exit_code != 0
    assert "could run arbitrary code" in result.output and "Traceback" not in result.output
    assert not marker.exists()
    assert not (out / CHECKPOINT_FILE).exists()


def test_training_state_round_trips_without_pickle(tmp_path):
    from model.train_state import rng_state, save_checkpoint

    payload = {"step": 7, "model": {"a.weight": torch.arange(6.0).view(2, 3)},
               "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
                             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.95), "params": [0]}]},
               "rng": rng_state(), "loader": {"position": 16}, "history": [{"loss": float("nan")}]}
    save_checkpoint(tmp_path, payload)
    raw = (tmp_path / CHECKPOINT_FILE).read_bytes()
    assert b"\x80\x04" not in raw[:16] and not raw.startswith(b"PK")  # a safetensors header, not a pickle/zip
    back = load_checkpoint(tmp_path)
    assert torch.equal(back["model"]["a.weight"], payload["model"]["a.weight"])
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.95)
    assert list(back["optimizer"]["state"]) == [0]
    assert back["rng"]["python"] == payload["rng"]["python"]
    assert back["rng"]["numpy"][1].dtype == np.uint32
    assert np.array_equal(back["rng"]["numpy"][1], payload["rng"]["numpy"][1])
    assert torch.equal(back["rng"]["torch"], payload["rng"]["torch"])
    assert back["loader"] == {"position": 16} and back["step"] == 7
    with pytest.raises(TrainStateError, match="cannot be stored without pickling"):
        save_checkpoint(tmp_path / "bad", {"x": io.BytesIO()})


def test_torchscript_clip_archive_is_read_as_data(tmp_path):
    """OpenAI's ViT-L-14.pt is a TorchScript archive: its tensors are read without unpickling code or running
    TorchScript; an archive whose data.pkl calls a function is refused."""
    import zipfile

    from model.checkpoint import load_clip_visual
    from model.config import preset
    from model.onellm import OneLLM

    holder = torch.nn.Module()
    holder.visual = OneLLM(preset("tiny")).llma.clip.visual.eval()
    good = tmp_path / "ViT.pt"
    torch.jit.script(holder.visual).save(str(good))
    target = OneLLM(preset("tiny")).llma.clip.visual
    load_clip_visual(target, _with_visual_prefix(good, tmp_path))
    assert torch.equal(target.conv1.weight, holder.visual.conv1.weight)

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("/data.pkl"):
                data = pickle.dumps(_CreatesFile(marker), protocol=2)
            dst.writestr(item, data)
    with pytest.raises(CheckpointError, match="not allowed"):
        load_clip_visual(OneLLM(preset("tiny")), evil)
    assert not marker.exists()


def _with_visual_prefix(archive: Path, tmp_path: Path) -> Path:
    """Wrap a scripted vision tower as OpenAI's archive has it (the model's ``visual`` attribute)."""
    class Holder(torch.nn.Module):
        def __init__(self, visual) -> None:
            super().__init__()
            self.visual = visual

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.visual(x)

    wrapped = tmp_path / "ViT-L-14.pt"
    torch.jit.script(Holder(torch.jit.load(str(archive)))).save(str(wrapped))  # trusted: built by this test
    return wrapped


@pytest.mark.parametrize("state", ['{"rng": {"__ndarray__": [1], "dtype": "|O"}}', '{"x": {"__items__": [[1]]}}',
                                   '{"w": {"__tensor__": "missing"}}', "[1, 2]"])
def test_crafted_training_state_metadata_is_a_clear_error(tmp_path, state):
    from safetensors.torch import save_file

    save_file({"t": torch.zeros(1)}, str(tmp_path / CHECKPOINT_FILE),
              metadata={"format": "onellm-train-state/1", "state": state})
    with pytest.raises(TrainStateError, match=str(tmp_path)):
        load_checkpoint(tmp_path)
