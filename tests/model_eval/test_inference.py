"""Loading weights for eval and chat: our model file, a training output directory, OneLLM's release layout,
and clear errors for everything else."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.checkpoint import CheckpointError, save_model
from model.config import preset
from model.inference import load_inference, load_inference_model
from model.onellm import OneLLM
from model.text_tokenizer import DEMO_TOKENIZER


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k].to(sa[k].dtype)) for k in sa)


def test_model_file_and_run_directory_load_the_same_weights(tiny_run) -> None:
    reference = torch.load(tiny_run / "model.pt", weights_only=True)["model"]
    for weights in (tiny_run / "model.pt", tiny_run):
        model, tok = load_inference_model(weights, device="cpu")
        assert not model.training and not any(p.requires_grad for p in model.parameters())
        assert all(torch.equal(v, reference[k]) for k, v in model.state_dict().items())
        assert tok.model_path == DEMO_TOKENIZER  # tiny vocabulary = the bundled demo tokenizer's
        assert model.llma.rope_cos.dtype == torch.float32


def test_release_layout_needs_the_right_preset(tmp_path, tiny_run) -> None:
    model, _ = load_inference_model(tiny_run)
    release = tmp_path / "OneLLM-7B"
    release.mkdir()
    torch.save(model.state_dict(), release / "consolidated.00-of-01.pth")  # bare llma.* keys, no config
    loaded = load_inference(release, preset="tiny", tokenizer=DEMO_TOKENIZER)
    assert loaded.info.kind == "release" and loaded.info.path.name == "consolidated.00-of-01.pth"
    assert _same_weights(model, loaded.model)
    with pytest.raises(CheckpointError, match=r"consolidated.00-of-01.pth \(preset onellm-7b\) does not match"):
        load_inference(release / "consolidated.00-of-01.pth")  # default preset: the 7B shapes


def test_tokenizer_next_to_the_weights_is_used(tmp_path, tiny_run) -> None:
    (tmp_path / "model.pt").write_bytes((tiny_run / "model.pt").read_bytes())
    (tmp_path / "tokenizer.model").write_bytes(DEMO_TOKENIZER.read_bytes())
    assert load_inference(tmp_path).info.tokenizer == tmp_path / "tokenizer.model"


def test_bf16_weights_keep_fp32_rope(tiny_run) -> None:
    loaded = load_inference(tiny_run, dtype="bf16")
    assert loaded.model.llma.tok_embeddings.weight.dtype == torch.bfloat16
    assert loaded.model.llma.rope_cos.dtype == torch.float32


@pytest.mark.parametrize("case, message", [
    ("missing", "weights not found"),
    ("empty_dir", "no model in"),
    ("text_file", "not a readable PyTorch checkpoint"),
    ("train_checkpoint", "a training checkpoint"),
    ("dir_with_train_checkpoint", "It has checkpoint.pt, a training checkpoint"),
    ("other_state_dict", "not a OneLLM model"),
])
def test_unusable_weights_are_named_in_the_error(tmp_path, case, message) -> None:
    path = tmp_path / "weights"
    if case == "empty_dir":
        path.mkdir()
    elif case == "text_file":
        path.write_text("not a checkpoint")
    elif case == "train_checkpoint":  # as model/trainer.py writes it, RNG states included
        path = tmp_path / "checkpoint.pt"
        torch.save({"step": 3, "model": {}, "optimizer": {}, "rng": {"numpy": np.random.get_state()}}, path)
    elif case == "dir_with_train_checkpoint":
        path.mkdir()
        torch.save({"step": 3, "optimizer": {}}, path / "checkpoint.pt")
    elif case == "other_state_dict":
        torch.save({"layer.weight": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match=message) as err:
        load_inference(path)
    assert str(path) in str(err.value)


def test_preset_contradicting_the_saved_config_is_refused(tiny_run) -> None:
    with pytest.raises(CheckpointError, match="differs from preset 'onellm-7b'"):
        load_inference(tiny_run, preset="onellm-7b")
    load_inference(tiny_run, preset="tiny")  # the same config: fine


def test_tokenizer_larger_than_the_vocabulary_is_refused(tmp_path) -> None:
    torch.manual_seed(0)
    save_model(OneLLM(preset("tiny", vocab_size=500)), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="no tokenizer"):
        load_inference(tmp_path)
    with pytest.raises(CheckpointError, match="1000 pieces but the model's vocabulary has 500"):
        load_inference(tmp_path, tokenizer=DEMO_TOKENIZER)


def test_auto_dtype_is_fp32_on_cpu_and_bf16_on_gpu(monkeypatch) -> None:
    from model.evaluate import DecodeSettings
    from model.inference import pick_dtype

    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype("auto", torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert pick_dtype(None, torch.device("cuda")) == torch.float16  # GPUs without bf16
    assert DecodeSettings().temperature == 0.0  # greedy unless asked
